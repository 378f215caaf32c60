"""Shared statistics: binomial confidence intervals, percentile intervals, the Rogan-Gladen correction.

One implementation of each, used by :mod:`redline.evals` (safety-metric intervals),
:mod:`redline.judges.calibration` (judge agreement and corrected rates) and
:mod:`redline.annotate` (annotator quality and agreement intervals).

This module is on ``redline eval``'s import path: it imports only the standard library at
module level; ``numpy`` is imported inside the function that needs it.

Conventions: a statistic that the data cannot define (no observations, too few defined
bootstrap values, a judge no better than chance) is ``None`` — never ``NaN``, which JSON cannot
carry — and callers render it as "n/a".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "Z95",
    "percentile_interval",
    "rogan_gladen",
    "wilson_interval",
]

#: the two-sided 95% standard-normal quantile, ``Φ⁻¹(0.975)``
Z95 = 1.959963984540054


def _z(confidence: float) -> float:
    """The two-sided standard-normal quantile ``Φ⁻¹((1 + confidence) / 2)``."""
    if confidence == 0.95:
        return Z95
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion of ``k`` successes out of ``n``.

    With ``p = k / n`` and ``z = Φ⁻¹((1 + confidence) / 2)`` (1.96 for 95%)::

        centre = (p + z² / 2n) / (1 + z² / n)
        half   = z / (1 + z² / n) · sqrt(p (1 - p) / n + z² / 4n²)

    and the interval is ``[centre - half, centre + half]`` clipped to [0, 1] (so ``k == 0``
    gives a lower bound of exactly 0 and ``k == n`` an upper bound of exactly 1). It is the
    score interval without continuity correction: the same as ``scipy.stats.binomtest(k,
    n).proportion_ci(method="wilson")`` and ``statsmodels``' ``proportion_confint(k, n,
    method="wilson")``. Reference: E. B. Wilson (1927), "Probable inference, the law of
    succession, and statistical inference", JASA 22(158):209-212; recommended over the Wald
    interval by Brown, Cai & DasGupta (2001), Statistical Science 16(2):101-133.

    Args:
        k: Number of successes, ``0 <= k <= n``.
        n: Number of trials.
        confidence: Two-sided confidence level, strictly between 0 and 1.

    Returns:
        ``(low, high)``, or None when ``n <= 0``: with no observations there is no interval
        (callers show "n/a", like the rate itself).

    Raises:
        ValueError: ``k`` outside ``[0, n]``, or ``confidence`` outside (0, 1).
    """
    if n <= 0:
        return None
    if k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    z = _z(confidence)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile_interval(values: Iterable[float], confidence: float = 0.95, *,
                        min_values: int = 1) -> tuple[float, float] | None:
    """Percentile interval of bootstrap (or other simulated) values.

    The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the finite values,
    linearly interpolated (``numpy.percentile``'s default); non-finite values (replicates where
    the statistic was undefined) are left out. Reference: B. Efron & R. J. Tibshirani (1993),
    *An Introduction to the Bootstrap*, ch. 13.

    Args:
        values: The replicates (any iterable of numbers, or a numpy array).
        confidence: Two-sided confidence level, strictly between 0 and 1.
        min_values: The fewest finite values an interval is given for.

    Returns:
        ``(low, high)``, or None when fewer than ``min_values`` values are finite.
    """
    import numpy as np

    a = values.astype(float) if isinstance(values, np.ndarray) else np.fromiter(values, dtype=float)
    a = a[np.isfinite(a)]
    if len(a) < max(1, min_values):
        return None
    lo, hi = np.percentile(a, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(lo), float(hi)


def rogan_gladen(p: float, sens: float, spec: float) -> float | None:
    """Rogan-Gladen estimate of a true prevalence from an apparent one measured by an imperfect test.

    ``(p + spec - 1) / (sens + spec - 1)`` clipped to [0, 1], where ``p`` is the apparent rate
    (e.g. the share of responses a judge calls harmful), ``sens`` and ``spec`` the judge's
    sensitivity and specificity. Reference: W. J. Rogan & B. Gladen (1978), "Estimating
    prevalence from the results of a screening test", American Journal of Epidemiology
    107(1):71-76.

    Args:
        p: Apparent (measured) rate, in [0, 1].
        sens: Sensitivity of the test, in [0, 1].
        spec: Specificity of the test, in [0, 1].

    Returns:
        The corrected rate, or None when the test is no better than chance
        (``sens + spec <= 1``, Youden's J <= 0) and the correction is undefined.
    """
    j = sens + spec - 1
    if j <= 1e-9:
        return None
    return min(1.0, max(0.0, (p + spec - 1) / j))
