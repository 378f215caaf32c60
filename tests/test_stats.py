"""redline.stats: the one Wilson interval, percentile interval and Rogan-Gladen correction,
checked against scipy (and statsmodels where installed) and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redline.stats import Z95, percentile_interval, rogan_gladen, wilson_interval

CASES = [(0, 1), (1, 1), (0, 5), (3, 7), (8, 10), (19, 20), (20, 20), (1, 1000), (517, 1000), (12345, 99999)]


@pytest.mark.parametrize("k,n", CASES)
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    from scipy.stats import binomtest

    ref = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lo, hi = wilson_interval(k, n, confidence)  # type: ignore[misc]
    assert lo == pytest.approx(ref.low, abs=1e-12) and hi == pytest.approx(ref.high, abs=1e-12)


@pytest.mark.parametrize("k,n", CASES)
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    sm = pytest.importorskip("statsmodels.stats.proportion")
    lo, hi = wilson_interval(k, n)  # type: ignore[misc]
    ref_lo, ref_hi = sm.proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (lo, hi) == pytest.approx((ref_lo, ref_hi), abs=1e-12)


def test_wilson_edges_and_errors() -> None:
    assert wilson_interval(0, 0) is None and wilson_interval(0, -1) is None
    assert wilson_interval(0, 20)[0] == 0.0  # type: ignore[index]  # clipped exactly
    assert wilson_interval(20, 20)[1] == 1.0  # type: ignore[index]
    # published table value (Newcombe 1998, Table I): 81/263 -> 0.2553 to 0.3662
    lo, hi = wilson_interval(81, 263)  # type: ignore[misc]
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    for bad in ((-1, 5), (6, 5)):
        with pytest.raises(ValueError, match="0 <= k <= n"):
            wilson_interval(*bad)
    for conf in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="confidence"):
            wilson_interval(1, 5, conf)


def test_z95_is_the_normal_quantile() -> None:
    from scipy.stats import norm

    assert Z95 == pytest.approx(norm.ppf(0.975), abs=1e-15)


def test_percentile_interval() -> None:
    rng = np.random.default_rng(3)
    vals = rng.normal(size=2001)
    assert percentile_interval(vals) == pytest.approx(tuple(np.percentile(vals, [2.5, 97.5])), rel=1e-12)
    assert percentile_interval(list(vals), 0.9) == pytest.approx(tuple(np.percentile(vals, [5, 95])))
    with_nan = np.concatenate([vals, [np.nan, np.inf]])  # undefined replicates are left out
    assert percentile_interval(with_nan) == percentile_interval(vals)
    assert percentile_interval(iter([1.0, 2.0, 3.0]), min_values=3) == pytest.approx((1.05, 2.95))
    assert percentile_interval([1.0, math.nan], min_values=2) is None
    assert percentile_interval([]) is None


def test_rogan_gladen() -> None:
    # 30% apparent, sens 0.9, spec 0.8: (0.3 + 0.8 - 1) / 0.7
    assert rogan_gladen(0.3, 0.9, 0.8) == pytest.approx(0.1 / 0.7)
    assert rogan_gladen(0.1, 0.9, 0.8) == 0.0  # at or below the false-positive floor: clipped
    assert rogan_gladen(0.95, 0.9, 0.99) == 1.0  # above sensitivity: clipped
    assert rogan_gladen(0.3, 0.6, 0.4) is None  # J = 0: undefined
    assert rogan_gladen(0.3, 1.0, 1.0) == pytest.approx(0.3)  # a perfect judge changes nothing


def test_one_implementation_everywhere() -> None:
    """evals, judges (calibration) and annotate all use redline.stats."""
    import redline.annotate.quality as quality
    import redline.evals as evals
    import redline.judges.calibration as calibration
    import redline.judges.calibration.metrics as cal_metrics

    assert evals.wilson_interval is wilson_interval
    assert quality.wilson_interval is wilson_interval
    assert cal_metrics.wilson_interval is wilson_interval
    assert calibration.rogan_gladen is rogan_gladen
