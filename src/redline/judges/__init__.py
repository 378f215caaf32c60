"""Judges: grade responses (refusal detector; harm, guard and policy LLM judges to come)."""

from redline.judges.base import Judge, create_judge, judge_names, register_judge

__all__ = ["Judge", "create_judge", "judge_names", "register_judge"]
