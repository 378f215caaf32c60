"""Policies: hierarchical harm taxonomies with definitions, severity, behaviours and casebooks."""

from redline.policy.compile import JUDGE_OUTPUT_KEYS, annotation_schema, judge_prompt
from redline.policy.loader import builtin_policies, load_policy
from redline.policy.model import (
    Case,
    Category,
    ChangelogEntry,
    ExpectedBehaviour,
    Mappings,
    Policy,
    SeverityLevel,
)

__all__ = [
    "JUDGE_OUTPUT_KEYS", "Case", "Category", "ChangelogEntry", "ExpectedBehaviour", "Mappings",
    "Policy", "SeverityLevel", "annotation_schema", "builtin_policies", "judge_prompt", "load_policy",
]
