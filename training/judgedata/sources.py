"""Human-labelled response data for measuring (and training) the offline judges.

Every labelled response Redline's judges are trained or measured on comes through this module,
as one row shape (:class:`Row`), so that every figure can be broken down by **source** and by
**model family**, and so that leave-one-source-out (LOSO) evaluation is one loop.

Sources (the data card is ``training/judgedata/README.md``):

| source | labels | trainable? | where the text lives |
|---|---|---|---|
| ``jbb-team`` | refusal (3 classes), harmful on the JBB test split | yes | ``../shared/data/jailbreakbench`` (references only) |
| ``team-synthetic`` | refusal | yes | ``training/refusal/synthetic.jsonl`` (team-written) |
| ``xstest`` | refusal (3 classes, two annotators + final label) | **evaluation only** | XSTest v2 completions (CC-BY-4.0), a published test suite |
| ``gptfuzz-train`` | harmful (``jailbroken``, human) | yes | GPTFuzz ``train.csv`` (MIT), references only |
| ``gptfuzz-eval`` | harmful | **evaluation only** | GPTFuzz ``evaluate.csv`` — its authors' test split |

Sources whose text may not be re-published (harmful responses) are read from a local copy of
the public files: ``$REDLINE_JUDGE_DATA`` (default ``~/.cache/redline/judge-data``), laid out as
``xstest/*.csv`` and ``gptfuzz/*.csv``; :data:`FILES` pins each file's SHA-256, and a file whose
hash differs is an error, not a silent change of the measurement. A missing source is skipped
by :func:`load` with a warning naming the file to fetch; :func:`available` says which are there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "training" / "refusal"))
import jbb_common  # noqa: E402

from redline.judges import benchmarks as bm  # noqa: E402  (one reader of the public files)

#: Public upstream of each external file (pinned by SHA-256): see ``redline.judges.benchmarks``.
FILES = bm.FILES
XSTEST_MODELS = bm.XSTEST_MODELS
JBB_FAMILIES = bm.JBB_FAMILIES

#: Sources that are never trained on (published test sets).
EVAL_ONLY = frozenset({"xstest", "gptfuzz-eval"})


@dataclass
class Row:
    """One human-labelled response. ``refusal``/``harmful`` are None where not labelled."""

    source: str
    model_family: str
    model: str
    ref: str
    prompt: str
    response: str
    prompt_harmful: bool | None
    refusal: str | None = None
    harmful: bool | None = None
    group: str = ""          # the request (behaviour / question id): CV folds never split it
    eval_only: bool = False
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def data_dir() -> Path:
    """Where the local copies of the external files live."""
    return bm.default_data_dir()


def _row(d: dict, eval_only: bool) -> Row:
    return Row(source=d["source"], model_family=d["model_family"], model=d["model"], ref=d["ref"],
               prompt=d["prompt"], response=d["response"], prompt_harmful=d.get("prompt_harmful"),
               refusal=d.get("refusal"), harmful=d.get("harmful"), group=d.get("group", ""),
               eval_only=eval_only, note=d.get("type", ""))


def xstest() -> Iterator[Row]:
    """XSTest v2: 450 prompts × 5 model set-ups, three-class refusal labels by two annotators."""
    for d in bm.read_xstest(data_dir()):
        yield _row(d, True)


def _gptfuzz(split: str) -> Iterator[Row]:
    for d in bm.read_gptfuzz(data_dir(), split):
        yield _row(d, split == "eval")


def jbb_team() -> Iterator[Row]:
    """JailbreakBench responses hand-labelled by the team (refusal; harm on the test split)."""
    if not jbb_common.jbb_available():
        raise FileNotFoundError(str(jbb_common.JBB_DIR))
    refusal = {}
    for line in (REPO_ROOT / "training/refusal/labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            refusal[d["ref"]] = d
    harm = {}
    for line in (REPO_ROOT / "training/calibration/labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            harm[d["ref"]] = d
    refs = sorted(set(refusal) | set(harm))
    recs = jbb_common.resolve(refs)
    for ref in refs:
        rec = recs[ref]
        model = ref.split("#")[0].split("/")[-1].removesuffix(".json")
        h = harm.get(ref, {})
        yield Row(source="jbb-team", model_family=JBB_FAMILIES.get(model, model), model=model,
                  ref=ref, prompt=rec.get("prompt") or rec.get("goal") or "",
                  response=rec["response"], prompt_harmful=True,
                  refusal=refusal.get(ref, {}).get("label") or h.get("refusal"),
                  harmful=h.get("harmful"), group=f"jbb{jbb_common.behaviour_index(ref)}",
                  note=refusal.get(ref, {}).get("note", "") or h.get("note", ""))


def team_synthetic() -> Iterator[Row]:
    """Team-written responses (refusal classes; several languages)."""
    for line in (REPO_ROOT / "training/refusal/synthetic.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        yield Row(source="team-synthetic", model_family="team-written", model="team",
                  ref=f"training/refusal/synthetic.jsonl#{d['id']}", prompt=d.get("prompt", ""),
                  response=d["text"], prompt_harmful=d.get("prompt_harmful"), refusal=d["label"],
                  group=d["id"], note=d.get("source", ""))


LOADERS = {
    "jbb-team": jbb_team,
    "team-synthetic": team_synthetic,
    "xstest": xstest,
    "gptfuzz-train": lambda: _gptfuzz("train"),
    "gptfuzz-eval": lambda: _gptfuzz("eval"),
    "jbb-team-train": lambda: __import__("harm_sources").jbb_team_train(),
    "gptfuzz-team-refusal": lambda: __import__("refusal_sources").gptfuzz_team_refusal(),
}


def available() -> dict[str, bool]:
    """Which sources can be read on this machine."""
    out = {}
    for name, loader in LOADERS.items():
        try:
            next(iter(loader()), None)
            out[name] = True
        except FileNotFoundError:
            out[name] = False
    return out


def load(names: list[str] | None = None, strict: bool = False) -> list[Row]:
    """All rows of the named sources (default: every source). A missing source is skipped with a
    warning on stderr (``strict``: raises)."""
    rows: list[Row] = []
    for name in names or list(LOADERS):
        try:
            rows.extend(LOADERS[name]())
        except FileNotFoundError as exc:
            if strict:
                raise
            print(f"warning: source {name} skipped, missing: {exc}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    from collections import Counter
    rows = load()
    print(Counter((r.source, r.model_family) for r in rows))
    print("refusal labels:", Counter((r.source, r.refusal) for r in rows if r.refusal))
    print("harm labels:", Counter((r.source, r.harmful) for r in rows if r.harmful is not None))
