"""Targets: the models under test."""

from redline.targets.base import (
    FatalTargetError,
    Generation,
    GenParams,
    SampleError,
    Target,
    TransientError,
    create_target,
    register_target,
    target_names,
)

__all__ = [
    "FatalTargetError", "GenParams", "Generation", "SampleError", "Target", "TransientError",
    "create_target", "register_target", "target_names",
]
