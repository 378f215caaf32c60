"""A content-keyed response cache on disk (SQLite, WAL).

Key = sha256(target identity + generation params + messages). Writes are
grouped into short transactions (committed at least every 0.25 s). The run's
``results.jsonl`` says which samples are complete; the cache lets a new run
directory, or samples in flight at a kill, reuse answers already received.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from redline._sqlite import BatchedStore
from redline.data.images import ImageRejected, read_image
from redline.data.schema import ImagePart, Message
from redline.targets.base import Generation, GenParams


def cache_key(identity: str, params: GenParams, messages: list[Message]) -> str:
    """The response-cache key of one request.

    Args:
        identity: The target's cache identity (model, endpoint, ...).
        params: The generation parameters.
        messages: The conversation; an image given by path counts by its bytes, so editing
            the file changes the key.

    Returns:
        The SHA-256 hex digest of identity + params + messages.
    """
    h = hashlib.sha256()
    h.update(identity.encode())
    h.update(b"\x00")
    h.update(json.dumps(params.as_dict(), sort_keys=True).encode())
    for m in messages:
        h.update(b"\x00")
        h.update(m.model_dump_json().encode())
        for part in m.content:
            if isinstance(part, ImagePart) and part.path:
                try:  # read only when allowed (redline.data.images); else the request fails anyway
                    h.update(hashlib.sha256(read_image(part.path)[0]).digest())
                except ImageRejected:
                    h.update(b"missing")
    return h.hexdigest()


class ResponseCache(BatchedStore):
    """Writes are grouped into transactions committed every ``commit_every`` seconds and on
    close. That is safe for resuming: the run's results file, not the cache, says which samples
    are complete, and a result line is written only after its response is in this cache's
    transaction; a kill loses at most the last fraction of a second of cache entries, whose
    samples either have result lines (complete, never asked again) or are asked again."""

    def __init__(self, path: Path, commit_every: float = 0.25):
        super().__init__(path, "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                               "identity TEXT NOT NULL, text TEXT NOT NULL, usage TEXT, "
                               "finish_reason TEXT, created REAL NOT NULL)", commit_every)

    def get(self, key: str) -> Generation | None:
        """Look up a cached response.

        Args:
            key: The request's :func:`cache_key`.

        Returns:
            The cached generation, or None when there is none (a failed read counts as a miss
            in ``errors``).
        """
        row = self._fetchone("SELECT text, usage, finish_reason FROM responses WHERE key = ?", (key,))
        if row is None:
            return None
        return Generation(text=row[0], usage=json.loads(row[1]) if row[1] else {}, finish_reason=row[2])

    def put(self, key: str, identity: str, gen: Generation) -> None:
        """Store a response, replacing any under the same key (committed with the next batch).

        A failed write is counted in ``errors``, never raised.

        Args:
            key: The request's :func:`cache_key`.
            identity: The target's cache identity, kept beside the response.
            gen: The generation to store (its text, usage and finish reason).
        """
        self._write("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                    (key, identity, gen.text, json.dumps(gen.usage) if gen.usage else None,
                     gen.finish_reason, time.time()))
