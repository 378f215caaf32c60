"""Planning a red-team run: goals × converter chains × strategies → work items (samples).

Every goal of the suite is expanded: a **harmful** goal (``expected`` refuse or safe_complete)
into every chain (``none`` included) × every strategy (``direct`` included); a **benign** one
(``expected`` comply, the suite's benign-contrast prompts) into every chain with strategy
``direct`` only, so that over-refusal under the same transformations is measured.

Each item is a :class:`~redline.data.schema.Sample` with id ``<original>~<chain>~<strategy>``,
the original's category, expected behaviour, language and source, the original's ``meta`` and
``meta["redteam"]`` (see :mod:`redline.redteam.options`); a goal that already had a
``meta["redteam"]`` (an exported success attacked again) keeps it as ``meta["redteam_parent"]``.
Items come out in a stable order, so the same command plans the same suite file (and resumes
the same run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from redline.data.schema import Message, Sample, TextPart
from redline.errors import InputError, Problem
from redline.redteam.converters import Chain
from redline.redteam.options import DIRECT


def item_id(original_id: str, chain: str, strategy: str) -> str:
    """The work item's id: ``<original>~<chain>~<strategy>``.

    Args:
        original_id: The goal sample's id.
        chain: The chain's label (``none``, ``base64+roleplay``).
        strategy: ``direct`` or an attacker strategy.
    """
    return f"{original_id}~{chain}~{strategy}"


def intent(sample: Sample) -> str:
    """``benign`` for a prompt the policy expects answered (``comply``), else ``harmful``."""
    return "harmful" if sample.is_harmful_prompt else "benign"


def convert_sample(sample: Sample, chain: Chain, strategy: str, seed: int) -> Sample:
    """One work item: ``sample`` with its last user message converted by ``chain``.

    Only the text of the last user message changes (its image parts, and the earlier turns of a
    multi-turn sample, are kept as they are).

    Args:
        sample: The goal.
        chain: The converters, applied left to right.
        strategy: ``direct`` or an attacker strategy.
        seed: The run's seed.
    """
    goal = sample.prompt_text
    messages = [m.model_copy(deep=True) for m in sample.messages]
    idx = max((i for i, m in enumerate(messages) if m.role == "user"), default=len(messages) - 1)
    if chain.steps:
        converted = chain.apply(goal, seed, sample.id)
        others = [p for p in messages[idx].content if not isinstance(p, TextPart)]
        messages[idx] = Message(role=messages[idx].role, content=[TextPart(text=converted), *others])
    meta = dict(sample.meta)
    if "redteam" in meta:  # a goal that came from an earlier red-team run (an exported success)
        meta["redteam_parent"] = meta["redteam"]
    meta["redteam"] = {"strategy": strategy, "converters": chain.record(), "original_id": sample.id,
                       "goal": goal, "intent": intent(sample)}
    return Sample(id=item_id(sample.id, chain.label, strategy), messages=messages, category=sample.category,
                  expected=sample.expected, language=sample.language, source=sample.source, meta=meta)


@dataclass
class PlanCounts:
    """How many goals and items a plan holds.

    Attributes:
        goals: Goals read, by intent (``harmful``, ``benign``).
        items: Work items, by strategy.
        chains: The chains' labels, in order.
    """

    goals: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    chains: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every work item."""
        return sum(self.items.values())

    def to_json(self) -> dict[str, Any]:
        """The counts as plain data (for ``redteam.json`` and ``--json``)."""
        return {"goals": dict(self.goals), "items": dict(self.items), "chains": self.chains,
                "total": self.total}


def strategies_with_direct(strategies: Iterable[str]) -> list[str]:
    """``direct`` first, then the others in the order given, each once."""
    out = [DIRECT]
    for s in strategies:
        if s not in out:
            out.append(s)
    return out


def expand(goals: Iterable[Sample], chains: list[Chain], strategies: list[str], *, seed: int = 0,
           counts: PlanCounts | None = None) -> Iterator[Sample]:
    """Every work item of the plan, goal by goal (chains, then strategies, in the order given).

    Args:
        goals: The suite's samples (harmful and benign).
        chains: The converter chains; the empty chain (``none``) is added first when missing.
        strategies: The strategies; ``direct`` is added first when missing.
        seed: The run's seed (every converter's randomness derives from it).
        counts: Filled in while items are produced, when given.

    Raises:
        InputError: Two goals with the same id (their items would collide).
    """
    if not any(not c.steps for c in chains):
        chains = [Chain(), *chains]
    strategies = strategies_with_direct(strategies)
    if counts is not None:
        counts.chains = [c.label for c in chains]
    seen: set[str] = set()
    for goal in goals:
        if goal.id in seen:
            raise InputError("the suite repeats a sample id", [Problem(
                goal.id, "two goals with this id", "give every sample of the suite its own id")])
        seen.add(goal.id)
        kind = intent(goal)
        if counts is not None:
            counts.goals[kind] += 1
        for chain in chains:
            for strategy in strategies if kind == "harmful" else [DIRECT]:
                if counts is not None:
                    counts.items[strategy] += 1
                yield convert_sample(goal, chain, strategy, seed)
