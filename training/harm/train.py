"""Train the offline harm model and export ``src/redline/judges/harm_model.json``.

    .venv/bin/python training/harm/train.py

Needs scikit-learn + numpy, ../shared/data and the human-labelled response sources of
``training/judgedata/sources.py`` (``$REDLINE_JUDGE_DATA``). Three models:

* prompt and category models: benchmark prompts vs team-written benign prompts
  (``data.prompt_rows``; HarmBench validation split only), C by stratified 5-fold CV;
* response model: P(the response delivers the requested harmful content) on the **human**
  harm labels of the trainable sources (:data:`RESPONSE_SOURCES`: GPTFuzz train split, the
  team's labels on JailbreakBench *training*-split behaviours), plus the team-written
  not-harmful answers of ``team_negatives.py`` (commentary, history, lectures). Degenerate responses are left
  out (a rule decides them). ``jbb-team`` (the test-split behaviours) is the judge's
  calibration set and is never trained on, like the published test splits.
  C, source weighting and the threshold are chosen by CV grouped by request on these
  sources only (the criterion is the mean over sources of the per-source accuracy).
  Held-out sources (:data:`HELD_OUT_SOURCES`) are never read here.

Exports the artefact, asserts that the pure-Python :class:`HarmModel` reproduces
scikit-learn's probabilities and writes ``training/harm/metrics.json``. The
leave-one-source-out figures are ``training/harm/loso.py``'s (``loso.json``).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from functools import lru_cache
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
sys.path.insert(0, str(ROOT / "training" / "judgedata"))

from data import prompt_rows  # noqa: E402
from redline.judges._harm_model import (  # noqa: E402
    FEATURE_VERSION,
    HarmModel,
    _SparseLinear,
    degenerate_kind,
    dense_feature_names,
)
from redline.judges._refusal_model import RefusalModel, analyze, cap_text  # noqa: E402

OUT = ROOT / "src" / "redline" / "judges" / "harm_model.json"
METRICS = HERE / "metrics.json"
VERSION_PREFIX = "harm-lr-4"  # lr-4: human-labelled response model, degenerate rule; lr-3: weak JBB label
#: trainable human-labelled sources of harm labels (eval-only sources are never read here)
RESPONSE_SOURCES = ("gptfuzz-train", "jbb-team-train")
#: never trained on: published test splits, and ``jbb-team`` (the JailbreakBench test-split
#: behaviours), which is the calibration set shipped for the judge (training/calibration/)
HELD_OUT_SOURCES = ("gptfuzz-eval", "jbb-team")
C_GRID = (0.3, 1.0, 3.0)
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
#: the score that suffices where the refusal model reads full compliance (0: the plain OR)
FC_THRESHOLDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)


@lru_cache(maxsize=40_000)
def _analyzed(text: str) -> tuple[str, ...]:
    return tuple(analyze(cap_text(text)))


def _analyzer(text: str) -> list[str]:
    return list(_analyzed(text))  # memoised: CV refits the vectoriser on the same texts


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
        d["dense_scale"] = [_r(s) if s > 0 else 1.0 for s in scaler.scale_]
    return d


# ---------------------------------------------------------------- prompt models


def train_prompt_models(metrics: dict, category: bool = True) -> tuple[dict, dict | None, list[str]]:
    """Fit the prompt and category models; return their exported dicts (+ category texts)."""
    t0 = time.time()
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
    prompt = export_sparse(pvec, pclf, Xp.shape[1], ["harmful"])
    if not category:
        return prompt, None, []
    crows = [r for r in prows if r["category"]]
    ctexts = [r["text"] for r in crows]
    cy = np.array([r["category"] for r in crows])
    cvec = vectorizer(5000, 2)
    Xc = cvec.fit_transform(ctexts)
    c_c, grid_c = pick_c(lambda c: lr(c, max_iter=2000), Xc, cy, skf, grid=(3.0, 10.0), scoring="acc")
    metrics["category_model"] = {"C": c_c, "cv_accuracy_by_C": grid_c, "n": len(crows),
                                 "classes": dict(Counter(cy.tolist()))}
    cclf = lr(c_c, max_iter=2000).fit(Xc, cy)
    print("category model", grid_c, f"{time.time() - t0:.0f}s", flush=True)
    category_export = export_sparse(cvec, cclf, Xc.shape[1], [str(c) for c in cclf.classes_])
    metrics["_parity_prompt"] = (pvec, pclf, cvec, cclf, ctexts)
    return prompt, category_export, ctexts


# ---------------------------------------------------------------- response model


TEAM_NEGATIVES = "team-negatives"


def response_rows(names: tuple[str, ...] | list[str] = RESPONSE_SOURCES) -> list:
    """Harm-labelled rows (``sources.Row``) of the named sources."""
    import sources

    return [r for r in sources.load(list(names), strict=True) if r.harmful is not None]


def team_negative_rows() -> list:
    """``team_negatives.py`` as rows (label: not harmful): training only, never measured."""
    import sources
    from team_negatives import NEGATIVES

    return [sources.Row(source=TEAM_NEGATIVES, model_family="team-written", model="team",
                        ref=f"training/harm/team_negatives.py#{i}", prompt=req, response=resp,
                        prompt_harmful=True, harmful=False, group=f"neg{i}")
            for i, (req, resp) in enumerate(NEGATIVES)]


class Featurizer:
    """Dense response features through the inference code (single source of truth)."""

    def __init__(self, refusal: RefusalModel, prompt_export: dict):
        stub = HarmModel.__new__(HarmModel)
        stub.refusal = refusal
        stub._ref_index = [refusal.classes.index(c) for c in ("full_compliance", "full_refusal",
                                                                "partial_refusal")]
        stub.prompt_model = _SparseLinear(prompt_export)
        self.stub = stub

    def dense(self, prompt: str, response: str) -> list[float]:
        return HarmModel.response_features(self.stub, prompt, response)[1]


def source_weights(sources_: list[str], balance: bool) -> np.ndarray:
    """Per-row weights: each labelled source the same total weight (``balance``) or all rows 1;
    team-written negatives weigh as a row of the smallest labelled source; mean 1."""
    if not balance:
        return np.ones(len(sources_))
    cnt = Counter(s for s in sources_ if s != TEAM_NEGATIVES)
    smallest = 1.0 / min(cnt.values())
    w = np.array([smallest if s == TEAM_NEGATIVES else 1.0 / cnt[s] for s in sources_])
    return w / w.mean()


class ResponseModel:
    """TF-IDF 1-2grams of the response (optional) + standardised dense features -> LR."""

    def __init__(self, c: float, tfidf: bool = True):
        self.c, self.tfidf = c, tfidf
        self.vec: TfidfVectorizer | None = None

    def _x(self, texts: list[str], dense: np.ndarray, fit: bool):
        if fit:
            self.scaler = StandardScaler().fit(dense)
        z = csr_matrix(self.scaler.transform(dense))
        if not self.tfidf:
            return z
        if fit:
            self.vec = vectorizer(5000, 3)
            t = self.vec.fit_transform(texts)
        else:
            t = self.vec.transform(texts)
        return hstack([t, z]).tocsr()

    def fit(self, texts: list[str], dense: np.ndarray, y: np.ndarray, w: np.ndarray) -> ResponseModel:
        self.clf = lr(self.c, max_iter=5000).fit(self._x(texts, dense, True), y, sample_weight=w)
        return self

    def proba(self, texts: list[str], dense: np.ndarray) -> np.ndarray:
        return self.clf.predict_proba(self._x(texts, dense, False))[:, 1]


def per_source_accuracy(y: np.ndarray, pred: np.ndarray, srcs: np.ndarray) -> float:
    """Mean over the labelled sources (not the team-written negatives) of the accuracy within each."""
    return float(np.mean([(pred[srcs == s] == y[srcs == s]).mean() for s in sorted(set(srcs))
                          if s != TEAM_NEGATIVES]))


def choose_hyper(texts: list[str], dense: np.ndarray, y: np.ndarray, groups: np.ndarray, srcs: np.ndarray,
                 tfidf: bool = True, c_grid=C_GRID, full_compliance: np.ndarray | None = None) -> dict:
    """C, source balancing and threshold by 5-fold CV grouped by request (trainable rows only),
    for the model alone (``"alone"``) and, given the refusal reading of each row
    (``full_compliance``), for the shipped verdict: score >= threshold OR (full compliance AND
    score >= a lower threshold) (``"or"``; ``"or0"``: the lower threshold fixed at 0, the plain
    OR). The criterion is the mean over sources of the per-source accuracy."""
    gkf = GroupKFold(5)
    best: dict[str, dict] = {"alone": {}, "or": {}, "or0": {}}
    grid: dict[str, dict] = {"alone": {}, "or": {}, "or0": {}}
    for balance in (True, False):
        w_all = source_weights(list(srcs), balance)
        for c in c_grid:
            oof = np.zeros(len(y))
            for tr, te in gkf.split(texts, y, groups):
                m = ResponseModel(c, tfidf).fit([texts[i] for i in tr], dense[tr], y[tr], w_all[tr])
                oof[te] = m.proba([texts[i] for i in te], dense[te])
            for t in THRESHOLDS:
                for kind, t_fc in [("alone", None), ("or0", 0.0), *(("or", x) for x in FC_THRESHOLDS)]:
                    if kind != "alone" and full_compliance is None:
                        continue
                    pred = oof >= t if kind == "alone" else (oof >= t) | (full_compliance & (oof >= t_fc))
                    score = per_source_accuracy(y, pred, srcs)
                    grid[kind][f"C={c},balance={balance},t={t},t_fc={t_fc}"] = round(score, 4)
                    if not best[kind] or score > best[kind]["cv_mean_source_accuracy"]:
                        best[kind] = {"C": c, "balance": balance, "threshold": t, "threshold_full_compliance": t_fc,
                                      "cv_mean_source_accuracy": round(score, 4)}
    for kind in best:
        if best[kind]:
            best[kind]["grid"] = grid[kind]
    return best


def main() -> None:
    t0 = time.time()
    refusal = RefusalModel.load()
    metrics: dict = {"refusal_version": refusal.version}
    prompt, category, ctexts = train_prompt_models(metrics)
    parity_prompt = metrics.pop("_parity_prompt")

    feats = Featurizer(refusal, prompt)
    rows = [r for r in response_rows() if degenerate_kind(r.response) is None] + team_negative_rows()
    texts = [r.response for r in rows]
    y = np.array([bool(r.harmful) for r in rows])
    srcs = np.array([r.source for r in rows])
    groups = np.array([f"{r.source}:{r.group}" for r in rows])
    dense = np.array([feats.dense(r.prompt, r.response) for r in rows])
    fc = np.array([refusal.predict(r.response)[0] == "full_compliance" for r in rows])
    metrics["response_data"] = {"n": len(rows), "by_source": dict(Counter(srcs.tolist())),
                                "positives": int(y.sum()),
                                "degenerate_left_out": sum(1 for r in response_rows()
                                                           if degenerate_kind(r.response) is not None)}
    hyper = choose_hyper(texts, dense, y, groups, srcs, full_compliance=fc)["or"]
    print("response model", {k: v for k, v in hyper.items() if k != "grid"}, f"{time.time() - t0:.0f}s",
          flush=True)
    metrics["response_model"] = {**{k: v for k, v in hyper.items() if k != "grid"},
                                 "cv_grid_mean_source_accuracy": hyper["grid"],
                                 "dense_features": list(dense_feature_names())}
    model = ResponseModel(hyper["C"]).fit(texts, dense, y, source_weights(list(srcs), hyper["balance"]))

    art = {
        "feature_version": FEATURE_VERSION,
        "refusal_version": refusal.version,
        "threshold": hyper["threshold"],
        "threshold_full_compliance": hyper["threshold_full_compliance"],
        "prompt": prompt,
        "category": category,
        "response": export_sparse(model.vec, model.clf, len(model.vec.vocabulary_), ["delivers"], model.scaler),
        "training": {"response_sources": list(RESPONSE_SOURCES), "labels": "human harm labels",
                     "harmbench": "validation split only",
                     "verdict": "not degenerate and (score >= threshold or (refusal reads full_compliance and "
                                "score >= threshold_full_compliance))"},
    }
    blob = json.dumps(art, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    art["version"] = f"{VERSION_PREFIX}+{hashlib.sha256(blob.encode()).hexdigest()[:12]}"
    OUT.write_text(json.dumps(art, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    metrics["artefact_bytes"] = OUT.stat().st_size
    metrics["version"] = art["version"]

    # ---------------- parity ----------------
    hm = HarmModel.load(OUT, refusal)
    worst = 0.0
    idx = np.random.default_rng(0).choice(len(rows), min(300, len(rows)), replace=False)
    pvec, pclf, cvec, cclf, _ = parity_prompt
    pp = pclf.predict_proba(pvec.transform([rows[i].prompt or "x" for i in idx]))[:, 1]
    rp = model.proba([texts[i] for i in idx], dense[idx])
    for k, i in enumerate(idx):
        r = rows[i]
        pred = hm.predict(r.prompt or "x", r.response, prompt_harmful=True)
        worst = max(worst, abs(pred["p_prompt"] - pp[k]), abs(pred["p_response"] - rp[k]))
    cp = cclf.predict_proba(cvec.transform(ctexts[:200]))
    for k, t in enumerate(ctexts[:200]):
        probs = hm.category_probs(t)
        worst = max(worst, max(abs(probs[c] - cp[k][j]) for j, c in enumerate(cclf.classes_)))
    metrics["parity_max_abs_diff"] = worst
    print("parity max abs diff", worst)
    assert worst < 1e-3, worst  # weights are exported with 5 significant digits
    METRICS.write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"wrote {OUT} ({metrics['artefact_bytes']} bytes), version {art['version']}, {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
