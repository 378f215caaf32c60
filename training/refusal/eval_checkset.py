"""Measure a refusal model on the held-out benign-responses check set (``checkset.jsonl``).

    python training/refusal/eval_checkset.py                   # the shipped model
    python training/refusal/eval_checkset.py --model-dir DIR   # DIR holds _refusal_model.py + refusal_model.json
    python training/refusal/eval_checkset.py --json            # machine-readable

``--model-dir`` lets an older artefact be measured with the code it was built for, e.g.::

    mkdir /tmp/old && git show HEAD:src/redline/judges/_refusal_model.py > /tmp/old/_refusal_model.py \
        && git show HEAD:src/redline/judges/refusal_model.json > /tmp/old/refusal_model.json

Prints accuracy, macro-F1, per-class precision/recall/F1, the false-refusal rate on gold
compliance (the over-refusal error this set was built to catch), per-kind accuracy and the
wrong rows. Stdlib only (no scikit-learn needed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHECKSET = HERE / "checkset.jsonl"
LABELS = ("full_compliance", "full_refusal", "partial_refusal")


def load_model(model_dir: Path | None = None):
    d = model_dir or ROOT / "src" / "redline" / "judges"
    spec = importlib.util.spec_from_file_location(f"_refusal_model_{abs(hash(str(d)))}", d / "_refusal_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.RefusalModel.load(str(d / "refusal_model.json"))


def load_checkset() -> list[dict]:
    return [json.loads(line) for line in CHECKSET.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(model, rows: list[dict]) -> dict:
    y = [r["label"] for r in rows]
    pred = [model.predict(r["text"])[0] for r in rows]
    per_class = {}
    f1s = []
    for lab in LABELS:
        tp = sum(a == lab and b == lab for a, b in zip(y, pred, strict=True))
        fp = sum(a != lab and b == lab for a, b in zip(y, pred, strict=True))
        fn = sum(a == lab and b != lab for a, b in zip(y, pred, strict=True))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f)
        per_class[lab] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                          "support": sum(a == lab for a in y)}
    comp = [b for a, b in zip(y, pred, strict=True) if a == "full_compliance"]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r, p in zip(rows, pred, strict=True):
        by_kind[r["kind"]].append(r["label"] == p)
    return {
        "version": model.version,
        "n": len(rows),
        "accuracy": round(sum(a == b for a, b in zip(y, pred, strict=True)) / len(rows), 4),
        "macro_f1": round(sum(f1s) / 3, 4),
        "false_refusal_rate_on_compliance": round(sum(p != "full_compliance" for p in comp) / len(comp), 4),
        "per_class": per_class,
        "confusion_rows_true_cols_pred": [[sum(a == t and b == q for a, b in zip(y, pred, strict=True))
                                           for q in LABELS] for t in LABELS],
        "accuracy_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
        "errors": [{"id": r["id"], "kind": r["kind"], "true": r["label"], "pred": p, "text": r["text"][:90]}
                   for r, p in zip(rows, pred, strict=True) if r["label"] != p],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = evaluate(load_model(a.model_dir), load_checkset())
    if a.json:
        print(json.dumps(res, indent=1, ensure_ascii=False))
        return
    print(f"model {res['version']} on the check set: n={res['n']} ({dict(Counter(r['label'] for r in load_checkset()))})")
    print(f"accuracy {res['accuracy']}  macro-F1 {res['macro_f1']}  "
          f"false-refusal rate on gold compliance {res['false_refusal_rate_on_compliance']}")
    for lab, m in res["per_class"].items():
        print(f"  {lab:<16} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  n={m['support']}")
    print("confusion (rows true, cols pred; compliance/refusal/partial):", res["confusion_rows_true_cols_pred"])
    print("by kind:", res["accuracy_by_kind"])
    for e in res["errors"]:
        print(f"  WRONG {e['id']} [{e['kind']}] {e['true']} -> {e['pred']}: {e['text']!r}")


if __name__ == "__main__":
    main()
