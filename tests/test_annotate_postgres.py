"""The annotation service on a real PostgreSQL server (Debian's package, started by tests/_pg.py;
skipped with the reason when it cannot start): the same scenarios as on SQLite, and 20
concurrent annotators."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from redline.annotate import Annotations
from redline.store.db import WorkspaceDB
from tests._pg import new_database
from tests.test_annotate_concurrency import run_crowd, run_races
from tests.test_annotate_core import (
    Clock,
    scenario_adjudicate_and_promote,
    scenario_gold_injection,
    scenario_overlap_blind_and_routing,
    scenario_policy_versions,
    scenario_sessions,
)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh database on the shared server for each test."""
    return new_database(pg_server, "t")


def _svc(url: str, clock: Clock) -> Annotations:
    return Annotations(WorkspaceDB(url), clock=clock)


def test_tables_are_created_on_postgres(pg_url: str):
    db = WorkspaceDB(pg_url)
    names = set(inspect(db.engine).get_table_names())
    assert {"ann_users", "ann_sessions", "ann_projects", "ann_policy_versions", "ann_items", "ann_assignments",
            "ann_labels", "ann_adjudications", "ann_casebook", "ann_vendors", "runs"} <= names
    uniques = {tuple(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("ann_assignments")}
    assert ("project", "item_id", "username") in uniques
    db.engine.dispose()


def test_overlap_blind_and_routing_on_postgres(pg_url: str):
    scenario_overlap_blind_and_routing(_svc(pg_url, Clock()))


def test_gold_injection_on_postgres(pg_url: str):
    scenario_gold_injection(_svc(pg_url, Clock()))


def test_sessions_on_postgres(pg_url: str):
    clock = Clock()
    scenario_sessions(_svc(pg_url, clock), clock)


def test_policy_versions_on_postgres(pg_url: str, tmp_path: Path):
    clock = Clock()
    scenario_policy_versions(_svc(pg_url, clock), clock, tmp_path)


def test_adjudicate_and_promote_on_postgres(pg_url: str):
    scenario_adjudicate_and_promote(_svc(pg_url, Clock()))


def test_twenty_annotators_concurrently_on_postgres(pg_url: str):
    run_crowd(pg_url)


def test_races_on_postgres(pg_url: str):
    run_races(pg_url)
