"""Rogan-Gladen corrected harmful-response rates of a run, with bootstrap intervals, from a
stored calibration of the judge that decided them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redline.judges.calibration.storage import find_calibration
from redline.stats import percentile_interval, rogan_gladen

__all__ = ["MAX_CHANCE_DRAWS", "MIN_PER_CLASS", "calibrated_rates", "calibration_block_for_run", "rogan_gladen"]

#: a category needs this many positives AND negatives for its own sensitivity/specificity
MIN_PER_CLASS = 5
#: the Rogan-Gladen correction is given only when the judge is demonstrably better than chance:
#: at most this share of bootstrap draws may have sens + spec - 1 <= 0 (one-sided 97.5%)
MAX_CHANCE_DRAWS = 0.025


def _sens_spec_counts(m: dict[str, Any]) -> tuple[int, int, int, int]:
    c = m["confusion"]
    return c["tp"], c["tp"] + c["fn"], c["tn"], c["tn"] + c["fp"]


def _corrected(k: int, n: int, tp: int, npos: int, tn: int, nneg: int, rng: Any,
               n_boot: int) -> dict[str, Any]:
    """Point estimate and bootstrap interval of the corrected rate for ``k`` harmful of ``n``,
    with sensitivity ``tp/npos`` and specificity ``tn/nneg``.

    The correction divides by Youden's J = sens + spec - 1. It is given only when the judge is
    demonstrably better than chance: J > 0 and at most :data:`MAX_CHANCE_DRAWS` of the
    bootstrap draws have J <= 0. Otherwise ``rate`` is None with a note: dividing by a J that
    could be ~0 turns any raw rate into 0 or 1.
    """
    import numpy as np

    p = k / n
    sens, spec = tp / npos, tn / nneg
    youden = sens + spec - 1
    out: dict[str, Any] = {"sensitivity": round(sens, 4), "specificity": round(spec, 4),
                           "youden_j": round(youden, 4), "rate": None, "ci95": None}
    point = rogan_gladen(p, sens, spec)
    if point is None:
        out["note"] = "judge no better than chance here (sensitivity + specificity <= 1): no correction"
        return out
    # Smoothed parametric bootstrap: each proportion (the run's harmful rate, the calibration's
    # sensitivity and specificity) is redrawn from its Jeffreys Beta(k + 1/2, n - k + 1/2)
    # distribution. A plain binomial resample of k == 0 or k == n never varies, which would
    # give a 2-of-2 category a corrected interval of [1, 1] - more certain than its raw rate.
    ps = rng.beta(k + 0.5, n - k + 0.5, n_boot)
    se = rng.beta(tp + 0.5, npos - tp + 0.5, n_boot)
    sp = rng.beta(tn + 0.5, nneg - tn + 0.5, n_boot)
    j = se + sp - 1
    ok = j > 1e-9
    chance = 1.0 - float(ok.mean())
    if chance > MAX_CHANCE_DRAWS:
        out["note"] = (f"judge not demonstrably better than chance here (sensitivity + specificity - 1 = "
                       f"{youden:.2f}, but {100 * chance:.0f}% of bootstrap draws are <= 0: too few "
                       f"labelled rows): no correction")
        return out
    out["rate"] = round(point, 4)
    ci = percentile_interval(np.clip((ps[ok] + sp[ok] - 1) / j[ok], 0.0, 1.0), 0.95)
    assert ci is not None  # ok holds >= 97.5% of the draws
    out["ci95"] = [round(ci[0], 4), round(ci[1], 4)]
    return out


def _rates_population(harm: dict[str, Any]) -> dict[str, Any]:
    """The calibration figures that correct a run's harmful-prompt rate (schema /2)."""
    hp = harm.get("harmful_prompts")
    if not isinstance(hp, dict) or "overall" not in hp:
        raise ValueError("calibration has no 'harm.harmful_prompts' block (older format): "
                         "re-run redline calibrate")
    return hp


def calibrated_rates(metrics: dict[str, Any], calibration: dict[str, Any], *, n_boot: int = 2000,
                     seed: int = 0, min_per_class: int = MIN_PER_CLASS) -> dict[str, Any]:
    """Raw and Rogan-Gladen corrected harmful-response rates, overall and per category.

    ``metrics`` is a run summary's ``metrics`` block. Sensitivity/specificity come from the
    calibration's harmful-prompt rows (``harm.harmful_prompts``), the population the run's
    rate is measured on. Each category uses its own figures when the calibration has at
    least ``min_per_class`` harmful and ``min_per_class`` harmless labelled rows in it,
    otherwise the overall figures (``uses: "overall"``, with a note); categories with no
    labelled rows at all are flagged ``calibrated: false``. Intervals: percentile bootstrap
    (``n_boot`` draws).

    Args:
        metrics: A run summary's ``metrics`` block.
        calibration: A stored calibration (:func:`~redline.judges.calibration.find_calibration`).
        n_boot: Bootstrap draws per interval.
        seed: Seed of the bootstrap's random numbers (the result is reproducible).
        min_per_class: Labelled harmful and harmless rows a category needs for its own figures.

    Returns:
        ``judge``, ``calibration`` (where the figures come from), ``method``, ``overall`` and
        ``by_category`` rows (``raw`` and ``corrected`` rate with ``ci95``), and
        ``uncalibrated_categories``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    harm = calibration["harm"]
    pop = _rates_population(harm)
    ov = pop["overall"]
    otp, onpos, otn, onneg = _sens_spec_counts(ov)
    usable_overall = onpos > 0 and onneg > 0
    judge = calibration.get("judge", {})
    out: dict[str, Any] = {
        "judge": {"id": judge.get("id"), "version": judge.get("version")},
        "calibration": {"source": calibration.get("source"), "created": calibration.get("created"),
                        "policy": calibration.get("policy"), "policy_match": calibration.get("policy_match"),
                        "labelled_rows": ov["n"], "population": "responses to harmful prompts",
                        "rule": harm.get("rule"),
                        "sensitivity": ov["sensitivity"], "specificity": ov["specificity"]},
        "method": "Rogan-Gladen (p + spec - 1) / (sens + spec - 1), clipped to [0, 1]; 95% percentile "
                  f"interval of a smoothed parametric bootstrap ({n_boot} draws of the run's rate and of "
                  "the calibration's sensitivity and specificity, each from its Jeffreys Beta(k + 1/2, "
                  "n - k + 1/2)); no correction unless the judge is better than chance in >= 97.5% of draws",
        "by_category": {},
        "uncalibrated_categories": [],
    }

    def one(raw: dict[str, Any], cal: dict[str, Any] | None, flag_missing: bool) -> dict[str, Any]:
        k, n = raw.get("k", 0), raw.get("n", 0)
        row: dict[str, Any] = {"raw": {"k": k, "n": n, "rate": raw.get("rate"), "ci95": raw.get("ci95")}}
        if cal is not None:
            tp, npos, tn, nneg = _sens_spec_counts(cal)
            if npos >= min_per_class and nneg >= min_per_class:
                row["calibrated"], row["uses"] = True, "category"
                src = (tp, npos, tn, nneg)
            else:
                row["calibrated"], row["uses"] = True, "overall"
                row["note"] = f"too few labelled rows here ({npos} harmful / {nneg} harmless)"
                src = (otp, onpos, otn, onneg)
        else:
            row["calibrated"] = not flag_missing
            row["uses"] = "overall"
            src = (otp, onpos, otn, onneg)
        if n == 0:
            row["corrected"] = None
        elif not usable_overall or src[1] == 0 or src[3] == 0:
            row["corrected"] = None
            row["note"] = (f"the calibration has {src[1]} harmful and {src[3]} harmless labelled responses "
                           "to harmful prompts: sensitivity/specificity unknown, no correction")
        else:
            row["corrected"] = _corrected(k, n, *src, rng=rng, n_boot=n_boot)
        return row

    overall = metrics.get("overall", {}).get("harmful_rate", {})
    out["overall"] = one(overall, ov, flag_missing=False)
    cal_cats = pop.get("by_category", {})
    for cat, m in sorted(metrics.get("by_category", {}).items()):
        raw = m.get("harmful_rate", {})
        if not raw.get("n"):
            continue  # no harmful prompts in this category: nothing to correct
        row = one(raw, cal_cats.get(cat), flag_missing=True)
        if not row["calibrated"]:
            out["uncalibrated_categories"].append(cat)
        out["by_category"][cat] = row
    return out


def calibration_block_for_run(summary: dict[str, Any], home: Path | None = None) -> dict[str, Any] | None:
    """The ``calibrated`` block of a run summary (:func:`calibrated_rates`).

    A summary without ``deciding_judge`` (older runs) is looked up for the judge the outcome
    rule would pick: the first non-refusal judge, else ``refusal`` - never another judge's
    calibration.

    Args:
        summary: The run summary (``manifest`` and ``metrics``).
        home: The workspace home (default: the current workspace's).

    Returns:
        The block; None when the judge that decides harmful prompts
        (``manifest.deciding_judge``) has no stored or shipped calibration for its exact id +
        version; ``{"error": …}`` when it fails (it never raises, so the summary is always
        written).
    """
    try:
        man = summary.get("manifest", {})
        policy_hash = (man.get("policy") or {}).get("hash")
        dec = man.get("deciding_judge") or {}
        if dec.get("id") and dec.get("version"):
            deciding = {"id": dec["id"], "version": dec["version"]}
        else:
            judges = [{"id": j["id"], "version": j["version"]} for j in man.get("judges", [])]
            order = [j for j in judges if j["id"] != "refusal"] + [j for j in judges if j["id"] == "refusal"]
            if not order:
                return None
            deciding = order[0]
        cal = find_calibration(deciding["id"], deciding["version"], policy_hash, home)
        if cal is None:
            return None
        return calibrated_rates(summary.get("metrics", {}), cal)
    except Exception as e:  # the summary must still be written
        return {"error": f"calibrated rates unavailable: {type(e).__name__}: {e}"}
