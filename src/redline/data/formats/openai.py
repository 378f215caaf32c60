"""``openai``: OpenAI chat fine-tuning JSONL — ``{"messages": [{role, content}, …]}`` per line.

Images are ``image_url`` parts (URLs or ``data:`` base64); a local image path is embedded as
base64 on writing. Per-message keys such as ``weight`` are kept. Only training content is
written: ids, categories and labels are not part of this format (use ``jsonl`` to keep them).
"""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import parse_messages, training_messages
from redline.data.formats.base import JsonRowFormat
from redline.data.messages import to_openai_messages
from redline.data.records import Record
from redline.plugins import plugin


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
    return {"messages": to_openai_messages(training_messages(r), extras=extras)}


@plugin("format", "openai")
class OpenAIChatFormat(JsonRowFormat):
    """OpenAI chat fine-tuning JSONL ({messages: [...]}; training content only)"""

    keeps = ("messages",)

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
