"""SQLite helpers shared by the response and verdict caches and the workspace database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any


def enable_wal(db: sqlite3.Connection) -> None:
    """Switch a database to write-ahead logging (WAL), once.

    Switching needs an exclusive lock that SQLite does not wait for, so this retries briefly
    when another process has the file open at that moment.

    Args:
        db: An open connection.

    Raises:
        sqlite3.OperationalError: The file stayed locked for about 25 seconds.
    """
    for attempt in range(50):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            time.sleep(0.02 * (attempt + 1))
    db.execute("PRAGMA journal_mode=WAL")


class BatchedStore:
    """A one-table SQLite cache (WAL) whose writes are grouped into short transactions,
    committed every ``commit_every`` seconds (on a timer when an event loop runs, and on the
    next write otherwise) and on close, so the write lock is never held long by one process.
    A failed read or write counts in ``errors`` and never raises: a cache only costs speed."""

    def __init__(self, path: Path, schema: str, commit_every: float = 0.25):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # timeout= is SQLite's busy timeout: set before anything that may need a lock
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=10.0)
        enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(schema)
        self._commit_every = commit_every
        self.errors = 0
        self._in_tx = False
        self._last_commit = time.monotonic()

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        try:
            return self._db.execute(sql, params).fetchone()
        except sqlite3.Error:
            self.errors += 1  # a failure is a miss
            return None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            if not self._in_tx:
                self._db.execute("BEGIN IMMEDIATE")
                self._in_tx = True
                self._schedule_commit()
            self._db.execute(sql, params)
        except sqlite3.Error:
            self.errors += 1  # e.g. another process holds the lock past busy_timeout
            self._rollback()
            return
        if time.monotonic() - self._last_commit >= self._commit_every:
            self.commit()

    def _schedule_commit(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(self._commit_every, self.commit)

    def _rollback(self) -> None:
        if self._in_tx:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._in_tx = False

    def commit(self) -> None:
        """Commit the open transaction, if any (a failure is counted in ``errors``)."""
        if self._in_tx:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self.errors += 1
                self._rollback()
            self._in_tx = False
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit pending writes and close the database."""
        self.commit()
        self._db.close()
