"""The workspace database (SQLite by default; any SQLAlchemy URL, Postgres for teams)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from redline._sqlite import enable_wal
from redline.errors import InputError, Problem
from redline.store.tables import (
    SQL_TABLES,
    datasets,
    labels,
    metadata,
    results,
    results_loaded,
    runs,
)

__all__ = ["SQL_TABLES", "WorkspaceDB", "datasets", "labels", "metadata", "results", "results_loaded", "runs"]


#: seconds after which `redline sql` stops a statement (``--timeout``; 0 = no limit)
DEFAULT_SQL_TIMEOUT = 30.0

# never readable through `redline sql` (SQLite): the annotation UI's credentials
_SECRET_COLUMNS = {("ann_users", "password_hash"), ("ann_sessions", "token_hash"),
                   ("ann_sessions", "csrf_token")}


def _mask(url: str) -> str:
    """The URL with any password replaced, for messages (and, through :func:`redline.redact.redact`,
    credentials in its query, e.g. libpq's ``?password=``)."""
    from redline.redact import redact

    try:
        return redact(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    enable_wal(dbapi_conn)


class WorkspaceDB:
    """The workspace database: runs, datasets, labels, results and the annotation tables.

    Opening it brings its schema to this redline's revision (:mod:`redline.store.migrate`).

    Args:
        url: a SQLAlchemy URL (``sqlite:///path/redline.db``, ``postgresql+psycopg://…``).

    Raises:
        InputError: a bad URL, a missing driver, a database that cannot be opened, or one made
            by a newer redline.
    """

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
        from redline.store.migrate import ensure_schema

        try:
            ensure_schema(self.engine, shown)
        except OperationalError as e:
            raise InputError("cannot open the workspace database", [Problem(
                shown, str(e.orig).splitlines()[0] if e.orig else "connection failed",
                "check the URL and that the database (or the SQLite file's folder) exists")]) from None

    @property
    def stores_records(self) -> bool:
        """Whether finished runs' result records are copied into ``results`` (a server database,
        shared by several machines: PostgreSQL). A SQLite workspace is one machine's: its
        records stay in the run directories and are loaded on demand (:meth:`sync_results`)."""
        return self.engine.dialect.name != "sqlite"

    def record_start(self, out_dir: Path, identity: dict[str, Any], started: datetime, *,
                     host: str | None = None) -> None:
        """Record that a run started (or restarted: its row goes back to ``running``).

        The run's id is its directory's absolute path. A row with that id and another start time
        is another directory at this path: made again on this machine (the old one was deleted),
        it is replaced; recorded by another machine (its own disk), this is an error rather than
        one run overwriting the other.

        Args:
            out_dir: the run directory (its absolute path is the run's id).
            identity: the run's ``suite``, ``suite_hash``, ``target``, ``policy``, ``policy_hash``
                and ``judges``.
            started: when it started (timezone-aware; kept in ``run.json`` across resumes).
            host: the machine's name (default :func:`redline.files.this_host`).

        Raises:
            InputError: another machine recorded a different run in a directory at this path.
        """
        from sqlalchemy.exc import IntegrityError

        from redline.files import this_host

        rid = str(Path(out_dir).resolve())
        host = host or this_host()
        row = {
            "run_id": rid, "started": started, "status": "running",
            "suite": identity["suite"], "suite_hash": identity.get("suite_hash"),
            "target": identity["target"], "policy": identity["policy"],
            "policy_hash": identity["policy_hash"], "judges": json.dumps(identity["judges"]),
            "host": host,
        }
        for attempt in range(2):  # two first starts at once: the second sees the first's row
            try:
                with self.engine.begin() as conn:
                    _key_lock(conn, "run", rid)
                    old = conn.execute(select(runs.c.started, runs.c.host).where(runs.c.run_id == rid)).first()
                    if old is None:
                        conn.execute(runs.insert().values(**row))
                    elif _same_instant(old.started, started):
                        conn.execute(runs.update().where(runs.c.run_id == rid).values(status="running", host=host))
                    elif old.host in (None, host):  # the directory was made again here: a new run
                        _forget_results(conn, rid)
                        conn.execute(runs.update().where(runs.c.run_id == rid).values(
                            **row, finished=None, samples=None, harmful_rate=None, over_refusal_rate=None,
                            unassessable_rate=None, redline_version=None, summary=None))
                    else:
                        raise InputError("another machine recorded a run in this directory", [Problem(
                            rid, f"{old.host} recorded a run here that started {old.started}; this machine "
                            f"({host}) has a different run directory at the same path",
                            "give each machine its own runs folder (REDLINE_RUNS=/data/runs/$(hostname), or "
                            "--out), or put REDLINE_RUNS on a file system every machine shares "
                            "(docs/deploy.md)")])
                return
            except IntegrityError:
                if attempt:
                    raise

    def record_end(self, out_dir: Path, status: str, summary: dict[str, Any]) -> None:
        """Record how a run ended, with its headline rates and summary.

        In a database that :attr:`stores_records`, the run's ``results.jsonl`` is copied into
        ``results`` in the same transaction (replacing what an earlier end of the run copied),
        so other machines read the run without its directory.

        Args:
            out_dir: the run directory.
            status: its final status (``complete``, ``failed``, ``interrupted``, …).
            summary: the run's summary (``metrics.overall`` and ``manifest`` are read).
        """
        rid = str(Path(out_dir).resolve())
        o = summary["metrics"]["overall"]
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == rid).values(
                status=status, finished=datetime.now(UTC), samples=o["samples"],
                harmful_rate=o["harmful_rate"]["rate"], over_refusal_rate=o["over_refusal_rate"]["rate"],
                unassessable_rate=o["unassessable_rate"]["rate"],
                redline_version=summary["manifest"]["redline_version"],
                summary=json.dumps(summary, ensure_ascii=False)))
            if self.stores_records:
                _load_results(conn, rid, Path(rid) / "results.jsonl", with_record=True)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent runs first, without their summaries.

        Args:
            limit: how many at the most.

        Returns:
            One dict a run, keyed by the ``runs`` columns.
        """
        cols = [c for c in runs.c if c.name != "summary"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).order_by(runs.c.started.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    def find_runs(self, *, target: str | None = None, suite: str | None = None, policy: str | None = None,
                  since: datetime | None = None, until: datetime | None = None, limit: int = 50,
                  offset: int = 0, with_summary: bool = False,
                  newest_first: bool = True) -> tuple[list[dict[str, Any]], int]:
        """Recorded runs matching the given filters (exact values; None = any), a page of them.

        Args:
            target: Only runs of this target.
            suite: Only runs of this suite.
            policy: Only runs judged against this policy (its name).
            since: Only runs started at or after this time (timezone-aware).
            until: Only runs started before this time (timezone-aware).
            limit: How many at the most.
            offset: How many matching runs to skip (paging).
            with_summary: Include the ``summary`` column (JSON text; can be large).
            newest_first: Order by start time, newest first (else oldest first).

        Returns:
            The page (one dict a run, keyed by the ``runs`` columns) and how many runs match in all.
        """
        from sqlalchemy import func

        conds = [c == v for c, v in ((runs.c.target, target), (runs.c.suite, suite), (runs.c.policy, policy))
                 if v is not None]
        if since is not None:
            conds.append(runs.c.started >= since)
        if until is not None:
            conds.append(runs.c.started < until)
        cols = [c for c in runs.c if with_summary or c.name != "summary"]
        order = runs.c.started.desc() if newest_first else runs.c.started.asc()
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(runs).where(*conds)).scalar_one()
            rows = conn.execute(select(*cols).where(*conds).order_by(order, runs.c.run_id)
                                .limit(limit).offset(offset)).mappings()
            return [dict(r) for r in rows], int(total)

    def run_facets(self) -> dict[str, list[str]]:
        """The distinct targets, suites and policies of the recorded runs (for filter menus).

        Returns:
            ``{"target": [...], "suite": [...], "policy": [...]}``, each sorted.
        """
        with self.engine.connect() as conn:
            return {name: sorted(r[0] for r in conn.execute(select(col).distinct()))
                    for name, col in (("target", runs.c.target), ("suite", runs.c.suite),
                                      ("policy", runs.c.policy))}

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One recorded run with its summary, by its exact ``run_id``.

        Args:
            run_id: The run's id (the absolute path of its directory, as recorded).

        Returns:
            The row (keyed by the ``runs`` columns), or None when no run has this id.
        """
        with self.engine.connect() as conn:
            r = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
            return dict(r) if r else None

    # -- datasets and labels -----------------------------------------------------------------

    def register_dataset(self, path: Path, name: str, fmt: str, rows: int, rejected: int, content_hash: str,
                         record_labels: Iterable[tuple[Any, ...]] = ()) -> None:
        """Record (or update) a data set and replace its labels.

        Args:
            path: the data file or folder (its absolute path is the key).
            name: its name.
            fmt: its format.
            rows: how many records it holds.
            rejected: how many were quarantined.
            content_hash: sha256 of its canonical records.
            record_labels: ``(record_id, name, value, annotator[, policy_hash])`` tuples.
        """
        key = str(Path(path).resolve())
        row = {"path": key, "name": name, "format": fmt, "rows": rows, "rejected": rejected,
               "content_hash": content_hash, "registered": datetime.now(UTC)}
        with self.engine.begin() as conn:
            _key_lock(conn, "dataset", key)  # two registrations at once: one after the other
            conn.execute(delete(datasets).where(datasets.c.path == key))
            conn.execute(datasets.insert().values(**row))
            conn.execute(delete(labels).where(labels.c.dataset == key))
            batch: list[dict[str, Any]] = []
            for rid, lname, value, annotator, *rest in record_labels:
                batch.append({"dataset": key, "record_id": rid, "name": lname,
                              "value": json.dumps(value) if isinstance(value, bool) else str(value),
                              "annotator": annotator, "policy_hash": rest[0] if rest else None})
                if len(batch) >= 1000:
                    conn.execute(labels.insert(), batch)
                    batch = []
            if batch:
                conn.execute(labels.insert(), batch)

    def list_datasets(self) -> list[dict[str, Any]]:
        """The registered data sets, the most recently registered first.

        Returns:
            One dict a data set, keyed by the ``datasets`` columns.
        """
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(datasets).order_by(datasets.c.registered.desc())).mappings()]

    # -- results (loaded from run directories on demand) --------------------------------------

    def sync_results(self) -> int:
        """Load ``results.jsonl`` of every recorded run into ``results`` when it changed since the
        last load (size or mtime). Runs whose directory this machine cannot see keep the rows
        already there (in a database that :attr:`stores_records`, copied when they ended).

        Returns:
            The number of runs (re)loaded.
        """
        with self.engine.connect() as conn:
            run_ids = [r[0] for r in conn.execute(select(runs.c.run_id))]
            loaded = {r.run_id: (r.size, r.mtime_ns) for r in conn.execute(select(results_loaded))}
        n = 0
        for rid in run_ids:
            f = Path(rid) / "results.jsonl"
            try:
                st = f.stat()
            except OSError:
                continue
            if loaded.get(rid) == (st.st_size, str(st.st_mtime_ns)):
                continue
            with self.engine.begin() as conn:
                _load_results(conn, rid, f, with_record=self.stores_records)
            n += 1
        return n

    def has_records(self, run_id: str) -> bool:
        """Whether the database holds a run's result records (``results.record``).

        Args:
            run_id: The run's id.

        Returns:
            True when it does; False when its records are only in its directory (or it has none).
        """
        with self.engine.connect() as conn:
            return conn.execute(select(results.c.sample_id).where(
                results.c.run_id == run_id, results.c.record.is_not(None)).limit(1)).first() is not None

    def iter_records(self, run_id: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Stream a run's result records from the database, in ``results.jsonl`` order.

        Args:
            run_id: The run's id.
            batch: Rows fetched at a time (a server-side cursor: memory stays flat).

        Yields:
            The records, as written to ``results.jsonl``.
        """
        q = (select(results.c.record).where(results.c.run_id == run_id, results.c.record.is_not(None))
             .order_by(results.c.seq, results.c.sample_id))
        with self.engine.connect() as conn:
            for part in conn.execution_options(stream_results=True, yield_per=batch).execute(q).partitions():
                for (text,) in part:
                    yield json.loads(text)

    def get_record(self, run_id: str, sample_id: str) -> dict[str, Any] | None:
        """One result record of a run from the database.

        Args:
            run_id: The run's id.
            sample_id: The sample's id.

        Returns:
            The record, or None when the database holds none.
        """
        with self.engine.connect() as conn:
            text = conn.execute(select(results.c.record).where(
                results.c.run_id == run_id, results.c.sample_id == sample_id)).scalar()
        return json.loads(text) if text else None

    def runs_named(self, name: str) -> list[dict[str, Any]]:
        """The recorded runs whose directory is called ``name`` (on any machine), newest first.

        Args:
            name: A run directory's name (``runs/<name>``).

        Returns:
            Their rows, summaries included.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).where(runs.c.run_id.endswith("/" + name, autoescape=True))
                                .order_by(runs.c.started.desc())).mappings()
            return [dict(r) for r in rows]

    # -- read-only SQL ------------------------------------------------------------------------

    def query_readonly(self, sql: str, max_rows: int | None = None,
                       timeout: float | None = DEFAULT_SQL_TIMEOUT) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one SQL statement read-only (``redline sql``).

        SQLite is opened with ``mode=ro``, ``PRAGMA query_only`` and an authorizer that allows
        only reads (no ATTACH/PRAGMA, never the annotation UI's credentials); other databases
        run it inside a ``READ ONLY`` transaction that is rolled back. The statement (fetching
        its rows included) is stopped after ``timeout`` seconds (SQLite: a progress handler,
        which also makes Ctrl-C stop it at once; PostgreSQL: ``statement_timeout``, at most
        ~24.8 days).

        Args:
            sql: one statement.
            max_rows: at most this many rows (``None``: all).
            timeout: seconds (``None``, 0 or infinity: no limit).

        Returns:
            The column names and the rows.

        Raises:
            InputError: a negative or NaN timeout, an in-memory database, an SQL error, more
                than one statement, or the timeout reached.
        """
        if timeout is not None and not timeout >= 0:  # NaN too
            raise InputError("bad SQL timeout", [Problem(
                "timeout", f"{timeout!r} seconds", "give seconds >= 0 (0: no limit)")])
        if timeout == float("inf"):
            timeout = None
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            import sqlite3

            dbpath = url.database or ""
            if dbpath in ("", ":memory:"):
                raise InputError("cannot query an in-memory database", [Problem(
                    "--db", "the workspace database is in memory", "use a file database")])
            uri = f"file:{Path(dbpath).resolve()}?mode=ro"
            con = sqlite3.connect(uri, uri=True)
            try:
                con.execute("PRAGMA query_only = ON")
                allowed = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
                # only reading statements: no ATTACH, PRAGMA, or anything that writes; and never the
                # credentials of the annotation UI (password hashes, session tokens)
                def authorize(action: int, table: str | None, column: str | None, *_: Any) -> int:
                    if action not in allowed:
                        return sqlite3.SQLITE_DENY
                    if action == sqlite3.SQLITE_READ and (table, column) in _SECRET_COLUMNS:
                        return sqlite3.SQLITE_DENY
                    return sqlite3.SQLITE_OK

                con.set_authorizer(authorize)
                with _SqliteGuard(con, timeout) as guard:
                    try:
                        cur = con.execute(sql)
                        cols = [d[0] for d in cur.description or []]
                        rows = cur.fetchmany(max_rows) if max_rows else cur.fetchall()
                    except sqlite3.Error as e:
                        guard.raise_if_stopped()
                        raise InputError("SQL error", [Problem("query", str(e), _sql_fix(str(e)))]) from None
                return cols, [tuple(r) for r in rows]
            finally:
                con.close()
        # one statement only: a second one could COMMIT the READ ONLY transaction and write in a new one
        if _statements(sql) > 1:
            raise InputError("SQL error", [Problem("query", "more than one statement",
                                                   "`redline sql` runs one statement: remove the ';' between them")])
        # the DB-API cursor directly: no parameter parsing, so '%' in LIKE patterns is literal
        raw = self.engine.raw_connection()
        dbapi_error = getattr(self.engine.dialect.dbapi, "Error", Exception)
        try:
            pg_cur = raw.cursor()
            pg_cur.execute("SET TRANSACTION READ ONLY")  # the driver has begun a transaction
            if timeout:  # for this transaction only; the server cancels the statement
                # milliseconds, an int4 on the server: longer than ~24.8 days is capped there
                pg_cur.execute(f"SET LOCAL statement_timeout = {min(2**31 - 1, max(1, int(timeout * 1000)))}")
            try:
                pg_cur.execute(sql)
            except dbapi_error as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                if timeout and "statement timeout" in msg.lower():
                    raise _timeout_error(timeout) from None
                raise InputError("SQL error", [Problem("query", msg, _sql_fix(msg))]) from None
            cols = [d[0] for d in pg_cur.description or []]
            pg_rows = pg_cur.fetchmany(max_rows) if max_rows else pg_cur.fetchall()
            return cols, [tuple(r) for r in pg_rows]
        finally:
            raw.rollback()
            raw.close()


def _timeout_error(timeout: float) -> InputError:
    return InputError(f"query stopped after {timeout:g} s (the statement timeout)", [Problem(
        "query", f"it ran longer than --timeout {timeout:g}",
        "add a LIMIT or a WHERE (an unbounded WITH RECURSIVE never ends), or raise --timeout "
        "(0 = no limit)")])


class _SqliteGuard:
    """A progress handler that stops a SQLite statement at its deadline or on Ctrl-C (SQLite
    runs in C: without it, Python's SIGINT handler would only run once the query ended)."""

    def __init__(self, con: Any, timeout: float | None):
        self.con, self.timeout = con, timeout or None
        self.stopped: str | None = None
        self._old: Any = None

    def _progress(self) -> int:
        if self.stopped:
            return 1
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.stopped = "timeout"
            return 1
        return 0

    def _on_sigint(self, *_: Any) -> None:
        self.stopped = "interrupted"

    def __enter__(self) -> _SqliteGuard:
        import signal
        import threading

        self._deadline = time.monotonic() + self.timeout if self.timeout else None
        self.con.set_progress_handler(self._progress, 1000)
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        self.con.set_progress_handler(None, 0)
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self.stopped == "interrupted" and exc[0] is None:
            raise KeyboardInterrupt  # a Ctrl-C that came after the last check

    def raise_if_stopped(self) -> None:
        """Turn SQLite's "interrupted" into the reason: the timeout, or Ctrl-C."""
        if self.stopped == "timeout":
            raise _timeout_error(self.timeout or 0)
        if self.stopped == "interrupted":
            raise KeyboardInterrupt


def _statements(sql: str) -> int:
    """How many statements ``sql`` holds: ``;`` outside string literals (``'…'``, ``E'…'`` with
    backslash escapes, ``$tag$…$tag$``), quoted identifiers and comments (``--``, nested ``/* */``)
    separates them. An unterminated literal or comment counts as a second statement (rejected)."""
    import re

    n, i, size, pending = 1, 0, len(sql), False
    while i < size:
        ch = sql[i]
        if ch == ";":
            pending = True
            i += 1
            continue
        if ch.isspace():
            i += 1
            continue
        if ch == "-" and sql.startswith("--", i):  # a comment is not a statement
            j = sql.find("\n", i)
            i = size if j < 0 else j + 1
            continue
        if pending:  # something after a ';'
            n += 1
            pending = False
        if ch == "/" and sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < size and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                return n + 1
            continue
        if ch in "'\"":
            backslash = ch == "'" and i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum()
                                                                                    or sql[i - 2] == "_"))
            j = i + 1
            while True:
                if j >= size:
                    return n + 1
                if backslash and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < size and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                end = sql.find(m.group(), i + len(m.group()))
                if end < 0:
                    return n + 1
                i = end + len(m.group())
                continue
        i += 1
    return n


def _sql_fix(msg: str) -> str:
    low = msg.lower()
    if "prohibited" in low or ("not authorized" in low and "ann_" in low):
        return "password hashes and session tokens of the annotation UI are not readable through `redline sql`"
    if any(w in low for w in ("readonly", "read-only", "read only", "query_only", "not authorized")):
        return "`redline sql` is read-only: use SELECT (or WITH … SELECT)"
    if "no such table" in low or "does not exist" in low:
        return f"tables: {', '.join(SQL_TABLES)} (see docs/data.md)"
    if "no such column" in low:
        return "see the table columns in docs/data.md"
    return "check the SQL"


def _same_instant(a: datetime | None, b: datetime) -> bool:
    """Whether two times are the same instant (SQLite gives them back without a zone: UTC)."""
    if a is None:
        return False
    def utc(t: datetime) -> datetime:
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return utc(a) == utc(b)


def _key_lock(conn: Any, kind: str, key: str) -> None:
    """Serialise writers of one row for the rest of the transaction (PostgreSQL: an advisory
    lock on a hash of ``kind`` and ``key``; SQLite serialises every writer already)."""
    if conn.dialect.name == "postgresql":
        import hashlib

        from sqlalchemy import text

        k = int.from_bytes(hashlib.sha256(f"{kind}\0{key}".encode()).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})


def _forget_results(conn: Any, run_id: str) -> None:
    conn.execute(delete(results).where(results.c.run_id == run_id))
    conn.execute(delete(results_loaded).where(results_loaded.c.run_id == run_id))


def _upsert(conn: Any) -> Any:
    """``INSERT`` into ``results`` that replaces a sample already there (its last record counts);
    None for a database without ``ON CONFLICT`` (only PostgreSQL and SQLite are supported)."""
    name = conn.dialect.name
    stmt: Any
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(results)
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(results)
    else:
        return None
    return stmt.on_conflict_do_update(
        index_elements=[results.c.run_id, results.c.sample_id],
        set_={c.name: stmt.excluded[c.name] for c in results.c if c.name not in ("run_id", "sample_id")})


def _load_results(conn: Any, run_id: str, path: Path, *, with_record: bool, batch: int = 1000) -> int:
    """Replace a run's rows in ``results`` by its ``results.jsonl``, streamed in batches (the
    last line of a sample wins, as docs/data.md says); returns how many lines were skipped (a
    torn last line of a killed run, or a damaged one). No file: the rows are kept."""
    try:
        st = path.stat()
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError:
        return 0
    _forget_results(conn, run_id)
    stmt = _upsert(conn)
    if stmt is None:
        raise NotImplementedError(f"results are loaded into PostgreSQL or SQLite, not {conn.dialect.name}")
    rows: dict[str, dict[str, Any]] = {}  # one row a sample in a statement (ON CONFLICT needs it)
    skipped = 0
    with f:
        for seq, line in enumerate(f):
            row = _result_row(line, run_id, seq, with_record)
            if row is None:
                skipped += 1
                continue
            rows.pop(row["sample_id"], None)
            rows[row["sample_id"]] = row
            if len(rows) >= batch:
                conn.execute(stmt, list(rows.values()))
                rows = {}
    if rows:
        conn.execute(stmt, list(rows.values()))
    conn.execute(results_loaded.insert().values(run_id=run_id, size=st.st_size, mtime_ns=str(st.st_mtime_ns)))
    return skipped


def _text(v: Any) -> Any:
    """A text for a column: PostgreSQL refuses NUL characters in text (they stay in ``record``)."""
    return v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v


def _result_row(line: str, run_id: str, seq: int, with_record: bool) -> dict[str, Any] | None:
    """A ``results`` row from one line of results.jsonl (None: not a whole result record)."""
    if not line.endswith("\n"):
        return None  # a torn last line of an interrupted run
    try:
        r = json.loads(line)
        s = r["sample"]
        msgs = s.get("messages") or []
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    prompt = None
    for m in reversed(msgs):
        if m.get("role") == "user":
            c = m.get("content")
            prompt = c if isinstance(c, str) else "\n".join(
                p.get("text", "") for p in c or [] if isinstance(p, dict) and p.get("type") == "text")
            break
    return {
        "run_id": run_id, "sample_id": str(s.get("id")), "category": s.get("category"),
        "expected": s.get("expected"), "language": s.get("language"), "target": r.get("target"),
        "outcome": r.get("outcome"), "over_refusal": r.get("over_refusal"), "error": _text(r.get("error")),
        "latency_s": r.get("latency_s"), "cached": r.get("cached"),
        "judgments": json.dumps([{k: j.get(k) for k in ("judge", "version", "label", "score", "error")}
                                 for j in r.get("judgments") or []], ensure_ascii=False),
        "prompt": _text(prompt), "response": _text(r.get("response")), "policy_hash": r.get("policy_hash"),
        "seq": seq, "record": line.rstrip("\n") if with_record else None,
    }
