"""The workspace database (SQLite by default; any SQLAlchemy URL, Postgres for teams)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
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

    def record_start(self, out_dir: Path, identity: dict[str, Any], started: datetime) -> None:
        """Record that a run started (or restarted: its row goes back to ``running``).

        Args:
            out_dir: the run directory (its absolute path is the run's id).
            identity: the run's ``suite``, ``suite_hash``, ``target``, ``policy``, ``policy_hash``
                and ``judges``.
            started: when it started (timezone-aware).
        """
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
        """Record how a run ended, with its headline rates and summary.

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
        last load (size or mtime).

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
            state = (st.st_size, str(st.st_mtime_ns))
            if loaded.get(rid) == state:
                continue
            rows = _read_results(f, rid)
            with self.engine.begin() as conn:
                conn.execute(delete(results).where(results.c.run_id == rid))
                for i in range(0, len(rows), 1000):
                    conn.execute(results.insert(), rows[i:i + 1000])
                conn.execute(delete(results_loaded).where(results_loaded.c.run_id == rid))
                conn.execute(results_loaded.insert().values(run_id=rid, size=state[0], mtime_ns=state[1]))
            n += 1
        return n

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


def _read_results(path: Path, run_id: str) -> list[dict[str, Any]]:
    """Rows for ``results`` from a run's results.jsonl (the last line per sample wins)."""
    out: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                r = json.loads(line)
                s = r["sample"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line of an interrupted run
            msgs = s.get("messages") or []
            prompt = None
            for m in reversed(msgs):
                if m.get("role") == "user":
                    c = m.get("content")
                    prompt = c if isinstance(c, str) else "\n".join(
                        p.get("text", "") for p in c or [] if isinstance(p, dict) and p.get("type") == "text")
                    break
            out[str(s.get("id"))] = {
                "run_id": run_id, "sample_id": str(s.get("id")), "category": s.get("category"),
                "expected": s.get("expected"), "language": s.get("language"), "target": r.get("target"),
                "outcome": r.get("outcome"), "over_refusal": r.get("over_refusal"), "error": r.get("error"),
                "latency_s": r.get("latency_s"), "cached": r.get("cached"),
                "judgments": json.dumps([{k: j.get(k) for k in ("judge", "version", "label", "score", "error")}
                                         for j in r.get("judgments") or []], ensure_ascii=False),
                "prompt": prompt, "response": r.get("response"), "policy_hash": r.get("policy_hash"),
            }
    return list(out.values())
