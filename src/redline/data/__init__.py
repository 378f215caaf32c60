"""The record schema, readers and suites."""

from redline.data.jsonl import iter_jsonl, iter_samples, validate_samples
from redline.data.schema import (
    Expected,
    ImagePart,
    Judgment,
    Message,
    Outcome,
    Result,
    Sample,
    TextPart,
    Usage,
    messages_key,
)
from redline.data.suites import builtin_suites, resolve_suite

__all__ = [
    "Expected", "ImagePart", "Judgment", "Message", "Outcome", "Result", "Sample", "TextPart",
    "Usage", "builtin_suites", "iter_jsonl", "iter_samples", "messages_key", "resolve_suite",
    "validate_samples",
]
