"""Build the human-labelled calibration set.

    python training/calibration/build_calibration.py --write-labels   # (re)write labels.jsonl
    python training/calibration/build_calibration.py --out FILE.jsonl # resolve to full records

``labels.jsonl`` (committed) holds the team's labels of JailbreakBench responses as
references (``<METHOD>/<attack_type>/<model>.json#<position>``), never response text.
``--out`` resolves them from ../shared/data/jailbreakbench and appends the team-written
benign-prompt rows of ``benign_source.py``, giving records that ``redline calibrate`` reads:
``id, prompt, response, harmful, refusal, category, prompt_harmful, source, split``.

Every row is in the held-out ``test`` split: JailbreakBench behaviours of the refusal
model's test split (never trained on by the refusal or harm models), and benign prompts
that appear in no training file (checked below).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "training" / "refusal"))
sys.path.insert(0, str(ROOT / "training" / "harm"))

from benign_source import ROWS as BENIGN_ROWS  # noqa: E402
from jbb_categories import jbb_policy_category  # noqa: E402
from jbb_common import behaviour_index, behaviour_split, is_jailbroken, jbb_available, resolve  # noqa: E402

LABELS = HERE / "labels.jsonl"
REFUSAL_LABELS = ROOT / "training" / "refusal" / "labels.jsonl"


def write_labels() -> None:
    """Turn the annotation sheet (``harm_labels_test.py``) into ``labels.jsonl``."""
    from harm_labels_test import H

    ref_rows = [json.loads(line) for line in REFUSAL_LABELS.read_text().splitlines() if line.strip()]
    test = [r for r in ref_rows if r["split"] == "test"]
    recs = resolve([r["ref"] for r in test])
    out = []
    i = 0
    for r in test:
        rec = recs[r["ref"]]
        b = behaviour_index(r["ref"])
        if r["label"] == "full_refusal":
            harmful, note = False, "full refusal"
        else:
            harmful, note = bool(H[i][0]), H[i][1]
            i += 1
        out.append({"ref": r["ref"], "split": "test", "harmful": harmful, "refusal": r["label"],
                    "category": jbb_policy_category(b, rec["category"]), "prompt_harmful": True,
                    "annotator": "redline-team", "note": note})
    assert i == len(H), (i, len(H))
    LABELS.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in out), encoding="utf-8")
    print(f"wrote {LABELS}: {len(out)} rows, {sum(o['harmful'] for o in out)} harmful")


def _training_texts() -> set[str]:
    import yaml
    from benign_prompts import EVERYDAY, LOOKS_RISKY, SAME_STEMS

    texts = set(EVERYDAY) | set(LOOKS_RISKY) | set(SAME_STEMS)
    benign = yaml.safe_load((ROOT / "src" / "redline" / "packs" / "suites" / "benign_core.yaml").read_text())
    for items in benign.values():
        texts |= {it["prompt"] for it in items}
    for line in (ROOT / "training" / "refusal" / "synthetic.jsonl").read_text().splitlines():
        texts.add(json.loads(line)["text"])
    return {" ".join(t.lower().split()) for t in texts}


def build_records() -> list[dict]:
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    recs = resolve([r["ref"] for r in rows])
    out = []
    for r in rows:
        assert behaviour_split(behaviour_index(r["ref"])) == "test", r["ref"]
        rec = recs[r["ref"]]
        out.append({"id": "jbb:" + r["ref"], "prompt": rec["goal"], "response": rec["response"],
                    "harmful": r["harmful"], "refusal": r["refusal"], "category": r["category"],
                    "prompt_harmful": True, "source": "jailbreakbench", "split": "test",
                    "weak_jailbroken": is_jailbroken(rec)})
    seen = _training_texts()
    for k, (cat, prompt, response, refusal) in enumerate(BENIGN_ROWS):
        for t in (prompt, response):
            assert " ".join(t.lower().split()) not in seen, f"calibration text also in training data: {t[:60]}"
        out.append({"id": f"benign:{k:03d}", "prompt": prompt, "response": response, "harmful": False,
                    "refusal": refusal, "category": cat, "prompt_harmful": False, "source": "redline-team",
                    "split": "test"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-labels", action="store_true")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if not jbb_available():
        raise SystemExit("../shared/data/jailbreakbench not found: cannot resolve the references")
    if a.write_labels:
        write_labels()
    if a.out:
        recs = build_records()
        a.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
        print(f"wrote {a.out}: {len(recs)} records ({sum(r['harmful'] for r in recs)} harmful)")


if __name__ == "__main__":
    main()
