"""The comparison statistics of redline.stats, checked against statsmodels/scipy on random data,
published worked values and coverage simulations."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from redline.stats import (
    bh_adjust,
    holm_adjust,
    mcnemar_exact,
    min_detectable_difference,
    newcombe_interval,
    paired_bootstrap_diff,
    paired_diff_interval,
    two_proportion_z_test,
)

sm_ct = pytest.importorskip("statsmodels.stats.contingency_tables")
sm_prop = pytest.importorskip("statsmodels.stats.proportion")
sm_mt = pytest.importorskip("statsmodels.stats.multitest")


def test_mcnemar_exact_matches_statsmodels_on_random_tables() -> None:
    rng = random.Random(1)
    for _ in range(200):
        a, b, c, d = (rng.randint(0, 60) for _ in range(4))
        if rng.random() < 0.2:
            b = rng.randint(0, 3000)
        ref = sm_ct.mcnemar([[a, b], [c, d]], exact=True).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(ref, rel=1e-9, abs=1e-15)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5 ** 10)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_newcombe_independent_matches_statsmodels_on_random_data() -> None:
    rng = random.Random(2)
    for _ in range(300):
        n1, n2 = rng.randint(1, 400), rng.randint(1, 400)
        k1, k2 = rng.randint(0, n1), rng.randint(0, n2)
        lo, hi = newcombe_interval(k1, n1, k2, n2)
        ref = sm_prop.confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert (lo, hi) == pytest.approx(ref, abs=1e-9)
    assert newcombe_interval(0, 0, 1, 2) is None
    lo90, hi90 = newcombe_interval(10, 50, 20, 50, confidence=0.9)
    ref = sm_prop.confint_proportions_2indep(10, 50, 20, 50, method="newcomb", alpha=0.1)
    assert (lo90, hi90) == pytest.approx(ref, abs=1e-9)


def test_z_test_matches_statsmodels() -> None:
    rng = random.Random(3)
    for _ in range(200):
        n1, n2 = rng.randint(1, 500), rng.randint(1, 500)
        k1, k2 = rng.randint(0, n1), rng.randint(0, n2)
        if (k1 + k2) in (0, n1 + n2):
            assert two_proportion_z_test(k1, n1, k2, n2) == 1.0
            continue
        ref = sm_prop.proportions_ztest([k1, k2], [n1, n2])[1]
        assert two_proportion_z_test(k1, n1, k2, n2) == pytest.approx(ref, rel=1e-7, abs=1e-12)
    assert two_proportion_z_test(1, 0, 1, 2) is None


def test_paired_interval_published_worked_example() -> None:
    # Fagerland, Lydersen & Laake (2017), ch. 8 (Cavo et al. 2012): -0.0621 (-0.1186 to -0.0046)
    lo, hi = paired_diff_interval(59, 6, 16, 80)
    assert (round(lo, 4), round(hi, 4)) == (-0.1186, -0.0046)
    assert paired_diff_interval(0, 0, 0, 0) is None
    # no discordant pairs: the interval still has width (the marginal uncertainty), contains 0
    lo, hi = paired_diff_interval(5, 0, 0, 45)
    assert lo < 0 < hi


def test_paired_interval_coverage_simulation() -> None:
    """Newcombe's method 10 holds close to its nominal 95% (his simulations: ~95% mean coverage)."""
    rng = np.random.default_rng(4)
    for cells in ([0.05, 0.10, 0.05, 0.80], [0.30, 0.05, 0.15, 0.50], [0.01, 0.02, 0.04, 0.93]):
        probs = np.array(cells)
        true = (probs[0] + probs[1]) - (probs[0] + probs[2])
        hits = 0
        draws = rng.multinomial(120, probs, size=2000)
        for a, b, c, d in draws:
            lo, hi = paired_diff_interval(int(a), int(b), int(c), int(d))
            hits += lo <= true <= hi
        assert 0.93 <= hits / len(draws) <= 0.99, (cells, hits / len(draws))


def test_multiplicity_adjustments_match_statsmodels() -> None:
    rng = random.Random(5)
    for i in range(100):
        m = rng.randint(1, 25)
        p = [rng.random() ** 3 for _ in range(m)]
        if m > 3:
            p[1] = p[2]  # ties
        assert bh_adjust(p) == pytest.approx(list(sm_mt.multipletests(p, method="fdr_bh")[1]), abs=1e-12)
        if i < 15:  # statsmodels' Holm is slow (tens of ms a call)
            assert holm_adjust(p) == pytest.approx(list(sm_mt.multipletests(p, method="holm")[1]), abs=1e-12)
    # None rows are outside the family
    assert holm_adjust([0.01, None, 0.04]) == pytest.approx([0.02, None, 0.04])
    assert bh_adjust([None]) == [None]


def _bootstrap_by_resampling(table: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """The plain paired bootstrap: resample pairs by index."""
    states = np.repeat(np.arange(9), table.ravel())
    out = []
    for _ in range(n_boot):
        s = states[rng.integers(0, len(states), len(states))]
        first, second = s // 3, s % 3
        n1, n2 = np.sum(first < 2), np.sum(second < 2)
        out.append(np.sum(second == 0) / n2 - np.sum(first == 0) / n1)
    return np.array(out)


def test_paired_bootstrap_equals_resampling_pairs_and_is_seeded() -> None:
    table = [[12, 3, 2], [9, 150, 6], [1, 4, 13]]
    res = paired_bootstrap_diff(table, n_boot=4000, seed=7)
    t = np.array(table)
    e1 = t[0].sum() / t[:2].sum()
    e2 = t[:, 0].sum() / t[:, :2].sum()
    assert res["diff"] == pytest.approx(e2 - e1)
    ref = _bootstrap_by_resampling(t, 4000, np.random.default_rng(8))
    lo, hi = np.percentile(ref, [2.5, 97.5])
    assert res["low"] == pytest.approx(lo, abs=0.01) and res["high"] == pytest.approx(hi, abs=0.01)
    assert paired_bootstrap_diff(table, n_boot=4000, seed=7) == res
    assert paired_bootstrap_diff([[0] * 3, [0] * 3, [0, 0, 5]])["diff"] is None
    with pytest.raises(ValueError):
        paired_bootstrap_diff([[1, 2], [3, 4]])


def test_paired_bootstrap_p_value_is_calibrated_under_the_null() -> None:
    """Under exchangeable members the p-value rejects at about the nominal rate."""
    rng = np.random.default_rng(9)
    probs = np.array([[0.04, 0.03, 0.01], [0.03, 0.80, 0.02], [0.01, 0.02, 0.04]])
    rejections = 0
    trials = 300
    for i in range(trials):
        t = rng.multinomial(400, probs.ravel()).reshape(3, 3)
        p = paired_bootstrap_diff(t.tolist(), n_boot=1000, seed=i)["p"]
        rejections += p is not None and p < 0.05
    assert rejections / trials <= 0.09
    # and it sees a real difference
    strong = [[10, 0, 1], [40, 300, 2], [1, 3, 10]]
    assert paired_bootstrap_diff(strong)["p"] < 0.001


def test_min_detectable_difference_reaches_the_power() -> None:
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    # unpaired: at the MDE the power is 0.8 (normal approximation, Fleiss); statsmodels' arcsine
    # version agrees within a few percent
    for p, n in ((0.1, 500), (0.3, 200), (0.02, 5000)):
        d = min_detectable_difference(p, n)
        assert d is not None and 0 < d < 1
        pw = max(NormalIndPower().power(proportion_effectsize(p + s * d, p), nobs1=n, alpha=0.05, ratio=1.0)
                 for s in (1, -1) if 0 <= p + s * d <= 1)
        assert pw == pytest.approx(0.8, abs=0.05)
    # more samples → smaller detectable difference; paired with few discordant pairs → smaller
    assert min_detectable_difference(0.1, 2000) < min_detectable_difference(0.1, 500)
    assert min_detectable_difference(0.1, 500, paired=True, discordant=0.05) < min_detectable_difference(0.1, 500)
    # paired power formula (Connor 1987): at the MDE, power 0.8
    n, psi = 400, 0.1
    d = min_detectable_difference(0.2, n, paired=True, discordant=psi)
    z = (math.sqrt(n) * d - 1.959963984540054 * math.sqrt(psi)) / math.sqrt(psi - d * d)
    from statistics import NormalDist

    assert NormalDist().cdf(z) == pytest.approx(0.8, abs=1e-6)
    assert min_detectable_difference(0.1, 0) is None
    # rate 0 with 10 samples: only an increase is possible, and it must be large
    d0 = min_detectable_difference(0.0, 10)
    assert d0 is not None and d0 > 0.3
