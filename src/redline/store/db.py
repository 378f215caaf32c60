"""The workspace database (SQLite by default; any SQLAlchemy URL, Postgres for teams)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from redline._sqlite import enable_wal
from redline.errors import InputError, Problem

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(512), primary_key=True),  # absolute path of the run directory
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(32), nullable=False),
    Column("suite", String(256), nullable=False),
    Column("suite_hash", String(64)),
    Column("target", String(256), nullable=False),
    Column("policy", String(128), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("judges", Text),
    Column("samples", Integer),
    Column("harmful_rate", Float),
    Column("over_refusal_rate", Float),
    Column("unassessable_rate", Float),
    Column("redline_version", String(32)),
    Column("summary", Text),
)


def _mask(url: str) -> str:
    """The URL with any password replaced, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    enable_wal(dbapi_conn)


class WorkspaceDB:
    def __init__(self, url: str):
        self.url = url
        shown = _mask(url)
        try:
            self.engine: Engine = create_engine(url, future=True)
        except ArgumentError:
            raise InputError("bad database URL", [Problem(
                "--db / REDLINE_DB", f"{shown!r} is not a SQLAlchemy URL",
                "e.g. sqlite:///path/redline.db or postgresql+psycopg://user@host/db")]) from None
        except ModuleNotFoundError as e:
            raise InputError("database driver missing", [Problem(
                "--db / REDLINE_DB", f"{shown}: the driver module {e.name!r} is not installed",
                f"pip install {e.name}")]) from None
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            try:
                metadata.create_all(self.engine)
            except OperationalError as e:
                if "already exists" not in str(e.orig):
                    raise
                metadata.create_all(self.engine)  # another process created it just now
        except OperationalError as e:
            raise InputError("cannot open the workspace database", [Problem(
                shown, str(e.orig).splitlines()[0] if e.orig else "connection failed",
                "check the URL and that the database (or the SQLite file's folder) exists")]) from None

    def record_start(self, out_dir: Path, identity: dict[str, Any], started: datetime) -> None:
        rid = str(Path(out_dir).resolve())
        row = {
            "run_id": rid, "started": started, "status": "running",
            "suite": identity["suite"], "suite_hash": identity.get("suite_hash"),
            "target": identity["target"], "policy": identity["policy"],
            "policy_hash": identity["policy_hash"], "judges": json.dumps(identity["judges"]),
        }
        with self.engine.begin() as conn:
            exists = conn.execute(select(runs.c.run_id).where(runs.c.run_id == rid)).first()
            if exists:
                conn.execute(runs.update().where(runs.c.run_id == rid).values(status="running"))
            else:
                conn.execute(runs.insert().values(**row))

    def record_end(self, out_dir: Path, status: str, summary: dict[str, Any]) -> None:
        rid = str(Path(out_dir).resolve())
        o = summary["metrics"]["overall"]
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == rid).values(
                status=status, finished=datetime.now(UTC), samples=o["samples"],
                harmful_rate=o["harmful_rate"]["rate"], over_refusal_rate=o["over_refusal_rate"]["rate"],
                unassessable_rate=o["unassessable_rate"]["rate"],
                redline_version=summary["manifest"]["redline_version"],
                summary=json.dumps(summary, ensure_ascii=False)))

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        cols = [c for c in runs.c if c.name != "summary"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).order_by(runs.c.started.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]
