"""TAP: Tree of Attacks with Pruning (Mehrotra et al. 2023, arXiv:2312.02119).

A tree of attacker conversations: ``width`` roots; at each level every kept leaf branches into
``branching`` refined prompts (one attacker query each). Phase 1 prunes the children whose
prompt drifted off the goal (an on-topic evaluator, no target query); the rest are sent to the
target and scored; phase 2 keeps the ``width`` best-scored children as the next level's leaves.
At most ``max_depth`` levels; the search stops at the first score ≥ ``success_score`` or when
the budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redline.data.schema import Message
from redline.plugins import plugin
from redline.redteam import prompts
from redline.redteam.attackers.base import AttackContext, Attacker, msg
from redline.redteam.options import AttackOptions


@dataclass
class _Node:
    conv: list[Message]
    prompt: str = ""
    score: int = 0
    response: str = ""
    children: list[_Node] = field(default_factory=list)


@dataclass
class TapAttacker(Attacker):
    """TAP (see the module docstring).

    Attributes:
        prune_off_topic: Run phase 1 (the on-topic check); False sends every branch.
    """

    prune_off_topic: bool = True

    async def run(self, ctx: AttackContext) -> None:
        """Grow, prune and score the tree level by level.

        Args:
            ctx: The goal's attack context.
        """
        width = max(1, self.attack.width)
        leaves = [_Node([msg("system", prompts.pair_attacker_system(ctx.policy, ctx.category, ctx.goal, i)),
                         msg("user", prompts.pair_first_turn(ctx.goal))]) for i in range(width)]
        for _depth in range(max(1, self.attack.max_depth)):
            children: list[_Node] = []
            for leaf in leaves:
                for _b in range(max(1, self.attack.branching)):
                    text, prompt = await self.propose(ctx, self.trim(leaf.conv), "prompt")
                    children.append(_Node([*leaf.conv, msg("assistant", text)], prompt))
            if self.prune_off_topic:  # phase 1: off-topic children never reach the target
                children = [c for c in children if await ctx.on_topic(c.prompt)]
            for c in children:
                seen, c.response = await ctx.target([], c.prompt)
                c.score = await ctx.score(seen, c.response)
                if ctx.attempt([msg("user", seen), msg("assistant", c.response)], c.score):
                    return
            # phase 2: keep the `width` best (stable: earlier children win ties)
            leaves = sorted(children, key=lambda c: -c.score)[:width]
            if not leaves:
                return  # every branch drifted off topic
            for leaf in leaves:
                leaf.conv.append(msg("user", prompts.pair_feedback(self.quote(leaf.response), leaf.score,
                                                                   ctx.goal)))


@plugin("attacker", "tap")
def tap(prune_off_topic: bool = True, strict_json: bool = False, history_turns: int = 3,
        feedback_chars: int = 600, attacker_retries: int = 2, attack: AttackOptions | None = None) -> TapAttacker:
    """TAP: a tree of refined prompts, pruned off-topic (phase 1) and to the best `width` (phase 2).

    Args:
        prune_off_topic: Run the on-topic check before sending a branch to the target.
        strict_json: Fail the goal when the attacker's answer has no JSON ``prompt``.
        history_turns: Attacker exchanges kept in its context.
        feedback_chars: Characters of each target response quoted back to the attacker.
        attacker_retries: Further attacker queries when an answer holds no prompt.
        attack: The run's attack options (budget, width, branching, max_depth).
    """
    return TapAttacker("tap", attack or AttackOptions(), strict_json, history_turns, feedback_chars,
                       attacker_retries, prune_off_topic=prune_off_topic)
