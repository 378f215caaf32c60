"""``json``: a JSON array of records (or the list of records inside a JSON object, e.g.
JailbreakBench's ``{"parameters": …, "jailbreaks": [...]}``). Loaded whole: JSON does not stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from redline.data.formats.base import (
    FieldMap,
    Item,
    JsonArrayWriter,
    iter_json_rows,
    parse_rows,
    register_format,
    row_to_record,
)
from redline.data.records import record_json


@register_format("json")
class JsonFormat:
    name = "json"
    extensions = (".json",)
    description = "a JSON array of records, or the list of records in a JSON object (--json-key)"

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        return parse_rows(path, iter_json_rows(path, fmap.json_key), fmap, row_to_record, "item ")

    def open_writer(self, path: Path) -> JsonArrayWriter:
        return JsonArrayWriter(path, record_json)
