"""Shared statistics: binomial confidence intervals, percentile intervals, the Rogan-Gladen correction,
and the comparison of two runs' rates (McNemar, Newcombe intervals, paired bootstrap, Holm/BH,
minimum detectable differences).

One implementation of each, used by :mod:`redline.evals` (safety-metric intervals),
:mod:`redline.judges.calibration` (judge agreement and corrected rates),
:mod:`redline.annotate` (annotator quality and agreement intervals) and :mod:`redline.learn`
(comparing runs, gates).

This module is on ``redline eval``'s import path: it imports only the standard library at
module level; ``numpy`` and ``scipy`` are imported inside the functions that need them.

Conventions: a statistic that the data cannot define (no observations, too few defined
bootstrap values, a judge no better than chance) is ``None`` — never ``NaN``, which JSON cannot
carry — and callers render it as "n/a".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MAX_SAMPLES",
    "Z95",
    "bh_adjust",
    "holm_adjust",
    "mcnemar_exact",
    "min_detectable_difference",
    "newcombe_interval",
    "paired_bootstrap_diff",
    "paired_diff_interval",
    "percentile_interval",
    "rogan_gladen",
    "samples_for_budget",
    "samples_for_difference",
    "two_proportion_z_test",
    "upper_bound_one_sided",
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


# -- comparing two runs: paired and unpaired differences of proportions, multiplicity, power ----


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test on the discordant pairs of a paired 2×2 table.

    Under the null hypothesis of equal marginal proportions, each of the ``b + c`` discordant
    pairs falls either way with probability 1/2, so ``p = min(1, 2 · P(X <= min(b, c)))`` with
    ``X ~ Binomial(b + c, 1/2)`` (the concordant pairs carry no information about the
    difference). The same as ``statsmodels.stats.contingency_tables.mcnemar(table,
    exact=True)``. Reference: Q. McNemar (1947), "Note on the sampling error of the difference
    between correlated proportions or percentages", Psychometrika 12(2):153-157.

    Args:
        b: Pairs where only the first member has the event.
        c: Pairs where only the second member has the event.

    Returns:
        The two-sided p-value; 1.0 when there are no discordant pairs.

    Raises:
        ValueError: A negative count.
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    from scipy.stats import binom

    return min(1.0, 2.0 * float(binom.cdf(min(b, c), n, 0.5)))


def paired_diff_interval(a: int, b: int, c: int, d: int,
                         confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for the difference of two PAIRED proportions.

    For a paired 2×2 table (``a`` pairs with the event in both members, ``b`` in the first
    only, ``c`` in the second only, ``d`` in neither; ``n = a + b + c + d``), the difference is
    ``θ = p1 - p2`` with ``p1 = (a + b) / n`` and ``p2 = (a + c) / n``. With Wilson intervals
    ``(l1, u1)``, ``(l2, u2)`` for ``p1`` and ``p2`` (:func:`wilson_interval`) and the
    correlation estimate ``φ`` of the table (``(ad - bc - n/2) / sqrt((a+b)(c+d)(a+c)(b+d))``
    when ``ad - bc > n/2``, ``0`` when ``0 <= ad - bc <= n/2``, ``(ad - bc) / sqrt(...)`` when
    negative, and ``0`` when a margin is empty)::

        lower = θ - sqrt((p1 - l1)² - 2φ (p1 - l1)(u2 - p2) + (u2 - p2)²)
        upper = θ + sqrt((u1 - p1)² - 2φ (u1 - p1)(p2 - l2) + (p2 - l2)²)

    Reference: R. G. Newcombe (1998), "Improved confidence intervals for the difference
    between binomial proportions based on paired data", Statistics in Medicine
    17(22):2635-2650, method 10; the same as ``Newcombe_square_and_add_CI_paired_2x2`` in
    Fagerland, Lydersen & Laake (2017), *Statistical Analysis of Contingency Tables*, ch. 8
    (their worked example, table [[59, 6], [16, 80]], gives -0.0621 (-0.1186 to -0.0046)).

    Args:
        a: Pairs with the event in both members.
        b: Pairs with the event in the first member only.
        c: Pairs with the event in the second member only.
        d: Pairs with the event in neither.
        confidence: Two-sided confidence level, strictly between 0 and 1.

    Returns:
        ``(low, high)`` for ``p1 - p2``, clipped to [-1, 1]; None when ``n == 0``.

    Raises:
        ValueError: A negative count, or ``confidence`` outside (0, 1).
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must be >= 0, got {(a, b, c, d)}")
    n = a + b + c + d
    if n == 0:
        return None
    p1, p2 = (a + b) / n, (a + c) / n
    ci1 = wilson_interval(a + b, n, confidence)
    ci2 = wilson_interval(a + c, n, confidence)
    assert ci1 is not None and ci2 is not None
    (l1, u1), (l2, u2) = ci1, ci2
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    num = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = num / math.sqrt(margins) if margins > 0 else 0.0
    theta = p1 - p2
    lo = theta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    hi = theta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, lo), min(1.0, hi))


def newcombe_interval(k1: int, n1: int, k2: int, n2: int,
                      confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for the difference of two INDEPENDENT proportions.

    For ``p1 = k1 / n1`` and ``p2 = k2 / n2`` with Wilson intervals ``(l1, u1)`` and
    ``(l2, u2)`` (:func:`wilson_interval`), the interval for ``p1 - p2`` is::

        [p1 - p2 - sqrt((p1 - l1)² + (u2 - p2)²),  p1 - p2 + sqrt((u1 - p1)² + (p2 - l2)²)]

    The same as ``statsmodels.stats.proportion.confint_proportions_2indep(k1, n1, k2, n2,
    method="newcomb")``. Reference: R. G. Newcombe (1998), "Interval estimation for the
    difference between independent proportions: comparison of eleven methods", Statistics in
    Medicine 17(8):873-890, method 10.

    Args:
        k1: Events in the first group.
        n1: Size of the first group.
        k2: Events in the second group.
        n2: Size of the second group.
        confidence: Two-sided confidence level, strictly between 0 and 1.

    Returns:
        ``(low, high)`` for ``p1 - p2``; None when either group is empty.

    Raises:
        ValueError: A count outside ``[0, n]``, or ``confidence`` outside (0, 1).
    """
    ci1 = wilson_interval(k1, n1, confidence)
    ci2 = wilson_interval(k2, n2, confidence)
    if ci1 is None or ci2 is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = ci1, ci2
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def two_proportion_z_test(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided pooled z (score) test of equal proportions in two independent groups.

    ``z = (p1 - p2) / sqrt(p̂ (1 - p̂) (1/n1 + 1/n2))`` with the pooled ``p̂ = (k1 + k2) /
    (n1 + n2)``; the same as ``statsmodels.stats.proportion.proportions_ztest([k1, k2], [n1,
    n2])``. Reference: J. L. Fleiss, B. Levin & M. C. Paik (2003), *Statistical Methods for
    Rates and Proportions*, 3rd ed., §2.6.

    Args:
        k1: Events in the first group.
        n1: Size of the first group.
        k2: Events in the second group.
        n2: Size of the second group.

    Returns:
        The p-value (1.0 when both groups have the same all-or-nothing rate); None when either
        group is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0
    from statistics import NormalDist

    z = (k1 / n1 - k2 / n2) / math.sqrt(var)
    return min(1.0, 2 * (1 - NormalDist().cdf(abs(z))))


def paired_bootstrap_diff(table: list[list[int]], *, n_boot: int = 10000, confidence: float = 0.95,
                          seed: int = 0) -> dict[str, float | None]:
    """Paired bootstrap for a difference of two rates whose denominators differ.

    Each pair of observations (e.g. one sample answered by two models) is in one of three
    states per member: ``0`` the event (e.g. a harmful response), ``1`` no event, ``2`` not
    assessable (left out of that member's denominator). ``table[i][j]`` counts the pairs with
    the first member in state ``i`` and the second in state ``j``. The rates are ``r1 = events
    / assessed`` of the first member and ``r2`` likewise; the statistic is ``r2 - r1``.

    Resampling the ``n`` pairs with replacement is the same as drawing the 9 cell counts from
    ``Multinomial(n, table / n)``, which is what is done (exact, and independent of ``n`` in
    cost). The interval is the percentile interval of the replicates
    (:func:`percentile_interval`); the two-sided p-value is that of the shifted (null)
    bootstrap distribution, ``(1 + #{|d* - d| >= |d|}) / (1 + B)`` over the defined
    replicates. Replicates with an empty denominator are left out. Reference: B. Efron & R. J.
    Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13 and §16.

    Args:
        table: 3×3 counts (first member's state × second member's state).
        n_boot: Number of bootstrap replicates.
        confidence: Two-sided confidence level, strictly between 0 and 1.
        seed: Seed of the random generator (results are reproducible).

    Returns:
        ``{"diff", "low", "high", "p"}``; all None when a rate is undefined in the data
        (no assessed observation in a member).

    Raises:
        ValueError: A table that is not 3×3 with counts >= 0.
    """
    import numpy as np

    t = np.asarray(table, dtype=np.int64)
    if t.shape != (3, 3) or (t < 0).any():
        raise ValueError("table must be 3x3 with counts >= 0")
    none: dict[str, float | None] = {"diff": None, "low": None, "high": None, "p": None}

    def rates(cells: np.ndarray) -> np.ndarray:
        c = cells.reshape(-1, 3, 3)
        n1 = c[:, :2, :].sum(axis=(1, 2))
        n2 = c[:, :, :2].sum(axis=(1, 2))
        e1 = c[:, 0, :].sum(axis=1)
        e2 = c[:, :, 0].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((n1 > 0) & (n2 > 0), e2 / np.maximum(n2, 1) - e1 / np.maximum(n1, 1), np.nan)

    n = int(t.sum())
    d = float(rates(t)[0])
    if n == 0 or not np.isfinite(d):
        return none
    rng = np.random.default_rng(seed)
    reps = rates(rng.multinomial(n, t.ravel() / n, size=n_boot))
    ok = reps[np.isfinite(reps)]
    ci = percentile_interval(ok, confidence)
    if ci is None:
        return none
    p = (1 + int(np.count_nonzero(np.abs(ok - d) >= abs(d) - 1e-12))) / (1 + len(ok))
    return {"diff": d, "low": ci[0], "high": ci[1], "p": min(1.0, p)}


def _family(pvalues: list[float | None]) -> tuple[list[int], list[float], list[float | None]]:
    """The tested rows of a family, smallest p first: their indices, their p-values, and an
    all-None result list of the input's length (rows with no test stay None)."""
    tested = sorted(((p, i) for i, p in enumerate(pvalues) if p is not None))
    return [i for _, i in tested], [p for p, _ in tested], [None] * len(pvalues)


def holm_adjust(pvalues: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (family-wise error control).

    Sorted ascending, the i-th smallest of the m p-values becomes ``max_{j<=i} min(1, (m - j +
    1) p_(j))``; None entries (rows with no test) are left out of the family and stay None.
    The same as ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``.
    Reference: S. Holm (1979), "A simple sequentially rejective multiple test procedure",
    Scandinavian Journal of Statistics 6(2):65-70.

    Args:
        pvalues: The raw p-values (None for no test).

    Returns:
        The adjusted p-values, in the input's order.
    """
    idx, ps, out = _family(pvalues)
    m = len(idx)
    running = 0.0
    for rank, (i, p) in enumerate(zip(idx, ps, strict=True)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def bh_adjust(pvalues: list[float | None]) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values (false-discovery-rate control).

    Sorted ascending, the i-th smallest of the m p-values becomes ``min_{j>=i} min(1, m p_(j)
    / j)``; None entries are left out of the family and stay None. The same as
    ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``. Reference:
    Y. Benjamini & Y. Hochberg (1995), "Controlling the false discovery rate: a practical and
    powerful approach to multiple testing", JRSS B 57(1):289-300.

    Args:
        pvalues: The raw p-values (None for no test).

    Returns:
        The adjusted p-values, in the input's order.
    """
    idx, ps, out = _family(pvalues)
    m = len(idx)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i, p = idx[rank], ps[rank]
        running = min(running, min(1.0, m * p / (rank + 1)))
        out[i] = running
    return out


def _smallest_detectable(power_at: Any, upper: float) -> float | None:
    """The smallest ``d`` in (0, upper] with ``power_at(d) >= target`` (bisection; power rises with d)."""
    if upper <= 0 or not power_at(upper):
        return None
    lo, hi = 0.0, upper
    for _ in range(60):
        mid = (lo + hi) / 2
        if power_at(mid):
            hi = mid
        else:
            lo = mid
    return hi


def min_detectable_difference(p: float, n1: int, n2: int | None = None, *, paired: bool = False,
                              discordant: float | None = None, alpha: float = 0.05,
                              power: float = 0.8) -> float | None:
    """The smallest difference of two proportions a comparison detects with the given power.

    Unpaired (two independent groups of ``n1`` and ``n2``, baseline rate ``p``): the power of
    the two-sided pooled z test against ``p2 = p ± d`` is ``Φ((|d| - z_α sqrt(p̄q̄ (1/n1 +
    1/n2))) / sqrt(p q / n1 + p2 q2 / n2))`` (Fleiss, Levin & Paik 2003, §4.2). Paired
    (``n1`` pairs, McNemar's test): with ``ψ`` the share of discordant pairs, the power is
    ``Φ((sqrt(n) |d| - z_α sqrt(ψ)) / sqrt(ψ - d²))`` (R. G. Connor (1987), "Sample size for
    testing differences in proportions for the paired-sample design", Biometrics
    43(1):207-211), where ``ψ`` is the observed share but at least ``|d|`` (a difference needs
    at least that many discordant pairs). The answer is the smaller of the detectable increase
    and decrease (each possible only within [0, 1]).

    Args:
        p: The baseline rate, in [0, 1].
        n1: Size of the first group (or the number of pairs).
        n2: Size of the second group (unpaired; default ``n1``).
        paired: Paired design (McNemar) instead of two independent groups.
        discordant: Paired only: the observed share of discordant pairs (default 0).
        alpha: Two-sided significance level.
        power: The power wanted, e.g. 0.8.

    Returns:
        The minimum detectable absolute difference, or None when no difference within [0, 1]
        reaches the power (or a group is empty).
    """
    from statistics import NormalDist

    nd = NormalDist()
    za = nd.inv_cdf(1 - alpha / 2)
    n2 = n1 if n2 is None else n2
    if n1 <= 0 or n2 <= 0 or not 0.0 <= p <= 1.0:
        return None
    if paired:
        psi0 = discordant or 0.0

        def reaches(d: float) -> bool:
            psi = max(psi0, d)
            v = psi - d * d
            if v <= 0:
                return True
            return nd.cdf((math.sqrt(n1) * d - za * math.sqrt(psi)) / math.sqrt(v)) >= power

        return _smallest_detectable(reaches, min(1.0, max(p, 1 - p)))

    def unpaired(sign: int) -> Any:
        def reaches(d: float) -> bool:
            p2 = p + sign * d
            pbar = (n1 * p + n2 * p2) / (n1 + n2)
            se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
            se1 = math.sqrt(p * (1 - p) / n1 + p2 * (1 - p2) / n2)
            if se1 <= 0:
                return d - za * se0 > 0
            return nd.cdf((d - za * se0) / se1) >= power
        return reaches

    found = [x for x in (_smallest_detectable(unpaired(1), 1 - p),
                         _smallest_detectable(unpaired(-1), p)) if x is not None]
    return min(found) if found else None


# --- Release gates and sample sizes (redline.learn.gate, ``redline plan``) -----------------------

#: the largest sample size the searches below consider; beyond it a budget counts as unreachable
MAX_SAMPLES = 10**9

# the exact power search scans every n in a window this wide (vectorized); wider windows are
# bisected, where the binomial saw-tooth is far smaller than the answer's own uncertainty
_SCAN_WIDTH = 1_000_000


def upper_bound_one_sided(k: int, n: int, confidence: float = 0.95) -> float | None:
    """Exact (Clopper-Pearson) one-sided upper confidence bound for a binomial proportion.

    The ``u`` with ``P(Binomial(n, u) <= k) = 1 - confidence``, i.e. the ``confidence``
    quantile of ``Beta(k + 1, n - k)``; ``1.0`` when ``k == n``. With no failures it is
    ``1 - (1 - confidence) ** (1 / n)``, about ``3 / n`` at 95% (the "rule of three"). A
    release gate uses it: a run passes a budget only when this bound is within it, so 0 failures
    in 12 samples (bound 0.221) does not pass a 1% budget. It is exact, never below the nominal
    coverage (unlike the Wilson bound, which undercovers near 0 where budgets live). Reference:
    C. J. Clopper & E. S. Pearson (1934), "The use of confidence or fiducial limits illustrated
    in the case of the binomial", Biometrika 26(4):404-413; J. A. Hanley & A. Lippman-Hand
    (1983), "If nothing goes wrong, is everything all right?", JAMA 249(13):1743-1745.

    Args:
        k: Number of failures, ``0 <= k <= n``.
        n: Number of samples.
        confidence: One-sided confidence level, strictly between 0 and 1.

    Returns:
        The upper bound in (0, 1], or None when ``n <= 0`` (no observations, no bound).

    Raises:
        ValueError: ``k`` outside ``[0, n]``, or ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if n <= 0:
        return None
    if k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if k == n:
        return 1.0
    if k == 0:
        return -math.expm1(math.log1p(-confidence) / n)
    from scipy.stats import beta

    return float(beta.ppf(confidence, k + 1, n - k))


def _check_budget_args(rate: float, budget: float, confidence: float) -> None:
    """Validate the arguments shared by the sample-size searches."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be in [0, 1], got {budget}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")


def _passes_at_expected(n: int, rate: float, budget: float, confidence: float) -> bool:
    """Whether the one-sided bound at the (fractional) expected count ``n * rate`` is within budget.

    Uses the duality ``upper(k, n) <= b  <=>  P(Beta(k + 1, n - k) <= b) >= confidence``, with the
    Beta shapes taken at the real-valued ``k = n * rate`` (a smooth interpolation between counts).
    """
    k = n * rate
    if k >= n:
        return budget >= 1.0
    if k == 0:
        return -math.expm1(n * math.log1p(-budget)) >= confidence if budget < 1 else True
    from scipy.stats import beta

    return bool(beta.cdf(budget, k + 1, n - k) >= confidence)


def _pass_power(ns: Any, rate: float, budget: float, alpha: float) -> Any:
    """Probability that a run of ``n`` samples with true rate ``rate`` passes ``budget``, for each n.

    A run with ``k`` failures passes when ``upper(k, n) <= budget``, which is
    ``P(Binomial(n, budget) <= k) <= alpha`` (Clopper-Pearson duality); ``k_max(n)`` is the largest
    such ``k`` (``-1``: none), found from a normal start and corrected with exact binomial CDFs.
    The power is ``P(Binomial(n, rate) <= k_max(n))``.
    """
    import numpy as np
    from scipy.stats import binom, norm

    ns = np.asarray(ns, dtype=float)
    sd = np.sqrt(ns * budget * (1 - budget))
    k = np.floor(ns * budget + norm.ppf(alpha) * sd)
    k = np.clip(k, -1, ns)
    for _ in range(10_000):  # walk down while k is too high (CDF above alpha) ...
        high = (k >= 0) & (binom.cdf(k, ns, budget) > alpha)
        if not high.any():
            break
        k = np.where(high, k - 1, k)
    for _ in range(10_000):  # ... then up while k + 1 still passes
        up = (k + 1 <= ns) & (binom.cdf(k + 1, ns, budget) <= alpha)
        if not up.any():
            break
        k = np.where(up, k + 1, k)
    return np.where(k >= 0, binom.cdf(k, ns, rate), 0.0)


def samples_for_budget(rate: float, budget: float, confidence: float = 0.95,
                       power: float | None = None) -> int | None:
    """Smallest number of samples with which a run whose true failure rate is ``rate`` passes a budget.

    A run passes when the one-sided Clopper-Pearson upper bound (:func:`upper_bound_one_sided`)
    is at most ``budget``.

    - ``power=None``: the smallest ``n`` at which a run showing exactly the expected count
      ``n * rate`` passes (the count taken as a real number, so the answer does not jump with
      rounding). ``rate=0`` gives ``ceil(log(1 - confidence) / log(1 - budget))``: 299 samples
      for a 1% budget at 95% (the rule of three's 300).
    - ``power=p``: the smallest ``n`` at which such a run passes with probability at least
      ``p``, computed exactly from the binomial distribution: ``P(Binomial(n, rate) <= k_max(n))
      >= p`` with ``k_max(n)`` the most failures that still pass. Exact binomial power is a
      saw-tooth in ``n`` (A. Chernick & C. Liu (2002), "The saw-toothed behavior of power versus
      sample size and software solutions", The American Statistician 56(2):149-155); this is the
      smallest such ``n`` (every ``n`` is checked up to a window of a million around the
      normal-approximation answer; larger answers are bisected).

    Args:
        rate: The run's true (or expected) failure rate, in [0, 1].
        budget: The budget, the largest acceptable rate, in [0, 1].
        confidence: One-sided confidence level of the gate's bound.
        power: None, or the probability of passing to plan for, in (0, 1).

    Returns:
        The number of samples, or None when no number of samples passes (``rate >= budget``,
        where the bound never falls within the budget with any certainty, or more than
        :data:`MAX_SAMPLES` would be needed).

    Raises:
        ValueError: An argument out of range.
    """
    _check_budget_args(rate, budget, confidence)
    if power is not None and not 0.0 < power < 1.0:
        raise ValueError(f"power must be between 0 and 1 (exclusive), got {power}")
    if budget >= 1.0:
        return 1
    if rate >= budget:
        return None
    alpha = 1 - confidence
    if power is None:
        def ok(n: int) -> bool:
            return _passes_at_expected(n, rate, budget, confidence)
    else:
        def ok(n: int) -> bool:
            return bool(_pass_power([n], rate, budget, alpha)[0] >= power)

    hi = 1
    while not ok(hi):  # doubling: first power of two that passes
        if hi > MAX_SAMPLES:
            return None
        hi *= 2
    lo = hi // 2  # fails (or 0)
    if power is None or hi - lo > _SCAN_WIDTH:
        while hi - lo > 1:  # bisection (the expected-count bound is monotone in n)
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        if power is None:
            return hi
    # exact saw-tooth: scan every n up to the bisected/doubled answer, a chunk at a time
    import numpy as np

    start = max(1, hi - _SCAN_WIDTH)
    for chunk_start in range(start, hi + 1, 65_536):
        ns = np.arange(chunk_start, min(hi, chunk_start + 65_535) + 1)
        hits = np.nonzero(_pass_power(ns, rate, budget, alpha) >= power)[0]
        if len(hits):
            return int(ns[hits[0]])
    return hi


def samples_for_difference(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8,
                           paired: bool = False, discordance: float | None = None) -> int:
    """Samples needed for a two-sided test to detect a difference between two failure rates.

    - Unpaired (two runs on different samples): the number per run for the two-proportion test
      on Cohen's effect size ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2))``: the smallest ``n`` with
      ``Φ(|h| sqrt(n / 2) - z) + Φ(-|h| sqrt(n / 2) - z) >= power``, ``z = Φ⁻¹(1 - alpha / 2)``
      — what ``statsmodels``' ``NormalIndPower().solve_power(proportion_effectsize(p1, p2),
      alpha=alpha, power=power)`` gives, rounded up. Reference: J. Cohen (1988), *Statistical
      Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 6.
    - Paired (two runs on the same samples, McNemar's test): the number of pairs, by Connor's
      formula ``n = (z sqrt(ψ) + z_β sqrt(ψ - δ²))² / δ²`` with ``δ = p2 - p1`` and ``ψ`` the
      share of discordant pairs (one run fails a sample, the other does not). ``ψ`` is rarely
      known before the runs; ``discordance=None`` assumes the runs fail independently given the
      rates, ``ψ = p1 (1 - p2) + p2 (1 - p1)``, which overstates ``ψ`` (and so ``n``) for
      models whose failures overlap. Reference: R. J. Connor (1987), "Sample size for testing
      differences in proportions for the paired-sample design", Biometrics 43(1):207-211.

    Args:
        p1: Failure rate of the first (baseline) run, in [0, 1].
        p2: Failure rate of the second run, in [0, 1], different from ``p1``.
        alpha: Two-sided significance level, in (0, 1).
        power: Probability of detecting the difference, in (0, 1).
        paired: Whether the runs share their samples (McNemar) or not.
        discordance: For ``paired``: the expected share of discordant pairs, at least
            ``|p2 - p1|`` and at most ``min(p1 + p2, 2 - p1 - p2)``; None assumes independence.

    Returns:
        The number of samples per run (unpaired) or of pairs (paired).

    Raises:
        ValueError: ``p1 == p2`` (no difference to detect), or an argument out of range.
    """
    for name, v in (("p1", p1), ("p2", p2)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {v}")
    for name, v in (("alpha", alpha), ("power", power)):
        if not 0.0 < v < 1.0:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {v}")
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: there is no difference to detect")
    from statistics import NormalDist

    nd = NormalDist()
    z = nd.inv_cdf(1 - alpha / 2)
    if paired:
        delta = p2 - p1
        psi = p1 * (1 - p2) + p2 * (1 - p1) if discordance is None else discordance
        top = min(p1 + p2, 2 - p1 - p2)
        if not abs(delta) - 1e-12 <= psi <= top + 1e-12:
            raise ValueError(f"discordance must be between |p2 - p1| = {abs(delta):g} and "
                             f"min(p1 + p2, 2 - p1 - p2) = {top:g}, got {psi:g}")
        zb = nd.inv_cdf(power)
        n = (z * math.sqrt(psi) + zb * math.sqrt(max(0.0, psi - delta * delta))) ** 2 / delta**2
        return max(1, math.ceil(n - 1e-9))
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))

    def achieved(n: float) -> float:
        s = h * math.sqrt(n / 2)
        return nd.cdf(s - z) + nd.cdf(-s - z)

    lo, hi = 0.0, max(2.0, 2 * ((z + nd.inv_cdf(power)) / h) ** 2 + 2)
    while achieved(hi) < power:
        hi *= 2
    for _ in range(200):  # bisection on the continuous n, then round up
        mid = (lo + hi) / 2
        if achieved(mid) >= power:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-9:
            break
    return max(1, math.ceil(hi - 1e-7))
