"""Annotator quality: Wilson intervals, the annotator table, the p-chart and flags (hand-computed)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from redline.annotate.quality import (
    AnnotatorStats,
    Observation,
    annotator_table,
    control_chart,
    flag_annotators,
)
from redline.stats import wilson_interval as wilson_ci


def _wilson(x, n, z=1.959963984540054):
    p = x / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return c - h, c + h


def test_wilson_interval_hand_computed():
    # 8/10: centre (0.8 + 1.92/10)/(1 + 3.84/10) = 0.7168..., the textbook Wilson formula
    lo, hi = wilson_ci(8, 10)
    assert (lo, hi) == pytest.approx(_wilson(8, 10))
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_ci(0, 5)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_ci(0, 0) is None


def test_annotator_table_hand_computed():
    t = datetime(2026, 1, 5, tzinfo=UTC)
    obs = [
        # ann "a": gold 3 of 4 right; non-gold items i1..i3, agrees with consensus on 2 of 3
        Observation("a", "g1", "x", t, 10.0, True, True),
        Observation("a", "g2", "x", t, 20.0, True, True),
        Observation("a", "g3", "y", t, 30.0, True, False),
        Observation("a", "g4", "x", t, 40.0, True, True),
        Observation("a", "i1", "x", t, 5.0),
        Observation("a", "i2", "y", t, 7.0),
        Observation("a", "i3", "x", t, None),
        Observation("a", "solo", "x", t, 1.0),  # a single-label item: not in consensus agreement
        Observation("b", "i1", "x", t, 12.0),
    ]
    consensus = {"i1": "x", "i2": "x", "i3": "x", "solo": "y"}
    n_labels = {"i1": 3, "i2": 3, "i3": 2, "solo": 1}
    table = annotator_table(obs, consensus=consensus, n_labels=n_labels, skips={"a": 2, "c": 1},
                            users={"a": {"vendor": "acme"}, "c": {"active": False,
                                                                   "paused_reason": "slow"}})
    assert [s.username for s in table] == ["a", "b", "c"]
    a, b, c = table
    assert (a.labels, a.gold_n, a.gold_correct, a.gold_accuracy) == (8, 4, 3, 0.75)
    assert a.gold_ci == pytest.approx(list(_wilson(3, 4)))
    assert (a.consensus_n, a.consensus_agreement) == (3, pytest.approx(2 / 3))
    assert a.median_seconds == 10.0  # median of 1, 5, 7, 10, 20, 30, 40 (i3 has no duration)
    assert (a.assigned, a.skipped, a.skip_rate) == (10, 2, pytest.approx(0.2))
    assert a.vendor == "acme"
    assert b.gold_accuracy is None and b.consensus_agreement == 1.0 and b.skip_rate == 0.0
    assert (c.labels, c.skip_rate, c.active, c.paused_reason) == (0, 1.0, False, "slow")


def test_control_chart_p_chart_hand_computed():
    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
    ev = []
    # annotator "a": day 0 and day 1 perfect-ish (19/20 and 20/20), day 2 only 10/20 right
    for day, right in ((0, 19), (1, 20), (2, 10)):
        for k in range(20):
            ev.append(("a", t0 + timedelta(days=day, minutes=k), k < right))
    # annotator "b": a single day, 9/10
    ev += [("b", t0 + timedelta(minutes=k), k < 9) for k in range(10)]
    chart = control_chart(ev, window=timedelta(days=1), min_baseline=20)
    a = chart["a"]
    assert [w.n for w in a] == [20, 20, 20] and [w.correct for w in a] == [19, 20, 10]
    assert a[0].start == datetime(2026, 3, 1, tzinfo=UTC) and a[0].end == datetime(2026, 3, 2, tzinfo=UTC)
    # baseline: a's first window (20 events >= min_baseline) -> own 19/20; never flagged itself
    assert a[0].baseline_source == "own" and a[0].baseline == pytest.approx(0.95)
    assert a[0].p_value is None and a[0].cusum is None and a[0].flagged is False
    # later windows are tested against the lower 95% Wilson bound of the baseline
    from redline.stats import wilson_interval as wilson_ci

    pt = wilson_ci(19, 20)[0]
    assert [w.baseline for w in a[1:]] == [pytest.approx(0.95)] * 2
    assert a[2].lcl == pytest.approx(0.95 - 3 * math.sqrt(0.95 * 0.05 / 20)) and a[2].ucl == 1.0
    # exact binomial tail P(X <= 10 | 20, pt)
    tail = sum(math.comb(20, k) * pt**k * (1 - pt) ** (20 - k) for k in range(11))
    assert a[2].p_value == pytest.approx(tail, rel=1e-6) and a[1].p_value == pytest.approx(1.0)
    # CUSUM (p1 = pt - 0.2): 20 successes keep S at 0; day 2: 10 successes, then 10 failures
    up, down = math.log((1 - (pt - 0.2)) / (1 - pt)), math.log((pt - 0.2) / pt)
    assert a[1].cusum == 0.0
    s_stat, fired = 0.0, False
    for ok in [True] * 10 + [False] * 10:
        s_stat = max(0.0, s_stat + (down if ok else up))
        if s_stat > 6.0:
            s_stat, fired = 0.0, True
    assert fired and a[2].cusum == pytest.approx(s_stat)
    assert [w.flagged for w in a] == [False, False, True] and a[2].flag_rule == ("p-chart+cusum" if tail < 0.00135 else "cusum")
    # b: 10 events, below min_baseline -> the pool rate (19+20+10+9)/70, tested from the start
    assert chart["b"][0].baseline_source == "pool" and chart["b"][0].baseline == pytest.approx(58 / 70)
    assert chart["b"][0].flagged is False and chart["b"][0].rate == 0.9
    d = a[2].to_dict()
    assert d["start"] == "2026-03-03T00:00:00+00:00" and d["flagged"] is True


def test_flag_annotators_reasons():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    obs = [Observation("low", f"g{i}", "x", t, 1.0, True, i < 4) for i in range(10)]  # 4/10
    obs += [Observation("ok", f"g{i}", "x", t, 1.0, True, i < 9) for i in range(10)]  # 9/10
    obs += [Observation("few", f"g{i}", "x", t, 1.0, True, False) for i in range(3)]  # 0/3
    obs += [Observation("dis", f"i{i}", "y" if i < 8 else "x", t) for i in range(12)]
    cons = {f"i{i}": "x" for i in range(12)}
    table = annotator_table(obs, consensus=cons, n_labels=dict.fromkeys(cons, 3))
    ev = [("ok", t + timedelta(days=d, minutes=k), (k < 20) if d < 2 else (k < 2))
          for d in range(3) for k in range(20)]
    drift = {"ok": {"gold": control_chart(ev)["ok"]}}
    flagged = flag_annotators(table, 0.7, drift=drift)
    names = {s.username: s for s in flagged}
    assert set(names) == {"low", "dis", "ok"}  # "few" has fewer than min_gold gold labels
    assert "gold accuracy 0.400 < 0.70 on 10 gold items (significant" in names["low"].flag_reasons[0]
    assert names["dis"].flag_reasons == ["agreement with consensus 0.333 < 0.70 on 12 items"]
    assert names["ok"].flag_reasons[0].startswith("drift in gold: 2/20")
    by = {s.username: s for s in table}
    assert by["few"].flagged is False and by["low"].flagged is True


# -- project level (pipeline over a real SQLite workspace) ----------------------------------------

def _project(tmp_path, settings=None):
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.store.db import WorkspaceDB

    t = {"now": datetime(2026, 2, 2, 9, 0, tzinfo=UTC)}
    svc = Annotations(WorkspaceDB(f"sqlite:///{tmp_path / 'ws.db'}"), clock=lambda: t["now"])
    recs = [Record(id=f"r{i}", prompt=f"a test prompt {i}", response=f"a test response {i}",
                   category="hate" if i % 2 else "self_harm") for i in range(12)]
    gold = [(Record(id=f"g{i}", prompt=f"a gold prompt {i}", response=f"a gold response {i}",
                    category="hate"),
             {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"})
            for i in range(6)]
    svc.create_project("qa", policy=load_policy("default"), policy_ref="default",
                       task="response-label", records=recs, overlap=3, gold=gold, gold_rate=0.35,
                       settings=settings)
    for u in ("a1", "a2"):
        svc.add_user(u, f"pw-{u}-secret", "annotator", vendor="acme")
    for u in ("b1", "bad"):
        svc.add_user(u, f"pw-{u}-secret", "annotator", vendor="beta")
    return svc, t


def _truth(item_id):
    return item_id.startswith("r") and int(item_id[1:]) % 3 == 0  # harmful iff r0, r3, r6, r9


def _answer(user, item_id):
    harmful = _truth(item_id) if user != "bad" else not _truth(item_id)
    if harmful:
        return {"harmful": True, "category": "hate", "severity": 2, "refusal": "full_compliance",
                "completion_quality": "n/a"}
    return {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"}


def _label(svc, t):
    """Round robin: each annotator takes one item in turn until nothing is left."""
    busy = True
    while busy:
        busy = False
        for u in ("bad", "a1", "a2", "b1"):
            if (a := svc.next_item("qa", u)) is not None:
                busy = True
                t["now"] += timedelta(minutes=3)
                svc.submit("qa", u, a.item_id, _answer(u, a.item_id), duration_s=12.0)


def test_project_quality_on_a_real_workspace(tmp_path):
    from redline.annotate.project_quality import (
        project_consensus,
        project_quality,
        project_ratings,
        review_queue,
    )

    svc, t = _project(tmp_path)
    _label(svc, t)
    ratings = project_ratings(svc, "qa", "harmful")
    assert len(ratings) == 36 and all(r[0].startswith("r") for r in ratings)  # gold left out
    mv = project_consensus(svc, "qa", "majority")
    ds = project_consensus(svc, "qa", "dawid-skene")
    # every item has 3 labels and at most one of them is the contrarian's: majority is right
    assert mv.labels() == {f"r{i}": _truth(f"r{i}") for i in range(12)}
    assert ds.labels() == mv.labels()
    q = project_quality(svc, "qa", judge=None, n_boot=200)
    assert q["progress"]["items"] == 12 and q["progress"]["labels"] >= 36
    assert {f["name"] for f in q["fields"]} == {"harmful", "category", "severity", "refusal",
                                                "completion_quality"}
    assert q["fields"][2]["level"] == "ordinal"
    rep = q["agreement"]["by_field"]["harmful"]
    assert rep["n_items"] == 12 and rep["alpha"]["value"] is not None
    assert set(q["agreement"]["by_vendor"]) == {"acme", "beta"}
    assert set(q["agreement"]["by_category"]) == {"hate", "self_harm"}
    assert list(q["agreement"]["by_policy_version"]) == [svc.get_project("qa").policy_version]
    table = {a["username"]: a for a in q["annotators"]}
    assert table["a1"]["consensus_agreement"] == 1.0
    assert table["bad"]["consensus_agreement"] == 0.0
    assert table["bad"]["median_seconds"] == 12.0 and table["bad"]["vendor"] == "beta"
    assert table["bad"]["gold_n"] >= 1 and table["bad"]["gold_accuracy"] == 0.0
    assert table["a1"]["gold_n"] >= 1 and table["a1"]["gold_accuracy"] == 1.0
    assert table["bad"]["gold_ci"][1] < 1.0 and q["drift"]["bad"]["consensus"][-1]["flagged"]
    assert table["bad"]["flagged"] and not table["a1"]["flagged"]
    assert [f["username"] for f in q["flags"]] == ["bad"]
    assert q["consensus"]["items"] == 12 and q["consensus"]["label_counts"] == {"True": 4, "False": 8}
    assert "bad" in q["drift"]
    # every item "bad" labelled is a disagreement and goes to the queue
    queue = review_queue(svc, "qa", judge=None)
    bad_items = {i for i, u, _ in ratings if u == "bad"}
    assert {e.item_id for e in queue} == bad_items
    # "bad" flips harmful, and with it refusal (and category/severity where harmful): the reason
    # names the contested fields, the main field first
    assert all(e.reason.startswith("disagreement on harmful") and e.n_labels == 3 for e in queue)
    assert all({"harmful", "refusal"} <= set(e.fields) and e.complete for e in queue)
    assert all("refusal" in e.detail and e.per_field["harmful"]["reasons"][0] == "disagreement"
               for e in queue)
    # an adjudicated item leaves the queue
    first = queue[0].item_id
    svc.add_user("rev", "pw-rev-secret", "reviewer")
    svc.adjudicate("qa", first, "rev", _answer("a1", first), "clear case")
    assert first not in {e.item_id for e in review_queue(svc, "qa", judge=None)}
    # the vendor view only knows that vendor's annotators and labels, and never gold answers
    qv = project_quality(svc, "qa", vendor="acme", judge=None, n_boot=0)
    assert {a["username"] for a in qv["annotators"]} == {"a1", "a2"}
    assert set(qv["agreement"]["by_vendor"]) == {"acme"}
    import json

    assert "gold response" not in json.dumps(qv, default=str)
    json.dumps(q)  # JSON-ready
    # in-house progress: data labels (never above the target), gold labels apart
    n_gold = sum(lb.is_gold for lb in svc.labels("qa"))
    assert n_gold > 0 and q["progress"]["labels"] == 36 and q["progress"]["gold_labels"] == n_gold
    # a vendor sees gold results only for labels made before today (no live gold_n to watch)
    vtable = {a["username"]: a for a in qv["annotators"]}
    assert vtable["a1"]["gold_n"] == 0 and vtable["a1"]["gold_accuracy"] is None
    assert qv["progress"]["gold_labels"] == 0
    t["now"] += timedelta(days=1)
    qv2 = project_quality(svc, "qa", vendor="acme", judge=None, n_boot=0)
    later = {a["username"]: a for a in qv2["annotators"]}
    assert later["a1"]["gold_n"] == table["a1"]["gold_n"] and later["a1"]["gold_accuracy"] == 1.0


def test_model_assisted_project_consensus_runs_the_harm_judge(tmp_path):
    from redline.annotate.project_quality import (
        judge_probabilities,
        project_consensus,
        review_queue,
    )

    svc, t = _project(tmp_path)
    _label(svc, t)
    probs = judge_probabilities(svc, "qa", "harmful")
    assert set(probs) >= {f"r{i}" for i in range(12)}
    assert all(p[True] + p[False] == pytest.approx(1.0) for p in probs.values())
    res = project_consensus(svc, "qa", "model")
    assert res.method == "model" and set(res.items) == {f"r{i}" for i in range(12)}
    assert "(model)" in res.annotators
    probs_refusal = judge_probabilities(svc, "qa", "refusal")
    assert probs_refusal and all(set(p) == {"full_compliance", "full_refusal", "partial_refusal"}
                       for p in probs_refusal.values())
    # a project without a judge setting: "auto" runs no judge, so nothing is queued for it
    assert not any("consensus-vs-judge" in e.reasons for e in review_queue(svc, "qa"))
    # the harm judge thinks these benign test responses are safe: items labelled harmful by the
    # crowd disagree with the judge and are queued for that reason
    queue = review_queue(svc, "qa", judge="harm") + review_queue(svc, "qa", judge="refusal")
    judged = {e.item_id: e for e in queue
              if "consensus-vs-judge" in e.per_field.get("harmful", {}).get("reasons", ())}
    assert set(judged) == {"r0", "r3", "r6", "r9"}
    assert all(e.label is True and e.judge_label is False for e in judged.values())
    assert all("consensus-vs-judge on harmful" in e.detail for e in judged.values())
    # the refusal judge checks the refusal field: "a test response" is no refusal, so the
    # crowd's full_refusal on the benign items is contested by it
    by_refusal = {e.item_id: e.per_field["refusal"] for e in queue
                  if "consensus-vs-judge" in e.per_field.get("refusal", {}).get("reasons", ())}
    assert set(by_refusal) == {f"r{i}" for i in range(12)} - set(judged)
    assert all(d["label"] == "full_refusal" and d["judge_label"] != "full_refusal"
               for d in by_refusal.values())
    assert set(e.item_id for e in review_queue(svc, "qa", judge="harm")
               if "consensus-vs-judge" in e.reasons) == set(judged)
    with pytest.raises(Exception, match="no judge for field"):
        judge_probabilities(svc, "qa", "completion_quality")


def test_judge_probabilities_by_field(tmp_path):
    from redline.annotate.project_quality import judge_probabilities, judge_probabilities_by_field

    svc, _ = _project(tmp_path)
    both = judge_probabilities_by_field(svc, "qa")
    assert set(both) == {"harmful", "refusal"}
    assert both["harmful"] == judge_probabilities(svc, "qa", "harmful")
    assert set(judge_probabilities_by_field(svc, "qa", "refusal")) == {"refusal"}
    assert set(judge_probabilities_by_field(svc, "qa", "harm")) == {"harmful"}


def test_prompt_label_none_category_is_an_answer(tmp_path):
    from redline.annotate.project_quality import NONE_LABEL, project_consensus, project_quality
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.store.db import WorkspaceDB

    svc = Annotations(WorkspaceDB(f"sqlite:///{tmp_path / 'ws.db'}"))
    recs = [Record(id=f"r{i}", prompt=f"a test prompt {i}", category="hate") for i in range(6)]
    svc.create_project("pl", policy=load_policy("default"), policy_ref="default",
                       task="prompt-label", records=recs, overlap=2)
    empty = project_quality(svc, "pl", n_boot=0)
    assert empty["consensus"]["items"] == 0 and empty["agreement"]["by_field"]["intent"]["alpha"][
        "value"] is None
    for u in ("a", "b", "c"):
        svc.add_user(u, f"pw-{u}-long-secret", "annotator")
    for u in ("a", "b"):
        while (x := svc.next_item("pl", u)) is not None:
            svc.submit("pl", u, x.item_id, {"category": None if u == "a" else "hate",
                                            "intent": "benign" if u == "a" else "harmful"})
    q = project_quality(svc, "pl", n_boot=50)
    cat = q["agreement"]["by_field"]["category"]
    # "none" (a) vs "hate" (b) on every item: 6 items with two answers each, no agreement
    assert cat["n_items"] == 6 and cat["percent_agreement"]["value"] == 0.0
    res = project_consensus(svc, "pl", "majority", field="category")
    assert set(res.classes) == {NONE_LABEL, "hate"} and all(c.tie for c in res.items.values())
    qm = project_quality(svc, "pl", method="majority", n_boot=0)
    assert qm["consensus"]["field"] == "intent" and qm["consensus"]["ties"] == 6
    assert qm["consensus"]["queue"] == 6 and qm["consensus"]["low_confidence"] == 6


def _prompt_project(tmp_path, n=4):
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.store.db import WorkspaceDB

    svc = Annotations(WorkspaceDB(f"sqlite:///{tmp_path / 'ws.db'}"))
    recs = [Record(id=f"r{i}", prompt=f"a test prompt {i}", category="hate") for i in range(n)]
    svc.create_project("pl", policy=load_policy("default"), policy_ref="default",
                       task="prompt-label", records=recs, overlap=2)
    for u in ("a", "b", "c"):
        svc.add_user(u, f"pw-{u}-long-secret", "annotator")
    return svc


def _take(svc, user, item_id, values):
    while (x := svc.next_item("pl", user)) is not None and x.item_id != item_id:
        svc.skip("pl", user, x.item_id, "not this one")
    assert x is not None and x.item_id == item_id
    svc.submit("pl", user, item_id, values)


def test_queue_names_the_contested_field_and_checks_every_field(tmp_path):
    from redline.annotate.project_quality import project_quality, review_queue

    svc = _prompt_project(tmp_path, n=2)
    # r0: intent agreed, category contested; r1: both agree
    _take(svc, "a", "r0", {"category": "hate", "intent": "harmful"})
    _take(svc, "a", "r1", {"category": "hate", "intent": "harmful"})
    _take(svc, "b", "r0", {"category": "violent_crimes", "intent": "harmful"})
    _take(svc, "b", "r1", {"category": "hate", "intent": "harmful"})
    q = review_queue(svc, "pl", judge=None, method="majority")
    assert [e.item_id for e in q] == ["r0"]
    (e,) = q
    assert e.reason == "disagreement on category" and e.fields == ("category",)
    assert e.label == "harmful"  # the main field's consensus, uncontested
    assert set(e.per_field) == {"category"} and e.per_field["category"]["n_labels"] == 2
    # only the intent field asked: nothing to review
    assert review_queue(svc, "pl", judge=None, method="majority", field="intent") == []
    qual = project_quality(svc, "pl", method="majority", n_boot=0)
    assert set(qual["consensus"]["by_field"]) == {"category", "intent"}
    assert qual["consensus"]["by_field"]["category"]["ties"] == 1
    assert qual["consensus"]["queue"] == 1
    assert qual["consensus"]["queue_by_field"] == {"category": 1, "intent": 0}


def test_queue_waits_until_labelling_is_complete(tmp_path):
    from redline.annotate.project_quality import labelling_complete, review_queue

    svc = _prompt_project(tmp_path, n=3)
    # r0: two labels (overlap 2) that disagree; r1, r2: one label each, b and c may still come
    _take(svc, "a", "r0", {"category": "hate", "intent": "harmful"})
    _take(svc, "b", "r0", {"category": "hate", "intent": "benign"})
    _take(svc, "c", "r1", {"category": "hate", "intent": "harmful"})
    _take(svc, "c", "r2", {"category": None, "intent": "ambiguous"})
    assert labelling_complete(svc, "pl") == {"r0": True, "r1": False, "r2": False}
    q = review_queue(svc, "pl", judge=None, method="majority")
    assert [e.item_id for e in q] == ["r0"] and q[0].reason == "disagreement on intent"
    # the option to see items still collecting labels: a single label is low confidence
    # under majority only when it ties, so use a threshold above 1 to see them all
    every = review_queue(svc, "pl", judge=None, method="majority", include_incomplete=True,
                         min_confidence=1.01)
    assert {e.item_id: e.complete for e in every} == {"r0": True, "r1": False, "r2": False}
    # an open assignment keeps an item incomplete; once nobody else can get r1/r2 they are done
    held = svc.next_item("pl", "a")
    assert held is not None and held.item_id in {"r1", "r2"}
    svc.pause("b", "left the project")
    assert labelling_complete(svc, "pl")[held.item_id] is False  # a still holds it open
    svc.skip("pl", "a", held.item_id, "not today")
    other = ({"r1", "r2"} - {held.item_id}).pop()
    # a skipped one (seen: never served again) and may still get the other
    assert labelling_complete(svc, "pl") == {"r0": True, held.item_id: True, other: False}
    svc.pause("a", "left the project")
    assert labelling_complete(svc, "pl") == {"r0": True, "r1": True, "r2": True}
    q = review_queue(svc, "pl", judge=None, method="majority", min_confidence=1.01)
    assert {e.item_id for e in q} == {"r0", "r1", "r2"} and all(e.complete for e in q)


def test_queue_judge_is_the_projects_setting(tmp_path):
    from redline.annotate.project_quality import project_quality, queue_judge, review_queue
    from redline.annotate.rows import ProjectSettings
    from redline.errors import InputError

    svc, t = _project(tmp_path, settings=ProjectSettings(judge="harm"))
    _label(svc, t)
    assert queue_judge(svc, "qa") == "harm" and queue_judge(svc, "qa", None) is None
    auto = review_queue(svc, "qa")
    judged = {e.item_id for e in auto if "consensus-vs-judge" in e.reasons}
    assert judged == {"r0", "r3", "r6", "r9"}  # harm judge only: no refusal-judge entries
    assert not any("consensus-vs-judge" in d["reasons"] for e in auto
                   for f, d in e.per_field.items() if f != "harmful")
    assert not any("consensus-vs-judge" in e.reasons for e in review_queue(svc, "qa", judge=None))
    q = project_quality(svc, "qa", n_boot=0)
    assert q["consensus"]["judge"] == "harm" and q["consensus"]["judge_disagreements"] == 4
    from redline.annotate.service import Annotations  # noqa: F401 (the setting is validated)
    from redline.data.records import Record
    from redline.policy.loader import load_policy

    with pytest.raises(InputError) as e:
        svc.create_project("nj", policy=load_policy("default"), policy_ref="default",
                           task="response-label", records=[Record(id="x", prompt="p", response="r")],
                           settings=ProjectSettings(judge="no-such-judge"))
    assert e.value.problems[0].where == "settings.judge"


def test_agreement_per_policy_version_splits_an_edit_without_a_new_version(tmp_path):
    from redline.annotate.project_quality import project_quality
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.policy.model import Policy

    svc, t = _project(tmp_path)
    _label(svc, t)
    pol = load_policy("default")
    data = pol.model_dump(mode="json")
    data["description"] = (data.get("description") or "") + " (edited)"
    edited = Policy.model_validate(data)
    assert edited.version == pol.version and edited.content_hash != pol.content_hash
    svc.set_policy("qa", edited, str(tmp_path / "edited.yaml"))
    svc.add_items("qa", [Record(id=f"n{i}", prompt=f"a new prompt {i}", response=f"a new response {i}",
                                category="hate") for i in range(3)])
    _label(svc, t)
    groups = project_quality(svc, "qa", judge=None, n_boot=0)["agreement"]["by_policy_version"]
    assert set(groups) == {f"{pol.version}@{pol.content_hash[:8]}", f"{pol.version}@{edited.content_hash[:8]}"}
    assert groups[f"{pol.version}@{edited.content_hash[:8]}"]["harmful"]["n_items"] == 3


def _simulated_events(seed: int, rate_of_day, *, users: int, days: int = 14, per_day: int = 45):
    import random

    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
    return [(f"u{u}", t0 + timedelta(days=d, minutes=10 * k), rng.random() < rate_of_day(u, d))
            for u in range(users) for d in range(days) for k in range(per_day)]


def test_drift_no_false_alarms_on_stable_annotators_over_seeds():
    rates = [0.95, 0.9, 0.8, 0.7, 0.6]
    for seed in range(8):
        chart = control_chart(_simulated_events(seed, lambda u, d: rates[u], users=len(rates)))
        flagged = {u: [w.start.date().isoformat() for w in ws if w.flagged] for u, ws in chart.items()}
        assert not any(flagged.values()), (seed, flagged)


def test_drift_catches_a_sustained_drop_within_a_few_windows():
    # the simulated report's annotator: 0.9, then 0.55 from day 3, ~45 events a day
    for seed in range(8):
        series = control_chart(_simulated_events(seed, lambda u, d: 0.9 if d < 3 else 0.55, users=1))["u0"]
        first = next(i for i, w in enumerate(series) if w.flagged)
        assert 3 <= first <= 6, (seed, first)
        assert any("cusum" in (w.flag_rule or "") for w in series)
        flagged = flag_annotators([AnnotatorStats("u0")], 0.5, drift={"u0": {"consensus": series}})
        assert flagged and "sustained drop (CUSUM)" in flagged[0].flag_reasons[0]


def test_gold_accuracy_is_per_field_with_the_primary_field_as_headline(tmp_path):
    from redline.annotate.project_quality import project_quality

    svc, t = _project(tmp_path)

    def answer(user, item_id):
        v = _answer(user, item_id)
        if user == "a2" and not v["harmful"]:  # right on harmful, but rates the quality lower
            v = {**v, "completion_quality": "acceptable"}
        return v

    busy = True
    while busy:
        busy = False
        for u in ("bad", "a1", "a2", "b1"):
            if (a := svc.next_item("qa", u)) is not None:
                busy = True
                t["now"] += timedelta(minutes=3)
                svc.submit("qa", u, a.item_id, answer(u, a.item_id), duration_s=12.0)
    table = {a["username"]: a for a in project_quality(svc, "qa", judge=None, n_boot=50)["annotators"]}
    a2, bad = table["a2"], table["bad"]
    assert a2["gold_n"] >= 1
    # headline: the primary field (harmful) — a2 is right on every gold item
    assert a2["gold_accuracy"] == 1.0 and a2["gold_correct"] == a2["gold_n"]
    # secondary: every field exact — the subjective quality rating makes a2 0%
    assert a2["gold_exact_accuracy"] == 0.0 and a2["gold_exact_correct"] == 0
    assert a2["gold_by_field"]["harmful"]["accuracy"] == 1.0
    assert a2["gold_by_field"]["completion_quality"]["accuracy"] == 0.0
    assert a2["gold_by_field"]["refusal"]["n"] == a2["gold_n"]
    assert not any("gold accuracy" in r for r in a2["flag_reasons"])
    assert bad["gold_accuracy"] == 0.0 and bad["gold_by_field"]["harmful"]["accuracy"] == 0.0
