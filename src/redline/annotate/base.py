"""The annotation service's plumbing: the engine, the clock and write transactions.

Every part of :class:`redline.annotate.service.Annotations` (users, sessions, projects, items,
assignment, labels, progress, adjudication, casebook) derives from :class:`ServiceBase` and
writes through :meth:`ServiceBase._write`: a short transaction that takes the write lock up front
(SQLite ``BEGIN IMMEDIATE``; PostgreSQL row locks ``FOR UPDATE`` via :meth:`ServiceBase._lock`)
and runs again when the database is busy or a race was lost (:class:`Retry`).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from redline.errors import Problem
from redline.store.db import WorkspaceDB

T = TypeVar("T")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
_RETRIES = 60


class Retry(Exception):
    """Raised inside a write transaction that lost a race: :meth:`ServiceBase._write` runs it again."""


@overload
def utc(dt: datetime) -> datetime: ...
@overload
def utc(dt: None) -> None: ...
def utc(dt: datetime | None) -> datetime | None:
    """``dt`` as an aware UTC datetime (naive values, as SQLite returns them, are taken as UTC).

    Args:
        dt: A datetime or None.

    Returns:
        The UTC datetime, or None for None.
    """
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def dumps(v: Any) -> str:
    """Canonical JSON for a stored column (sorted keys, non-ASCII kept).

    Args:
        v: A JSON-serialisable value.

    Returns:
        The JSON text.
    """
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _retryable(e: BaseException) -> bool:
    if isinstance(e, Retry):
        return True
    if isinstance(e, OperationalError | DBAPIError):
        msg = str(getattr(e, "orig", e)).lower()
        return any(w in msg for w in ("database is locked", "database is busy", "deadlock",
                                      "could not serialize", "serialization failure"))
    return False


def name_problem(where: str, name: str) -> Problem | None:
    """The problem with a user, vendor or project name, if any.

    Args:
        where: The field named in the problem.
        name: The name to check against :data:`NAME_PATTERN` (at most 128 characters).

    Returns:
        A :class:`Problem`, or None when the name is valid.
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > 128:
        return Problem(where, f"{name!r} is not a valid name",
                       "use letters, digits and _ . @ - (starting with a letter or digit), at most 128")
    return None


class ServiceBase:
    """The engine, the clock and the transaction helpers every part of the service shares.

    Args:
        db: The workspace database.
        clock: Returns the current time (tests pass a fixed clock); default: now, UTC.
    """

    def __init__(self, db: WorkspaceDB, *, clock: Callable[[], datetime] | None = None):
        self.db = db
        self.engine = db.engine
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sqlite = self.engine.dialect.name == "sqlite"

    def now(self) -> datetime:
        """The current time from the service's clock, in UTC."""
        return utc(self._clock())

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction holding the write lock from its start (SQLite ``BEGIN IMMEDIATE``;
        elsewhere an ordinary transaction whose statements lock rows explicitly)."""
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction, again when the database was busy or a race was lost."""
        for attempt in range(_RETRIES):
            try:
                with self._tx() as conn:
                    return fn(conn)
            except (OperationalError, DBAPIError, Retry) as e:
                if isinstance(e, IntegrityError) or not _retryable(e) or attempt == _RETRIES - 1:
                    raise
            time.sleep(min(0.5, 0.005 * (attempt + 1)) * (1 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self) -> Any:
        return self.engine.connect()

    def _lock(self, q: Any) -> Any:
        """``q FOR UPDATE`` where the database has row locks (SQLite's write lock covers it)."""
        return q if self._sqlite else q.with_for_update()
