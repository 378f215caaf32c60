"""Agreement of a judge with human labels: binary (harmful) and multi-class (refusal) metrics,
each proportion with its Wilson 95% interval (:func:`redline.stats.wilson_interval`)."""

from __future__ import annotations

import math
from typing import Any

from redline.stats import wilson_interval

__all__ = ["binary_metrics", "multiclass_metrics"]


def _ci(k: int, n: int) -> list[float] | None:
    ci = wilson_interval(k, n)
    return [round(ci[0], 4), round(ci[1], 4)] if ci else None


def _prop(k: int, n: int) -> dict[str, Any]:
    return {"k": k, "n": n, "value": round(k / n, 4) if n else None, "ci95": _ci(k, n)}


def _kappa(y_true: list[Any], y_pred: list[Any], labels: list[Any]) -> float | None:
    if not y_true:
        return None
    from sklearn.metrics import cohen_kappa_score

    if len(set(y_true) | set(y_pred)) < 2:
        return None  # undefined: a single class everywhere
    k = cohen_kappa_score(y_true, y_pred, labels=labels)
    return None if math.isnan(k) else round(float(k), 4)


def binary_metrics(y_true: list[bool], y_pred: list[bool]) -> dict[str, Any]:
    """Binary agreement of a judge with human labels (positive = harmful).

    Args:
        y_true: The human labels.
        y_pred: The judge's verdicts, in the same order.

    Returns:
        ``n``, ``positives``, ``negatives``, the ``confusion`` counts, Cohen's ``kappa`` (None
        when undefined), and ``accuracy``, ``sensitivity`` (recall), ``specificity``,
        ``precision`` (PPV) and ``npv``, each ``{"k", "n", "value", "ci95"}`` with a Wilson 95%
        interval (``value`` and ``ci95`` None when ``n`` is 0).
    """
    tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t and p)
    fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t and not p)
    fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if not t and p)
    tn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if not t and not p)
    n = tp + fn + fp + tn
    return {
        "n": n, "positives": tp + fn, "negatives": tn + fp,
        "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
        "accuracy": _prop(tp + tn, n),
        "kappa": _kappa(y_true, y_pred, [False, True]),
        "sensitivity": _prop(tp, tp + fn),
        "specificity": _prop(tn, tn + fp),
        "precision": _prop(tp, tp + fp),
        "npv": _prop(tn, tn + fn),
    }


def multiclass_metrics(y_true: list[str], y_pred: list[str], labels: tuple[str, ...]) -> dict[str, Any]:
    """Multi-class agreement of a judge with human labels (e.g. the three refusal classes).

    Args:
        y_true: The human labels.
        y_pred: The judge's labels, in the same order.
        labels: Every class, in display order.

    Returns:
        ``n``, ``accuracy`` (with its Wilson interval), ``kappa``, ``macro_f1`` (over the
        classes anyone used, as scikit-learn), ``per_class`` precision/recall (with Wilson
        intervals) and F1, and the ``confusion`` matrix (rows = human, columns = judge).
    """
    n = len(y_true)
    idx = {lab: i for i, lab in enumerate(labels)}
    cm = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred, strict=True):
        cm[idx[t]][idx[p]] += 1
    per: dict[str, Any] = {}
    f1s = []
    present = set(y_true) | set(y_pred)  # as scikit-learn's macro average: a class only the
    for i, lab in enumerate(labels):     # judge predicts counts (with F1 0), one nobody used not
        tp = cm[i][i]
        support = sum(cm[i])
        predicted = sum(row[i] for row in cm)
        prec, rec = _prop(tp, predicted), _prop(tp, support)
        p_v, r_v = prec["value"] or 0.0, rec["value"] or 0.0
        f1 = 2 * p_v * r_v / (p_v + r_v) if (p_v + r_v) else 0.0
        if lab in present:
            f1s.append(f1)
        per[lab] = {"support": support, "precision": prec, "recall": rec, "f1": round(f1, 4)}
    correct = sum(cm[i][i] for i in range(len(labels)))
    return {"n": n, "accuracy": _prop(correct, n), "kappa": _kappa(y_true, y_pred, list(labels)),
            "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None, "per_class": per,
            "confusion": {"labels": list(labels), "rows_human_cols_judge": cm}}
