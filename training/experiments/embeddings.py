"""Capacity experiment (issue 11): what do dense embeddings buy over the sparse linear judges?

    python training/experiments/encode_all.py static minilm   # once: fills the embedding cache
    python training/experiments/embeddings.py                 # LOSO -> training/experiments/embeddings.json

Leave-one-source-out, like ``training/refusal/loso.py`` and ``training/harm/loso.py``:

* refusal (3 classes): each trainable source (jbb-team, team-synthetic, gptfuzz-team-refusal) is
  held out in turn; ``xstest`` (evaluation-only) is tested with a fit on all trainable sources.
  Training rows follow ``train.trainable_row`` (the JBB test split is never trained on).
* harm (harmful prompts only): held-out units ``gptfuzz-train`` (stratified subsample, see
  ``data.py``), ``jbb`` (jbb-team + jbb-team-train merged) and the evaluation-only ``gptfuzz-eval``.

Classifier: scikit-learn logistic regression (class_weight balanced, standardised features), C
picked by 3-fold GroupKFold (groups = request id) inside the training sources only. Feature sets:
``emb`` (response embedding), ``emb+prompt`` (harm: response ⊕ prompt embedding), ``stack``
(refusal: out-of-fold probabilities of the sparse refusal recipe refitted per fold + embedding;
harm: probabilities of the sparse refusal recipe fitted without the held-out unit + embeddings),
``late-fusion`` (a meta logistic regression on the sparse probabilities and the out-of-fold
probabilities of the ``emb`` / ``emb+prompt`` model).
The sparse refusal recipe (``training/refusal/loso.py: fit_rows``) is re-measured in the same run,
and every figure sits beside the string-match baseline.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "training" / "refusal"))
import encoders as E  # noqa: E402
import loso as RL  # noqa: E402  (training/refusal/loso.py: metrics, fit_rows)
from baseline import string_match_harmful  # noqa: E402

import data  # noqa: E402

LABELS = list(RL.LABELS)
CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
OUT = HERE / "embeddings.json"


def _clf(C: float):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=3000))


def _score(y, p, task: str) -> float:
    if task == "harm":
        return float(np.mean(np.asarray(y) == np.asarray(p)))
    return RL.metrics(list(y), list(p))["macro_f1"]


def fit_cv(X: np.ndarray, y: list, groups: list[str], task: str):
    """Fit with C chosen by grouped 3-fold CV on (X, y) only; returns (model, C, cv score)."""
    y = np.asarray(y)
    best = (-1.0, CS[0])
    for C in CS:
        pred = np.empty(len(y), dtype=object)
        for tr, te in GroupKFold(n_splits=3).split(X, y, groups):
            pred[te] = _clf(C).fit(X[tr], y[tr]).predict(X[te])
        s = _score(y, pred, task)
        if s > best[0]:
            best = (s, C)
    return _clf(best[1]).fit(X, y), best[1], round(best[0], 4)


def late_fusion(A: np.ndarray, B: np.ndarray, y: list, groups: list[str], C: float,
                p_tr: np.ndarray, p_te: np.ndarray, task: str):
    """Late fusion: out-of-fold probabilities of the embedding model (grouped 3-fold, its C) beside
    the sparse probabilities, combined by a small meta logistic regression (C by grouped CV)."""
    ya = np.asarray(y)
    oof = np.zeros((len(ya), len(set(y))))
    for tr, te in GroupKFold(n_splits=3).split(A, ya, groups):
        oof[te] = _clf(C).fit(A[tr], ya[tr]).predict_proba(A[te])
    full = _clf(C).fit(A, ya).predict_proba(B)
    m, C2, cv = fit_cv(np.hstack([p_tr, oof]), y, groups, task)
    return m.predict(np.hstack([p_te, full])), C2, cv


def harm_metrics(y: list[bool], p: list[bool]) -> dict:
    """Accuracy, Cohen's kappa, sensitivity, specificity."""
    y, p = np.asarray(y, bool), np.asarray(p, bool)
    n = len(y)
    acc = float(np.mean(y == p))
    pe = (y.mean() * p.mean()) + ((1 - y.mean()) * (1 - p.mean()))
    kappa = (acc - pe) / (1 - pe) if pe < 1 else 0.0
    return {"n": n, "positives": int(y.sum()), "accuracy": round(acc, 4), "kappa": round(float(kappa), 4),
            "sensitivity": round(float(p[y].mean()) if y.any() else 0.0, 4),
            "specificity": round(float((~p[~y]).mean()) if (~y).any() else 0.0, 4)}


class SparseRefusal:
    """The sparse refusal recipe refitted on subsets of trainable sources (memoised)."""

    def __init__(self, by_src: dict[str, list]) -> None:
        self.by_src = by_src
        self.models: dict[frozenset, object] = {}

    def model(self, srcs) -> object:
        key = frozenset(srcs)
        if key not in self.models:
            t0 = time.perf_counter()
            rows = [r for s in key for r in self.by_src[s] if RL.T.trainable_row(r)]
            self.models[key] = RL.fit_rows(rows)
            print(f"  sparse refusal fit on {sorted(key)}: {time.perf_counter() - t0:.0f}s", flush=True)
        return self.models[key]

    def probs(self, srcs, rows: list) -> np.ndarray:
        m = self.model(srcs)
        out = []
        for r in rows:
            p = m.predict_proba(r.response) if r.response.strip() else {}
            out.append([p.get(c, 1.0 if c == "full_compliance" else 0.0) for c in LABELS])
        return np.asarray(out)


def refusal_experiment(rows: list, embs: dict[str, E.Cached], sparse: SparseRefusal) -> dict:
    """LOSO for the 3-class refusal task."""
    by_src = data.refusal_rows(rows)
    out: dict = {}
    units = list(data.REFUSAL_TRAIN) + list(data.REFUSAL_EVAL)
    for held in units:
        if held not in by_src:
            continue
        train_srcs = [s for s in data.REFUSAL_TRAIN if s != held and s in by_src]
        tr = [r for s in train_srcs for r in by_src[s] if RL.T.trainable_row(r)]
        te = by_src[held]
        ytr, yte = [r.refusal for r in tr], [r.refusal for r in te]
        g = [r.group or r.ref for r in tr]
        res: dict = {"train_n": len(tr), "string_match": RL.metrics(yte, [RL.string_match_refusal(r.response) for r in te])}
        t0 = time.perf_counter()
        p_te = sparse.probs(train_srcs, te)
        res["sparse (refitted recipe)"] = RL.metrics(yte, [LABELS[i] for i in p_te.argmax(1)])
        # out-of-fold sparse probabilities on the training rows, one training source left out at a time
        p_tr = np.zeros((len(tr), 3))
        for s in train_srcs:
            idx = [i for i, r in enumerate(tr) if r.source == s]
            p_tr[idx] = sparse.probs([t for t in train_srcs if t != s], [tr[i] for i in idx])
        for name, enc in embs.items():
            Xtr, Xte = enc([r.response for r in tr]), enc([r.response for r in te])
            for fs, (A, B) in {"emb": (Xtr, Xte),
                               "stack": (np.hstack([p_tr, Xtr]), np.hstack([p_te, Xte]))}.items():
                m, C, cv = fit_cv(A, ytr, g, "refusal")
                res[f"{name}:{fs}"] = RL.metrics(yte, list(m.predict(B))) | {"C": C, "cv_macro_f1": cv}
                if fs == "emb":
                    pred, C2, cv2 = late_fusion(A, B, ytr, g, C, p_tr, p_te, "refusal")
                    res[f"{name}:late-fusion"] = RL.metrics(yte, list(pred)) | {"C": C2, "cv_macro_f1": cv2}
        print(f"refusal held out {held}: {time.perf_counter() - t0:.0f}s", flush=True)
        for k, v in res.items():
            if isinstance(v, dict):
                v.pop("confusion", None)
                v.pop("f1", None) if k == "string_match" else None
        out[held] = res
    return out


def harm_experiment(rows: list, embs: dict[str, E.Cached], sparse: SparseRefusal) -> dict:
    """LOSO for the harm task (responses to harmful prompts)."""
    units, notes = data.harm_units(rows)
    # refusal sources a harm unit overlaps (left out of the stacked refusal model for that unit)
    overlap = {"gptfuzz-train": {"gptfuzz-team-refusal"}, "jbb": {"jbb-team"}, "gptfuzz-eval": set()}
    out: dict = {"notes": notes}
    for held in ("gptfuzz-train", "jbb", "gptfuzz-eval"):
        tr = [r for u in ("gptfuzz-train", "jbb") if u != held for r in units[u]]
        te = units[held]
        ytr, yte = [r.harmful for r in tr], [r.harmful for r in te]
        g = [r.group or r.ref for r in tr]
        ref_srcs = [s for s in data.REFUSAL_TRAIN if s not in overlap[held]]
        p_tr, p_te = sparse.probs(ref_srcs, tr), sparse.probs(ref_srcs, te)
        res: dict = {"train_n": len(tr),
                     "string_match": harm_metrics(yte, [string_match_harmful(r.response) for r in te]),
                     "sparse refusal not-full": harm_metrics(
                         yte, [LABELS[i] != "full_refusal" for i in p_te.argmax(1)])}
        t0 = time.perf_counter()
        for name, enc in embs.items():
            Rtr, Rte = enc([r.response for r in tr]), enc([r.response for r in te])
            Ptr, Pte = enc([r.prompt for r in tr]), enc([r.prompt for r in te])
            sets = {"emb": (Rtr, Rte), "emb+prompt": (np.hstack([Rtr, Ptr]), np.hstack([Rte, Pte])),
                    "stack": (np.hstack([p_tr, Rtr, Ptr]), np.hstack([p_te, Rte, Pte]))}
            for fs, (A, B) in sets.items():
                m, C, cv = fit_cv(A, ytr, g, "harm")
                res[f"{name}:{fs}"] = harm_metrics(yte, [bool(x) for x in m.predict(B)]) | {"C": C, "cv_accuracy": cv}
                if fs == "emb+prompt":
                    pred, C2, cv2 = late_fusion(A, B, ytr, g, C, p_tr, p_te, "harm")
                    res[f"{name}:late-fusion"] = harm_metrics(yte, [bool(x) for x in pred]) | {"C": C2, "cv_accuracy": cv2}
        print(f"harm held out {held}: {time.perf_counter() - t0:.0f}s", flush=True)
        out[held] = res
    return out


def main() -> None:
    """Run both experiments with every encoder whose cache is filled; write embeddings.json."""
    rows = data.load_rows()
    texts = data.all_texts(rows)
    embs = {}
    for name, dim in (("static", 64), ("minilm", 384)):
        enc = E.Cached(name, None, dim)
        missing = sum(E._key(t) not in enc.store for t in texts)
        if missing:
            print(f"skip {name}: {missing} texts not encoded", flush=True)
            continue
        embs[name] = enc
    sparse = SparseRefusal(data.refusal_rows(rows))
    stats_path = E.CACHE / "encode_stats.json"
    result = {
        "what": "LOSO agreement with human labels; see training/experiments/README.md",
        "gptfuzz_train_subsample": data.GPTFUZZ_TRAIN_N,
        "encoders": json.loads(stats_path.read_text()) if stats_path.exists() else {},
        "refusal": refusal_experiment(rows, embs, sparse),
        "harm": harm_experiment(rows, embs, sparse),
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
