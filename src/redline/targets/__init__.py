"""Targets: the models under test (``target`` plug-ins, see :mod:`redline.plugins`)."""

from redline.targets.base import (
    FatalTargetError,
    Generation,
    GenParams,
    SampleError,
    Target,
    TransientError,
    create_target,
)

__all__ = ["FatalTargetError", "GenParams", "Generation", "SampleError", "Target", "TransientError",
           "create_target"]
