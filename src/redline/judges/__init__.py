"""Judges: grade responses (refusal detector; harm, guard and policy LLM judges to come)."""

from redline.judges.base import (
    HARM_FIELDS,
    Judge,
    create_judge,
    harm_judgment,
    harm_output_fields,
    judge_names,
)

__all__ = ["HARM_FIELDS", "Judge", "create_judge", "harm_judgment", "harm_output_fields", "judge_names"]
