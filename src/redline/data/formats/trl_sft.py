"""``trl_sft``: TRL SFT data — conversational ``{"messages": [...]}`` or prompt-completion
``{"prompt", "completion"}`` (strings or message lists). Writes ``{"messages": [...]}``."""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import parse_messages, plain, training_messages
from redline.data.formats.base import JsonRowFormat
from redline.data.records import Record
from redline.data.schema import Message
from redline.plugins import plugin


def side(v: Any, role: str, field: str) -> list[Message]:
    """A TRL column: a string (one ``role`` message) or a list of messages."""
    if isinstance(v, str):
        return [Message(role=role, content=v)]  # type: ignore[arg-type]
    return parse_messages(v, field)[0]


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    rid = str(row.pop("id", n))
    if "messages" in row:
        msgs = parse_messages(row.pop("messages"))[0]
    elif "prompt" in row and "completion" in row:
        msgs = side(row.pop("prompt"), "user", "prompt") + side(row.pop("completion"), "assistant", "completion")
    elif "text" in row:
        raise ValueError("language-modelling rows ('text') have no prompt/response split; "
                         "read them with --from jsonl --map prompt=text")
    else:
        raise ValueError("expected 'messages', or 'prompt' and 'completion'")
    return Record(id=rid, messages=msgs, meta=row)


def _dump(r: Record) -> dict[str, Any]:
    return {"messages": plain(training_messages(r))}


@plugin("format", "trl_sft")
class TrlSftFormat(JsonRowFormat):
    """TRL SFTTrainer data ({messages} or {prompt, completion}); writes {messages}"""

    keeps = ("messages",)

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
