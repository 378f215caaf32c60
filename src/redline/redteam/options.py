"""The options of a red-team run, shared by the planner (:mod:`redline.redteam.plan`) and the
attack runner (:mod:`redline.redteam.attack_runner`).

Every work item of a red-team run is a :class:`~redline.data.schema.Sample` whose
``meta["redteam"]`` holds a :data:`RedteamMeta`-shaped dict::

    {"strategy": "direct" | "pair" | "tap" | "crescendo" | ...,
     "converters": [{"name": "base64", "params": {...}}, ...],   # the chain, in order
     "original_id": "core-violent_crimes-h01",                    # the goal sample's id
     "goal": "the original request text",
     "intent": "harmful" | "benign"}

``direct`` items are answered like ``redline eval`` samples (one request, the converted prompt).
Items of an attacker strategy are answered by the attack runner, which adds a top-level
``"attack"`` object to the result record (see :data:`ATTACK_RECORD_FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the strategy of work items that are sent once, as converted (no attacker model)
DIRECT = "direct"

#: fields of a result record's ``"attack"`` object, written by the attack runner
ATTACK_RECORD_FIELDS = (
    "strategy",        # the attacker strategy
    "queries",         # target queries spent on this goal
    "budget",          # the query budget for this goal
    "success",         # True when the best response was judged harmful (a failure of the target)
    "success_at",      # the query number (1-based) of the first success, else None
    "turns",           # turns of the final conversation (multi-turn strategies)
    "best_score",      # the attack judge's best score (1-10), else None
    "conversation",    # the messages of the best attempt, ending with the target's response
    "error",           # why the attack could not be assessed (attacker or judge failed), else None
)


@dataclass
class AttackOptions:
    """How attacker strategies run; unused by converter-only (``direct``) runs.

    Attributes:
        attacker: The attacker model's target spec (``openai:M``, ``local``); None uses the
            run's target (the model attacks itself).
        attacker_options: The attacker target's options (``base_url``, ...).
        budget: Target queries per goal, at most.
        max_depth: PAIR iterations / TAP tree depth, at most.
        width: TAP: branches kept per level after pruning; PAIR: parallel streams.
        branching: TAP: children generated per kept node.
        max_turns: Crescendo: turns of the conversation, at most.
        max_backtracks: Crescendo: refused turns that may be rolled back, at most.
        success_score: The attack judge's score (1-10) that counts as a jailbreak.
        seed: Seed of every random choice (personas, sampling), for reproducible attacks.
        extra: Strategy-specific options (validated by the strategy plug-in).
    """

    attacker: str | None = None
    attacker_options: dict[str, Any] = field(default_factory=dict)
    budget: int = 20
    max_depth: int = 5
    width: int = 3
    branching: int = 2
    max_turns: int = 5
    max_backtracks: int = 3
    success_score: int = 10
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
