"""Targets: the models under test (``target`` plug-ins, see :mod:`redline.plugins`).

What a target plug-in implements (:class:`Target`), what it returns and raises, and the
helpers it may use: :data:`RUN_SETTINGS` (the run-wide settings passed to targets that take
them) and :func:`backoff_delay` (the retry delay the runner uses).
"""

from redline.targets.base import (
    RUN_SETTINGS,
    FatalTargetError,
    Generation,
    GenParams,
    SampleError,
    Target,
    TransientError,
    backoff_delay,
    create_target,
)

__all__ = ["RUN_SETTINGS", "FatalTargetError", "GenParams", "Generation", "SampleError", "Target",
           "TransientError", "backoff_delay", "create_target"]
