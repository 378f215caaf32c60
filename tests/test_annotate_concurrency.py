"""20 annotators (threads) label one project at the same time: no label is lost, no item gets more
than k labels, nobody labels an item twice. SQLite (file database) here; PostgreSQL in
tests/test_annotate_postgres.py (``run_crowd`` is shared)."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from redline.annotate import Annotations
from redline.data.records import Record
from redline.policy.loader import load_policy
from redline.store.db import WorkspaceDB

OK = {"harmful": "false", "refusal": "full_refusal", "completion_quality": "good"}


def run_crowd(url: str, *, annotators: int = 20, items: int = 30, k: int = 3, gold: int = 4) -> None:
    policy = load_policy("default")
    setup = Annotations(WorkspaceDB(url))
    recs = [Record(id=f"r{i}", prompt=f"a test prompt {i}", response="a test response",
                   category=("hate", "privacy", "self_harm")[i % 3]) for i in range(items)]
    golds = [(Record(id=f"g{i}", prompt=f"another test prompt {i}", response="a test response", category="hate"),
              OK) for i in range(gold)]
    setup.create_project("crowd", policy=policy, policy_ref="default", task="response-label", records=recs,
                         gold=golds, overlap=k, gold_rate=0.2)
    names = [f"ann{i:02d}" for i in range(annotators)]
    for i, n in enumerate(names):
        setup.add_user(n, f"password-{n}", "annotator", vendor=("acme", "bolt")[i % 2])
    submitted: dict[str, list[str]] = {n: [] for n in names}
    skipped: dict[str, list[str]] = {n: [] for n in names}
    errors: list[BaseException] = []
    start = threading.Barrier(annotators)

    def work(i: int, name: str) -> None:
        # half the annotators share the service (as the web app does), half have their own engine
        svc = setup if i % 2 == 0 else Annotations(WorkspaceDB(url))
        try:
            start.wait()
            n = 0
            while (a := svc.next_item("crowd", name)) is not None:
                n += 1
                if n % 3 == 0:  # some skips (someone gets ≥ 3 items): the slot must go to someone else
                    svc.skip("crowd", name, a.item_id, "not sure")
                    skipped[name].append(a.item_id)
                else:
                    svc.submit("crowd", name, a.item_id, OK, duration_s=1.0)
                    submitted[name].append(a.item_id)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            if svc is not setup:
                svc.engine.dispose()

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)
    # A skip freed its slot after every other annotator had already been told "nothing left" and
    # stopped (a real crowd comes back later): one more pass, everyone labelling what they are
    # offered, must fill every freed slot. Without it this test fails about half the time.
    for name in names:
        while (a := setup.next_item("crowd", name)) is not None:
            setup.submit("crowd", name, a.item_id, OK, duration_s=1.0)
            submitted[name].append(a.item_id)

    labels = setup.labels("crowd")
    # no label lost: every successful submit is in the database, and nothing else is
    assert sorted((lb.username, lb.item_id) for lb in labels) == sorted(
        (n, it) for n, its in submitted.items() for it in its)
    assert len({(lb.username, lb.item_id) for lb in labels}) == len(labels)
    normal = Counter(lb.item_id for lb in labels if not lb.item_id.startswith("g"))
    # every normal item labelled exactly k times (skips were refilled by others, never beyond k)
    assert normal == {f"r{i}": k for i in range(items)}
    for n in names:  # nobody got an item twice (labelled or skipped)
        seen = submitted[n] + skipped[n]
        assert len(seen) == len(set(seen))
    assert all(lb.vendor == ("acme", "bolt")[int(lb.username[3:]) % 2] for lb in labels)
    assert setup.progress("crowd").open == 0
    assert sum(len(v) for v in skipped.values()) > 0
    setup.engine.dispose()


def test_twenty_annotators_concurrently_on_sqlite(tmp_path: Path):
    run_crowd(f"sqlite:///{tmp_path / 'crowd.db'}")


def run_races(url: str, *, threads: int = 8) -> None:
    """Double submits, submit against skip, and first adjudications racing on one item: exactly
    one outcome each, never an integrity error escaping to the caller."""
    from redline.errors import InputError

    policy = load_policy("default")
    setup = Annotations(WorkspaceDB(url))
    setup.create_project("race", policy=policy, policy_ref="default", task="response-label", overlap=1,
                         gold_rate=0, records=[Record(id=f"r{i}", prompt=f"a test prompt {i}",
                                                      response="a test response", category="hate")
                                               for i in range(2)])
    setup.add_user("ann", "password-ann", "annotator")
    for i in range(threads):
        setup.add_user(f"rev{i}", f"password-rev{i}", "reviewer")
    a = setup.next_item("race", "ann")
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def race(i: int, what: str) -> None:
        svc = Annotations(WorkspaceDB(url))
        try:
            start.wait()
            if what == "adjudicate":
                svc.adjudicate("race", "r1", f"rev{i}", OK, f"reviewer {i}", promote_casebook=True,
                               casebook_intent="harmful")
                outcomes.append("adjudicated")
            elif i % 2:
                svc.skip("race", "ann", a.item_id, "not sure")
                outcomes.append("skipped")
            else:
                svc.submit("race", "ann", a.item_id, OK)
                outcomes.append("submitted")
        except InputError:
            outcomes.append("refused")
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            svc.engine.dispose()

    for what in ("label", "adjudicate"):
        outcomes.clear()
        ts = [threading.Thread(target=race, args=(i, what)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=300)
        assert not errors, errors[:3]
        if what == "label":
            # one of submit/skip wins; the assignment's state and the labels agree with it
            won = [o for o in outcomes if o != "refused"]
            assert len(won) == 1 and outcomes.count("refused") == threads - 1
            status = setup.assignments("race", username="ann")[0].status
            assert status == won[0] and len(setup.labels("race")) == (1 if won[0] == "submitted" else 0)
        else:  # latest wins: every adjudication succeeds, one row, one casebook case
            assert outcomes == ["adjudicated"] * threads
            assert len(setup.adjudications("race")) == 1 and len(setup.casebook("race")) == 1
    setup.engine.dispose()


def test_races_on_sqlite(tmp_path: Path):
    run_races(f"sqlite:///{tmp_path / 'race.db'}")
