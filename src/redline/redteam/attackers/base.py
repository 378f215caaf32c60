"""What every attacker strategy uses: the attack context, the attempt record and the errors.

A strategy is an ``attacker`` plug-in (:mod:`redline.plugins`): a factory registered with
``@plugin("attacker", NAME)`` that returns an :class:`Attacker`. Its keyword parameters are the
strategy's own options; the run's :class:`~redline.redteam.options.AttackOptions` (budgets,
success score, seed) reach it as the context parameter ``attack``.

A strategy talks to the models only through its :class:`AttackContext`, which the attack runner
(:mod:`redline.redteam.attack_runner`) provides: every query is numbered, journalled, cached,
retried, converted (the item's converter chain is applied to every prompt before the target sees
it) and counted against the budget there, so a strategy is plain, deterministic search code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from redline.data.schema import Message, Sample
from redline.redteam.options import AttackOptions


class AttackFailed(Exception):
    """The attacker or the attack judge gave nothing usable: the goal is unassessable."""


class BudgetExhausted(Exception):
    """The goal's target-query budget is spent: the strategy stops."""


def msg(role: str, text: str) -> Message:
    """A chat message holding one text part.

    Args:
        role: ``system``, ``user`` or ``assistant``.
        text: The text.

    Returns:
        The message.
    """
    return Message.model_validate({"role": role, "content": text})


@dataclass
class Attempt:
    """One scored attempt: the conversation the target saw, ending with its response.

    Attributes:
        messages: The conversation, ending with the target's response (an assistant turn).
        score: The attack judge's score (1-10).
        query: The target query (1-based) that produced the response.
    """

    messages: list[Message]
    score: int
    query: int


class AttackContext(Protocol):
    """The attack runner's services to a strategy (one context per goal)."""

    #: the goal sample (its category, expected behaviour and ``meta["redteam"]``)
    sample: Sample
    #: the behaviour the attack tries to elicit
    goal: str
    #: the goal's category id
    category: str | None
    #: the run's loaded policy (the prompts are compiled from its node)
    policy: Any
    #: budgets, success score and seed
    options: AttackOptions
    #: target queries spent so far
    queries: int

    async def attacker(self, messages: list[Message]) -> str:
        """Ask the attacker model; its answer (raises :class:`AttackFailed` when it fails)."""
        ...

    async def target(self, history: list[Message], prompt: str) -> tuple[str, str]:
        """Send ``prompt`` (converted by the item's chain) after ``history`` to the target.

        Returns ``(the prompt as the target saw it, the response)``; raises
        :class:`BudgetExhausted` when the budget is spent.
        """
        ...

    async def score(self, prompt: str, response: str, history: list[Message] | None = None) -> int:
        """The attack judge's 1-10 score of ``response`` to ``prompt`` after ``history``
        (raises :class:`AttackFailed` when it gives none)."""
        ...

    async def on_topic(self, prompt: str) -> bool:
        """TAP's phase-1 check: whether ``prompt`` still asks for the goal."""
        ...

    async def refused(self, prompt: str, response: str) -> bool:
        """Whether the run's refusal judge reads ``response`` as a refusal (no model query)."""
        ...

    def attempt(self, messages: list[Message], score: int) -> bool:
        """Record a scored attempt; True when it reaches the success score (stop)."""
        ...


@dataclass
class Attacker:
    """An attacker strategy: :meth:`run` searches until success, budget or its own limits.

    Attributes:
        name: The strategy's name (``pair``, ``tap``, ``crescendo``).
        attack: The run's attack options.
        strict_json: Whether the attacker's answer must hold the JSON object; when False a
            small model's bare text is used as the prompt (recorded in the journal as it is).
        history_turns: Attacker-side exchanges kept in its context (older ones are dropped, so
            small local models stay within their context window).
        feedback_chars: Characters of a target response quoted back to the attacker, at most.
        attacker_retries: Further attacker queries (each sampled with its own seed) when an
            answer holds no prompt, as PAIR's reference code re-asks; then the goal fails.
    """

    name: str
    attack: AttackOptions
    strict_json: bool = False
    history_turns: int = 3
    feedback_chars: int = 600
    attacker_retries: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(self, ctx: AttackContext) -> None:
        """Search for a jailbreak of ``ctx.goal``; record attempts with ``ctx.attempt``.

        Args:
            ctx: The goal's attack context.
        """
        raise NotImplementedError

    async def propose(self, ctx: AttackContext, messages: list[Message], key: str) -> tuple[str, str]:
        """Ask the attacker for a prompt, re-asking up to ``attacker_retries`` times when its
        answer holds none.

        Args:
            ctx: The goal's attack context.
            messages: The attacker's conversation (already trimmed).
            key: The JSON field holding the prompt.

        Returns:
            ``(the attacker's answer, the prompt in it)``.

        Raises:
            AttackFailed: No usable answer after the retries.
        """
        for attempt in range(self.attacker_retries + 1):
            try:
                text = await ctx.attacker(messages)  # an empty answer fails here
                return text, self.prompt_of(text, key)
            except AttackFailed:
                if attempt == self.attacker_retries:
                    raise
        raise AssertionError("unreachable")

    def prompt_of(self, text: str, key: str) -> str:
        """The prompt in the attacker's answer (see :func:`redline.redteam.prompts.parse_field`).

        Args:
            text: The attacker's answer.
            key: The JSON field holding the prompt.

        Returns:
            The prompt.

        Raises:
            AttackFailed: No prompt in the answer (and ``strict_json``, or the answer is empty).
        """
        from redline.redteam.prompts import parse_field

        found = parse_field(text, key)
        if found is None and not self.strict_json and text.strip() and "{" not in text:
            found = text.strip()[:4000]
        if found is None:
            raise AttackFailed(f"the attacker's answer holds no {key!r}: {text[:200]!r}")
        return found

    def trim(self, messages: list[Message]) -> list[Message]:
        """The attacker's context: the system prompt, the first turn and the last exchanges.

        Args:
            messages: The attacker's whole conversation.

        Returns:
            The messages sent.
        """
        keep = 2 * self.history_turns
        if len(messages) <= 2 + keep:
            return messages
        return messages[:2] + messages[-keep:] if keep else messages[:2]

    def quote(self, response: str) -> str:
        """A target response cut to ``feedback_chars`` for the attacker's feedback.

        Args:
            response: The response.

        Returns:
            The quoted text.
        """
        r = response.strip()
        return r if len(r) <= self.feedback_chars else r[:self.feedback_chars] + " […]"
