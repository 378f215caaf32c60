"""Agreement metrics against textbook values, the `krippendorff` package, and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redline.annotate.agreement import (
    agreement_report,
    bootstrap_ci,
    cohen_kappa_pairwise,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from redline.errors import InputError

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units
# example with missing values; published: nominal .743, ordinal .815, interval .849.
_K = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
KRIPP = [(u, f"obs{o}", _K[o][u]) for o in range(4) for u in range(12)]


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815),
                                                  ("interval", 0.849)])
def test_alpha_krippendorff_worked_example(level, published):
    assert krippendorff_alpha(KRIPP, level) == pytest.approx(published, abs=5e-4)


def test_alpha_nominal_hand_computed_tiny():
    # 3 units x 2 coders: (a,a) (a,b) (b,b). Coincidences: o_aa = 2, o_bb = 2, o_ab = o_ba = 1;
    # n_a = n_b = 3, n = 6. D_o = 2/6; D_e = 2*3*3/(6*5) = 0.6 -> alpha = 1 - (1/3)/0.6 = 4/9.
    r = [(1, "x", "a"), (1, "y", "a"), (2, "x", "a"), (2, "y", "b"), (3, "x", "b"), (3, "y", "b")]
    assert krippendorff_alpha(r, "nominal") == pytest.approx(4 / 9)


def test_alpha_matches_krippendorff_package_on_random_data():
    krippendorff = pytest.importorskip("krippendorff", reason="dev dependency `krippendorff`")
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(150):
        n_units, n_raters, q = int(rng.integers(3, 40)), int(rng.integers(2, 8)), int(rng.integers(2, 7))
        M = rng.integers(0, q, size=(n_raters, n_units)).astype(float)
        M = np.where(rng.random(M.shape) < rng.uniform(0.2, 0.8), M[0][None, :], M)  # some agreement
        M[rng.random(M.shape) < 0.3] = np.nan  # missing values
        M *= rng.choice([1.0, 2.5])  # non-unit spacing matters for interval
        ratings = [(u, r, None if np.isnan(M[r, u]) else float(M[r, u]))
                   for r in range(n_raters) for u in range(n_units)]
        for level in ("nominal", "ordinal", "interval"):
            with np.errstate(all="ignore"):
                try:
                    ref = krippendorff.alpha(reliability_data=M, level_of_measurement=level)
                except (ValueError, ZeroDivisionError):
                    ref = float("nan")
            ours = krippendorff_alpha(ratings, level)
            if ref is None or not math.isfinite(ref):
                assert ours is None
            else:
                assert ours == pytest.approx(ref, abs=1e-9), (level, M)
                checked += 1
    assert checked > 300


def test_alpha_ordinal_with_explicit_order_of_labels():
    order = ["poor", "acceptable", "good"]
    names = {1: "poor", 2: "acceptable", 3: "good"}
    sub = [(u, r, v) for u, r, v in KRIPP if v is None or v <= 3]
    as_text = [(u, r, None if v is None else names[v]) for u, r, v in sub]
    assert krippendorff_alpha(as_text, "ordinal", order=order) == pytest.approx(
        krippendorff_alpha(sub, "ordinal"))
    with pytest.raises(InputError, match="needs numbers"):
        krippendorff_alpha(as_text, "ordinal")
    with pytest.raises(InputError, match="outside the category order"):
        krippendorff_alpha(as_text, "ordinal", order=["poor", "good"])


def test_bad_input_is_rejected_clearly():
    with pytest.raises(InputError, match="same item twice"):
        krippendorff_alpha([(1, "a", "x"), (1, "a", "y"), (1, "b", "x")])
    with pytest.raises(InputError, match="level"):
        krippendorff_alpha([(1, "a", 1), (1, "b", 1)], "ratio")  # type: ignore[arg-type]
    assert krippendorff_alpha([(1, "a", 1), (1, "b", 1), (2, "a", 1), (2, "b", 1)]) is None


# Fleiss (1971) as reproduced on Wikipedia ("Fleiss' kappa", worked example): 10 subjects,
# 14 raters, 5 categories; P-bar = 0.378, P_e = 0.213, kappa = 0.210.
_FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def _from_table(table):
    out = []
    for i, row in enumerate(table):
        r = 0
        for cat, count in enumerate(row):
            for _ in range(count):
                out.append((i, f"rater{r}", cat + 1))
                r += 1
    return out


def test_fleiss_kappa_textbook_example():
    ratings = _from_table(_FLEISS_TABLE)
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=5e-4)
    assert percent_agreement(ratings) == pytest.approx(0.378, abs=5e-4)


def test_fleiss_kappa_unequal_raters_per_item_hand_computed():
    # item 1: a,a,a (P=1); item 2: a,b (P=0); item 3: b,b,b,a (P=(6+0)/12=0.5)
    # P-bar = 0.5; p_a = 5/9, p_b = 4/9; P_e = 41/81; kappa = (0.5 - 41/81)/(40/81) = -1/80
    r = [(1, "x", "a"), (1, "y", "a"), (1, "z", "a"), (2, "x", "a"), (2, "y", "b"),
         (3, "x", "b"), (3, "y", "b"), (3, "z", "b"), (3, "w", "a"), (4, "x", "a")]
    assert percent_agreement(r) == pytest.approx(0.5)
    assert fleiss_kappa(r) == pytest.approx(-1 / 80)


# Cohen's kappa, the yes/no example of Wikipedia ("Cohen's kappa"): 50 items,
# yes/yes 20, A yes B no 5, A no B yes 10, no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4.
def _two_raters(yy, yn, ny, nn, a="A", b="B"):
    out, i = [], 0
    for va, vb, count in (("yes", "yes", yy), ("yes", "no", yn), ("no", "yes", ny), ("no", "no", nn)):
        for _ in range(count):
            out += [(i, a, va), (i, b, vb)]
            i += 1
    return out


def test_cohen_kappa_textbook_example_and_pairs():
    ratings = _two_raters(20, 5, 10, 15)
    res = cohen_kappa_pairwise(ratings)
    assert res["mean"] == pytest.approx(0.4)
    assert res["pairs"] == [{"a": "A", "b": "B", "kappa": pytest.approx(0.4), "n": 50}]


def test_cohen_kappa_mean_over_three_pairs():
    # A and B agree perfectly (kappa 1); C always says "no": kappa(A, C) = kappa(B, C) = 0
    ratings = []
    for i, v in enumerate(["yes", "no", "yes", "no"]):
        ratings += [(i, "A", v), (i, "B", v), (i, "C", "no")]
    res = cohen_kappa_pairwise(ratings)
    ks = {(p["a"], p["b"]): p["kappa"] for p in res["pairs"]}
    assert ks == {("A", "B"): pytest.approx(1.0), ("A", "C"): pytest.approx(0.0),
                  ("B", "C"): pytest.approx(0.0)}
    assert res["mean"] == pytest.approx(1 / 3)


def test_gwet_ac1_hand_computed():
    # Same 50 items: p_a = 0.7; pi_yes = (25/50 + 30/50)/2 = 0.55, pi_no = 0.45;
    # p_e = (0.55*0.45 + 0.45*0.55)/(2-1) = 0.495; AC1 = (0.7-0.495)/(1-0.495) = 0.40594...
    assert gwet_ac1(_two_raters(20, 5, 10, 15)) == pytest.approx(0.205 / 0.505)


def test_kappa_paradox_ac1_stays_high_for_a_rare_category():
    # 100 items, two raters: no/no 95, yes/no 2, no/yes 2, yes/yes 1 -> 96% raw agreement.
    # kappa: p_e = 0.03^2 + 0.97^2 = 0.9418 -> (0.96 - 0.9418)/0.0582 = 0.3127
    # AC1:   p_e = 2 * 0.03 * 0.97 = 0.0582 -> (0.96 - 0.0582)/0.9418 = 0.9575
    ratings = _two_raters(1, 2, 2, 95)
    assert percent_agreement(ratings) == pytest.approx(0.96)
    k = fleiss_kappa(ratings)
    assert k == pytest.approx(0.0182 / 0.0582, abs=1e-4)
    assert cohen_kappa_pairwise(ratings)["mean"] == pytest.approx(0.0182 / 0.0582, abs=1e-4)
    ac1 = gwet_ac1(ratings)
    assert ac1 == pytest.approx(0.9018 / 0.9418, abs=1e-4)
    assert ac1 > 0.9 and k < 0.35


def test_single_ratings_are_left_out_and_counted():
    r = _two_raters(20, 5, 10, 15) + [(999, "A", "yes"), (1000, "B", None)]
    rep = agreement_report(r, n_boot=0)
    assert rep["n_items"] == 50 and rep["n_single"] == 1 and rep["n_ratings"] == 101
    assert rep["alpha"]["ci"] is None


def test_bootstrap_ci_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, size=200)
    ratings = [(i, f"r{j}", int(t) if rng.random() < 0.8 else int(rng.integers(0, 3)))
               for i, t in enumerate(truth) for j in range(3)]
    a = krippendorff_alpha(ratings)
    ci = bootstrap_ci(krippendorff_alpha, ratings, n=500, seed=1)
    assert ci is not None and ci[0] < a < ci[1] and ci[1] - ci[0] < 0.2
    assert bootstrap_ci(krippendorff_alpha, ratings, n=500, seed=1) == ci
    assert bootstrap_ci(krippendorff_alpha, ratings, n=500, seed=2) != ci
    # the generic path (metric recomputed on every replicate) estimates the same interval
    slow = bootstrap_ci(lambda r: krippendorff_alpha(r), ratings, n=200, seed=1)
    assert slow is not None and abs(slow[0] - ci[0]) < 0.05 and abs(slow[1] - ci[1]) < 0.05


def test_weighted_kernels_equal_the_metrics_on_duplicated_items():
    # drawing item 0 twice and item 2 not at all == the metric on that explicit data set
    from redline.annotate import agreement as ag

    base = _two_raters(3, 1, 2, 4) + [(0, "C", "yes"), (5, "C", "no")]
    d = ag._prepare(base)
    W = np.ones((1, len(d.counts)))
    W[0, 0], W[0, 2] = 2.0, 0.0
    explicit = [r for r in base if r[0] != 2] + [(("dup", 0), r, v) for i, r, v in base if i == 0]
    for fast, metric in ((ag._alpha_w, krippendorff_alpha), (ag._fleiss_w, fleiss_kappa),
                         (ag._ac1_w, gwet_ac1), (ag._percent_w, percent_agreement)):
        got = fast(d, W, "nominal")[0] if fast is ag._alpha_w else fast(d, W)[0]
        assert got == pytest.approx(metric(explicit))
    assert ag._cohen_w(d, W)[0] == pytest.approx(cohen_kappa_pairwise(explicit)["mean"])


def test_agreement_report_shape_and_values():
    rep = agreement_report(KRIPP, "ordinal", n_boot=300, seed=0)
    assert rep["level"] == "ordinal" and rep["n_items"] == 11 and rep["n_raters"] == 4
    assert rep["alpha"]["value"] == pytest.approx(0.815, abs=5e-4)
    assert rep["fleiss_kappa"]["value"] == pytest.approx(fleiss_kappa(KRIPP))
    assert rep["gwet_ac1"]["value"] == pytest.approx(gwet_ac1(KRIPP))
    assert rep["percent_agreement"]["value"] == pytest.approx(percent_agreement(KRIPP))
    assert rep["cohen_kappa"]["value"] == pytest.approx(cohen_kappa_pairwise(KRIPP)["mean"])
    for k in ("alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement", "cohen_kappa"):
        lo, hi = rep[k]["ci"]
        assert lo <= rep[k]["value"] <= hi
    assert len(rep["cohen_kappa"]["pairs"]) == 6


def test_pairwise_kappa_matches_scikit_learn_with_many_raters():
    """Many raters on shared items (k² pairs): every pair's κ equals scikit-learn's, the
    bootstrap mean equals the point mean on the identity draw, and absent pairs are not listed."""
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    import redline.annotate.agreement as ag

    rng = np.random.default_rng(3)
    raters = [f"u{j:03d}" for j in range(120)]
    ratings = [(f"i{i}", u, str(rng.integers(0, 3))) for i in range(6) for u in raters]
    ratings += [("solo", "lonely", "0"), ("solo2", "lonely", "1")]  # shares nothing with anyone
    res = cohen_kappa_pairwise(ratings)
    assert len(res["pairs"]) == 120 * 119 // 2 and all("lonely" not in (p["a"], p["b"]) for p in res["pairs"])
    by_rater = {u: {i: v for i, r, v in ratings if r == u} for u in raters}
    for p in res["pairs"][::997]:
        a, b = by_rater[p["a"]], by_rater[p["b"]]
        want = cohen_kappa_score([a[i] for i in sorted(a)], [b[i] for i in sorted(b)], labels=["0", "1", "2"])
        assert p["kappa"] == pytest.approx(want) and p["n"] == 6
    d = ag._prepare(ratings)
    one = np.ones((1, d.X.shape[0]))
    assert ag._cohen_w(d, one)[0] == pytest.approx(res["mean"])
    assert ag._cohen_w(d, one, chunk=7)[0] == pytest.approx(res["mean"])  # chunked the same
