"""``json``: a JSON array of records (or the list of records inside a JSON object, e.g.
JailbreakBench's ``{"parameters": …, "jailbreaks": [...]}``). Loaded whole: JSON does not stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import FieldMap, JsonArrayWriter, Rejected, RowFormat, iter_json_rows
from redline.data.records import record_json
from redline.plugins import plugin


@plugin("format", "json")
class JsonFormat(RowFormat):
    """a JSON array of records, or the list of records in a JSON object (--json-key)"""

    extensions = (".json",)
    unit = "item "

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(item number, object | Rejected)`` for the array's items (the file is loaded whole)."""
        return iter_json_rows(path, fmap.json_key)

    def open_writer(self, path: Path) -> JsonArrayWriter:
        """A writer of one JSON array of Redline record objects."""
        return JsonArrayWriter(path, record_json)
