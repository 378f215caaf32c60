"""Converters: plug-ins (kind ``converter``) that transform a prompt before it is sent.

A converter is built by a registered factory (``@converter(name, family)``, which registers it
with :func:`redline.plugins.plugin` under kind ``converter``); its keyword parameters are its
typed options (``--converter-option caesar.shift=5``). The object it returns has
:meth:`Converter.convert`, which maps the prompt's text to new text with a seeded
:class:`random.Random`, so a run is reproducible.

Chains compose converters left to right: ``base64+roleplay`` first encodes the prompt in
base64, then wraps the result in a role-play persona. ``none`` is the empty chain (the prompt
as written). Every transformed sample records its chain with every parameter
(:meth:`Chain.record`).

Families (modules): :mod:`.encoding` (base64, hex, rot13, ...), :mod:`.noise` (typos, casing,
...), :mod:`.framing` (role-play, hypothetical, payload splitting, many-shot, JailbreakBench
templates, ...), :mod:`.language` (translation through a configured target).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redline.errors import InputError, Problem
from redline.plugins import plugin

F = TypeVar("F", bound=Callable[..., Any])


#: the name of the empty chain
NONE = "none"

#: converter name → (family, attribution or "")
FAMILIES: dict[str, tuple[str, str]] = {}

#: option names whose values are never recorded (masked) in a sample's lineage
_SECRET = ("api_key", "key", "token", "password", "secret")


class Converter:
    """A prompt transformation; subclasses override :meth:`convert`.

    Attributes:
        name: The plug-in name (``base64``).
    """

    name: str = ""

    def convert(self, text: str, rng: random.Random | None = None) -> str:
        """The transformed text.

        Args:
            text: The prompt (the last user message's text).
            rng: The item's seeded random source; the only randomness a converter may use.
                None (a caller without an item, such as an attacker's prompt) seeds one from
                the text itself (:func:`text_rng`), so the result is still reproducible.

        Returns:
            The text to send instead.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release what the converter holds (a target, a cache); most hold nothing."""


class FnConverter(Converter):
    """A converter made of a function ``(text, rng) -> text``."""

    def __init__(self, name: str, fn: Callable[[str, random.Random], str]):
        self.name = name
        self._fn = fn

    def convert(self, text: str, rng: random.Random | None = None) -> str:
        """Apply the function (see :meth:`Converter.convert`)."""
        return self._fn(text, rng or text_rng(text))


def converter(name: str, family: str, *, attribution: str = "") -> Callable[[F], F]:
    """Register a converter factory (kind ``converter``) and note its family for the docs.

    Args:
        name: What users write in ``--converter``.
        family: ``encoding``, ``noise``, ``framing`` or ``language``.
        attribution: Where a template comes from (shown by the docs), else empty.
    """
    FAMILIES[name] = (family, attribution)
    return plugin("converter", name)


@dataclass
class Step:
    """One converter of a chain, with every parameter it runs with (defaults included)."""

    name: str
    params: dict[str, Any]
    converter: Converter


@dataclass
class Chain:
    """Converters applied left to right; the empty chain is ``none`` (the prompt unchanged)."""

    steps: list[Step] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``base64+roleplay``, or ``none`` for the empty chain."""
        return "+".join(s.name for s in self.steps) or NONE

    def record(self) -> list[dict[str, Any]]:
        """The chain as recorded in ``meta["redteam"]["converters"]``: ``[{name, params}]``."""
        return [{"name": s.name, "params": dict(s.params)} for s in self.steps]

    def apply(self, text: str, seed: int, item: str) -> str:
        """Run ``text`` through every converter, each with its own seeded random source.

        Args:
            text: The prompt.
            seed: The run's seed.
            item: What makes this item's randomness its own (the original sample's id).

        Returns:
            The converted text.
        """
        for i, step in enumerate(self.steps):
            text = step.converter.convert(text, item_rng(seed, item, self.label, i))
        return text

    def close(self) -> None:
        """Close every converter."""
        for s in self.steps:
            s.converter.close()


def item_rng(seed: int, item: str, chain: str, step: int) -> random.Random:
    """The seeded random source of one step of one item's chain (stable across processes).

    Args:
        seed: The run's seed.
        item: The original sample's id.
        chain: The chain's label.
        step: The step's position in the chain.
    """
    digest = hashlib.sha256(f"{seed}\x00{item}\x00{chain}\x00{step}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def text_rng(text: str) -> random.Random:
    """A random source seeded by ``text`` (for a conversion without an item's seed).

    Args:
        text: The text to convert.
    """
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def parse_chains(specs: list[str] | None) -> list[list[str]]:
    """``["base64,roleplay", "hex+fiction"]`` → ``[["base64"], ["roleplay"], ["hex", "fiction"]]``.

    Commas separate chains, ``+`` composes converters within one; ``none`` is the empty chain.
    Repeated chains are kept once, in order.

    Args:
        specs: What ``--converter`` gave (repeatable, comma-separated).

    Raises:
        InputError: An empty chain element (``base64++hex``, ``base64,``).
    """
    out: list[list[str]] = []
    for spec in specs or []:
        for raw in spec.split(","):
            chain = raw.strip()
            names = [] if chain == NONE else [n.strip() for n in chain.split("+")]
            if not chain or any(not n for n in names):
                raise InputError("bad --converter chain", [Problem(
                    "--converter", f"{spec!r} has an empty converter name",
                    "write names separated by ',' (one chain each) or '+' (composed), e.g. base64,hex+roleplay")])
            if names not in out:
                out.append(names)
    return out


def parse_converter_options(items: list[str] | None) -> dict[str, dict[str, str]]:
    """``["caesar.shift=5"]`` → ``{"caesar": {"shift": "5"}}``.

    Args:
        items: What ``--converter-option`` gave.

    Raises:
        InputError: An item that is not ``NAME.KEY=VALUE``.
    """
    out: dict[str, dict[str, str]] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        name, dot, opt = key.strip().partition(".")
        if not eq or not dot or not name or not opt:
            raise InputError("bad --converter-option", [Problem(
                f"--converter-option {item}", "not NAME.KEY=VALUE", "e.g. --converter-option caesar.shift=5")])
        out.setdefault(name, {})[opt.strip()] = value
    return out


def build_converter(name: str, options: Mapping[str, Any] | None = None,
                    **context: Any) -> tuple[Converter, dict[str, Any]]:
    """Create converter ``name`` with its ``options``; unknown names or options are errors.

    Args:
        name: The converter's name.
        options: Its options (text values are coerced to the option's type).
        **context: Caller-supplied context (``workspace`` for converters that ask a target).

    Returns:
        The converter and every parameter it runs with (defaults included, secrets masked).
    """
    from redline.plugins import create, lookup

    where = f"--converter-option {name}.{{key}}={{value}}"
    p, _ = lookup("converter", name)
    given = p.validate_options(options or {}, where=where)
    conv = create("converter", name, options, where=where, **context)
    params = {k: d for k, (_, d) in p.option_fields.items() if d is not ...}
    params.update(given)
    params = {k: ("***" if k in _SECRET else v) for k, v in params.items()}
    if not getattr(conv, "name", ""):
        conv.name = name
    return conv, params


def build_chains(specs: list[list[str]], options: Mapping[str, Mapping[str, Any]] | None = None,
                 **context: Any) -> list[Chain]:
    """Build every chain (one converter object per name, shared between chains).

    Args:
        specs: Chains as lists of converter names (:func:`parse_chains`).
        options: Options per converter name (:func:`parse_converter_options`).
        **context: Caller-supplied context passed to every factory that names it.

    Raises:
        InputError: An unknown converter, an unknown or bad option, or options for a converter
            that no chain uses.
    """
    options = options or {}
    used = {n for chain in specs for n in chain}
    stray = sorted(set(options) - used)
    if stray:
        raise InputError("--converter-option for a converter not in any chain", [Problem(
            f"--converter-option {n}.…", f"no chain uses {n!r}", "add it to --converter or drop the option")
            for n in stray])
    built: dict[str, tuple[Converter, dict[str, Any]]] = {}
    chains = []
    for names in specs:
        steps = []
        for n in names:
            if n not in built:
                built[n] = build_converter(n, options.get(n), **context)
            conv, params = built[n]
            steps.append(Step(n, params, conv))
        chains.append(Chain(steps))
    return chains
