"""One registry for every kind of plug-in: targets, judges, formats, converters, attackers, executors.

A plug-in is a factory (a function or a class) registered under a kind and a name::

    from redline.plugins import plugin

    @plugin("judge", "shouty")
    def shouty(threshold: float = 0.5) -> ShoutyJudge:
        \"\"\"Flags responses written in capitals.\"\"\"
        return ShoutyJudge(threshold)

- **Names and arguments.** ``arg="required"`` makes the spec ``NAME:ARG`` (``openai:gpt-4o``,
  ``guard:llama-guard-3``); ``"optional"`` allows both ``NAME`` and ``NAME:ARG`` (``local``);
  the argument reaches the factory as its first positional parameter or ``arg=``.
- **Typed options.** The factory's keyword parameters (with their annotations and defaults) are
  the plug-in's options, or a pydantic model given as ``options=`` (the factory then receives one
  instance of it as ``options=``). Values arrive as text from the command line and are coerced to
  the annotated types; an unknown option or a bad value is an :class:`~redline.errors.InputError`
  naming the plug-in, the option and the valid ones. Parameters listed in the kind's ``context``
  (a judge's ``policy``; a target's run-wide ``timeout`` and ``concurrency``) are supplied by
  the caller, never by the user, and only to factories that name them. See ``docs/plugins.md``.
- **Built-ins** are listed here by module name and imported on first use, so no base module
  imports its own plug-ins (no import cycles) and start-up imports only what a command uses.
- **Other packages** add plug-ins through entry points, one group per kind::

      [project.entry-points."redline.judges"]
      shouty = "redline_shouty:shouty"

  The entry point's object is either a registered factory (its module used ``@plugin``) or any
  callable, which is then registered under the entry point's name. Entry points are read only
  when a name is not built in, or when every plug-in is listed (``redline plugins``).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import Any, Literal, TypeVar

from redline.errors import InputError, Problem

ArgMode = Literal["none", "optional", "required"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Kind:
    """A kind of plug-in: its entry-point group, its built-in modules, how the CLI names it."""

    name: str
    group: str
    builtins: tuple[str, ...]
    #: the command-line flag that selects one, for error messages
    flag: str
    #: factory parameters the caller supplies (never user options)
    context: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    k.name: k for k in (
        Kind("target", "redline.targets",
             ("redline.targets.local", "redline.targets.openai", "redline.targets.replay"),
             "--target", context=("timeout", "concurrency")),
        Kind("judge", "redline.judges",
             ("redline.judges.refusal", "redline.judges.harm", "redline.judges.string_match",
              "redline.judges.policy_llm", "redline.judges.guard", "redline.judges.ensemble"),
             "--judge", context=("policy", "all_options")),
        Kind("format", "redline.formats",
             tuple(f"redline.data.formats.{m}" for m in (
                 "alpaca", "csv", "excel", "hf", "inspect", "json", "jsonl", "label_studio", "openai",
                 "parquet", "sharegpt", "trl_dpo", "trl_kto", "trl_sft")),
             "--from/--to"),
        Kind("converter", "redline.converters",
             tuple(f"redline.redteam.converters.{m}" for m in ("encoding", "noise", "framing", "language")),
             "--converter", context=("workspace",)),
        Kind("attacker", "redline.attackers",
             tuple(f"redline.redteam.attackers.{m}" for m in ("pair", "tap", "crescendo")),
             "--strategy", context=("attack",)),
        Kind("executor", "redline.executors", ("redline.executors.local", "redline.executors.ray"),
             "--executor"),
    )
}

@dataclass(frozen=True)
class Origin:
    """Where a plug-in comes from: its distribution (package) and how it was found."""

    distribution: str = "redline"
    version: str = ""
    #: ``NAME = module:object`` for a plug-in found through an entry point, else None
    entry_point: str | None = None

    @property
    def builtin(self) -> bool:
        """True for Redline's own plug-ins (and ones registered in-process, as tests do)."""
        return self.entry_point is None

    def __str__(self) -> str:
        version = f" {self.version}" if self.version else ""
        how = f"entry point {self.entry_point}" if self.entry_point else "built-in"
        return f"{self.distribution}{version} ({how})"


def _redline_origin() -> Origin:
    from redline import __version__

    return Origin("redline", __version__)


@dataclass
class Plugin:
    """One registered plug-in."""

    kind: str
    name: str
    factory: Callable[..., Any]
    arg: ArgMode = "none"
    arg_help: str = "ARG"
    options_model: type[Any] | None = None
    summary: str = ""
    origin: Origin = field(default_factory=Origin)
    module: str = ""

    @property
    def source(self) -> str:
        """``redline 0.4.0 (built-in)`` or ``redline-shouty 1.0 (entry point shouty = …)``."""
        return str(self.origin)

    @property
    def spec(self) -> str:
        """How a user writes it: ``refusal``, ``guard:MODEL``, ``local[:PATH]``."""
        if self.arg == "required":
            return f"{self.name}:{self.arg_help}"
        if self.arg == "optional":
            return f"{self.name}[:{self.arg_help}]"
        return self.name

    @cached_property
    def _params(self) -> list[inspect.Parameter]:
        return list(inspect.signature(self.factory).parameters.values())

    @cached_property
    def takes_any_option(self) -> bool:
        """True when the factory takes ``**kwargs`` (it then checks its own options)."""
        return self.options_model is None and any(p.kind is p.VAR_KEYWORD for p in self._params)

    @cached_property
    def option_fields(self) -> dict[str, tuple[Any, Any]]:
        """Option name → (type, default); ``...`` as default means required."""
        if self.options_model is not None:
            return {n: (f.annotation, f.default if not f.is_required() else ...)
                    for n, f in self.options_model.model_fields.items()}
        try:
            hints = typing.get_type_hints(self.factory, include_extras=True)
        except Exception:  # an annotation that cannot be resolved: accept the value as given
            hints = {}
        skip = {"arg", *KINDS[self.kind].context}
        out: dict[str, tuple[Any, Any]] = {}
        for i, p in enumerate(self._params):
            if p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) or p.name in skip:
                continue
            if i == 0 and self.arg != "none" and p.kind is p.POSITIONAL_OR_KEYWORD:
                continue  # the NAME:ARG argument
            default = ... if p.default is p.empty else p.default
            out[p.name] = (hints.get(p.name, Any), default)
        return out

    def option_names(self) -> set[str]:
        """The options a user may give this plug-in."""
        return set(self.option_fields)

    @cached_property
    def _validator(self) -> Any:
        from pydantic import ConfigDict, create_model

        if self.options_model is not None:
            return self.options_model
        fields: dict[str, Any] = {n: (t, d) for n, (t, d) in self.option_fields.items()}
        return create_model(f"{self.kind}:{self.name} options",
                            __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                            **fields)

    def validate_options(self, options: Mapping[str, Any], *,
                         where: str = "--option {key}={value}") -> dict[str, Any]:
        """Coerce ``options`` to the plug-in's types; unknown or bad ones raise :class:`InputError`.

        Keys whose value is ``None`` count as not given. ``where`` says how the user wrote an
        option, for the error: a format string with ``{key}``, ``{flag}`` (``--base-url`` for
        ``base_url``) and ``{value}`` (an unknown option is shown without its value).
        """
        given = {k: v for k, v in options.items() if v is not None}
        if self.takes_any_option:
            return given
        valid = sorted(self.option_fields)
        unknown = [k for k in given if k not in self.option_fields]
        if unknown:
            raise InputError(f"{self.kind} {self.name!r} takes no option {', '.join(map(repr, unknown))}", [
                Problem(_where(where, k, None), f"not an option of {self.kind} {self.name!r}",
                        f"use one of: {', '.join(valid)}" if valid else f"{self.name!r} takes no options")
                for k in unknown])
        from pydantic import ValidationError

        try:
            model = self._validator.model_validate(given)
        except ValidationError as e:
            problems = []
            for err in e.errors():
                key = ".".join(str(p) for p in err["loc"]) or "?"
                default = self.option_fields.get(key, (None, ...))[1]
                message, fix = _explain(err, self._bounds(key))
                if fix is None and default is not ... and default is not None:
                    fix = f"e.g. {_where(where, key, default) if '{value}' in where else f'{key}={default}'}"
                problems.append(Problem(_where(where, key, given.get(key)), message,
                                        fix or f"valid options: {', '.join(valid)}"))
            bad = sorted({".".join(str(p) for p in err["loc"]) for err in e.errors()})
            raise InputError(f"bad {self.kind} option {', '.join(bad)}", problems) from None
        if self.options_model is not None:
            return {"options": model}
        return {k: getattr(model, k) for k in given}

    def _bounds(self, key: str) -> tuple[Any, Any]:
        """The ``ge``/``gt`` and ``le``/``lt`` bounds of option ``key`` (None where unbounded)."""
        fields = getattr(self._validator, "model_fields", {})
        lo = hi = None
        for m in getattr(fields.get(key), "metadata", ()):
            lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
            lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
            hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
            hi = getattr(m, "lt", None) if getattr(m, "lt", None) is not None else hi
        return lo, hi


_SECRET_KEYS = ("api_key", "key", "token", "password", "secret")


def _where(fmt: str, key: str, value: Any) -> str:
    """Where an option was written (``--option timeout=soon``, ``--base-url``); secrets masked."""
    if value is None:
        fmt = fmt.replace("={value}", "").replace("{value}", "")
    elif key.rpartition(".")[2] in _SECRET_KEYS:
        value = "***"
    return fmt.format(key=key, flag="--" + key.replace("_", "-"), value=value)


def _explain(err: Any, bounds: tuple[Any, Any]) -> tuple[str, str | None]:
    """A pydantic error in words a command-line user reads: (message, fix or None)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "not an integer", None
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "not a number", None
    if kind in ("bool_parsing", "bool_type"):
        return "not true or false", "write true or false"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        lo, hi = bounds
        if lo is not None and hi is not None:
            return f"must be between {lo} and {hi}", None
        if lo is not None:
            return f"must be at least {lo}", None
        return f"must be at most {hi}", None
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return "not one of the choices", f"use one of: {expected.replace(' or ', ', ')}"
    if kind == "missing":
        return "required", None
    return str(err.get("msg", "invalid")), None


@dataclass
class _Registry:
    plugins: dict[str, dict[str, Plugin]] = field(default_factory=lambda: {k: {} for k in KINDS})
    builtins_loaded: set[str] = field(default_factory=set)
    entry_points_loaded: set[str] = field(default_factory=set)
    #: entry points that failed to load: kind → name → reason
    broken: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    #: while an entry point's module is imported: where its plug-ins come from
    loading: Origin | None = None


_REG = _Registry()


def _kind(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown plug-in kind {kind!r}; kinds: {', '.join(KINDS)}") from None


def plugin(kind: str, name: str, *, arg: ArgMode = "none", arg_help: str = "ARG",
           options: type[Any] | None = None, summary: str | None = None) -> Callable[[F], F]:
    """Register the decorated factory as plug-in ``name`` of ``kind`` (see the module docstring).

    Args:
        kind: one of :data:`KINDS` (``target``, ``judge``, ``format``, ``converter``, …).
        name: what users type (``--judge NAME``); lower case, no colon.
        arg: whether the spec carries an argument after a colon (``NAME:ARG``).
        arg_help: how the argument is shown in help and errors (``MODEL``, ``PATH``).
        options: a pydantic model of the options, instead of the factory's signature.
        summary: one line for ``redline plugins`` (default: the docstring's first line).
    """
    k = _kind(kind)
    if not name or ":" in name:
        raise ValueError(f"bad plug-in name {name!r}: non-empty, without ':'")

    def deco(factory: F) -> F:
        doc = summary or (inspect.getdoc(factory) or "").strip().splitlines()[:1]
        text = doc if isinstance(doc, str) else (doc[0] if doc else "")
        module = getattr(factory, "__module__", "") or ""
        origin = _REG.loading or _redline_origin()
        existing = _REG.plugins[k.name].get(name)
        if existing is not None and existing.module != module and existing.origin.builtin \
                and not origin.builtin:
            _REG.broken[k.name][name] = f"{origin} tried to replace the built-in {kind} {name!r}"
            return factory
        _REG.plugins[k.name][name] = Plugin(kind=k.name, name=name, factory=factory, arg=arg,
                                            arg_help=arg_help, options_model=options, summary=text,
                                            origin=origin, module=module)
        return factory

    return deco


def _load_builtins(kind: str) -> None:
    if kind in _REG.builtins_loaded:
        return
    _REG.builtins_loaded.add(kind)
    for mod in KINDS[kind].builtins:
        import_module(mod)


def _load_entry_points(kind: str) -> None:
    if kind in _REG.entry_points_loaded:
        return
    _REG.entry_points_loaded.add(kind)
    from importlib.metadata import entry_points

    k = KINDS[kind]
    for ep in entry_points(group=k.group):
        dist = getattr(ep, "dist", None)
        origin = Origin(dist.name if dist is not None else "?", dist.version if dist is not None else "",
                        f"{ep.name} = {ep.value}")
        source = str(origin)
        if ep.name in _REG.plugins[kind] and _REG.plugins[kind][ep.name].origin.builtin:
            _REG.broken[kind][ep.name] = f"{source} has the name of a built-in {kind}; not loaded"
            continue
        _REG.loading = origin
        try:
            obj = ep.load()
        except Exception as e:  # a broken plug-in package must not break the others
            _REG.broken[kind][ep.name] = f"{source} failed to load: {type(e).__name__}: {e}"
            continue
        finally:
            _REG.loading = None
        registered = _REG.plugins[kind].get(ep.name)
        if registered is not None and not registered.origin.builtin \
                and registered.origin.distribution == origin.distribution:
            registered.origin = origin  # its module was first imported by another entry point
        if ep.name not in _REG.plugins[kind]:
            if not callable(obj):
                _REG.broken[kind][ep.name] = f"{source} is not callable and registered no {kind} {ep.name!r}"
                continue
            _REG.loading = origin
            try:
                plugin(kind, ep.name)(obj)
            finally:
                _REG.loading = None


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"guard:llama-guard-3"`` → ``("guard", "llama-guard-3")``; ``"refusal"`` → ``("refusal", None)``."""
    name, colon, arg = spec.partition(":")
    return name.strip(), (arg if colon else None)


def lookup(kind: str, spec: str) -> tuple[Plugin, str | None]:
    """The plug-in a spec names and the spec's argument; unknown names raise :class:`InputError`."""
    k = _kind(kind)
    name, arg = split_spec(spec)
    _load_builtins(kind)
    p = _REG.plugins[kind].get(name)
    if p is None:
        _load_entry_points(kind)
        p = _REG.plugins[kind].get(name)
    if p is None:
        why = _REG.broken[kind].get(name)
        raise InputError(f"unknown {kind} {spec!r}", [Problem(
            k.flag, why or f"no {kind} named {name!r}",
            f"use one of: {', '.join(q.spec for q in _sorted(_REG.plugins[kind].values()))} "
            "(`redline plugins` lists them and where they come from)")])
    if p.arg == "required" and not arg:
        raise InputError(f"{kind} {name!r} needs an argument", [Problem(
            k.flag, f"nothing after {name!r}" if arg is not None else f"{spec!r} has no ':{p.arg_help}'",
            f"write {name}:{p.arg_help}")])
    if p.arg == "none" and arg is not None:
        raise InputError(f"{kind} {name!r} takes no argument", [Problem(
            k.flag, f"{spec!r}", f"write just {name!r}")])
    return p, (arg or None)


def create(kind: str, spec: str, options: Mapping[str, Any] | None = None, *,
           where: str = "--option {key}={value}", **context: Any) -> Any:
    """Build plug-in ``spec`` of ``kind`` with user ``options`` (validated) and caller ``context``.

    Context keys the factory does not name are left out, so callers may always pass theirs.
    """
    p, arg = lookup(kind, spec)
    kwargs = p.validate_options(options or {}, where=where)
    params = {q.name for q in p._params}
    var_kw = any(q.kind is q.VAR_KEYWORD for q in p._params)
    for key, value in context.items():
        if key in params or var_kw:
            kwargs[key] = value
    if p.arg == "none":
        return p.factory(**kwargs)
    return p.factory(arg, **kwargs)


def names(kind: str, *, entry_points: bool = True) -> list[str]:
    """The names of every plug-in of ``kind`` (entry points included unless told not to)."""
    _load_builtins(kind)
    if entry_points:
        _load_entry_points(kind)
    return sorted(_REG.plugins[_kind(kind).name])


def _sorted(ps: Iterable[Plugin]) -> list[Plugin]:
    return sorted(ps, key=lambda p: (not p.origin.builtin, p.name))


def all_plugins(kind: str | None = None) -> list[Plugin]:
    """Every plug-in (of ``kind``, or of all kinds), built-ins first, entry points loaded."""
    kinds = [kind] if kind else list(KINDS)
    out: list[Plugin] = []
    for k in kinds:
        _load_builtins(k)
        _load_entry_points(k)
        out += _sorted(_REG.plugins[_kind(k).name].values())
    return out


def problems(kind: str | None = None) -> dict[str, dict[str, str]]:
    """Entry points that could not be used, per kind: name → why."""
    kinds = [kind] if kind else list(KINDS)
    for k in kinds:
        _load_entry_points(k)
    return {k: dict(_REG.broken[k]) for k in kinds if _REG.broken[k]}
