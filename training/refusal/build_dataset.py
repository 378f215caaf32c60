"""Build the refusal-classifier dataset from references + team-written text.

* ``labels.jsonl``   - hand labels of JailbreakBench responses, stored as refs
  (``<METHOD>/<attack_type>/<model>.json#<position>``), never as text.  The
  text is resolved here from ``../shared/data/jailbreakbench`` at training
  time.
* ``synthetic.jsonl`` - team-written responses, stored in full.

Usage::

    python training/refusal/build_dataset.py          # print dataset statistics

``load_dataset()`` is imported by ``train.py``.  When ``../shared/data`` is
missing, JBB rows are skipped with a clear message (synthetic rows only).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from jbb_common import (  # noqa: E402
    JBB_DIR,
    behaviour_index,
    behaviour_split,
    is_jailbroken,
    iter_jbb,
    jbb_available,
    resolve,
)  # noqa: E402

LABELS_PATH = HERE / "labels.jsonl"
SYNTH_PATH = HERE / "synthetic.jsonl"
LABELS = ("full_compliance", "full_refusal", "partial_refusal")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_dataset(require_jbb: bool = False) -> list[dict]:
    """Rows: {text, label, split, group, source, ref?, jailbroken?, model?, attack?}."""
    rows: list[dict] = []
    for r in read_jsonl(SYNTH_PATH):
        assert r["label"] in LABELS, r
        rows.append({"text": r["text"], "label": r["label"], "split": "train",
                     "group": "synthetic:" + r["id"], "source": "synthetic", "id": r["id"]})
    if not jbb_available():
        msg = (f"[build_dataset] {JBB_DIR} not found: skipping the {sum(1 for _ in LABELS_PATH.open())} "
               "hand-labelled JailbreakBench rows (synthetic rows only). "
               "Check out ../shared/data to train/evaluate on the real data.")
        if require_jbb:
            raise SystemExit(msg)
        print(msg, file=sys.stderr)
        return rows
    labels = read_jsonl(LABELS_PATH)
    recs = resolve([r["ref"] for r in labels])
    for r in labels:
        rec = recs[r["ref"]]
        assert r["label"] in LABELS, r
        # the split rule is a function of the behaviour; labels.jsonl records it, re-check here
        bidx = behaviour_index(r["ref"])
        assert behaviour_split(bidx) == r["split"], r["ref"]
        method, _, model = r["ref"].split("#")[0].split("/")
        rows.append({"text": rec["response"], "label": r["label"], "split": r["split"],
                     "group": f"behaviour:{bidx}", "source": "jbb:" + r.get("sample", "stratified"),
                     "ref": r["ref"], "jailbroken": is_jailbroken(rec), "model": model[:-5], "attack": method})
    return rows


def all_jbb() -> list[dict]:
    """Every JBB record with a response (for weak-label agreement)."""
    return [{"ref": ref, "text": rec["response"], "jailbroken": is_jailbroken(rec),
             "split": behaviour_split(behaviour_index(ref))} for ref, rec in iter_jbb()]


def main() -> None:
    rows = load_dataset()
    print(f"total rows: {len(rows)}")
    print("by source/split/label:")
    for k, v in sorted(Counter((r["source"], r["split"], r["label"]) for r in rows).items()):
        print(f"  {k}: {v}")
    jbb = [r for r in rows if r["source"].startswith("jbb")]
    if jbb:
        print("JBB by model:", dict(Counter(r["model"] for r in jbb)))
        print("JBB by attack:", dict(Counter(r["attack"] for r in jbb)))
        print("JBB by weak label:", dict(Counter(r["jailbroken"] for r in jbb)))
        tr = {r["group"] for r in jbb if r["split"] == "train"}
        te = {r["group"] for r in jbb if r["split"] == "test"}
        print(f"behaviours: train {len(tr)}, test {len(te)}, overlap {len(tr & te)}")


if __name__ == "__main__":
    main()
