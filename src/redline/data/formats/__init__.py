"""Data formats: plug-ins of kind ``"format"`` (:mod:`redline.plugins`), one module per format.

Importing this package registers the built-in formats (``redline.plugins`` imports it on first
use); :mod:`redline.data.formats.base` holds the shared bases and never imports a format."""

from redline.data.formats import (  # noqa: F401  (importing registers the formats)
    alpaca,
    csv,
    excel,
    hf,
    inspect,
    json,
    jsonl,
    label_studio,
    openai,
    parquet,
    sharegpt,
    trl_dpo,
    trl_kto,
    trl_sft,
)
from redline.data.formats.base import (
    FieldMap,
    Format,
    Item,
    RecordWriter,
    Rejected,
    detect_format,
    formats,
    get_format,
)
from redline.data.formats.hf import records_from_dataset, records_to_dataset

__all__ = [
    "FieldMap", "Format", "Item", "RecordWriter", "Rejected", "detect_format", "formats",
    "get_format", "records_from_dataset", "records_to_dataset",
]
