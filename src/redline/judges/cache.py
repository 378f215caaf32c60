"""The judge-verdict cache: SQLite (WAL), separate from the target response cache.

Key = sha256(judge version + the sample's conversation (``messages_key``) + its category +
the response). The judge version already covers the judge's model, prompt template and the
policy's content hash, so swapping a judge (or editing the policy) misses, and grading the same
response with the same judge again — in ``redline eval``, ``judge`` or ``rejudge`` — is a hit.

Only verdicts are stored: a Judgment with an error (timeout, HTTP 500 after retries, an
unparseable answer) is never cached, so it is asked again next time. Ensembles are cached
member by member, never as a whole (a majority formed while a member failed is not final). Only judges that declare
``cache_verdicts = True`` (network-bound ones) go through the cache: an offline judge grades
faster than a lookup. Writes are grouped into transactions committed every 0.25 s and on close,
as in :mod:`redline.evals.cache`.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from redline._sqlite import BatchedStore
from redline.data.schema import Judgment, Sample, messages_key


def verdict_key(version: str, sample: Sample | None, prompt: str | None, response: str) -> str:
    """The cache key of one verdict (see the module docstring).

    Args:
        version: The judge's exact version.
        sample: The sample graded (its conversation and category count), or None.
        prompt: The prompt, when there is no sample (``redline judge`` on plain records).
        response: The response graded.

    Returns:
        A SHA-256 hex digest.
    """
    h = hashlib.sha256()
    h.update(version.encode())
    h.update(b"\x00")
    if sample is not None:
        h.update(messages_key(sample.messages).encode())
        h.update(b"\x00")
        h.update(sample.category.encode())
    else:
        h.update(b"prompt:")
        h.update((prompt or "").encode("utf-8", "replace"))
    h.update(b"\x00")
    h.update(hashlib.sha256(response.encode("utf-8", "replace")).digest())
    return h.hexdigest()


class VerdictCache(BatchedStore):
    """The SQLite store of judge verdicts, keyed by :func:`verdict_key`.

    Only assessable judgments are stored; a read or write failure counts in ``errors`` and
    never raises (a miss costs only time).

    Attributes:
        hits: Lookups that found a stored verdict.
        misses: Lookups that found none.
    """

    def __init__(self, path: Path, commit_every: float = 0.25):
        super().__init__(path, "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, judge TEXT NOT NULL, "
                               "version TEXT NOT NULL, judgment TEXT NOT NULL, created REAL NOT NULL)",
                         commit_every)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Judgment | None:
        """The stored verdict under ``key``, or None (not stored, or not readable).

        Args:
            key: A key from :func:`verdict_key`.

        Returns:
            The judgment, or None; ``hits``, ``misses`` or ``errors`` counts the lookup.
        """
        row = self._fetchone("SELECT judgment FROM verdicts WHERE key = ?", (key,))
        if row is None:
            self.misses += 1
            return None
        try:
            j = Judgment.model_validate_json(row[0])
        except ValueError:
            self.errors += 1
            return None
        self.hits += 1
        return j

    def put(self, key: str, j: Judgment) -> None:
        """Store verdict ``j`` under ``key``; a judgment with an error is not stored.

        A judgment that cannot be serialised (e.g. a lone surrogate in its rationale) is
        counted in ``errors`` and skipped.

        Args:
            key: A key from :func:`verdict_key`.
            j: The judgment.
        """
        if not j.ok:
            return  # failures are never final: asked again next time
        try:
            blob = j.model_dump_json(exclude_none=True)
        except ValueError:  # e.g. a lone surrogate in a rationale: not storable, not fatal
            self.errors += 1
            return
        self._write("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)",
                    (key, j.judge, j.version, blob, time.time()))

    def stats(self) -> dict[str, Any]:
        """The cache's path and its hit, miss and error counts, for the run's summary."""
        return {"path": str(self.path), "hits": self.hits, "misses": self.misses, "errors": self.errors}


class CachedJudge:
    """A judge whose verdicts go through a :class:`VerdictCache` (same id, version and fields)."""

    def __init__(self, inner: Any, cache: VerdictCache):
        self.inner = inner
        self.cache = cache
        self.id = inner.id
        self.version = inner.version
        self.cache_verdicts = True
        kind = getattr(inner, "kind", None)
        if kind is not None:
            self.kind = kind

    def __getattr__(self, name: str) -> Any:  # manifest, members, close, …
        return getattr(self.inner, name)

    async def ajudge(self, sample: Sample | None, prompt: str | None, response: str) -> Judgment:
        """Grade ``response``: the cached verdict when there is one, else the inner judge's.

        A cached verdict comes back with ``fields["cached"] = True``; a new one is stored
        (unless it is an error).

        Args:
            sample: The sample that was asked, or None.
            prompt: The prompt, when there is no sample.
            response: The response to grade.

        Returns:
            The judgment.

        Raises:
            FatalTargetError: The inner judge can give no verdict at all (see :func:`ajudge_any`).
        """
        from redline.judges.base import ajudge_any

        key = verdict_key(self.version, sample, prompt, response or "")
        got = self.cache.get(key)
        if got is not None:
            got.fields["cached"] = True
            return got
        j = await ajudge_any(self.inner, sample, prompt, response)
        self.cache.put(key, j)
        return j

    def judge(self, sample: Sample | None, prompt: str | None, response: str) -> Judgment:
        """Grade ``response`` from sync code: the cached verdict, else the inner judge's ``judge``.

        Args:
            sample: The sample that was asked, or None.
            prompt: The prompt, when there is no sample.
            response: The response to grade.

        Returns:
            The judgment; a cached one has ``fields["cached"] = True``.
        """
        key = verdict_key(self.version, sample, prompt, response or "")
        got = self.cache.get(key)
        if got is not None:
            got.fields["cached"] = True
            return got
        j = self.inner.judge(sample, prompt, response)
        self.cache.put(key, j)
        return j

    def output_fields(self, j: Judgment) -> dict[str, Any]:
        """The inner judge's output fields for ``j``."""
        return self.inner.output_fields(j)

    async def aclose(self) -> None:
        """Close the inner judge (when it has an ``aclose``)."""
        from redline.judges.base import aclose_judge

        await aclose_judge(self.inner)


def with_cache(judge: Any, cache: VerdictCache | None) -> Any:
    """Wrap a judge so that its cacheable verdicts go through a verdict cache.

    An ensemble is not cached as a whole: its members are (combining votes costs nothing), so
    a verdict reached while one member had a transient failure is re-formed with that
    member's answer next time.

    Args:
        judge: Any judge.
        cache: The cache, or None (the judge is returned as it is).

    Returns:
        The judge, wrapped in a :class:`CachedJudge` when it declares ``cache_verdicts``.
    """
    if cache is None:
        return judge
    members = getattr(judge, "members", None)
    if isinstance(members, list):
        judge.members = [with_cache(m, cache) for m in members]
        return judge
    if getattr(judge, "cache_verdicts", False):
        return CachedJudge(judge, cache)
    return judge
