"""The judge protocol and registry.

A judge grades one response to one sample and returns a :class:`Judgment`.
Judges are ``judge`` plug-ins (:mod:`redline.plugins`: ``@plugin("judge", "NAME")`` on a
factory, one new file adds a judge) and are built by name with :func:`create_judge`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from redline.data.schema import Judgment, Sample
from redline.errors import InputError, Problem


@runtime_checkable
class Judge(Protocol):
    """What every judge provides: an id, a version and a sync ``judge`` method.

    Optional members (``ajudge``, ``kind``, ``cache_verdicts``, ``manifest``, ``aclose``,
    ``close``) are listed in the comment below the class.

    Attributes:
        id: The registry name, e.g. ``refusal``.
        version: Changes whenever verdicts could change (model artefact, prompt, policy hash).
    """

    #: registry name, e.g. "refusal"
    id: str
    #: changes whenever verdicts could change (model artefact, prompt, policy hash)
    version: str

    def judge(self, sample: Sample | None, prompt: str | None, response: str) -> Judgment:
        """Grade ``response``. Must not raise for bad content: return a Judgment with ``error``."""
        ...

    def output_fields(self, j: Judgment) -> dict[str, Any]:
        """The flat fields ``redline judge`` adds to a record for this judgment."""
        ...


# Optional members a judge may have (checked with getattr, so offline judges need none):
#
# - ``async ajudge(sample, prompt, response) -> Judgment``: the async path. Network-bound
#   judges (``policy-llm``, ``guard:*``, ensembles with such members) implement it; the runner,
#   ``redline judge`` and ``redline rejudge`` then grade many responses concurrently. Offline
#   judges stay sync and are called inline, with no per-sample overhead.
# - ``kind``: ``"harm"`` for judges in the harm convention (see :data:`HARM_FIELDS`),
#   ``"refusal"`` for the refusal judge; :func:`judge_kind` infers it when absent.
# - ``cache_verdicts``: True when verdicts are worth caching on disk (slow, network-bound
#   judges); offline judges recompute faster than a cache lookup.
# - ``manifest() -> dict``: facts for the run manifest (model, endpoint; never secrets).
# - ``async aclose()`` / ``close()``: release sessions.


def judge_names() -> list[str]:
    """Every judge's name, ``NAME:`` for those that take an argument (``guard:``, ``ensemble:``)."""
    from redline.plugins import all_plugins

    return sorted(p.name + (":" if p.arg == "required" else "") for p in all_plugins("judge"))


def scoped_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options meant for judge ``name``: unscoped keys plus ``NAME.key`` ones (which win).

    Keys never contain dots, so ``guard:llama-guard-3.base_url`` scopes ``base_url`` to
    ``guard:llama-guard-3``; keys scoped to other judges are left out.
    """
    out: dict[str, Any] = {}
    scoped: dict[str, Any] = {}
    for k, v in options.items():
        scope, dot, key = k.rpartition(".")
        if not dot:
            out[k] = v
        elif scope == name:
            scoped[key] = v
    out.update(scoped)
    return out


#: keys every caller may pass that are not user options (the judge kind's context)
_INTERNAL_OPTIONS = frozenset({"policy", "all_options"})


def create_judge(name: str, **options: Any) -> Judge:
    """Build judge ``name`` (``refusal``, ``policy-llm``, ``guard:MODEL``, ``ensemble:majority``…).

    ``options`` are the run's judge options (``--option key=value`` on the CLI, values as
    strings) plus the ``policy`` object where the caller has one. One set of options serves
    every selected judge: keys may be scoped to one judge as ``NAME.key``, and each judge gets
    the keys it takes (typed and checked by :mod:`redline.plugins`: a bad value is an
    :class:`InputError`). A judge whose factory takes ``all_options`` (an ensemble) also gets the
    full mapping, to pass scoped keys on to its members. :func:`check_options` rejects keys that
    no selected judge takes.
    """
    from redline.plugins import create, lookup

    p, _ = lookup("judge", name)
    mine = {k: v for k, v in scoped_options(name, options).items() if k not in _INTERNAL_OPTIONS}
    if not p.takes_any_option:
        mine = {k: v for k, v in mine.items() if k in p.option_fields}
    judge: Judge = create("judge", name, mine, policy=options.get("policy"), all_options=options)
    return judge


def judge_option_names(name: str) -> set[str]:
    """The option keys judge ``name`` understands; a judge that takes ``all_options`` (an
    ensemble) passes options on to other judges, so it understands theirs as well."""
    from redline.plugins import all_plugins, lookup

    p, _ = lookup("judge", name)
    keys = p.option_names()
    if "all_options" in {q.name for q in p._params}:
        for other in all_plugins("judge"):
            if other is not p:
                keys |= other.option_names()
    return keys


def check_options(names: list[str], options: dict[str, Any]) -> None:
    """Reject ``--option`` keys that no selected judge understands (a typo is never ignored)."""
    known: dict[str, set[str]] = {n: judge_option_names(n) for n in names}
    problems = []
    for k in options:
        if k in _INTERNAL_OPTIONS:
            continue
        scope, dot, key = k.rpartition(".")
        if dot:
            ok = key in known.get(scope, set()) or any(
                n.startswith("ensemble:") and key in judge_option_names(scope) for n in names)
        else:
            ok = any(key in ks for ks in known.values())
        if not ok:
            valid = sorted(set().union(*known.values())) if known else []
            problems.append(Problem(f"--option {k}", "no selected judge takes this option",
                                    f"use one of: {', '.join(valid) or '(none)'}; scope a key to one "
                                    "judge as NAME.key"))
    if problems:
        raise InputError("unknown judge option", problems)


def parse_options(items: list[str] | None) -> dict[str, str]:
    """``["key=value", …]`` (``--option``, repeatable) → a dict; a bad item is an InputError.

    Secrets never travel as options: give the name of an environment variable instead
    (``api_key_env=MY_KEY_VAR``).
    """
    out: dict[str, str] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise InputError("bad --option", [Problem(f"--option {item}", "expected KEY=VALUE",
                                                      "e.g. --option model=openai:gpt-4o-mini")])
        if key.rpartition(".")[2] in ("api_key", "key", "token", "password"):
            raise InputError("secrets are not options", [Problem(
                f"--option {key}", "an API key on the command line ends up in shell history and logs",
                "export it in an environment variable and pass its name: --option api_key_env=VAR")])
        out[key] = value
    return out


def judge_kind(judge: Judge) -> str:
    """``"harm"`` for judges in the harm convention, ``"refusal"``, or ``"other"``."""
    kind = getattr(judge, "kind", None)
    if isinstance(kind, str):
        return kind
    if judge.id == "refusal":
        return "refusal"
    try:
        probe = judge.output_fields(harm_judgment(judge.id, judge.version, harmful=True, score=1.0))
    except Exception:
        return "other"
    return "harm" if isinstance(probe, dict) and "harmful" in probe else "other"


def is_async(judge: Judge) -> bool:
    """Whether ``judge`` has an async ``ajudge`` method (network-bound judges do)."""
    return callable(getattr(judge, "ajudge", None))


async def ajudge_any(judge: Judge, sample: Sample | None, prompt: str | None,
                     response: str) -> Judgment:
    """Grade with ``ajudge`` when the judge has one, else inline; a crash becomes an error
    Judgment (unassessable), never "safe". A judge that can give no verdict at all (its model
    answers 401/403/404 or is unreachable: a ``FatalTargetError``) raises, to stop the run."""
    from redline.targets.base import FatalTargetError

    try:
        if is_async(judge):
            return await judge.ajudge(sample, prompt, response)  # type: ignore[attr-defined]
        return judge.judge(sample, prompt, response)
    except FatalTargetError:
        raise
    except Exception as e:
        return Judgment(judge=judge.id, version=judge.version, label=None,
                        error=f"judge raised {type(e).__name__}: {e}")


async def aclose_judge(judge: Judge) -> None:
    """Await the judge's ``aclose`` when it has one; judges without one are left as they are."""
    closer = getattr(judge, "aclose", None)
    if callable(closer):
        await closer()


#: The fields every harm judge (``harm``, ``policy-llm``, ``guard:*``, harm ensembles) adds
#: to a judged record; ``harmful`` is None when the judge could not assess the response.
HARM_FIELDS = ("harmful", "harm_score", "harm_category")


def harm_judgment(judge: str, version: str, *, harmful: bool | None, score: float | None = None,
                  category: str | None = None, severity: int | None = None,
                  rationale: str | None = None, error: str | None = None,
                  **extra: Any) -> Judgment:
    """Build the Judgment of a harm judge in the shared convention.

    ``label`` is ``"harmful"`` / ``"safe"``, or None with ``error`` set when unassessable
    (an unparseable or failed verdict is never "safe").
    """
    if harmful is None and error is None:
        error = "no verdict"
    label = None if harmful is None else ("harmful" if harmful else "safe")
    return Judgment(judge=judge, version=version, label=label, score=score, rationale=rationale,
                    error=error, fields={"harmful": harmful, "harm_score": score,
                                         "harm_category": category, "severity": severity, **extra})


def harm_output_fields(j: Judgment) -> dict[str, Any]:
    """``output_fields`` for harm judges: ``harmful`` (bool | None), ``harm_score``, ``harm_category``."""
    if not j.ok:
        return {"harmful": None, "harm_score": None, "harm_category": None,
                "harm_error": j.error or "no verdict"}
    return {"harmful": j.fields.get("harmful"), "harm_score": j.score,
            "harm_category": j.fields.get("harm_category")}
