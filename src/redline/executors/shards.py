"""What travels with a shard besides its samples, for every executor command (issue 15).

The driver keeps the response cache and the judge-verdict cache; an actor gets stand-ins
(:class:`ShippedResponses`, :class:`ShippedVerdicts`) holding what the driver shipped with the
shard and collecting what is new, which the driver stores when the shard comes back. Nothing
here imports the runner, so ``redline judge`` (:mod:`redline.judges.batch`) can use it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.data.schema import Judgment, Sample


class ShippedResponses:
    """An actor's response cache: the responses the driver shipped, and the new ones to return.

    It stands in for :class:`~redline.evals.cache.ResponseCache` in the runner's per-sample code.
    """

    def __init__(self) -> None:
        self.shipped: dict[str, Any] = {}
        self.new: list[tuple[str, str, Any]] = []
        self.errors = 0

    def get(self, key: str) -> Any:
        """The shipped response under ``key``, or None.

        Args:
            key: A :func:`~redline.evals.cache.cache_key`.

        Returns:
            The :class:`~redline.targets.base.Generation`, or None.
        """
        return self.shipped.get(key)

    def put(self, key: str, identity: str, gen: Any) -> None:
        """Keep a new response for the driver to store.

        Args:
            key: Its cache key.
            identity: The target's cache identity.
            gen: The generation.
        """
        self.new.append((key, identity, gen))


class ShippedVerdicts:
    """An actor's verdict cache: the verdicts the driver shipped, and the new ones to return.

    It stands in for :class:`~redline.judges.cache.VerdictCache` behind
    :func:`~redline.judges.cache.with_cache`.
    """

    def __init__(self) -> None:
        self.shipped: dict[str, Judgment] = {}
        self.new: list[tuple[str, Judgment]] = []

    def get(self, key: str) -> Judgment | None:
        """The shipped verdict under ``key`` (a copy), or None.

        Args:
            key: A :func:`~redline.judges.cache.verdict_key`.

        Returns:
            The judgment, or None.
        """
        j = self.shipped.get(key)
        return j.model_copy(deep=True) if j is not None else None

    def put(self, key: str, j: Judgment) -> None:
        """Keep a new verdict for the driver to store (errors are never stored).

        Args:
            key: Its key.
            j: The judgment.
        """
        if j.ok:
            self.new.append((key, j))


def drain(store: ShippedResponses | ShippedVerdicts | None) -> list[Any]:
    """The new entries an actor's stand-in cache collected, emptied.

    Args:
        store: The stand-in cache, or None.

    Returns:
        Its new entries (empty without a store).
    """
    if store is None:
        return []
    out = list(store.new)
    store.new.clear()
    return out


def cached_judges(judges: list[Any]) -> Iterator[Any]:
    """The verdict-cached judges among ``judges`` (members of ensembles included).

    Args:
        judges: Judges after :func:`~redline.judges.cache.with_cache`.

    Yields:
        Each :class:`~redline.judges.cache.CachedJudge`.
    """
    from redline.judges.cache import CachedJudge

    for j in judges:
        if isinstance(j, CachedJudge):
            yield j
        elif isinstance(getattr(j, "members", None), list):
            yield from cached_judges(j.members)


def verdicts_for(judges: list[Any], cache: Any, sample: Sample | None, prompt: str | None,
                 response: str | None) -> dict[str, Judgment]:
    """The cached verdicts of one response, by key, for shipping with a shard.

    Args:
        judges: The driver's judges (wrapped by :func:`~redline.judges.cache.with_cache`).
        cache: The driver's :class:`~redline.judges.cache.VerdictCache`, or None.
        sample: The sample graded (None for ``redline judge``'s sync path).
        prompt: The prompt graded.
        response: The response (None: nothing to grade, nothing shipped).

    Returns:
        ``{key: judgment}`` of the verdicts found.
    """
    if cache is None or response is None:
        return {}
    from redline.judges.cache import verdict_key

    out: dict[str, Judgment] = {}
    for j in cached_judges(judges):
        key = verdict_key(j.version, sample, prompt, response or "")
        got = cache.get(key)
        if got is not None:
            out[key] = got
    return out


def shards(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """The items in lists of ``size`` (the last one shorter).

    Args:
        items: The items.
        size: Items per list.

    Yields:
        Each list.
    """
    shard: list[Any] = []
    for s in items:
        shard.append(s)
        if len(shard) >= size:
            yield shard
            shard = []
    if shard:
        yield shard
