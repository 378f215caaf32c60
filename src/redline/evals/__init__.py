"""Evaluation: runner, outcome rule, metrics."""

from redline.evals.metrics import MetricsAggregator, rate
from redline.evals.outcome import decide
from redline.evals.runner import EvalConfig, EvalOutcome, RetryPolicy, run_eval
from redline.stats import wilson_interval

__all__ = [
    "EvalConfig", "EvalOutcome", "MetricsAggregator", "RetryPolicy", "decide", "rate",
    "run_eval", "wilson_interval",
]
