"""Consensus methods: exact results on tiny hand-checked cases, orderings on simulated crowds."""

from __future__ import annotations

import statistics

import pytest

from redline.annotate.consensus import dawid_skene, majority_vote, model_assisted
from redline.annotate.simulate import simulate_crowd
from redline.errors import InputError


def test_majority_vote_shares_and_ties():
    r = [("i1", "a", "x"), ("i1", "b", "x"), ("i1", "c", "y"),
         ("i2", "a", "x"), ("i2", "b", "y"),
         ("i3", "a", "y"), ("i3", "b", "y"), ("i3", "c", "y")]
    res = majority_vote(r)
    assert res.items["i1"].label == "x" and res.items["i1"].confidence == pytest.approx(2 / 3)
    assert res.items["i1"].posterior == {"x": pytest.approx(2 / 3), "y": pytest.approx(1 / 3)}
    assert not res.items["i1"].tie
    # tie: flagged, confidence 0.5, broken towards the label used most overall (y: 5 of 8 votes)
    assert res.items["i2"].tie and res.items["i2"].confidence == 0.5 and res.items["i2"].label == "y"
    assert res.items["i3"].label == "y" and res.items["i3"].confidence == 1.0
    assert res.items["i3"].n_labels == 3
    # annotator "c" agrees with the consensus on i3 only (i1: y vs x)
    assert res.annotators["c"]["accuracy"] == pytest.approx(0.5)


def test_none_labels_are_ignored_and_duplicates_rejected():
    res = majority_vote([("i", "a", True), ("i", "b", None), ("i", "c", True)])
    assert res.items["i"].label is True and res.items["i"].n_labels == 2
    with pytest.raises(InputError, match="twice"):
        majority_vote([("i", "a", 1), ("i", "a", 2)])
    with pytest.raises(InputError, match="outside the classes"):
        majority_vote([("i", "a", "z")], classes=["x", "y"])


def test_dawid_skene_learns_a_flipping_annotator():
    # Three reliable annotators and one who always gives the opposite label. On item "q" only
    # the flipper and one reliable annotator voted and disagree: majority cannot decide, DS
    # knows the flipper says "x" when the truth is "y" and so reads its "x" as evidence for "y".
    r = []
    for i in range(30):
        t = "x" if i % 3 else "y"
        other = "y" if t == "x" else "x"
        r += [(i, "r1", t), (i, "r2", t), (i, "r3", t), (i, "flip", other)]
    r += [("q", "r1", "y"), ("q", "flip", "x")]
    ds = dawid_skene(r)
    assert ds.converged
    assert ds.items["q"].label == "y" and ds.items["q"].confidence > 0.95
    conf = ds.annotators["flip"]["confusion"]
    # 11 "y" items, all flipped, plus the pseudo-counts (0.6 off-diagonal, 1.4 diagonal):
    # (11 + 0.6) / (11 + 2) = 0.892
    assert conf["y"]["x"] == pytest.approx(11.6 / 13, abs=1e-3) and conf["x"]["y"] > 0.9
    assert ds.annotators["r1"]["accuracy"] > 0.9 > 0.1 > ds.annotators["flip"]["accuracy"]
    assert sum(ds.priors.values()) == pytest.approx(1.0)
    mv = majority_vote(r)
    assert mv.items["q"].tie


def test_dawid_skene_unanimous_items_are_certain():
    r = [(i, a, "x" if i < 5 else "y") for i in range(10) for a in ("a", "b", "c")]
    ds = dawid_skene(r)
    assert ds.labels() == {i: ("x" if i < 5 else "y") for i in range(10)}
    assert min(ds.confidences().values()) > 0.99


def test_model_assisted_breaks_ties_with_the_model_and_documents_weights():
    # pattern: 20 items with three agreeing annotators (so weights are well defined), then two
    # tied items that the model decides.
    r = [(i, a, "x" if i % 2 else "y") for i in range(20) for a in ("a", "b", "c")]
    r += [("t1", "a", "x"), ("t1", "b", "y"), ("t2", "a", "x"), ("t2", "c", "y")]
    probs = {i: ({"x": 0.9, "y": 0.1} if i % 2 else {"x": 0.1, "y": 0.9}) for i in range(20)}
    probs["t1"] = {"x": 0.2, "y": 0.8}
    probs["t2"] = {"x": 0.85, "y": 0.15}
    res = model_assisted(r, probs)
    assert res.items["t1"].label == "y" and res.items["t2"].label == "x"
    assert not res.items["t1"].tie
    # Hand check. Initial consensus (Dawid–Skene): "a" disagrees with b on t1 and with c on t2,
    # so DS trusts b and c more: y0(t1) = y0(t2) = "y". Then
    #   a_a = 20/22, a_b = a_c = 1;  y0 shares over the 22 items: x 10/22, y 12/22
    #   p_e = (10^2 + 12^2)/22^2 = 244/484
    #   w_a = (20/22 - p_e)/(1 - p_e);  w_b = w_c = 1 (a_j = 1: (1 - p_e)/(1 - p_e))
    #   model: argmax agrees with y0 on 21 of 22 (t2 differs) -> w_M = (21/22 - p_e)/(1 - p_e)
    #          * sqrt(64 labels / 22 items)
    pe = 244 / 484
    w_a = (20 / 22 - pe) / (1 - pe)
    w_m = (21 / 22 - pe) / (1 - pe) * (64 / 22) ** 0.5
    assert res.annotators["a"]["weight"] == pytest.approx(w_a)
    assert res.annotators["b"]["weight"] == pytest.approx(1.0)
    assert res.annotators["(model)"]["weight"] == pytest.approx(w_m)
    # t2: a says x (likelihood a_a = 20/22), c says y (likelihood clipped to 1 - 1e-3), model 0.85 x
    la, lc = 20 / 22, 1 - 1e-3
    px = (w_a * la + 1.0 * (1 - lc) + w_m * 0.85) / (w_a + 1.0 + w_m)
    assert res.items["t2"].confidence == pytest.approx(px)
    assert sum(res.items["t2"].posterior.values()) == pytest.approx(1.0)


def test_model_assisted_without_model_probabilities_falls_back_to_annotators():
    r = [(i, a, "x") for i in range(4) for a in ("a", "b")] + [("z", "a", "y"), ("z", "b", "y")]
    res = model_assisted(r, {})
    assert res.labels()["z"] == "y"
    assert res.annotators["(model)"]["n"] == 0


def _accs(seed, **kw):
    s = simulate_crowd(seed=seed, **kw)
    return (s.accuracy(majority_vote(s.ratings).labels()),
            s.accuracy(dawid_skene(s.ratings).labels()),
            s.accuracy(model_assisted(s.ratings, s.model_probs).labels()))


def test_simulation_is_seeded_and_has_the_requested_crowd():
    a = simulate_crowd(n_items=200, n_annotators=10, n_spammers=2, n_adversarial=1, seed=4)
    b = simulate_crowd(n_items=200, n_annotators=10, n_spammers=2, n_adversarial=1, seed=4)
    assert a.ratings == b.ratings and a.truth == b.truth and a.model_probs == b.model_probs
    kinds = list(a.annotator_kind.values())
    assert kinds.count("spammer") == 2 and kinds.count("adversarial") == 1
    assert len(a.ratings) == 200 * 3
    per_item = {}
    for i, ann, _ in a.ratings:
        per_item.setdefault(i, set()).add(ann)
    assert all(len(v) == 3 for v in per_item.values())  # k distinct annotators per item
    # the model is about as accurate as asked (0.8) and calibrated on average
    top = {i: max(p, key=p.get) for i, p in a.model_probs.items()}
    acc = a.accuracy(top)
    mean_conf = statistics.mean(max(p.values()) for p in a.model_probs.values())
    assert 0.7 < acc < 0.9 and abs(mean_conf - acc) < 0.07
    with pytest.raises(InputError, match="overlap"):
        simulate_crowd(n_annotators=3, n_spammers=0, n_adversarial=0, overlap=5)


def test_dawid_skene_beats_majority_with_spammers_over_seeds():
    for seed in range(4):
        mv, ds, _ = _accs(seed, n_items=600, overlap=3, n_spammers=3, n_adversarial=1)
        assert ds > mv + 0.02, (seed, mv, ds)


def test_model_assisted_beats_majority_at_overlap_two_with_a_decent_model():
    for seed in range(4):
        mv, _, ma = _accs(seed, n_items=600, overlap=2, model_accuracy=0.85)
        assert ma > mv + 0.02, (seed, mv, ma)


def test_rare_class_items_are_recovered_better_by_dawid_skene():
    s = simulate_crowd(n_items=2000, overlap=3, priors=(0.9, 0.07, 0.03), seed=11)
    rare = {i for i, y in s.truth.items() if y == "borderline"}
    mv = majority_vote(s.ratings).labels()
    ds = dawid_skene(s.ratings).labels()
    hit_mv = sum(mv[i] == "borderline" for i in rare)
    hit_ds = sum(ds[i] == "borderline" for i in rare)
    assert len(rare) > 30 and hit_ds >= hit_mv


def test_empty_and_all_missing_ratings_give_an_empty_consensus():
    from redline.annotate.consensus import dawid_skene, majority_vote

    for ratings in ([], [("i1", "a", None), ("i1", "b", None)]):
        assert majority_vote(ratings).items == {}  # raised ValueError (max of an empty array)
        assert dawid_skene(ratings).items == {}
