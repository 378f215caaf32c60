"""The target protocol, its registry, and the errors targets raise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from redline.data.schema import Message
from redline.errors import InputError, Problem, TargetError


@dataclass(frozen=True)
class GenParams:
    """Generation parameters; part of the response cache key."""

    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0

    def as_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}


@dataclass
class Generation:
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

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation: ...

    def manifest(self) -> dict[str, Any]:
        """Facts for the run manifest (never secrets)."""
        ...

    async def aclose(self) -> None: ...


TargetFactory = Callable[..., Target]
_REGISTRY: dict[str, TargetFactory] = {}


def register_target(prefix: str) -> Callable[[TargetFactory], TargetFactory]:
    """Register a target factory for specs ``PREFIX`` or ``PREFIX:ARG``.

    The factory is called as ``factory(arg, **options)`` where ``arg`` is the
    text after the colon (or ``None``) and options come from CLI flags.
    """

    def deco(factory: TargetFactory) -> TargetFactory:
        _REGISTRY[prefix] = factory
        return factory

    return deco


def target_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Importing the modules registers them.
    from redline.targets import local, openai, replay  # noqa: F401


def create_target(spec: str, **options: Any) -> Target:
    """Build a target from a spec such as ``openai:gpt-4o``, ``local``, ``local:/m.gguf``, ``replay:f.jsonl``."""
    _load_builtin()
    prefix, _, arg = spec.partition(":")
    factory = _REGISTRY.get(prefix)
    if factory is None:
        raise InputError(f"unknown target {spec!r}", [Problem(
            "--target", f"no target type {prefix!r}",
            f"use one of: {', '.join(f'{p}:…' for p in sorted(_REGISTRY))}")])
    return factory(arg or None, **options)
