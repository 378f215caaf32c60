"""Crescendo: multi-turn escalation (Russinovich et al. 2024, arXiv:2404.01833).

The attacker writes one user turn at a time, starting with a benign question related to the
goal and building each next question on the target's last answer. A turn the target refuses
(the run's refusal judge says so) is rolled back — removed from the conversation the target
sees — and the attacker is told to try a gentler step, at most ``max_backtracks`` times; a
refusal past that stays in the conversation. Every kept answer is scored by the attack judge in
its conversation; the attack ends at a score ≥ ``success_score``, after ``max_turns`` kept turns,
or when the budget (target queries, refused ones included) is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from redline.data.schema import Message
from redline.plugins import plugin
from redline.redteam import prompts
from redline.redteam.attackers.base import AttackContext, Attacker, msg
from redline.redteam.options import AttackOptions


@dataclass
class CrescendoAttacker(Attacker):
    """Crescendo (see the module docstring)."""

    async def run(self, ctx: AttackContext) -> None:
        """Escalate turn by turn, backtracking on refusal.

        Args:
            ctx: The goal's attack context.
        """
        max_turns = max(1, self.attack.max_turns)
        att: list[Message] = [msg("system", prompts.crescendo_system(ctx.policy, ctx.category, ctx.goal,
                                                                      max_turns))]
        history: list[Message] = []  # what the target sees (converted turns and its answers)
        backtracks = 0
        last: str | None = None
        score: int | None = None
        refused = False
        turn = 1
        while turn <= max_turns:
            att.append(msg("user", prompts.crescendo_turn(ctx.goal, turn, max_turns,
                                                          None if last is None else self.quote(last),
                                                          score, refused)))
            text, question = await self.propose(ctx, self.trim(att), "question")
            att.append(msg("assistant", text))
            seen, response = await ctx.target(history, question)
            last = response
            if await ctx.refused(seen, response) and backtracks < self.attack.max_backtracks:
                backtracks += 1
                refused = True
                continue  # rolled back: the target never sees this turn again
            refused = False
            score = await ctx.score(seen, response, history)
            history += [msg("user", seen), msg("assistant", response)]
            if ctx.attempt(list(history), score):
                return
            turn += 1

    def trim(self, messages: list[Message]) -> list[Message]:
        """The system prompt and the last exchanges (Crescendo's first turn is not pinned).

        Args:
            messages: The attacker's whole conversation.

        Returns:
            The messages sent.
        """
        keep = 2 * self.history_turns + 1
        return messages if len(messages) <= 1 + keep else messages[:1] + messages[-keep:]


@plugin("attacker", "crescendo")
def crescendo(strict_json: bool = False, history_turns: int = 3, feedback_chars: int = 600,
              attacker_retries: int = 2, attack: AttackOptions | None = None) -> CrescendoAttacker:
    """Crescendo: multi-turn escalation from a benign start, rolling back refused turns.

    Args:
        strict_json: Fail the goal when the attacker's answer has no JSON ``question``.
        history_turns: Attacker exchanges kept in its context.
        feedback_chars: Characters of each target response quoted back to the attacker.
        attacker_retries: Further attacker queries when an answer holds no prompt.
        attack: The run's attack options (budget, max_turns, max_backtracks).
    """
    return CrescendoAttacker("crescendo", attack or AttackOptions(), strict_json, history_turns,
                             feedback_chars, attacker_retries)
