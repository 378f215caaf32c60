"""Executors: where `redline eval` runs its samples (this process, or a Ray cluster).

The driver (:class:`redline.evals.runner.Runner`) always owns the run directory: it claims it,
reads what is done, writes every result line to ``results.jsonl``, and writes the summary and
the report. An executor only decides where the per-sample work (ask the target, judge the
response, build the result record) happens. See :mod:`redline.executors.base`.
"""

from redline.executors.base import Executor, check_executor, create_executor

__all__ = ["Executor", "check_executor", "create_executor"]
