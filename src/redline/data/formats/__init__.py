"""Data formats: a plug-in registry (see :mod:`redline.data.formats.base`), one module per format."""

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
    register_format,
)
from redline.data.formats.hf import records_from_dataset, records_to_dataset

__all__ = [
    "FieldMap", "Format", "Item", "RecordWriter", "Rejected", "detect_format", "formats", "get_format",
    "records_from_dataset", "records_to_dataset", "register_format",
]
