"""``jsonl``: Redline's native record JSON, one per line (also reads Sample shorthand and any flat rows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from redline.data.formats.base import (
    FieldMap,
    Item,
    JsonlWriter,
    parse_rows,
    register_format,
    row_to_record,
)
from redline.data.records import record_json


@register_format("jsonl")
class JsonlFormat:
    name = "jsonl"
    extensions = (".jsonl", ".ndjson")
    description = "Redline records, one JSON object per line (docs/data.md); unknown keys go to meta"

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        from redline.data.formats.base import iter_jsonl_rows

        return parse_rows(path, iter_jsonl_rows(path), fmap, row_to_record)

    def open_writer(self, path: Path) -> JsonlWriter:
        return JsonlWriter(path, record_json)
