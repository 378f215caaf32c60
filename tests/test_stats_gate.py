"""The gate statistics (one-sided exact bound, sample sizes) against scipy / statsmodels and known values."""

import math
import random

import numpy as np
import pytest
from scipy.stats import beta, binom, binomtest, norm

from redline.stats import samples_for_budget, samples_for_difference, upper_bound_one_sided


def test_upper_bound_matches_scipy_and_statsmodels_on_random_data():
    from statsmodels.stats.proportion import proportion_confint

    rng = random.Random(12)
    for _ in range(200):
        n = rng.randint(1, 5000)
        k = rng.choice([0, n, rng.randint(0, n), rng.randint(0, min(n, 10))])
        conf = rng.choice([0.9, 0.95, 0.99])
        got = upper_bound_one_sided(k, n, conf)
        exact = binomtest(k, n, alternative="less").proportion_ci(confidence_level=conf, method="exact").high
        assert got == pytest.approx(exact, rel=1e-9, abs=1e-12)
        # a one-sided bound at c is the upper end of the two-sided Clopper-Pearson interval at 2c - 1
        sm = proportion_confint(k, n, alpha=2 * (1 - conf), method="beta")[1]
        assert got == pytest.approx(1.0 if k == n else sm, rel=1e-9, abs=1e-12)


def test_upper_bound_known_values_rule_of_three():
    assert upper_bound_one_sided(0, 12) == pytest.approx(1 - 0.05 ** (1 / 12))  # 0.2209
    assert upper_bound_one_sided(0, 12) > 0.01  # a clean run on 12 samples cannot pass a 1% budget
    for n in (300, 1000, 10_000):  # Hanley & Lippman-Hand: about 3/n
        assert upper_bound_one_sided(0, n) == pytest.approx(3 / n, rel=0.01)
    assert upper_bound_one_sided(5, 5) == 1.0
    assert upper_bound_one_sided(0, 0) is None
    with pytest.raises(ValueError):
        upper_bound_one_sided(3, 2)
    with pytest.raises(ValueError):
        upper_bound_one_sided(0, 10, confidence=1.0)


def test_samples_for_budget_at_expected_count():
    assert samples_for_budget(0.0, 0.01) == 299  # rule of three: ~300
    assert upper_bound_one_sided(0, 299) <= 0.01 < upper_bound_one_sided(0, 298)
    assert samples_for_budget(0.0, 0.05) == math.ceil(math.log(0.05) / math.log(0.95))  # 59
    rng = random.Random(3)
    for _ in range(30):
        budget = rng.uniform(0.005, 0.3)
        rate = budget * rng.uniform(0.0, 0.9)
        n = samples_for_budget(rate, budget)

        def bound(m, rate=rate):  # the exact bound at the real-valued expected count m * rate
            return beta.ppf(0.95, m * rate + 1, m - m * rate)

        assert bound(n) <= budget + 1e-12
        assert n == 1 or bound(n - 1) > budget
    assert samples_for_budget(0.05, 0.05) is None and samples_for_budget(0.1, 0.05) is None
    assert samples_for_budget(0.5, 1.0) == 1


def _brute_power_n(rate, budget, power, conf=0.95, n_max=3000):
    """First n whose exact passing probability reaches `power`, by enumerating every count."""
    for n in range(1, n_max):
        ks = np.arange(n + 1)
        upper = np.where(ks == n, 1.0, beta.ppf(conf, ks + 1, np.maximum(n - ks, 1)))
        passing = ks[upper <= budget]
        if len(passing) and binom.cdf(passing.max(), n, rate) >= power:
            return n
    return None


@pytest.mark.parametrize("rate,budget,power", [
    (0.0, 0.05, 0.8), (0.01, 0.05, 0.8), (0.02, 0.05, 0.9), (0.05, 0.15, 0.8), (0.1, 0.2, 0.5)])
def test_samples_for_budget_with_power_is_the_exact_binomial_answer(rate, budget, power):
    n = samples_for_budget(rate, budget, power=power)
    assert n == _brute_power_n(rate, budget, power)
    # more than the expected-count answer: planning for 80% means more than a coin flip
    if rate > 0 and power > 0.5:
        assert n >= samples_for_budget(rate, budget)


def test_samples_for_budget_with_power_by_simulation():
    n = samples_for_budget(0.02, 0.05, power=0.8)
    rng = np.random.default_rng(0)
    ks = rng.binomial(n, 0.02, size=4000)
    passed = np.mean([upper_bound_one_sided(int(k), n) <= 0.05 for k in ks])
    assert passed >= 0.8 - 3 * math.sqrt(0.8 * 0.2 / 4000)


def test_samples_for_difference_unpaired_matches_statsmodels_on_random_data():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    rng = random.Random(7)
    for _ in range(60):
        p1, p2 = rng.uniform(0.001, 0.6), rng.uniform(0.001, 0.6)
        if abs(p1 - p2) < 0.005:
            continue
        alpha, power = rng.choice([0.05, 0.01, 0.1]), rng.choice([0.8, 0.9, 0.5])
        sm = NormalIndPower().solve_power(proportion_effectsize(p1, p2), alpha=alpha, power=power)
        n = samples_for_difference(p1, p2, alpha=alpha, power=power)
        assert n - 1 < sm * (1 + 1e-6) and sm <= n * (1 + 1e-6)


def _mcnemar_power(n, p01, p10, alpha=0.05):
    """Exact power of the (uncorrected) McNemar z-test with n pairs: enumerate discordant counts."""
    z = norm.ppf(1 - alpha / 2)
    psi = p01 + p10
    q = p01 / psi
    total = 0.0
    for d in range(1, n + 1):
        pd = binom.pmf(d, n, psi)
        if pd < 1e-14:
            continue
        b = np.arange(d + 1)
        reject = np.abs(2 * b - d) / math.sqrt(d) > z
        total += pd * binom.pmf(b[reject], d, q).sum()
    return total


def test_samples_for_difference_paired_connor():
    # Connor (1987): n = (z sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2
    n = samples_for_difference(0.05, 0.02, paired=True, discordance=0.05)
    z, zb = norm.ppf(0.975), norm.ppf(0.8)
    assert n == math.ceil((z * math.sqrt(0.05) + zb * math.sqrt(0.05 - 0.0009)) ** 2 / 0.0009)
    # the McNemar test at that n has at least about the power asked for (the normal approximation
    # errs on the safe side here; p01 + p10 = psi, p10 - p01 = 0.03)
    assert 0.78 <= _mcnemar_power(n, 0.01, 0.04) <= 0.86
    n_ind = samples_for_difference(0.05, 0.02, paired=True)
    assert 0.78 <= _mcnemar_power(n_ind, 0.02 * 0.95, 0.05 * 0.98) <= 0.86
    # overlapping failures (small discordance) need fewer pairs than independent failures, which
    # need about what two unpaired runs need per run
    assert n < n_ind == pytest.approx(samples_for_difference(0.05, 0.02), rel=0.1)
    with pytest.raises(ValueError, match="discordance"):
        samples_for_difference(0.05, 0.02, paired=True, discordance=0.01)
    with pytest.raises(ValueError, match="no difference"):
        samples_for_difference(0.05, 0.05)
