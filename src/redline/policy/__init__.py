"""Guideline packs: hierarchical harm taxonomies (policies) or rubrics (criteria with scoring levels)."""

from redline.policy.compile import JUDGE_OUTPUT_KEYS, annotation_schema, judge_prompt
from redline.policy.loader import builtin_packs, builtin_policies, load_pack, load_policy
from redline.policy.model import (
    Case,
    Category,
    ChangelogEntry,
    ExpectedBehaviour,
    Mappings,
    Policy,
    SeverityLevel,
)
from redline.policy.rubric import Criterion, Rubric, RubricCase, ScoreLevel

__all__ = [
    "JUDGE_OUTPUT_KEYS", "Case", "Category", "ChangelogEntry", "Criterion", "ExpectedBehaviour", "Mappings",
    "Policy", "Rubric", "RubricCase", "ScoreLevel", "SeverityLevel", "annotation_schema", "builtin_packs",
    "builtin_policies", "judge_prompt", "load_pack", "load_policy",
]
