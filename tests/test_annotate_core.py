"""Annotation core: task schemas and validation, users and sessions, projects, assignment
(overlap, blind, gold, exposure budget, vendors), labels and policy versions, adjudication and
promotion. SQLite here; the ``scenario_*`` functions run again on PostgreSQL in
tests/test_annotate_postgres.py."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from redline.annotate import (
    Annotations,
    ProjectSettings,
    task_fields,
    validate_values,
)
from redline.annotate.auth import hash_password
from redline.annotate.schema import field_applies
from redline.data.records import Record
from redline.errors import InputError
from redline.policy.compile import annotation_schema
from redline.policy.loader import load_policy
from redline.policy.model import Case, Policy
from redline.store.annotation import ann_sessions, ann_users
from redline.store.db import WorkspaceDB

POLICY = load_policy("default")
SCHEMA = annotation_schema(POLICY)
OK = {"harmful": "false", "refusal": "full_refusal", "completion_quality": "good"}


class Clock:
    """A settable UTC clock for the service."""

    def __init__(self, start: datetime = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


def _svc(url: str, clock: Clock | None = None) -> Annotations:
    return Annotations(WorkspaceDB(url), clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(tmp_path: Path, clock: Clock) -> Annotations:
    return _svc(f"sqlite:///{tmp_path / 'ws.db'}", clock)


def _recs(n: int, category: str = "hate", prefix: str = "r", **kw) -> list[Record]:
    return [Record(id=f"{prefix}{i}", prompt=f"a test prompt {prefix}{i}", response="a test response",
                   category=category, **kw) for i in range(n)]


def _users(svc: Annotations, names: list[str], vendor: str | None = None) -> None:
    for n in names:
        svc.add_user(n, f"pw-{n}-secret", "annotator", vendor=vendor)


def _drain(svc: Annotations, project: str, user: str, values: dict | None = None) -> list[str]:
    """Label everything the user gets; the item ids in order."""
    got = []
    while (a := svc.next_item(project, user)) is not None:
        svc.submit(project, user, a.item_id, values or OK)
        got.append(a.item_id)
    return got


# -- schema -------------------------------------------------------------------------------------


def test_task_fields_follow_the_policy():
    names = {t: [f.name for f in task_fields(t, SCHEMA)] for t in
             ("prompt-label", "response-label", "preference", "sft-write")}
    assert names == {"prompt-label": ["category", "intent", "note"],
                     "response-label": ["harmful", "category", "severity", "refusal", "completion_quality", "note"],
                     "preference": ["choice", "margin", "reason"],
                     "sft-write": ["behaviour", "response", "note"]}
    cat = task_fields("prompt-label", SCHEMA)[0]
    values = [o.value for o in cat.options]
    assert values[0] is None and values[1:] == POLICY.category_ids  # sub-nodes included
    assert "suicide_methods" in values and "bullying" in values
    keys = [o.key for o in cat.options if o.key]
    assert len(keys) == len(set(keys)) and len(keys) >= 30  # shortcuts, unique within the field
    fields = {f.name: f for f in task_fields("response-label", SCHEMA)}
    assert [o.value for o in fields["severity"].options] == [1, 2, 3]  # the policy's levels above 0
    assert fields["severity"].level == "ordinal" and fields["harmful"].level == "nominal"
    assert fields["category"].when == {"harmful": True} and fields["note"].required is False
    assert [o.key for o in fields["harmful"].options] == ["y", "n"]
    # a policy with its own scale: levels come from it
    data = POLICY.model_dump()
    data["severity_levels"] = [{"level": 0, "name": "none"}, {"level": 1, "name": "minor"},
                               {"level": 5, "name": "critical"}]
    for c in data["categories"]:
        for n in [c, *c["subcategories"]]:
            n["severity"] = []
    other = annotation_schema(Policy.model_validate(data))
    sev = {f.name: f for f in task_fields("response-label", other)}["severity"]
    assert [(o.value, o.label) for o in sev.options] == [(1, "1 minor"), (5, "5 critical")]


def test_validate_values_coerces_form_strings_and_reports_each_field():
    clean = validate_values("response-label", SCHEMA, {"harmful": "true", "category": "bullying", "severity": "2",
                                                       "refusal": "partial_refusal", "completion_quality": "poor",
                                                       "note": "", "csrf_token": "x"})
    assert clean == {"harmful": True, "category": "bullying", "severity": 2, "refusal": "partial_refusal",
                     "completion_quality": "poor", "note": None}
    # harmful false: category and severity are not asked (and cleaned to None)
    assert validate_values("response-label", SCHEMA, {**OK, "category": "hate"})["category"] is None
    with pytest.raises(InputError) as e:
        validate_values("response-label", SCHEMA, {"harmful": "yes", "severity": "9", "refusal": "nope",
                                                   "colour": "red"})
    probs = {p.where: p for p in e.value.problems}
    assert set(probs) == {"colour", "category", "severity", "refusal", "completion_quality"}
    assert "required when harmful is true" in probs["category"].message
    assert "1, 2, 3" in probs["severity"].fix and "full_refusal" in probs["refusal"].fix
    assert probs["completion_quality"].message == "missing"
    # prompt-label: "" means "none of the categories"; an absent field is missing
    assert validate_values("prompt-label", SCHEMA, {"category": "", "intent": "benign"}) == \
        {"category": None, "intent": "benign", "note": None}
    with pytest.raises(InputError) as e:
        validate_values("prompt-label", SCHEMA, {"intent": "benign"})
    assert [p.where for p in e.value.problems] == ["category"]


def test_preference_candidates_margin_and_ranking():
    three = Record(id="p", prompt="which is better?", meta={"responses": ["one", {"role": "assistant",
                                                                                  "content": "two"}, "three"]})
    fields = {f.name: f for f in task_fields("preference", SCHEMA, three, order=[2, 0, 1])}
    assert [(o.value, o.label) for o in fields["choice"].options] == [
        ("2", "Response A"), ("0", "Response B"), ("1", "Response C"), ("tie", "tie (equally good)")]
    assert fields["ranking"].required is False and fields["margin"].when == {"choice": {"not": "tie"}}
    assert validate_values("preference", SCHEMA, {"choice": "tie", "reason": "same"}, three) == \
        {"choice": "tie", "margin": None, "reason": "same", "ranking": None}
    got = validate_values("preference", SCHEMA, {"choice": "1", "margin": "clear", "reason": "r",
                                                 "ranking": "1, 0,2"}, three)
    assert got["choice"] == "1" and got["ranking"] == [1, 0, 2]
    with pytest.raises(InputError) as e:
        validate_values("preference", SCHEMA, {"choice": "3", "reason": " ", "ranking": "0,0,1"}, three)
    assert {p.where for p in e.value.problems} == {"choice", "reason", "ranking"}
    with pytest.raises(InputError) as e:  # margin is required when a side was chosen
        validate_values("preference", SCHEMA, {"choice": "0", "reason": "r"}, three)
    assert [p.where for p in e.value.problems] == ["margin"]
    pair = Record(id="q", prompt="p", chosen="good", rejected="bad")
    assert [f.name for f in task_fields("preference", SCHEMA, pair)] == ["choice", "margin", "reason"]
    assert field_applies(task_fields("preference", SCHEMA, pair)[1], {"choice": "0"})
    assert not field_applies(task_fields("preference", SCHEMA, pair)[1], {"choice": "tie"})


def test_sft_write_suggests_the_policys_behaviour():
    def default(rec: Record) -> str | None:
        return task_fields("sft-write", SCHEMA, rec)[0].default

    assert default(Record(id="a", prompt="p", category="self_harm")) == "safe_complete"  # harmful intent
    assert default(Record(id="b", prompt="p", category="suicide_methods", meta={"intent": "benign"})) == "comply"
    assert default(Record(id="c", prompt="p", category="weapons_cbrne", meta={"intent": "ambiguous"})) == "refuse"
    assert default(Record(id="d", prompt="p", category="hate", expected="comply")) == "comply"
    with pytest.raises(InputError) as e:
        validate_values("sft-write", SCHEMA, {"behaviour": "refuse", "response": "   "})
    assert [p.where for p in e.value.problems] == ["response"]


# -- users, passwords, sessions -----------------------------------------------------------------


@pytest.mark.production_argon2
def test_passwords_are_argon2id_and_rehashed_when_outdated(svc: Annotations):
    from argon2 import PasswordHasher

    svc.add_user("ann", "correct horse", "annotator", vendor="acme")
    with svc.engine.connect() as c:
        stored = c.execute(select(ann_users.c.password_hash).where(ann_users.c.username == "ann")).scalar()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert svc.authenticate("ann", "correct horse").vendor == "acme"
    assert svc.authenticate("ann", "wrong horse") is None
    assert svc.authenticate("nobody", "correct horse") is None
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    with svc.engine.begin() as c:
        c.execute(ann_users.update().where(ann_users.c.username == "ann").values(password_hash=weak))
    assert svc.authenticate("ann", "correct horse") is not None
    with svc.engine.connect() as c:
        new = c.execute(select(ann_users.c.password_hash).where(ann_users.c.username == "ann")).scalar()
    assert new != weak and new.startswith("$argon2id$") and "m=65536" in new
    with pytest.raises(InputError):
        svc.add_user("ann", "another password", "annotator")  # exists
    with pytest.raises(InputError) as e:
        svc.add_user("bob", "short", "boss")
    assert {p.where for p in e.value.problems} == {"role", "password"}
    svc.pause("ann", "low gold accuracy")
    u = svc.authenticate("ann", "correct horse")  # paused users still log in (they see why)
    assert u is not None and not u.active and u.paused_reason == "low gold accuracy"
    assert hash_password("x") != hash_password("x")  # salted


def scenario_sessions(svc: Annotations, clock: Clock) -> None:
    svc.add_user("rev", "reviewer-pass", "reviewer")
    tok, sess = svc.create_session("rev", ttl=timedelta(hours=2), idle=timedelta(minutes=30))
    tok2, sess2 = svc.create_session("rev")
    assert sess.csrf_token != sess2.csrf_token and tok != tok2 and len(tok) >= 40
    with svc.engine.connect() as c:
        stored = [r[0] for r in c.execute(select(ann_sessions.c.token_hash))]
    assert hashlib.sha256(tok.encode()).hexdigest() in stored and tok not in stored
    assert svc.get_session(tok).user.role == "reviewer"
    for _ in range(4):  # keep it alive: 25 minutes apart is within the idle limit
        clock.advance(minutes=25)
        assert svc.get_session(tok) is not None
    clock.advance(minutes=19)  # 1h59: still alive
    assert svc.get_session(tok) is not None
    clock.advance(minutes=1)  # 2h00 since creation: at the absolute expiry, although used a minute ago
    assert svc.get_session(tok) is None
    assert svc.get_session(tok) is None  # and deleted
    tok3, _ = svc.create_session("rev", idle=timedelta(minutes=30))
    clock.advance(minutes=31)  # idle too long
    assert svc.get_session(tok3) is None
    tok4, _ = svc.create_session("rev")
    svc.delete_session(tok4)
    assert svc.get_session(tok4) is None and svc.get_session("made-up") is None


def test_sessions(svc: Annotations, clock: Clock):
    scenario_sessions(svc, clock)


# -- projects -----------------------------------------------------------------------------------


def test_create_project_reports_duplicates_and_bad_gold(svc: Annotations):
    recs = _recs(3) + [Record(id="r1", prompt="again")]
    with pytest.raises(InputError) as e:
        svc.create_project("p", policy=POLICY, policy_ref="default", task="response-label", records=recs)
    assert "'r1'" in e.value.problems[0].message
    gold = [(Record(id="g1", prompt="p", response="r"), {"harmful": "maybe", "refusal": "full_refusal",
                                                         "completion_quality": "good"})]
    with pytest.raises(InputError) as e:
        svc.create_project("p", policy=POLICY, policy_ref="default", task="response-label", records=_recs(2),
                           gold=gold)
    assert [p.where for p in e.value.problems] == ["gold[0] (g1) harmful"]
    with pytest.raises(InputError) as e:  # response-label needs responses
        svc.create_project("p", policy=POLICY, policy_ref="default", task="response-label",
                           records=[Record(id="x", prompt="no answer")])
    assert "no response" in e.value.problems[0].message
    with pytest.raises(InputError) as e:
        svc.create_project("p", policy=POLICY, policy_ref="default", task="response-label", records=_recs(2),
                           gold_rate={"*": 0.1, "no_such_node": 0.5})
    assert e.value.problems[0].where == "gold_rate.no_such_node"
    svc.create_project("harm-audit", policy=POLICY, policy_ref="default", task="response-label", records=_recs(2))
    with pytest.raises(InputError) as e:
        svc.get_project("harm-adit")
    assert "did you mean 'harm-audit'" in str(e.value)
    assert svc.policy("harm-audit").content_hash == POLICY.content_hash
    assert svc.add_items("harm-audit", _recs(2, prefix="s")) == 2
    assert [i.seq for i in svc.items("harm-audit")] == [0, 1, 2, 3]
    with pytest.raises(InputError):
        svc.add_items("harm-audit", _recs(1, prefix="s"))  # s0 exists


# -- assignment ---------------------------------------------------------------------------------


def scenario_overlap_blind_and_routing(svc: Annotations) -> None:
    recs = [r.model_copy(update={"labels": {"harm": "unsafe"}}) for r in _recs(4)]
    svc.create_project("ov", policy=POLICY, policy_ref="default", task="response-label", records=recs,
                       overlap=2, gold_rate=0.0)
    _users(svc, ["a", "b", "c"])
    first = svc.next_item("ov", "a")
    assert first.item_id == "r0" and first.status == "open"
    assert svc.next_item("ov", "a").item_id == "r0"  # the open assignment comes back first
    # blind: no gold flag, no answer, no existing labels of the record
    assert first.is_gold is None and first.item.is_gold is None and first.item.gold is None
    assert first.item.record.labels == {}
    svc.submit("ov", "a", "r0", OK)
    with pytest.raises(InputError):
        svc.submit("ov", "a", "r0", OK)  # already submitted
    with pytest.raises(InputError):
        svc.submit("ov", "a", "r3", OK)  # never assigned
    got = {u: _drain(svc, "ov", u) for u in ("a", "b", "c")}
    assert got == {"a": ["r1", "r2", "r3"], "b": ["r0", "r1", "r2", "r3"], "c": []}
    per_item = Counter(lb.item_id for lb in svc.labels("ov"))
    assert per_item == {"r0": 2, "r1": 2, "r2": 2, "r3": 2}
    prog = svc.progress("ov")
    assert (prog.items, prog.target_labels, prog.labels, prog.done_items, prog.open) == (4, 8, 8, 4, 0)
    assert prog.per_user["a"]["submitted"] == 4 and "c" not in prog.per_user


def test_overlap_blind_and_routing(svc: Annotations):
    scenario_overlap_blind_and_routing(svc)


def test_skip_frees_the_slot_and_needs_a_reason(svc: Annotations):
    svc.create_project("sk", policy=POLICY, policy_ref="default", task="response-label", records=_recs(1),
                       overlap=1, gold_rate=0)
    _users(svc, ["a", "b"])
    a = svc.next_item("sk", "a")
    assert svc.next_item("sk", "b") is None  # the one slot is taken (open)
    with pytest.raises(InputError):
        svc.skip("sk", "a", a.item_id, "  ")
    svc.skip("sk", "a", a.item_id, "not my language")
    assert svc.next_item("sk", "a") is None  # never the same item twice
    assert svc.next_item("sk", "b").item_id == "r0"
    p = svc.progress("sk")
    assert (p.skipped, p.open, p.labels) == (1, 1, 0)
    assert svc.assignments("sk", username="a")[0].skip_reason == "not my language"


def scenario_gold_injection(svc: Annotations) -> None:
    recs = _recs(6, "hate") + _recs(6, "privacy", prefix="p")
    gold = [(Record(id=f"g{i}", prompt=f"a test prompt g{i}", response="a test response", category=c),
             {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"})
            for i, c in enumerate(["hate", "hate", "privacy"])]
    # gold only among hate items, every time
    svc.create_project("gd", policy=POLICY, policy_ref="default", task="response-label", records=recs, gold=gold,
                       overlap=1, gold_rate={"*": 0.0, "hate": 1.0})
    _users(svc, ["a"])
    seen = []
    while (a := svc.next_item("gd", "a")) is not None:
        # indistinguishable: the annotator's view of a gold assignment has the same shape and no flag
        assert a.is_gold is None and a.item.is_gold is None and a.item.gold is None and a.item.origin is None
        assert a.item.seq is None and svc.item("gd", a.item_id).seq is None  # gold is numbered after the data
        seen.append(a.item_id)
        svc.submit("gd", "a", a.item_id, OK)
    # the next item is hate (rate 1.0): an unseen gold item instead, of its category first, then any;
    # once all gold is seen, the normal items in order; privacy items (rate 0) draw no gold
    assert seen == ["g0", "g1", "g2", "r0", "r1", "r2", "r3", "r4", "r5", "p0", "p1", "p2", "p3", "p4", "p5"]
    flags = {x.item_id: x.is_gold for x in svc.assignments("gd", include_gold=True)}
    assert flags["g0"] is True and flags["r0"] is False
    assert [lb.item_id for lb in svc.labels("gd", include_gold=True) if lb.is_gold] == ["g0", "g1", "g2"]
    blind = svc.labels("gd", include_gold=False)  # every label, the flag hidden
    assert len(blind) == 15 and {lb.is_gold for lb in blind} == {None}
    assert [i.item_id for i in svc.items("gd")] == [r.id for r in recs]  # gold not listed
    assert svc.item("gd", "g0", include_gold=True).gold == {"harmful": False, "category": None, "severity": None,
                                                            "refusal": "full_refusal",
                                                            "completion_quality": "good", "note": None}
    p = svc.progress("gd", username="a")
    # a counter that does not reveal gold: gold counted like data, capped at the target
    assert p.labels == 12 == p.target_labels and p.per_user["a"]["submitted"] == 15 and p.gold_labels == 0
    assert svc.progress("gd", include_gold=True).gold_labels == 3


def test_gold_injection(svc: Annotations):
    scenario_gold_injection(svc)


def test_gold_rate_is_roughly_the_configured_rate(svc: Annotations):
    gold = [(Record(id=f"g{i}", prompt="a test prompt", response="a test response", category="hate"),
             {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"}) for i in range(200)]
    svc.create_project("gr", policy=POLICY, policy_ref="default", task="response-label", records=_recs(200),
                       gold=gold, overlap=1, gold_rate=0.2)
    _users(svc, ["a"])
    for _ in range(150):
        a = svc.next_item("gr", "a")
        svc.submit("gr", "a", a.item_id, OK)
    n_gold = sum(1 for x in svc.assignments("gr", include_gold=True) if x.is_gold)
    # 150 draws at p = 0.2: mean 30, sd ≈ 4.9; seeded, so this is one fixed outcome within ±3 sd
    assert 15 <= n_gold <= 45


def test_exposure_budget_per_category_per_day(svc: Annotations, clock: Clock):
    settings = ProjectSettings(exposure_budget={"*": 100, "self_harm": 2})
    recs = _recs(3, "suicide_methods", prefix="s") + _recs(2, "hate") + _recs(1, "self_injury", prefix="i")
    svc.create_project("ex", policy=POLICY, policy_ref="default", task="response-label", records=recs,
                       overlap=1, gold_rate=0, settings=settings)
    _users(svc, ["a"])
    # self_harm's budget covers its sub-nodes together: two of them today, then the rest
    assert _drain(svc, "ex", "a") == ["s0", "s1", "r0", "r1"]
    assert svc.exposure_today("ex", "a") == {"suicide_methods": 2, "hate": 2}
    assert svc.budget_left("ex", "a", "self_injury") == 0 and svc.budget_left("ex", "a", "hate") == 98
    clock.advance(days=1)
    assert _drain(svc, "ex", "a") == ["s2", "i0"]


def test_vendor_reservation_isolation_and_pause(svc: Annotations):
    svc.create_project("vd", policy=POLICY, policy_ref="default", task="response-label", records=_recs(4),
                       overlap=1, gold_rate=0)
    assert svc.reserve("vd", ["r0", "r1"], "acme") == 2
    _users(svc, ["a1"], vendor="acme")
    _users(svc, ["b1"], vendor="bolt")
    _users(svc, ["house"])
    assert _drain(svc, "vd", "b1") == ["r2", "r3"]
    assert _drain(svc, "vd", "house") == []  # reserved items are the vendor's only
    svc.pause("a1", "exposure check")
    assert svc.next_item("vd", "a1") is None
    svc.resume("a1")
    assert _drain(svc, "vd", "a1") == ["r0", "r1"]
    assert [i.item_id for i in svc.items("vd", vendor="bolt")] == ["r2", "r3"]
    assert {lb.username for lb in svc.labels("vd", vendor="acme")} == {"a1"}
    assert {x.username for x in svc.assignments("vd", vendor="bolt")} == {"b1"}
    assert svc.progress("vd", vendor="acme").labels == 2


def test_preference_order_is_stored_and_choice_uses_candidate_indices(svc: Annotations):
    recs = [Record(id=f"q{i}", prompt="which reply is better?", chosen="a helpful reply", rejected="a worse reply")
            for i in range(6)]
    svc.create_project("pref", policy=POLICY, policy_ref="default", task="preference", records=recs, overlap=1,
                       gold_rate=0)
    _users(svc, ["a"])
    orders = []
    while (a := svc.next_item("pref", "a")) is not None:
        assert sorted(a.order) == [0, 1]
        orders.append(tuple(a.order))
        svc.submit("pref", "a", a.item_id, {"choice": "0", "margin": "clear", "reason": "more helpful"})
    assert set(orders) == {(0, 1), (1, 0)}  # both positions occur (seeded per item and user)
    stored = [x.order for x in svc.assignments("pref")]
    assert [tuple(o) for o in stored] == orders
    assert {lb.values["choice"] for lb in svc.labels("pref")} == {"0"}
    with pytest.raises(InputError):
        svc.create_project("bad", policy=POLICY, policy_ref="default", task="preference",
                           records=[Record(id="x", prompt="only one")])


# -- policy versions ----------------------------------------------------------------------------


def scenario_policy_versions(svc: Annotations, clock: Clock, tmp_path: Path) -> None:
    svc.create_project("pv", policy=POLICY, policy_ref="default", task="response-label", records=_recs(2),
                       overlap=2, gold_rate=0)
    _users(svc, ["a", "b"])
    svc.submit("pv", "a", svc.next_item("pv", "a").item_id, OK)
    data = POLICY.model_dump(mode="json")
    data["version"] = "9.9"
    v2 = Policy.model_validate(data)
    clock.advance(hours=1)
    proj = svc.set_policy("pv", v2, str(tmp_path / "v2.yaml"))
    assert proj.policy_version == "9.9" and proj.policy_hash == v2.content_hash
    svc.submit("pv", "b", svc.next_item("pv", "b").item_id, OK)
    labels = svc.labels("pv")
    assert [(lb.username, lb.policy_version, lb.outdated) for lb in labels] == [
        ("a", POLICY.version, True), ("b", "9.9", False)]
    assert [x.username for x in svc.labels("pv", policy_hash=v2.content_hash)] == ["b"]
    hist = svc.policy_versions("pv")
    assert [h["policy_version"] for h in hist] == [POLICY.version, "9.9"]


def test_policy_versions(svc: Annotations, clock: Clock, tmp_path: Path):
    scenario_policy_versions(svc, clock, tmp_path)


# -- adjudication and promotion -----------------------------------------------------------------


def scenario_adjudicate_and_promote(svc: Annotations) -> None:
    svc.create_project("adj", policy=POLICY, policy_ref="default", task="response-label",
                       records=_recs(3, "bullying"), overlap=2, gold_rate={"*": 1.0})
    _users(svc, ["a", "b", "late"])
    svc.add_user("rev", "reviewer-pass", "reviewer")
    _drain(svc, "adj", "a")
    _drain(svc, "adj", "b")
    verdict = {"harmful": "true", "category": "bullying", "severity": "2", "refusal": "full_compliance",
               "completion_quality": "poor"}
    with pytest.raises(InputError):
        svc.adjudicate("adj", "r0", "rev", verdict, " ")  # rationale required
    with pytest.raises(InputError) as e:
        svc.adjudicate("adj", "r0", "rev", {**verdict, "severity": "7"}, "why")
    assert e.value.problems[0].where == "severity"
    adj = svc.adjudicate("adj", "r0", "rev", verdict, "Insults aimed at a classmate: bullying, moderate.",
                         promote_casebook=True, promote_gold=True, casebook_intent="harmful")
    assert adj.promoted_casebook and adj.promoted_gold and adj.values["severity"] == 2
    it = svc.item("adj", "r0", include_gold=True)
    assert it.is_gold and it.origin == "promoted" and it.gold["harmful"] is True
    # the people who labelled it never get it again; a newcomer is tested on it (rate 1.0)
    assert svc.next_item("adj", "a") is None
    svc.add_items("adj", _recs(1, "bullying", prefix="n"))
    assert svc.next_item("adj", "a").item_id == "n0"
    first = svc.next_item("adj", "late")
    assert first.item_id == "r0"
    assert svc.assignments("adj", username="late", include_gold=True)[0].is_gold is True
    cases = svc.casebook("adj")
    assert len(cases) == 1
    c = cases[0]
    assert (c.id, c.node, c.tag, c.harmful, c.severity, c.expected, c.response) == (
        "adj:r0", "bullying", "adjudicated", True, 2, "refuse", "a test response")
    assert c.reasoning.startswith("Insults") and c.adjudication.startswith("rev, ")
    # the cases extend the policy as they are
    Policy.model_validate({**POLICY.model_dump(), "casebook": [*POLICY.model_dump()["casebook"],
                                                               c.model_dump()]})
    # latest adjudication wins; created is kept; the casebook case follows it
    again = svc.adjudicate("adj", "r0", "rev", {**verdict, "severity": "3"}, "Threatening tone: severe.")
    assert again.created == adj.created and again.promoted_casebook and again.values["severity"] == 3
    assert svc.casebook("adj")[0].severity == 3 and len(svc.adjudications("adj")) == 1
    svc.adjudicate("adj", "r1", "rev", {"harmful": "false", "refusal": "full_refusal",
                                        "completion_quality": "good"}, "A refusal.")
    assert svc.adjudication("adj", "r1").promoted_casebook is False and len(svc.casebook("adj")) == 1


def test_adjudicate_and_promote(svc: Annotations):
    scenario_adjudicate_and_promote(svc)


def test_prompt_label_case_and_sft_case(svc: Annotations):
    svc.create_project("pl", policy=POLICY, policy_ref="default", task="prompt-label",
                       records=[Record(id="x.1", prompt="how do I stop feeling hopeless?", category="self_harm")],
                       overlap=1, gold_rate=0)
    svc.add_user("rev", "reviewer-pass", "reviewer")
    svc.adjudicate("pl", "x.1", "rev", {"category": "mental_health_crisis", "intent": "benign"},
                   "Help-seeking, not a request for methods.", promote_casebook=True)
    c = svc.casebook("pl")[0]
    assert (c.id, c.node, c.intent, c.harmful, c.expected, c.response) == (
        "pl:x.1", "mental_health_crisis", "benign", False, "comply", None)
    svc.create_project("sft", policy=POLICY, policy_ref="default", task="sft-write",
                       records=[Record(id="y 1", prompt="a risky request", category="self_harm")],
                       overlap=1, gold_rate=0)
    svc.adjudicate("sft", "y 1", "rev", {"behaviour": "safe_complete", "response": "I'm here to help. ..."},
                   "Safe completion with resources.", promote_casebook=True,
                   casebook_intent="harmful")  # no intent label/meta/expected: the reviewer says it
    c = svc.casebook("sft")[0]
    assert (c.id, c.node, c.expected, c.harmful, c.response) == (
        "sft:y_1", "self_harm", "safe_complete", False, "I'm here to help. ...")
    Case.model_validate(c.model_dump())


# -- review fixes: one progress definition, blind views, who may adjudicate ----------------------


def _gold_pairs(n: int, category: str = "hate") -> list[tuple[Record, dict]]:
    return [(Record(id=f"g{i}", prompt=f"a test prompt g{i}", response="a test response", category=category),
             {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"}) for i in range(n)]


def test_progress_has_one_definition_promoted_items_stay_data_items(svc: Annotations):
    svc.create_project("pg", policy=POLICY, policy_ref="default", task="response-label", records=_recs(4),
                       gold=_gold_pairs(2), overlap=2, gold_rate={"*": 0.5})
    _users(svc, ["a", "b", "c"])
    svc.add_user("rev", "reviewer-pass", "reviewer")
    for u in ("a", "b", "c"):
        _drain(svc, "pg", u)
    n_gold = sum(x.is_gold for x in svc.assignments("pg", include_gold=True) if x.status == "submitted")
    assert n_gold > 0
    p = svc.progress("pg", include_gold=True)
    # gold-origin items never count; gold labels apart; labels never above the target ("26 of 22")
    assert (p.items, p.target_labels, p.labels, p.done_items, p.gold_labels) == (4, 8, 8, 4, n_gold)
    # an item promoted to gold after it was labelled stays a data item, with its labels
    svc.adjudicate("pg", "r0", "rev", OK, "a refusal", promote_gold=True)
    p2 = svc.progress("pg", include_gold=True)
    assert (p2.items, p2.labels, p2.done_items, p2.gold_labels) == (4, 8, 4, n_gold)
    assert "r0" in {i.item_id for i in svc.items("pg")}
    # a newcomer tested on it (an imported label): that is a gold label, not a data label
    svc.add_user("d", "pw-d-secret", "annotator")
    svc.submit("pg", "d", "r0", OK, assign=True, source="import:t")
    p3 = svc.progress("pg", include_gold=True)
    assert (p3.labels, p3.done_items, p3.gold_labels) == (8, 4, n_gold + 1)
    # the blind view counts gold like data (no counter reveals it) and never passes the target
    blind = svc.progress("pg")
    assert blind.items == 4 and blind.labels == blind.target_labels == 8 and blind.gold_labels == 0


def test_blind_counters_move_the_same_for_gold_and_data(svc: Annotations):
    """An annotator or vendor who watches the counters around each item cannot tell gold."""
    svc.create_project("bc", policy=POLICY, policy_ref="default", task="response-label", records=_recs(6),
                       gold=_gold_pairs(3), overlap=1, gold_rate={"*": 0.5})
    _users(svc, ["v1"], vendor="acme")
    seen_gold = seen_data = 0
    while True:
        before_items = len(svc.items("bc", vendor="acme"))
        before = svc.progress("bc", vendor="acme")
        mine = len(svc.labels("bc", username="v1", include_gold=False))
        a = svc.next_item("bc", "v1")
        if a is None:
            break
        mid = svc.progress("bc", vendor="acme")
        svc.submit("bc", "v1", a.item_id, OK)
        after = svc.progress("bc", vendor="acme")
        # the vendor's item list holds every item it was given, gold included, unmarked
        assert len(svc.items("bc", vendor="acme")) == before_items + 1
        assert (mid.items, mid.open) == (before.items + 1, before.open + 1)
        assert (after.labels, after.open) == (before.labels + 1, before.open)
        got = svc.labels("bc", username="v1", include_gold=False)
        assert len(got) == mine + 1 and got[-1].item_id == a.item_id and got[-1].is_gold is None
        it = svc.items("bc", vendor="acme")[-1] if a.item_id.startswith("g") else None
        assert it is None or (it.is_gold is None and it.gold is None and it.origin is None)
        is_gold = svc.item("bc", a.item_id, include_gold=True).is_gold
        seen_gold, seen_data = seen_gold + is_gold, seen_data + (not is_gold)
    assert seen_gold > 0 and seen_data == 6
    # the vendor's list is in the order its annotators got the items — seq order would put the
    # gold items (added after the data) last
    given = [x.item_id for x in svc.assignments("bc", username="v1")]
    assert [i.item_id for i in svc.items("bc", vendor="acme")] == given
    assert given[-1].startswith("r") and any(g.startswith("g") for g in given)
    # in-house admins still get gold apart
    assert {i.item_id for i in svc.items("bc", vendor="acme", include_gold=True)} == \
        {i.item_id for i in svc.items("bc", vendor="acme")}
    assert svc.progress("bc", include_gold=True).gold_labels == seen_gold


def test_only_in_house_reviewers_adjudicate(svc: Annotations):
    svc.create_project("aj", policy=POLICY, policy_ref="default", task="response-label", records=_recs(1),
                       overlap=1, gold_rate=0)
    _users(svc, ["ann"])
    svc.add_user("vrev", "reviewer-pass", "reviewer", vendor="acme")
    svc.add_user("rev", "reviewer-pass", "reviewer")
    for who in ("ann", "vrev"):  # an annotator, a vendor's manager: no gold answers, no case law
        with pytest.raises(InputError) as e:
            svc.adjudicate("aj", "r0", who, OK, "my call", promote_gold=True)
        assert e.value.problems[0].where == "reviewer"
    assert svc.item("aj", "r0", include_gold=True).is_gold is False and svc.adjudications("aj") == []
    svc.pause("rev", "on leave")
    with pytest.raises(InputError):
        svc.adjudicate("aj", "r0", "rev", OK, "my call")
    svc.resume("rev")
    assert svc.adjudicate("aj", "r0", "rev", OK, "my call").reviewer == "rev"


def test_casebook_promotion_node_and_intent_never_guessed(svc: Annotations) -> None:
    recs = [Record(id="b0", prompt="How do I reset my router?", response="Hold the reset button.", category=None),
            Record(id="b1", prompt="How do I reset my router?", response="Hold the reset button.",
                   category="privacy"),
            Record(id="b2", prompt="Is it ok to ask this?", response="Yes.", category="privacy",
                   meta={"intent": "ambiguous"})]
    svc.create_project("cb", policy=POLICY, policy_ref="default", task="response-label", records=recs, overlap=1)
    svc.add_user("rev", "pw-rev-secret", "reviewer")
    # no category anywhere: the reviewer must name the node (the problem says so and how)
    with pytest.raises(InputError) as e:
        svc.adjudicate("cb", "b0", "rev", OK, "fine", promote_casebook=True)
    assert e.value.problems[0].where == "casebook_node" and "pick the policy node" in e.value.problems[0].fix
    # node known, intent unknown (no intent label, meta.intent or expected): refused, never "harmful"
    with pytest.raises(InputError) as e:
        svc.adjudicate("cb", "b0", "rev", OK, "fine", promote_casebook=True, casebook_node="privacy")
    assert e.value.problems[0].where == "casebook_intent"
    assert svc.adjudication("cb", "b0") is None and svc.casebook("cb") == []
    with pytest.raises(InputError) as e:
        svc.adjudicate("cb", "b0", "rev", OK, "fine", promote_casebook=True, casebook_node="privacy",
                       casebook_intent="evil")
    assert e.value.problems[0].where == "casebook_intent"
    svc.adjudicate("cb", "b0", "rev", OK, "fine", promote_casebook=True, casebook_node="privacy",
                   casebook_intent="benign")
    svc.adjudicate("cb", "b2", "rev", OK, "fine", promote_casebook=True)  # old call: meta.intent is used
    cases = {c.id[-2:]: c for c in svc.casebook("cb")}
    assert (cases["b0"].node, cases["b0"].intent, cases["b0"].harmful) == ("privacy", "benign", False)
    assert (cases["b2"].node, cases["b2"].intent) == ("privacy", "ambiguous")
    # re-adjudicating a promoted item keeps the node and intent the reviewer chose
    svc.adjudicate("cb", "b0", "rev", OK, "still fine")
    again = [c for c in svc.casebook("cb") if c.id.endswith("b0")][0]
    assert (again.node, again.intent, again.reasoning) == ("privacy", "benign", "still fine")


def test_duplicate_user_fix_names_the_cli_command(svc: Annotations) -> None:
    _users(svc, ["bob"])
    with pytest.raises(InputError) as e:
        _users(svc, ["bob"])
    assert "redline annotate user passwd bob" in e.value.problems[0].fix
    assert "set_password" not in e.value.problems[0].fix
