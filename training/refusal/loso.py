"""Leave-one-source-out (LOSO) evaluation of the offline refusal judge.

    python training/refusal/loso.py                      # LOSO with the current recipe -> loso.json
    python training/refusal/loso.py --artefact PATH      # also measure a fixed artefact on every source
    python training/refusal/loso.py --no-write           # print only

For every TRAINABLE source S with refusal labels, the recipe of ``train.py`` (same features,
same C and synthetic-row weight, no CV) is fitted on all other trainable sources and tested on
S.  Evaluation-only sources (``xstest``: a published test suite) are always tested with the model
fitted on ALL trainable sources; they are never used for any choice.  Every figure is broken
down by model family and printed beside the string-match baseline
(``training/judgedata/baseline.py``).  Results go to ``training/refusal/loso.json``.

Binary accuracy is refusal-vs-compliance: ``full_compliance`` against either refusal class.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "training" / "judgedata"))
sys.path.insert(0, str(ROOT / "src"))
import train as T  # noqa: E402
from baseline import string_match_refusal  # noqa: E402
from sources import LOADERS, load  # noqa: E402

LABELS = T.LABELS
OUT_PATH = HERE / "loso.json"


def refusal_sources() -> tuple[list[str], list[str]]:
    """(trainable, eval-only) sources that carry refusal labels."""
    trainable = [s for s in T.TRAIN_SOURCES if s in LOADERS]
    return trainable, ["xstest"]


def metrics(y_true: list[str], y_pred: list[str]) -> dict:
    """Binary accuracy, 3-class accuracy, macro-F1 and the confusion matrix."""
    n = len(y_true)
    if n == 0:
        return {"n": 0}
    acc = sum(a == b for a, b in zip(y_true, y_pred, strict=True)) / n
    binacc = sum((a == "full_compliance") == (b == "full_compliance")
                 for a, b in zip(y_true, y_pred, strict=True)) / n
    f1s = {}
    present = [lab for lab in LABELS if lab in y_true]
    for lab in LABELS:
        tp = sum(a == lab and b == lab for a, b in zip(y_true, y_pred, strict=True))
        fp = sum(a != lab and b == lab for a, b in zip(y_true, y_pred, strict=True))
        fn = sum(a == lab and b != lab for a, b in zip(y_true, y_pred, strict=True))
        f1s[lab] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    cm = [[sum(a == t and b == p for a, b in zip(y_true, y_pred, strict=True)) for p in LABELS] for t in LABELS]
    return {"n": n, "binary_accuracy": round(binacc, 4), "accuracy": round(acc, 4),
            # macro over the classes present in the gold labels (a source without partial
            # refusals is not penalised for a class it cannot contain)
            "macro_f1": round(float(np.mean([f1s[lab] for lab in present])), 4),
            "f1": {k: round(v, 4) for k, v in f1s.items()},
            "confusion": {"labels": list(LABELS), "rows_true_cols_pred": cm}}


def breakdown(rows: list, pred: list[str]) -> dict:
    """Metrics for all rows and per model family, model beside string match."""
    base = [string_match_refusal(r.response) for r in rows]
    out = {"all": {"model": metrics([r.refusal for r in rows], pred),
                   "string_match": metrics([r.refusal for r in rows], base)}}
    fam = defaultdict(list)
    for i, r in enumerate(rows):
        fam[r.model_family].append(i)
    if len(fam) > 1:
        for f, idx in sorted(fam.items()):
            out[f] = {"model": metrics([rows[i].refusal for i in idx], [pred[i] for i in idx]),
                      "string_match": metrics([rows[i].refusal for i in idx], [base[i] for i in idx])}
    return out


def fit_rows(rows: list) -> T.rm.RefusalModel:
    """Fit the shipped recipe (fixed C / synthetic weight) on ``rows``; return the exported model."""
    recs = [T.row_record(r) for r in rows]
    vec, clf = T.fit([r["text"] for r in recs], [r["label"] for r in recs], T.DEFAULT_C,
                     T.row_weights(recs, T.DEFAULT_SYNTH_WEIGHT))
    return T.rm.RefusalModel(T.export(vec, clf, T.DEFAULT_SYNTH_WEIGHT))


def predict_all(model, rows: list) -> list[str]:
    return [model.predict(r.response)[0] or "full_compliance" for r in rows]


def trainable_rows_by_source() -> dict[str, list]:
    """Refusal-labelled rows of each trainable source (missing sources skipped with a warning)."""
    trainable, _ = refusal_sources()
    by_src: dict[str, list] = defaultdict(list)
    for r in load(trainable):
        if r.refusal:
            by_src[r.source].append(r)
    return dict(by_src)


def loso_trainable(by_src: dict[str, list]) -> dict:
    """Leave each trainable source out in turn: fit on the others, measure on it."""
    out = {}
    for s in by_src:
        train_rows = [r for t, rows in by_src.items() if t != s for r in rows if T.trainable_row(r)]
        out[s] = breakdown(by_src[s], predict_all(fit_rows(train_rows), by_src[s]))
    return out


def table(results: dict, title: str) -> str:
    lines = [f"### {title}", "",
             "| source | family | n | model bin acc | model acc | model macro-F1 | string-match bin acc | "
             "string-match acc | string-match macro-F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for src, per in results.items():
        for fam, d in per.items():
            m, b = d["model"], d["string_match"]
            lines.append(f"| {src} | {fam} | {m['n']} | {m['binary_accuracy']:.3f} | {m['accuracy']:.3f} | "
                         f"{m['macro_f1']:.3f} | {b['binary_accuracy']:.3f} | {b['accuracy']:.3f} | "
                         f"{b['macro_f1']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--artefact", type=Path, default=None,
                    help="also measure this fixed artefact on every source (in-sample where it was trained)")
    ap.add_argument("--module", type=Path, default=None,
                    help="with --artefact: the _refusal_model.py that artefact needs (e.g. an earlier "
                         "version from git: git show <rev>:src/redline/judges/_refusal_model.py)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--errors", action="store_true", help="print LOSO errors on trainable sources")
    ap.add_argument("--C", type=float, default=None, help="override train.DEFAULT_C")
    ap.add_argument("--synthetic-weight", type=float, default=None, help="override train.DEFAULT_SYNTH_WEIGHT")
    ap.add_argument("--trainable-only", action="store_true",
                    help="skip the eval-only sources (for choosing settings on trainable sources only)")
    args = ap.parse_args()
    if args.C is not None:
        T.DEFAULT_C = args.C
    if args.synthetic_weight is not None:
        T.DEFAULT_SYNTH_WEIGHT = args.synthetic_weight

    trainable, eval_only = refusal_sources()
    if args.trainable_only:
        eval_only = []
    rows = [r for r in load(trainable + eval_only) if r.refusal]
    by_src = defaultdict(list)
    for r in rows:
        by_src[r.source].append(r)
    print("rows:", {s: len(v) for s, v in by_src.items()}, flush=True)
    out: dict = {"recipe": {"version_prefix": T.VERSION_PREFIX, "feature_version": T.rm.FEATURE_VERSION,
                            "C": T.DEFAULT_C, "synthetic_row_weight": T.DEFAULT_SYNTH_WEIGHT,
                            "trainable_sources": trainable, "eval_only_sources": eval_only},
                 "data": {s: dict(Counter(r.refusal for r in v)) for s, v in by_src.items()}}

    if args.artefact:
        mod = T.rm
        if args.module:
            spec = importlib.util.spec_from_file_location("_refusal_model_fixed", args.module)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        fixed = mod.RefusalModel.load(str(args.artefact))
        res = {s: breakdown(v, predict_all(fixed, v)) for s, v in by_src.items()}
        out["fixed_artefact"] = {"version": fixed.version, "results": res}
        print(table(res, f"fixed artefact {fixed.version} (in-sample on the sources it was trained on)"))

    loso: dict = {}
    errors: dict = {}
    for s in trainable:
        if s not in by_src:
            continue
        train_rows = [r for t in trainable if t != s for r in by_src.get(t, []) if T.trainable_row(r)]
        model = fit_rows(train_rows)
        pred = predict_all(model, by_src[s])
        loso[s] = breakdown(by_src[s], pred)
        errors[s] = [{"ref": r.ref, "family": r.model_family, "true": r.refusal, "pred": p}
                     for r, p in zip(by_src[s], pred, strict=True) if r.refusal != p]
        print(f"  held out {s}: {loso[s]['all']['model']}", flush=True)
    mean_f1 = float(np.mean([loso[s]["all"]["model"]["macro_f1"] for s in loso]))
    mean_bin = float(np.mean([loso[s]["all"]["model"]["binary_accuracy"] for s in loso]))
    print(f"mean over held-out trainable sources: macro-F1 {mean_f1:.4f}, binary acc {mean_bin:.4f}")
    out["mean_over_trainable_sources"] = {"macro_f1": round(mean_f1, 4), "binary_accuracy": round(mean_bin, 4)}
    full_rows = [r for t in trainable for r in by_src.get(t, []) if T.trainable_row(r)]
    full = fit_rows(full_rows)
    for s in eval_only:
        if s in by_src:
            loso[s] = breakdown(by_src[s], predict_all(full, by_src[s]))
    out["loso"] = {"version_of_full_fit": full.version, "results": loso}
    out["loso_errors_trainable"] = errors
    print(table(loso, f"LOSO ({T.VERSION_PREFIX} recipe; xstest: fitted on all trainable sources)"))
    if args.errors:
        for s, errs in errors.items():
            for e in errs:
                print(s, e)
    if not args.no_write:
        OUT_PATH.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT_PATH}")


if __name__ == "__main__":
    main()
