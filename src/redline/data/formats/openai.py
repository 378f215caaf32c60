"""``openai``: OpenAI chat fine-tuning JSONL — ``{"messages": [{role, content}, …]}`` per line.

Images are ``image_url`` parts (URLs or ``data:`` base64); a local image path is embedded as
base64 on writing. Per-message keys such as ``weight`` are kept. Only training content is
written: ids, categories and labels are not part of this format (use ``jsonl`` to keep them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats._chat import openai_messages, parse_messages, training_messages
from redline.data.formats.base import (
    FieldMap,
    Item,
    JsonlWriter,
    iter_json_or_jsonl,
    parse_rows,
    register_format,
)
from redline.data.records import Record


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    if "messages" not in row:
        raise ValueError("field 'messages': missing (OpenAI chat format: {\"messages\": [...]})")
    msgs, extras = parse_messages(row.pop("messages"))
    meta = {k: v for k, v in row.items() if k != "id"}
    if any(extras):
        meta["message_extras"] = extras
    return Record(id=str(row.get("id", n)), messages=msgs, meta=meta)


def _dump(r: Record) -> dict[str, Any]:
    extras = r.meta.get("message_extras") if r.chosen is None else None
    return {"messages": openai_messages(training_messages(r), extras)}


@register_format("openai")
class OpenAIChatFormat:
    name = "openai"
    extensions = ()
    description = "OpenAI chat fine-tuning JSONL ({messages: [...]}; training content only)"

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        return parse_rows(path, iter_json_or_jsonl(path, fmap), fmap, _parse)

    def open_writer(self, path: Path) -> JsonlWriter:
        return JsonlWriter(path, _dump)
