"""The target protocol, how a target is built from its spec, and the errors targets raise.

Targets are ``target`` plug-ins (:mod:`redline.plugins`): ``@plugin("target", "NAME", arg=...)``
on a factory; the built-ins live in ``local``, ``openai`` and ``replay``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from redline.data.schema import Message
from redline.errors import TargetError


@dataclass(frozen=True)
class GenParams:
    """Generation parameters; part of the response cache key."""

    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (for the response cache key and the run manifest)."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}


@dataclass
class Generation:
    """A target's answer to one request.

    Attributes:
        text: The response text (empty when the model gave none).
        usage: Token counts as the target reports them (e.g. ``prompt_tokens``,
            ``completion_tokens``, ``total_tokens``); a count it did not give is None or absent.
        finish_reason: Why generation stopped (e.g. ``stop``, ``length``), when known.
    """

    text: str
    usage: dict[str, int | None] = field(default_factory=dict)
    finish_reason: str | None = None


class TransientError(Exception):
    """A failure worth retrying (429, 5xx, timeout, dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable


class SampleError(Exception):
    """A failure of this one request that retrying will not fix (e.g. HTTP 400)."""


class FatalTargetError(TargetError):
    """The target cannot serve any request (401, unknown model, unreachable): stop the run."""


@runtime_checkable
class Target(Protocol):
    """A model under test. ``generate`` is called concurrently by the runner."""

    name: str
    #: identity used in the response cache key (must change when responses would change)
    cache_identity: str
    #: whether responses may be cached on disk (a replay target is not)
    cacheable: bool
    #: how many requests the target can usefully serve at once (None = no limit)
    max_concurrency: int | None

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation:
        """Answer one conversation.

        Args:
            messages: The conversation to answer.
            params: The generation parameters.
            sample_id: The sample's id (a replay target looks the answer up by it).

        Returns:
            The response.

        Raises:
            TransientError: A failure worth retrying (429, 5xx, timeout, dropped connection).
            SampleError: This request failed and retrying will not help.
            FatalTargetError: The target cannot serve any request: the run stops.
        """
        ...

    def manifest(self) -> dict[str, Any]:
        """Facts for the run manifest (never secrets)."""
        ...

    async def aclose(self) -> None:
        """Release the target's resources (sessions, files, the model)."""
        ...


def backoff_delay(attempt: int, retry_after: float | None, *, base: float = 0.5, cap: float = 20.0,
                  max_retry_after: float = 60.0) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) after a :class:`TransientError`:
    exponential from ``base``, capped at ``cap``, with jitter (half to all of it); at least the
    server's ``Retry-After`` (itself capped at ``max_retry_after``)."""
    d: float = min(cap, base * (2 ** attempt)) * (0.5 + random.random() / 2)
    if retry_after is not None:
        d = max(d, min(retry_after, max_retry_after))
    return d


#: run-wide settings the runner gives every target that takes them (``--timeout``,
#: ``--concurrency``); the other keys are the target's own options, checked against its signature
RUN_SETTINGS = ("timeout", "concurrency")


def create_target(spec: str, **options: Any) -> Target:
    """Build a target from a spec such as ``openai:gpt-4o``, ``local``, ``local:/m.gguf``,
    ``replay:f.jsonl`` (any ``target`` plug-in, see :mod:`redline.plugins`).

    ``options`` are the target's own options (``base_url``, ``api_key``, …; ``None`` means not
    given; an option the target does not take is an :class:`InputError` naming the valid ones)
    plus the run-wide :data:`RUN_SETTINGS`, passed only to targets that take them.
    """
    from redline.plugins import create

    settings = {k: options.pop(k) for k in RUN_SETTINGS if k in options}
    target: Target = create("target", spec, options, where="{flag}", **settings)
    return target
