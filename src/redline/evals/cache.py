"""A content-keyed response cache on disk (SQLite, WAL).

Key = sha256(target identity + generation params + messages). A response is
committed here before its result line is written, so a run killed at any
point resumes without asking the target again for any completed sample.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from redline.data.schema import Message
from redline.models.base import Generation, GenParams


def cache_key(identity: str, params: GenParams, messages: list[Message]) -> str:
    h = hashlib.sha256()
    h.update(identity.encode())
    h.update(b"\x00")
    h.update(json.dumps(params.as_dict(), sort_keys=True).encode())
    for m in messages:
        h.update(b"\x00")
        h.update(m.model_dump_json().encode())
    return h.hexdigest()


class ResponseCache:
    """Writes are grouped into transactions committed every ``commit_every`` seconds and on
    close. That is safe for resuming: the run's results file, not the cache, says which samples
    are complete, and a result line is written only after its response is in this cache's
    transaction; a kill loses at most the last fraction of a second of cache entries, whose
    samples either have result lines (complete, never asked again) or are asked again."""

    def __init__(self, path: Path, commit_every: float = 0.25):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, identity TEXT NOT NULL, "
            "text TEXT NOT NULL, usage TEXT, finish_reason TEXT, created REAL NOT NULL)")
        self._commit_every = commit_every
        self._in_tx = False
        self._last_commit = time.monotonic()

    def get(self, key: str) -> Generation | None:
        row = self._db.execute("SELECT text, usage, finish_reason FROM responses WHERE key = ?",
                               (key,)).fetchone()
        if row is None:
            return None
        return Generation(text=row[0], usage=json.loads(row[1]) if row[1] else {}, finish_reason=row[2])

    def put(self, key: str, identity: str, gen: Generation) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx = True
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (key, identity, gen.text, json.dumps(gen.usage) if gen.usage else None,
             gen.finish_reason, time.time()))
        now = time.monotonic()
        if now - self._last_commit >= self._commit_every:
            self.commit()

    def commit(self) -> None:
        if self._in_tx:
            self._db.execute("COMMIT")
            self._in_tx = False
        self._last_commit = time.monotonic()

    def stats(self) -> dict[str, Any]:
        (n,) = self._db.execute("SELECT COUNT(*) FROM responses").fetchone()
        return {"path": str(self.path), "entries": n}

    def close(self) -> None:
        self.commit()
        self._db.close()
