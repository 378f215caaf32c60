"""Train the offline harm model and export ``src/redline/judges/harm_model.json``.

    .venv/bin/python training/harm/train.py

Needs scikit-learn + numpy and ../shared/data. Chooses each model's C by cross-validation
on the training data only (responses: grouped by JailbreakBench behaviour), fits, exports the
artefact, and asserts that the pure-Python :class:`HarmModel` reproduces scikit-learn's
probabilities. Writes ``training/harm/metrics.json`` (cross-validation figures; the held-out
calibration figures are produced by ``redline calibrate`` / ``bench/bench_judges.py``).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from data import prompt_rows, response_rows  # noqa: E402
from redline.judges._harm_model import FEATURE_VERSION, HarmModel, dense_feature_names  # noqa: E402
from redline.judges._refusal_model import RefusalModel, analyze, cap_text  # noqa: E402

OUT = ROOT / "src" / "redline" / "judges" / "harm_model.json"
METRICS = HERE / "metrics.json"
THRESHOLD = 0.5
VERSION_PREFIX = "harm-lr-3"  # lr-3: against refusal-lr-4 (rf8 features); lr-2: against refusal-lr-3


def _analyzer(text: str) -> list[str]:
    return analyze(cap_text(text))


def vectorizer(max_features: int, min_df: int) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True, min_df=min_df, max_features=max_features,
                           norm="l2", dtype=np.float64)


def pick_c(make, X, y, cv, groups=None, grid=(0.3, 1.0, 3.0, 10.0), scoring="f1_macro") -> tuple[float, dict]:
    res = {}
    for c in grid:
        pred = cross_val_predict(make(c), X, y, cv=cv, groups=groups)
        res[str(c)] = round(float(f1_score(y, pred, average="macro") if scoring == "f1_macro"
                                  else accuracy_score(y, pred)), 4)
    best = max(grid, key=lambda c: res[str(c)])
    return best, res


def lr(c: float, balanced: bool = True, max_iter: int = 3000) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=max_iter)


def _r(x: float) -> float:
    return float(f"{x:.5g}")


def export_sparse(vec: TfidfVectorizer, clf: LogisticRegression, n_text: int, classes: list[str],
                  scaler: StandardScaler | None = None) -> dict:
    coef = clf.coef_
    terms = {}
    for term, j in vec.vocabulary_.items():
        terms[term] = [_r(vec.idf_[j]), *(_r(coef[c][j]) for c in range(coef.shape[0]))]
    d = {"classes": classes, "terms": terms, "intercept": [_r(b) for b in clf.intercept_]}
    if scaler is not None:
        d["dense_coef"] = [[_r(w) for w in coef[c][n_text:]] for c in range(coef.shape[0])]
        d["dense_mean"] = [_r(m) for m in scaler.mean_]
        d["dense_scale"] = [_r(s) for s in scaler.scale_]
    return d


def main() -> None:
    t0 = time.time()
    refusal = RefusalModel.load()
    metrics: dict = {"refusal_version": refusal.version}

    # ---------------- prompt harmfulness ----------------
    prows = prompt_rows()
    texts = [r["text"] for r in prows]
    y = np.array([r["harmful"] for r in prows])
    metrics["prompt_data"] = dict(Counter(r["source"] for r in prows))
    pvec = vectorizer(10000, 2)
    Xp = pvec.fit_transform(texts)
    skf = StratifiedKFold(5, shuffle=True, random_state=0)
    c_p, grid_p = pick_c(lambda c: lr(c), Xp, y, skf, grid=(1.0, 3.0, 10.0, 30.0))
    oof = cross_val_predict(lr(c_p), Xp, y, cv=skf)
    benign_mask = y == 0
    metrics["prompt_model"] = {"C": c_p, "cv_macro_f1_by_C": grid_p,
                               "cv_recall_harmful": round(float((oof[~benign_mask] == 1).mean()), 4),
                               "cv_specificity_benign": round(float((oof[benign_mask] == 0).mean()), 4)}
    pclf = lr(c_p).fit(Xp, y)
    print("prompt model", metrics["prompt_model"], f"{time.time() - t0:.0f}s", flush=True)

    # ---------------- category ----------------
    crows = [r for r in prows if r["category"]]
    ctexts = [r["text"] for r in crows]
    cy = np.array([r["category"] for r in crows])
    cvec = vectorizer(5000, 2)
    Xc = cvec.fit_transform(ctexts)
    c_c, grid_c = pick_c(lambda c: lr(c, max_iter=2000), Xc, cy, skf, grid=(3.0, 10.0), scoring="acc")
    metrics["category_model"] = {"C": c_c, "cv_accuracy_by_C": grid_c, "n": len(crows),
                                 "classes": dict(Counter(cy.tolist()))}
    cclf = lr(c_c, max_iter=2000).fit(Xc, cy)
    print("category model", metrics["category_model"]["cv_accuracy_by_C"], f"{time.time() - t0:.0f}s", flush=True)

    # ---------------- response ----------------
    rrows = response_rows()
    ry = np.array([r["label"] for r in rrows])
    groups = np.array([r["group"] for r in rrows])
    metrics["response_data"] = {"n": len(rrows), "by_source": dict(Counter(r["source"] for r in rrows)),
                                "positives": int(ry.sum())}
    # dense features through the inference code (single source of truth)
    art_stub = HarmModel.__new__(HarmModel)
    art_stub.refusal = refusal
    art_stub._ref_index = [refusal.classes.index(c) for c in ("full_compliance", "full_refusal",
                                                                "partial_refusal")]
    dense = np.array([HarmModel.response_features(art_stub, r["prompt"], r["text"])[1] for r in rrows])
    rvec = vectorizer(5000, 3)
    Xt = rvec.fit_transform([r["text"] for r in rrows])
    scaler = StandardScaler().fit(dense)
    Xr = hstack([Xt, csr_matrix(scaler.transform(dense))]).tocsr()
    gkf = GroupKFold(5)
    c_r, grid_r = pick_c(lambda c: lr(c), Xr, ry, gkf, groups=groups, grid=(0.03, 0.1, 0.3, 1.0, 3.0))
    oof = cross_val_predict(lr(c_r), Xr, ry, cv=gkf, groups=groups, method="predict_proba")[:, 1]
    metrics["response_model"] = {"C": c_r, "cv_macro_f1_by_C": grid_r,
                                 "cv_accuracy_vs_weak_label": round(float(((oof >= 0.5) == ry).mean()), 4),
                                 "dense_features": list(dense_feature_names())}
    rclf = lr(c_r).fit(Xr, ry)
    print("response model", metrics["response_model"]["cv_macro_f1_by_C"], f"{time.time() - t0:.0f}s", flush=True)

    # ---------------- export ----------------
    art = {
        "feature_version": FEATURE_VERSION,
        "refusal_version": refusal.version,
        "threshold": THRESHOLD,
        "prompt": export_sparse(pvec, pclf, Xp.shape[1], ["harmful"]),
        "category": export_sparse(cvec, cclf, Xc.shape[1], [str(c) for c in cclf.classes_]),
        "response": export_sparse(rvec, rclf, Xt.shape[1], ["delivers"], scaler),
    }
    blob = json.dumps(art, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    art["version"] = f"{VERSION_PREFIX}+{hashlib.sha256(blob.encode()).hexdigest()[:12]}"
    OUT.write_text(json.dumps(art, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    metrics["artefact_bytes"] = OUT.stat().st_size
    metrics["version"] = art["version"]

    # ---------------- parity ----------------
    model = HarmModel.load(OUT, refusal)
    worst = 0.0
    idx = np.random.default_rng(0).choice(len(rrows), 300, replace=False)
    pp = pclf.predict_proba(pvec.transform([rrows[i]["prompt"] or "x" for i in idx]))[:, 1]
    rp = rclf.predict_proba(Xr[idx])[:, 1]
    for k, i in enumerate(idx):
        r = rrows[i]
        pred = model.predict(r["prompt"] or "x", r["text"])
        worst = max(worst, abs(pred["p_prompt"] - pp[k]), abs(pred["p_response"] - rp[k]))
    cp = cclf.predict_proba(cvec.transform(ctexts[:200]))
    for k, t in enumerate(ctexts[:200]):
        probs = model.category_probs(t)
        worst = max(worst, max(abs(probs[c] - cp[k][j]) for j, c in enumerate(cclf.classes_)))
    metrics["parity_max_abs_diff"] = worst
    print("parity max abs diff", worst)
    assert worst < 1e-4, worst  # weights are exported with 6 significant digits
    METRICS.write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"wrote {OUT} ({metrics['artefact_bytes']} bytes), version {art['version']}, {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
