"""Policies: harm taxonomies with definitions and expected behaviours."""

from redline.policy.loader import builtin_policies, load_policy
from redline.policy.model import Category, ExpectedBehaviour, Mappings, Policy

__all__ = ["Category", "ExpectedBehaviour", "Mappings", "Policy", "builtin_policies", "load_policy"]
