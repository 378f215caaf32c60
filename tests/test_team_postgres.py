"""Several machines writing one workspace on a real PostgreSQL server (tests/_pg.py; skipped with
the reason when none can start).

Each "machine" is its own process with its own ``REDLINE_HOME``, ``REDLINE_RUNS`` and
``REDLINE_HOST`` and only ``REDLINE_DB`` in common: three `redline eval` processes at once on a
workspace made by an older redline (it is upgraded exactly once, every run is recorded with all
its results), a reader on a fifth machine that cannot see their run directories (`redline runs`,
`redline compare`, and `redline serve`'s run, sample, comparison and trend pages), two
annotation writers labelling one project at once, concurrent dataset registrations, and two
machines whose run directories have the same path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests._pg import new_database
from tests._web import PASSWORD, Client, Server
from tests.conftest import start_server
from tests.helpers import make_records, write_policy, write_suite

FIXTURES = Path(__file__).with_name("fixtures")
MACHINES = ("machine-a", "machine-b", "machine-c")
SAMPLES = 20


def _env(tmp: Path, machine: str, db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDLINE_", "OPENAI_"))}
    env.update(REDLINE_DB=db, REDLINE_HOST=machine, REDLINE_HOME=str(tmp / machine / "home"),
               REDLINE_RUNS=str(tmp / machine / "runs"), PYTHONPATH=os.pathsep.join(sys.path))
    return env


def _redline(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "redline", *args], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def team(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three machines ran `redline eval` at once (one target each) into a workspace database made
    by an older redline; their run directories then went away (they were on those machines)."""
    tmp = tmp_path_factory.mktemp("team")
    url = new_database(pg_server, "team", (FIXTURES / "workspace_0001_postgresql.sql").read_text())
    server = start_server(tmp, "--refuse-if", "harm")
    try:
        policy = write_policy(tmp / "pol.yaml")
        recs = make_records(SAMPLES)
        for r in recs:  # every harmful prompt refused: no failures to cluster (no scikit-learn import)
            if r["expected"] != "comply":
                r["prompt"] += " harm"
                r["expected"] = "refuse"
        suite = write_suite(tmp / "suite.jsonl", recs)
        procs = {m: _redline(["eval", "--target", f"openai:model-{m[-1]}", "--base-url", server.url,
                              "--suite", str(suite), "--policy", str(policy), "--no-progress",
                              "--retry-base", "0.01", "--retry-max", "0.05"],
                             _env(tmp, m, url), tmp / m)
                 for m in MACHINES}
        outs = {m: p.communicate(timeout=120) for m, p in procs.items()}
    finally:
        server.proc.terminate()
        server.proc.wait(10)
    for m, p in procs.items():
        assert p.returncode == 0, f"{m}: {outs[m]}"
    run_dirs = {m: next((tmp / m / "runs").iterdir()) for m in MACHINES}
    files = {m: (d / "results.jsonl").read_text().splitlines() for m, d in run_dirs.items()}
    for m in MACHINES:  # the run directories stay on their machines: nobody else can read them
        shutil.move(str(tmp / m), str(tmp / f"away-{m}"))
    return {"tmp": tmp, "url": url, "stderr": {m: outs[m][1] for m in MACHINES}, "dirs": run_dirs,
            "files": files}


def test_three_machines_upgrade_once_and_record_every_run(team: dict[str, Any]):
    from sqlalchemy import func, select

    from redline.store.db import WorkspaceDB, results, runs
    from redline.store.migrate import head_revision

    upgrades = [m for m, err in team["stderr"].items() if "upgrading the workspace database" in err]
    assert len(upgrades) == 1, team["stderr"]  # the others waited for the lock, then found it done
    db = WorkspaceDB(team["url"])
    with db.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
        for m, d in team["dirs"].items():
            rid = str(d)
            row = conn.execute(select(runs).where(runs.c.run_id == rid)).mappings().one()
            assert (row["status"], row["host"], row["samples"]) == ("completed", m, SAMPLES)
            stored = conn.execute(select(results.c.seq, results.c.sample_id, results.c.record)
                                  .where(results.c.run_id == rid).order_by(results.c.seq)).all()
            # every result once, in file order, exactly as written to results.jsonl
            assert [r.record for r in stored] == team["files"][m]
            assert [r.seq for r in stored] == list(range(SAMPLES))
        assert conn.execute(select(func.count()).select_from(runs).where(
            runs.c.host.is_not(None))).scalar_one() == len(MACHINES)
    db.engine.dispose()


def test_another_machine_lists_compares_and_serves_the_runs(team: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    tmp, url = team["tmp"], team["url"]
    env = _env(tmp, "machine-z", url)
    names = {m: d.name for m, d in team["dirs"].items()}
    from redline.annotate.service import Annotations
    from redline.store.db import WorkspaceDB

    Annotations(WorkspaceDB(url)).add_user("viewer", PASSWORD, "annotator")
    # `redline runs`, `redline compare` (by name, as on the machine that ran them) and `redline serve`
    listing = _redline(["runs", "--json"], env, tmp / "machine-z")
    compare = _redline(["compare", names["machine-a"], names["machine-b"], "--json"], env, tmp / "machine-z")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    srv = Server(url, tmp / "serve.log")
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0, err
    listed = {r["run_id"]: r for r in json.loads(out)}
    for m, d in team["dirs"].items():
        assert listed[str(d)]["status"] == "completed" and listed[str(d)]["host"] == m
    out, err = compare.communicate(timeout=60)
    assert compare.returncode == 0, err
    res = json.loads(out)
    assert [r["target"] for r in res["runs"]] == ["openai:model-a", "openai:model-b"]
    assert res["comparisons"][0]["paired"] and res["comparisons"][0]["n_paired"] == SAMPLES
    try:
        c = Client(srv.base)
        c.login("viewer")
        st, page, _ = c.get("/runs")
        assert st == 200 and all(n in page for n in names.values())
        import urllib.parse as up

        rid = up.quote(str(team["dirs"]["machine-c"]))
        st, page, _ = c.get(f"/runs/run?run={rid}")
        assert st == 200 and 'id="results-from-db"' in page and "machine-c" in page
        assert 'id="no-results-file"' not in page and "s00003" in page
        st, page, _ = c.get(f"/runs/sample?run={rid}&sample=s00004")
        assert st == 200 and "test prompt number 4" in page
        q = "&".join(f"runs={up.quote(str(team['dirs'][m]))}" for m in ("machine-a", "machine-c"))
        st, page, _ = c.get(f"/runs/compare?{q}")
        assert st == 200 and 'class="error"' not in page
        st, page, _ = c.get("/runs/trends?target=openai:model-b")
        assert st == 200 and names["machine-b"] in page
    finally:
        srv.stop()


def test_a_run_in_progress_elsewhere_is_not_shown_as_incomplete(pg_server: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    from redline.evals.runner import recorded_runs
    from redline.store.db import WorkspaceDB

    url = new_database(pg_server, "live")
    db = WorkspaceDB(url)
    ident = {"suite": "s", "target": "t", "policy": "p", "policy_hash": "h", "judges": {}}
    now = datetime.now(UTC)
    db.record_start(tmp_path / "elsewhere", ident, now, host="machine-a")
    db.record_start(tmp_path / "here", ident, now, host="machine-z")
    monkeypatch.setenv("REDLINE_HOST", "machine-z")
    status = {Path(r["run_id"]).name: r["status"] for r in recorded_runs(url)}
    # machine-a's run may well be running (its lock is there); this machine's own is not
    assert status == {"elsewhere": "running", "here": "incomplete"}
    db.engine.dispose()


def test_run_directories_at_one_path_on_two_machines(pg_server: str, tmp_path: Path):
    from redline.errors import InputError
    from redline.store.db import WorkspaceDB

    url = new_database(pg_server, "clash")
    dbs = [WorkspaceDB(url) for _ in range(4)]
    ident = {"suite": "s", "target": "t", "policy": "p", "policy_hash": "h", "judges": {}}
    out = tmp_path / "runs" / "s-t-123"
    t0 = datetime.now(UTC)
    errors: list[BaseException] = []
    start = threading.Barrier(len(dbs))

    def first_start(db: WorkspaceDB, host: str) -> None:
        try:
            start.wait()
            db.record_start(out, ident, t0, host=host)  # one run directory on a shared disk
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=first_start, args=(db, f"machine-{i}")) for i, db in enumerate(dbs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(dbs[0].runs_named("s-t-123")) == 1
    # another machine, another directory at the same path (its own disk): refused, nothing overwritten
    with pytest.raises(InputError, match="another machine recorded a run in this directory") as e:
        dbs[1].record_start(out, ident, t0 + timedelta(minutes=5), host="machine-x")
    assert "REDLINE_RUNS" in str(e.value.problems)
    # the same machine made the directory again (the old one was deleted): the row is the new run's
    last = dbs[0].runs_named("s-t-123")[0]["host"]
    dbs[2].record_start(out, ident, t0 + timedelta(minutes=5), host=last)
    row = dbs[0].runs_named("s-t-123")[0]
    assert row["started"] == t0 + timedelta(minutes=5) and row["status"] == "running"
    for db in dbs:
        db.engine.dispose()


def test_concurrent_dataset_registrations_keep_one_whole_set_of_labels(pg_server: str, tmp_path: Path):
    from redline.store.db import WorkspaceDB

    url = new_database(pg_server, "reg")
    dbs = [WorkspaceDB(url) for _ in range(4)]
    start = threading.Barrier(len(dbs))
    errors: list[BaseException] = []

    def register(i: int) -> None:
        try:
            start.wait()
            dbs[i].register_dataset(tmp_path / "data.jsonl", "data.jsonl", "jsonl", 50 + i, 0, f"hash{i}",
                                    [(f"r{k}", "harmful", bool(k % 2), f"writer{i}") for k in range(50 + i)])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (ds,) = dbs[0].list_datasets()
    from sqlalchemy import select

    from redline.store.db import labels

    with dbs[0].engine.connect() as conn:
        got = conn.execute(select(labels.c.annotator, labels.c.record_id)).all()
    winner = ds["rows"] - 50
    assert sorted(got) == sorted((f"writer{winner}", f"r{k}") for k in range(ds["rows"]))
    for db in dbs:
        db.engine.dispose()


def test_two_annotation_servers_label_one_project(pg_server: str):
    """Two `redline serve` instances (each its own engine and connection pool) with two annotators
    each, all labelling at once: agreement and consensus see every label exactly once."""
    from redline.annotate.agreement import agreement_report
    from redline.annotate.project_quality import project_consensus, project_ratings
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy import load_policy
    from redline.store.db import WorkspaceDB

    url = new_database(pg_server, "ann")
    setup = Annotations(WorkspaceDB(url))
    items = 12
    setup.create_project("team", policy=load_policy("default"), policy_ref="default", task="response-label",
                         records=[Record(id=f"r{i}", prompt=f"a test prompt {i}", response="a test response",
                                         category="hate") for i in range(items)], overlap=2, gold_rate=0)
    users = ["u1", "u2", "u3", "u4"]
    for u in users:
        setup.add_user(u, PASSWORD, "annotator")
    servers = [Annotations(WorkspaceDB(url)), Annotations(WorkspaceDB(url))]
    done: dict[str, list[str]] = {u: [] for u in users}
    errors: list[BaseException] = []
    start = threading.Barrier(len(users))

    def label(i: int, user: str) -> None:
        svc = servers[i % 2]
        try:
            start.wait()
            while (a := svc.next_item("team", user)) is not None:
                svc.submit("team", user, a.item_id, {"harmful": "false", "refusal": "full_refusal",
                                                     "completion_quality": "good"}, duration_s=1.0)
                done[user].append(a.item_id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=label, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ratings = project_ratings(setup, "team", "harmful")
    pairs = [(item, user) for item, user, _ in ratings]
    assert len(pairs) == len(set(pairs)) == items * 2  # each item by two annotators, each label once
    assert sorted(pairs) == sorted((item, u) for u, got in done.items() for item in got)
    assert len(project_consensus(setup, "team", method="majority").labels()) == items
    rep = agreement_report(ratings, n_boot=0)
    assert (rep["n_items"], rep["n_ratings"], rep["n_single"]) == (items, items * 2, 0)


def test_a_run_end_copies_its_records_last_line_wins(pg_server: str, tmp_path: Path):
    """The copy made when a run ends: a repeated sample keeps its last line (as `redline sql`
    documents), a torn last line of a killed run is left out, and ending again replaces the copy."""
    from redline.learn.runs import load_run
    from redline.store.db import WorkspaceDB
    from redline.workspace import Workspace

    url = new_database(pg_server, "copy")
    db = WorkspaceDB(url)
    out = tmp_path / "runs" / "r1"
    out.mkdir(parents=True)

    def line(sid: str, outcome: str) -> str:
        return json.dumps({"sample": {"id": sid, "messages": [{"role": "user", "content": f"prompt {sid}\x00"}],
                                      "category": "hate", "expected": "refuse"},
                           "outcome": outcome, "response": "I can't help with that.\x00"}) + "\n"

    (out / "results.jsonl").write_text(line("a", "harmful") + line("b", "safe") + line("a", "safe") + '{"sample": {"id"')
    summary = {"manifest": {"redline_version": "t", "status": "interrupted"},
               "metrics": {"overall": {"samples": 2, **{k: {"rate": 0.0} for k in (
                   "harmful_rate", "over_refusal_rate", "unassessable_rate")}}}}
    db.record_start(out, {"suite": "s", "target": "t", "policy": "p", "policy_hash": "h", "judges": {}},
                    datetime.now(UTC))
    db.record_end(out, "interrupted", summary)
    recs = list(db.iter_records(str(out)))
    assert [(r["sample"]["id"], r["outcome"]) for r in recs] == [("b", "safe"), ("a", "safe")]
    (out / "results.jsonl").write_text(line("a", "safe") + line("b", "safe") + line("c", "harmful"))
    db.record_end(out, "completed", summary)
    assert [r["sample"]["id"] for r in db.iter_records(str(out))] == ["a", "b", "c"]
    shutil.rmtree(out)  # elsewhere now: read from the database
    run = load_run(str(out), Workspace(home=tmp_path / "home", runs_dir=tmp_path / "runs", db_url=url))
    assert [r["outcome"] for r in run.iter_results()] == ["safe", "safe", "harmful"]
    assert run.summary["manifest"]["redline_version"] == "t"
    db.engine.dispose()
