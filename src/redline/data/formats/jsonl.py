"""``jsonl``: Redline's native record JSON, one per line (also reads Sample shorthand and any flat rows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import FieldMap, JsonlWriter, Rejected, RowFormat, iter_jsonl_rows
from redline.data.records import record_json
from redline.plugins import plugin


@plugin("format", "jsonl")
class JsonlFormat(RowFormat):
    """Redline records, one JSON object per line (docs/data.md); unknown keys go to meta"""

    extensions = (".jsonl", ".ndjson")

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(line number, object | Rejected)`` for every non-blank line; ``fmap`` is not used here."""
        return iter_jsonl_rows(path)

    def open_writer(self, path: Path) -> JsonlWriter:
        """A writer of Redline record objects, one JSON line each."""
        return JsonlWriter(path, record_json)
