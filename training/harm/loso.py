"""Leave-one-source-out (LOSO) figures of the harmful-prompt deciding judgment -> ``loso.json``.

    .venv/bin/python training/harm/loso.py            # ~5 min on 2 cores

For every human-labelled source of harm labels on responses to harmful prompts (see
``training/judgedata/sources.py``), and per model family where the source records it:
n, accuracy, Cohen's kappa, sensitivity and specificity of

* ``harm`` (the new default: not degenerate AND (response-model score >= threshold OR (the
  refusal model reads ``full_compliance`` AND score >= a lower threshold))): for each trainable
  source S (``gptfuzz-train``,
  ``jbb-team-train``), the response model is trained on the other trainable sources only,
  with C / source weighting / threshold chosen by grouped CV on those sources, and tested on
  S; ``jbb (both)`` holds out both JailbreakBench sources at once (trained on GPTFuzz only).
  Held-out sources (``gptfuzz-eval``: its authors' test split; ``jbb-team``: the JBB
  test-split behaviours, the judge's calibration set) are tested by the model trained on all
  trainable sources (the shipped recipe) and never used for any choice. Degenerate responses
  are "not harmful" by rule in every fold;
* attempts kept for the record: ``harm model alone`` (the response model without the refusal
  reading), ``harm-dense model alone`` (without the TF-IDF 1-2grams), ``refusal AND harm model``,
  ``refusal OR harm model`` (the plain OR: the lower threshold fixed at 0);
* ``refusal rule`` (the refusal judge: harmful = ``full_compliance``) and its variant
  ``refusal not-full`` (harmful = anything but ``full_refusal``);
* ``string match`` (``training/judgedata/baseline.py``).

The ``before`` block holds the figures measured once, before this change, with
``harm-lr-3`` (trained on JailbreakBench's weak LLM label) and ``refusal-lr-4``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "training" / "judgedata"))

from baseline import string_match_harmful  # noqa: E402
from train import (  # noqa: E402
    HELD_OUT_SOURCES,
    RESPONSE_SOURCES,
    TEAM_NEGATIVES,
    Featurizer,
    ResponseModel,
    choose_hyper,
    response_rows,
    source_weights,
    team_negative_rows,
    train_prompt_models,
)

from redline.judges._harm_model import degenerate_kind  # noqa: E402
from redline.judges._refusal_model import RefusalModel  # noqa: E402

OUT = HERE / "loso.json"
EVAL_ONLY_SOURCES = HELD_OUT_SOURCES  # gptfuzz-eval (published test split), jbb-team (calibration set)
FOLDS = {"gptfuzz-train": ("gptfuzz-train",), "jbb-team-train": ("jbb-team-train",),
         "jbb (both)": ("jbb-team", "jbb-team-train")}


def stats(y: list[bool], p: list[bool]) -> dict:
    """n, accuracy, Cohen's kappa, sensitivity, specificity (None where undefined)."""
    n = len(y)
    tp = sum(1 for a, b in zip(y, p, strict=True) if a and b)
    tn = sum(1 for a, b in zip(y, p, strict=True) if not a and not b)
    fp = sum(1 for a, b in zip(y, p, strict=True) if not a and b)
    fn = n - tp - tn - fp
    if not n:
        return {"n": 0}
    acc = (tp + tn) / n
    py, pp = (tp + fn) / n, (tp + fp) / n
    pe = py * pp + (1 - py) * (1 - pp)
    kappa = (acc - pe) / (1 - pe) if pe < 1 else 0.0

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 4)

    return {"n": n, "positives": tp + fn, "accuracy": r(acc), "kappa": r(kappa),
            "sensitivity": r(tp / (tp + fn)) if tp + fn else None,
            "specificity": r(tn / (tn + fp)) if tn + fp else None}


def main() -> None:
    t0 = time.time()
    refusal = RefusalModel.load()
    metrics: dict = {}
    prompt, _, _ = train_prompt_models(metrics, category=False)
    feats = Featurizer(refusal, prompt)
    rows = response_rows((*RESPONSE_SOURCES, *EVAL_ONLY_SOURCES)) + team_negative_rows()
    n = len(rows)
    texts = [r.response for r in rows]
    y = np.array([bool(r.harmful) for r in rows])
    srcs = np.array([r.source for r in rows])
    groups = np.array([f"{r.source}:{r.group}" for r in rows])
    deg = np.array([degenerate_kind(r.response) is not None for r in rows])
    dense = np.array([feats.dense(r.prompt, r.response) for r in rows])
    ref_label = [refusal.predict(r.response)[0] for r in rows]
    print(f"features for {n} rows, {time.time() - t0:.0f}s", flush=True)

    fc = np.array([lab == "full_compliance" for lab in ref_label])
    preds: dict[str, np.ndarray] = {
        "refusal rule": fc,
        "refusal not-full": np.array([lab != "full_refusal" for lab in ref_label]),
        "string match": np.array([string_match_harmful(t) for t in texts]),
    }
    chosen: dict[str, dict] = {}
    trainable = np.isin(srcs, (*RESPONSE_SOURCES, TEAM_NEGATIVES))  # team negatives: training only
    # (TF-IDF?, {variant name: "or" = threshold chosen for the OR with the refusal reading, or "alone"})
    variants = ((True, {"harm": "or", "harm model alone": "alone", "refusal OR harm model": "or0"}),
                (False, {"harm-dense model alone": "alone"}))
    for tfidf, names in variants:
        out = {v: {name: np.zeros(n, dtype=bool) for name in FOLDS} for v in names}
        ev = {v: np.zeros(n, dtype=bool) for v in names}
        for name, held in [*FOLDS.items(), ("eval-only sources", ())]:
            tr = np.where(trainable & ~np.isin(srcs, held) & ~deg)[0]
            te = np.where(np.isin(srcs, held) if held else np.isin(srcs, EVAL_ONLY_SOURCES))[0]
            hh = choose_hyper([texts[i] for i in tr], dense[tr], y[tr], groups[tr], srcs[tr], tfidf=tfidf,
                              full_compliance=fc[tr])
            fitted: dict = {}
            for variant, kind in names.items():
                h = hh[kind]
                key = (h["C"], h["balance"])
                if key not in fitted:
                    m = ResponseModel(h["C"], tfidf).fit([texts[i] for i in tr], dense[tr], y[tr],
                                                         source_weights(list(srcs[tr]), h["balance"]))
                    fitted[key] = m.proba([texts[i] for i in te], dense[te])
                p = fitted[key] >= h["threshold"]
                if kind in ("or", "or0"):
                    p = p | (fc[te] & (fitted[key] >= h["threshold_full_compliance"]))
                (out[variant][name] if held else ev[variant])[te] = p & ~deg[te]
                chosen[f"{variant} | held out: {name}"] = {k: v for k, v in h.items() if k != "grid"}
                print(variant, name, chosen[f"{variant} | held out: {name}"], f"{time.time() - t0:.0f}s",
                      flush=True)
        for variant in names:
            # one prediction per row: its own source's fold (held-out sources: the all-trainable model)
            preds[variant] = np.array([ev[variant][i] if s in EVAL_ONLY_SOURCES
                                       else out[variant][s][i] if s in out[variant] else False
                                       for i, s in enumerate(srcs)])  # team negatives: never measured
            preds[f"{variant} (jbb both held out)"] = out[variant]["jbb (both)"]
    preds["refusal AND harm model"] = preds["refusal rule"] & preds["harm model alone"]

    table: dict = defaultdict(dict)
    for s in [*RESPONSE_SOURCES, *EVAL_ONLY_SOURCES, "jbb (both)"]:
        members = np.isin(srcs, FOLDS.get(s, (s,)))
        fams = sorted(set(r.model_family for r, m in zip(rows, members, strict=True) if m))
        for fam in ["all", *fams]:
            sel = members & (np.array([r.model_family == fam for r in rows]) if fam != "all" else True)
            if not sel.any():
                continue
            yy = list(y[sel])
            for rule, p in preds.items():
                if s == "jbb (both)" and rule in ("harm", "harm model alone", "harm-dense model alone",
                                                  "refusal AND harm model", "refusal OR harm model"):
                    continue  # for the JBB sources together, use the '(jbb both held out)' columns
                if s != "jbb (both)" and rule.endswith("(jbb both held out)"):
                    continue
                table[s].setdefault(fam, {})[rule] = stats(yy, list(p[sel]))
    result = {
        "what": "agreement with human harm labels on responses to harmful prompts; see the module docstring",
        "refusal_version": refusal.version,
        "degenerate_rows": {s: int((deg & (srcs == s)).sum()) for s in sorted(set(srcs)) if s != TEAM_NEGATIVES},
        "training_only": f"{TEAM_NEGATIVES}: {int((srcs == TEAM_NEGATIVES).sum())} team-written not-harmful answers "
                         "(training/harm/team_negatives.py), in every fold's training data, never measured",
        "hyper_parameters": chosen,
        "sources": table,
        "before": BEFORE,
        "caveats": [
            "the refusal model's features were trained on refusal labels of JailbreakBench training-split "
            "responses, some of which are jbb-team-train rows (refusal labels, not harm labels)",
            "GPTFuzz rows carry no per-row model: their family is 'gpt-3.5|llama-2|vicuna'",
            "no human-labelled contextual requests (context passage + request) are available offline: "
            "the contextual case is not measured",
        ],
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}, {time.time() - t0:.0f}s")


#: Measured once before this change (commit 4aecee4: harm-lr-3+a6f68e57513c, refusal-lr-4+f33fd464d47a,
#: training/judgedata/baseline.py). ``harm (old)`` was trained on jbb-team-train's responses (weak
#: label), so its jbb-team-train figure is not held out.
BEFORE = json.loads((HERE / "loso_before.json").read_text()) if (HERE / "loso_before.json").is_file() else {}


if __name__ == "__main__":
    main()
