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

# Data-operations API, imported on first use so that `redline eval` start-up stays light.
_LAZY = {
    "Record": "redline.data.records", "record_json": "redline.data.records",
    "FieldMap": "redline.data.formats", "Rejected": "redline.data.formats", "get_format": "redline.data.formats",
    "formats": "redline.data.formats", "records_from_dataset": "redline.data.formats",
    "records_to_dataset": "redline.data.formats",
    "convert": "redline.data.io", "open_input": "redline.data.io", "read_records": "redline.data.io",
    "profile_file": "redline.data.profile", "check_file": "redline.data.standards",
    "load_standard": "redline.data.standards", "coverage_records": "redline.data.coverage",
    "load_quota": "redline.data.coverage", "PiiScanner": "redline.data.pii", "detect_language": "redline.data.langid",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'redline.data' has no attribute {name!r}")


__all__ = [
    "Expected", "FieldMap", "ImagePart", "Judgment", "Message", "Outcome", "PiiScanner", "Record", "Rejected",
    "Result", "Sample", "TextPart", "Usage", "builtin_suites", "check_file", "convert", "coverage_records",
    "detect_language", "formats", "iter_jsonl", "iter_samples", "load_quota", "load_standard", "messages_key",
    "open_input", "profile_file", "read_records", "record_json", "records_from_dataset", "records_to_dataset",
    "get_format", "resolve_suite", "validate_samples",
]
