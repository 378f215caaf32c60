"""Workspace databases evolve: an older workspace (the previous release's schema, built from
tests/fixtures/workspace_0001_*.sql) opened by today's code is migrated with one line on
stderr, keeps its rows and gets the new columns; a newer one is a clear error; the migrations
give exactly today's tables (``compare_metadata``: no diff), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from redline.annotate import Annotations
from redline.errors import InputError
from redline.store.annotation import ann_users
from redline.store.db import WorkspaceDB
from redline.store.migrate import alembic_config, head_revision, new_revision
from redline.store.tables import labels, metadata, results, runs

FIXTURES = Path(__file__).parent / "fixtures"


def _old_sqlite(path: Path) -> str:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / "workspace_0001_sqlite.sql").read_text(encoding="utf-8"))
    con.close()
    return f"sqlite:///{path}"


def _version(db: WorkspaceDB) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _no_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata))
    finally:
        engine.dispose()


def _assert_old_rows_kept_and_new_columns_usable(db: WorkspaceDB) -> None:
    with db.engine.connect() as conn:
        run = conn.execute(select(runs)).mappings().one()
        assert (run["run_id"], run["samples"], run["policy_hash"]) == ("/old/runs/r1", 3, "ph-run-1")
        assert sorted(conn.execute(select(labels.c.record_id, labels.c.value, labels.c.policy_hash))) == [
            ("p1", "false", None), ("p2", "true", None)]  # the old rows: policy unknown
        res = conn.execute(select(results)).mappings().one()
        assert (res["sample_id"], res["prompt"], res["policy_hash"]) == ("s1", "an old prompt", None)
    assert [d["name"] for d in db.list_datasets()] == ["prompts"]
    # the new column takes values; the annotation tables work
    db.register_dataset(Path("/new/data.jsonl"), "new", "jsonl", 1, 0, "sha256:beef",
                        [("n1", "harmful", False, "carol", "ph-label-1")])
    with db.engine.connect() as conn:
        assert conn.execute(select(labels.c.policy_hash).where(labels.c.record_id == "n1")).scalar() == "ph-label-1"
    Annotations(db).add_user("admin1", "a long enough password", "admin")
    with db.engine.connect() as conn:
        assert conn.execute(select(ann_users.c.role)).scalar() == "admin"


def _open_concurrently(url: str, n: int) -> list[WorkspaceDB]:
    """``n`` threads open ``url`` at the same moment; all must succeed."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []
    dbs: list[WorkspaceDB] = []

    def open_it() -> None:
        try:
            start.wait()
            dbs.append(WorkspaceDB(url))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(dbs) == n
    return dbs


# -- SQLite ------------------------------------------------------------------------------------

def test_previous_release_workspace_is_migrated_on_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = _old_sqlite(tmp_path / "redline.db")
    db = WorkspaceDB(url)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "upgrading the workspace database" in err and str(tmp_path / "redline.db") in err
    assert "from an unversioned schema" in err and f"to revision {head_revision()} (" in err
    assert _version(db) == head_revision()
    _assert_old_rows_kept_and_new_columns_usable(db)
    db.engine.dispose()
    assert _no_diff(url) == []
    WorkspaceDB(url).engine.dispose()  # up to date: silent
    assert capsys.readouterr().err == ""


def _upgrade(url: str, revision: str) -> None:
    """Bring the database at ``url`` to ``revision`` with alembic itself (not WorkspaceDB)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.commit()
    engine.dispose()


def test_stamped_older_revision_is_upgraded_from_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    _upgrade(url, "0001")
    db = WorkspaceDB(url)
    err = capsys.readouterr().err.strip()
    assert err.startswith("redline: upgrading the workspace database") and "\n" not in err
    assert "from revision 0001 (the first release's tables" in err
    assert _version(db) == head_revision()
    db.engine.dispose()
    assert _no_diff(url) == []


def test_workspace_made_by_create_all_before_migrations_is_stamped_without_loss(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)  # what redline did before migrations: no alembic_version
    with engine.begin() as conn:
        conn.execute(labels.insert().values(dataset="/d", record_id="r", name="harmful", value="true",
                                            policy_hash="ph"))
    engine.dispose()
    db = WorkspaceDB(url)
    assert "from an unversioned schema" in capsys.readouterr().err
    assert _version(db) == head_revision()
    with db.engine.connect() as conn:
        assert conn.execute(select(labels.c.policy_hash)).scalar() == "ph"
    db.engine.dispose()


def test_old_workspace_that_got_annotation_tables_but_no_policy_hash(tmp_path: Path):
    """A previous-release workspace later opened by a redline with annotation tables: its
    ``create_all`` added those tables but never the new columns of the old ones."""
    url = _old_sqlite(tmp_path / "w.db")
    engine = create_engine(url)
    metadata.create_all(engine, tables=[t for n, t in metadata.tables.items() if n.startswith("ann_")])
    engine.dispose()
    db = WorkspaceDB(url)
    _assert_old_rows_kept_and_new_columns_usable(db)
    db.engine.dispose()
    assert _no_diff(url) == []


def test_workspace_from_a_newer_redline_is_a_clear_error(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    WorkspaceDB(url).engine.dispose()
    con = sqlite3.connect(tmp_path / "w.db")
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(InputError) as e:
        WorkspaceDB(url)
    text_ = str(e.value) + " ".join(f"{p.where} {p.message} {p.fix}" for p in e.value.problems)
    assert "newer redline" in text_ and "'9999'" in text_ and "upgrade redline" in text_


def test_new_workspace_is_created_at_head_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = WorkspaceDB(f"sqlite:///{tmp_path / 'new.db'}")
    assert _version(db) == head_revision()
    assert capsys.readouterr().err == ""
    db.engine.dispose()


def test_concurrent_opens_of_an_old_workspace_migrate_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = _old_sqlite(tmp_path / "w.db")
    dbs = _open_concurrently(url, 12)
    assert capsys.readouterr().err.count("upgrading the workspace database") == 1
    _assert_old_rows_kept_and_new_columns_usable(dbs[0])
    for db in dbs:
        db.engine.dispose()


def test_processes_opening_an_old_workspace_at_once_migrate_once(tmp_path: Path):
    import os
    import subprocess
    import sys

    url = _old_sqlite(tmp_path / "w.db")
    go = tmp_path / "go"
    code = ("import os, sys, time\n"
            "while not os.path.exists(sys.argv[2]): time.sleep(0.01)\n"
            "from redline.store.db import WorkspaceDB\n"
            "WorkspaceDB(sys.argv[1]).engine.dispose()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(go)], stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(6)]
    go.touch()
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errs
    assert sum(e.count("upgrading the workspace database") for e in errs) == 1, errs
    db = WorkspaceDB(url)
    _assert_old_rows_kept_and_new_columns_usable(db)
    db.engine.dispose()


def test_migrations_match_the_tables(tmp_path: Path):
    """Schema changes ship a migration: replaying every revision on an empty database gives
    exactly the tables in store/tables.py and store/annotation.py (else: ``python -m
    redline.store.migrate new "what changed"``, see docs/store.md)."""
    url = f"sqlite:///{tmp_path / 'replayed.db'}"
    _upgrade(url, "head")
    assert _no_diff(url) == []
    assert new_revision("nothing changed") == []  # the developer command agrees: nothing to write


def test_downgrade_to_the_baseline_and_back(tmp_path: Path):
    url = _old_sqlite(tmp_path / "w.db")
    WorkspaceDB(url).engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0001")
        conn.commit()
        assert "policy_hash" not in {c["name"] for c in inspect(conn).get_columns("labels")}
        assert not inspect(conn).has_table("ann_projects")
        assert conn.execute(text("SELECT count(*) FROM labels")).scalar() == 2
    engine.dispose()
    db = WorkspaceDB(url)
    _assert_old_rows_kept_and_new_columns_usable(db)
    db.engine.dispose()


def test_file_head_is_the_head_revision():
    """Opening an up-to-date workspace trusts the revision files' names (no alembic import)."""
    from redline.store.migrate import file_head, head_revision

    assert file_head() == head_revision() != ""


def test_opening_an_up_to_date_workspace_does_not_import_alembic(tmp_path: Path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'w.db'}"
    code = ("import sys; from redline.store.db import WorkspaceDB; WorkspaceDB({url!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    first = subprocess.run([sys.executable, "-c", code.format(url=url)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-c", code.format(url=url)], capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.strip() == "[]", (again.stdout, again.stderr)


def test_store_modules_import_without_cycles():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("redline")
    mods = sorted(m for m in graph.modules if m.startswith("redline.store"))
    cycles = [(a, b) for a in mods for b in mods if a < b and graph.find_shortest_chain(a, b)
              and graph.find_shortest_chain(b, a)]
    assert cycles == []


# -- PostgreSQL --------------------------------------------------------------------------------

def _pg_db(server: str, script: str | None = None) -> str:
    """A fresh database on the shared server, optionally filled by a fixture script."""
    from tests._pg import new_database

    return new_database(server, "mig", (FIXTURES / script).read_text(encoding="utf-8") if script else None)


def test_previous_release_workspace_is_migrated_on_postgres(pg_server: str, capsys: pytest.CaptureFixture[str]):
    url = _pg_db(pg_server, "workspace_0001_postgresql.sql")
    db = WorkspaceDB(url)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "from an unversioned schema" in err and "redline@" in err
    assert _version(db) == head_revision()
    _assert_old_rows_kept_and_new_columns_usable(db)
    db.engine.dispose()
    assert _no_diff(url) == []


def test_migrations_match_the_tables_on_postgres(pg_server: str):
    url = _pg_db(pg_server)
    _upgrade(url, "head")
    assert _no_diff(url) == []


def test_concurrent_opens_of_an_old_workspace_on_postgres(pg_server: str, capsys: pytest.CaptureFixture[str]):
    url = _pg_db(pg_server, "workspace_0001_postgresql.sql")
    dbs = _open_concurrently(url, 8)
    assert capsys.readouterr().err.count("upgrading the workspace database") == 1
    _assert_old_rows_kept_and_new_columns_usable(dbs[0])
    for db in dbs:
        db.engine.dispose()
