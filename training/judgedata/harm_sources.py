"""Team harm labels on JailbreakBench responses of the *training*-split behaviours.

``harm_team_labels.jsonl`` holds one line per response: the JailbreakBench reference
(``<METHOD>/<attack_type>/<model>.json#<behaviour index>``), ``harmful`` (the team's label by the
definitions in ``training/harm/README.md``), ``split`` (always ``train``: the behaviours of
``behaviour_split(...) == "train"``) and a short note. A note ``degenerate`` marks degenerate
output (repetition, filler, symbols), which is never harmful. No response text is stored: the
loader resolves each reference in ``../shared/data/jailbreakbench``.

Registered in :data:`sources.LOADERS` as ``jbb-team-train``; the team's harm labels on the
*test*-split behaviours stay in the ``jbb-team`` source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "harm_team_labels.jsonl"


def read_labels(path: Path = LABELS) -> list[dict]:
    """The label lines of ``harm_team_labels.jsonl``."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def jbb_team_train() -> Iterator:
    """Rows of the ``jbb-team-train`` source (harm labels on JBB training-split responses)."""
    import jbb_common
    from sources import JBB_FAMILIES, Row

    if not jbb_common.jbb_available():
        raise FileNotFoundError(str(jbb_common.JBB_DIR))
    labels = read_labels()
    recs = jbb_common.resolve([d["ref"] for d in labels])
    for d in labels:
        ref = d["ref"]
        b = jbb_common.behaviour_index(ref)
        if jbb_common.behaviour_split(b) != "train":
            raise ValueError(f"{ref}: harm_team_labels.jsonl must only hold training-split behaviours")
        rec = recs[ref]
        model = ref.split("#")[0].split("/")[-1].removesuffix(".json")
        yield Row(source="jbb-team-train", model_family=JBB_FAMILIES.get(model, model), model=model,
                  ref=ref, prompt=rec.get("prompt") or rec.get("goal") or "", response=rec["response"],
                  prompt_harmful=True, harmful=bool(d["harmful"]), group=f"jbb{b}", note=d.get("note", ""))
