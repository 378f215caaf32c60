"""PAIR: Prompt Automatic Iterative Refinement (Chao et al. 2023, arXiv:2310.08419).

``width`` parallel streams, each an attacker conversation: the attacker proposes a prompt
(``{"improvement", "prompt"}``), the target answers, the attack judge scores the answer 1-10 and
the attacker refines from that feedback, for at most ``max_depth`` iterations. Streams take
turns (stream 1 iteration 1, stream 2 iteration 1, …) so that a small budget is spread over all
of them; the search stops at the first score ≥ ``success_score`` or when the budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from redline.data.schema import Message
from redline.plugins import plugin
from redline.redteam import prompts
from redline.redteam.attackers.base import AttackContext, Attacker, msg
from redline.redteam.options import AttackOptions


@dataclass
class PairAttacker(Attacker):
    """PAIR (see the module docstring)."""

    async def run(self, ctx: AttackContext) -> None:
        """Run the streams round by round until success, budget or ``max_depth``.

        Args:
            ctx: The goal's attack context.
        """
        n = max(1, self.attack.width)
        convs: list[list[Message]] = [
            [msg("system", prompts.pair_attacker_system(ctx.policy, ctx.category, ctx.goal, i)),
             msg("user", prompts.pair_first_turn(ctx.goal))] for i in range(n)]
        for _depth in range(max(1, self.attack.max_depth)):
            for conv in convs:
                text, prompt = await self.propose(ctx, self.trim(conv), "prompt")
                conv.append(msg("assistant", text))
                seen, response = await ctx.target([], prompt)
                score = await ctx.score(seen, response)
                if ctx.attempt([msg("user", seen), msg("assistant", response)], score):
                    return
                conv.append(msg("user", prompts.pair_feedback(self.quote(response), score, ctx.goal)))


@plugin("attacker", "pair")
def pair(strict_json: bool = False, history_turns: int = 3, feedback_chars: int = 600,
         attacker_retries: int = 2, attack: AttackOptions | None = None) -> PairAttacker:
    """PAIR: an attacker model refines one prompt per stream from the judge's 1-10 score.

    Args:
        strict_json: Fail the goal when the attacker's answer has no JSON ``prompt``.
        history_turns: Attacker exchanges kept in its context.
        feedback_chars: Characters of each target response quoted back to the attacker.
        attacker_retries: Further attacker queries when an answer holds no prompt.
        attack: The run's attack options (budget, width = streams, max_depth = iterations).
    """
    return PairAttacker("pair", attack or AttackOptions(), strict_json, history_turns, feedback_chars,
                       attacker_retries)
