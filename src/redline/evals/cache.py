"""A content-keyed response cache on disk (SQLite, WAL).

Key = sha256(target identity + generation params + messages). Writes are
grouped into short transactions (committed at least every 0.25 s). The run's
``results.jsonl`` says which samples are complete; the cache lets a new run
directory, or samples in flight at a kill, reuse answers already received.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from pathlib import Path

from redline._sqlite import enable_wal
from redline.data.schema import ImagePart, Message
from redline.models.base import Generation, GenParams


def cache_key(identity: str, params: GenParams, messages: list[Message]) -> str:
    """SHA-256 of target identity + params + messages; an image given by path counts by its
    bytes, so editing the file changes the key."""
    h = hashlib.sha256()
    h.update(identity.encode())
    h.update(b"\x00")
    h.update(json.dumps(params.as_dict(), sort_keys=True).encode())
    for m in messages:
        h.update(b"\x00")
        h.update(m.model_dump_json().encode())
        for part in m.content:
            if isinstance(part, ImagePart) and part.path:
                try:
                    h.update(hashlib.sha256(Path(part.path).read_bytes()).digest())
                except OSError:
                    h.update(b"missing")
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
        # timeout= is SQLite's busy timeout: set before anything that may need a lock
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=10.0)
        enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, identity TEXT NOT NULL, "
            "text TEXT NOT NULL, usage TEXT, finish_reason TEXT, created REAL NOT NULL)")
        self._commit_every = commit_every
        self.errors = 0
        self._in_tx = False
        self._last_commit = time.monotonic()

    def get(self, key: str) -> Generation | None:
        try:
            row = self._db.execute("SELECT text, usage, finish_reason FROM responses WHERE key = ?",
                                   (key,)).fetchone()
        except sqlite3.Error:
            self.errors += 1  # the cache is an optimisation: a failure is a miss
            return None
        if row is None:
            return None
        return Generation(text=row[0], usage=json.loads(row[1]) if row[1] else {}, finish_reason=row[2])

    def put(self, key: str, identity: str, gen: Generation) -> None:
        try:
            if not self._in_tx:
                self._db.execute("BEGIN IMMEDIATE")
                self._in_tx = True
                self._schedule_commit()
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (key, identity, gen.text, json.dumps(gen.usage) if gen.usage else None,
                 gen.finish_reason, time.time()))
        except sqlite3.Error:
            self.errors += 1  # e.g. another process holds the lock past busy_timeout
            self._rollback()
            return
        if time.monotonic() - self._last_commit >= self._commit_every:
            self.commit()

    def _schedule_commit(self) -> None:
        # Commit on a timer too, so the write lock is never held longer than commit_every
        # (other processes share this cache).
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
        if self._in_tx:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self.errors += 1
                self._rollback()
            self._in_tx = False
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self.commit()
        self._db.close()
