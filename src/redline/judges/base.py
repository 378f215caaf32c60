"""The judge protocol and registry.

A judge grades one response to one sample and returns a :class:`Judgment`.
Judges are registered with :func:`register_judge` (one new file adds a judge)
and built by name with :func:`create_judge`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from redline.data.schema import Judgment, Sample
from redline.errors import InputError, Problem


@runtime_checkable
class Judge(Protocol):
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


JudgeFactory = Callable[..., Judge]
_REGISTRY: dict[str, JudgeFactory] = {}


def register_judge(name: str) -> Callable[[JudgeFactory], JudgeFactory]:
    def deco(factory: JudgeFactory) -> JudgeFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def _load_builtin() -> None:
    from redline.judges import refusal  # noqa: F401


def judge_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def create_judge(name: str, **options: Any) -> Judge:
    _load_builtin()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise InputError(f"unknown judge {name!r}", [Problem(
            "--judge", f"no judge named {name!r}", f"use one of: {', '.join(sorted(_REGISTRY))}")])
    return factory(**options)


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
