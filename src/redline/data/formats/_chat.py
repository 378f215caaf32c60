"""Message conversions shared by the chat-shaped formats (private)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from redline.data.records import Record, dump_messages
from redline.data.schema import Message, TextPart

_MESSAGE_KEYS = {"role", "content"}


def parse_messages(raw: Any, field: str = "messages") -> tuple[list[Message], list[dict[str, Any]]]:
    """OpenAI/TRL-style messages → Messages, and the per-message extra keys (``weight``, ``name``…)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"field '{field}': expected a non-empty list of {{role, content}} messages")
    msgs, extras = [], []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ValueError(f"field '{field}[{i}]': expected an object with 'role' and 'content'")
        if m.get("tool_calls") or m.get("role") == "function":
            raise ValueError(f"field '{field}[{i}]': tool/function calls are not supported")
        content = m.get("content")
        if isinstance(content, list):
            content = [_inspect_part(p) for p in content]
        msgs.append(Message.model_validate({"role": m.get("role"), "content": content}))
        extras.append({k: v for k, v in m.items() if k not in _MESSAGE_KEYS})
    return msgs, extras


def _inspect_part(p: Any) -> Any:
    # Inspect AI: {"type": "image", "image": "path | url | data:…"}
    if isinstance(p, dict) and p.get("type") == "image" and "image" in p:
        src = str(p["image"])
        if src.startswith("data:"):
            return {"type": "image", "base64": src}
        if src.startswith(("http://", "https://")):
            return {"type": "image", "url": src}
        return {"type": "image", "path": src}
    return p


def inspect_messages(msgs: list[Message]) -> list[dict[str, Any]]:
    """Messages as Inspect AI's chat messages (images as ``{"type": "image", "image": …}``)."""
    out: list[dict[str, Any]] = []
    for m in msgs:
        if len(m.content) == 1 and isinstance(m.content[0], TextPart):
            out.append({"role": m.role, "content": m.content[0].text})
            continue
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, TextPart):
                parts.append({"type": "text", "text": p.text})
            else:
                src = p.path or p.url or (p.base64 if (p.base64 or "").startswith("data:")
                                          else f"data:{p.mime_type or 'image/png'};base64,{p.base64}")
                parts.append({"type": "image", "image": src})
        out.append({"role": m.role, "content": parts})
    return out


def training_messages(r: Record) -> list[Message]:
    """The conversation to train on: the prompt plus the chosen completion for preference pairs."""
    msgs = [*r.prompt_messages, *r.chosen] if r.chosen is not None else list(r.messages)
    if msgs[-1].role != "assistant":
        raise ValueError("no assistant turn (response) to train on")
    return msgs


def plain(msgs: list[Message]) -> list[dict[str, Any]]:
    """Messages as OpenAI-style ``{role, content}`` dicts: a lone text part becomes a string, else a list of parts."""
    return dump_messages(msgs)


def text_only(m: Message, what: str) -> str:
    """The text of a message for a format that carries no images.

    Args:
        m: The message.
        what: How the error names the message (e.g. ``"prompt"``).

    Returns:
        The message's text.

    Raises:
        ValueError: The message has an image part.
    """
    if any(not isinstance(p, TextPart) for p in m.content):
        raise ValueError(f"{what} has images; this format carries text only")
    return m.text


class OneShapeWriter:
    """A TRL writer that gives the whole file ONE shape: conversational (message lists) when any
    record needs it, else standard (strings).

    TRL decides per dataset whether to apply the chat template (``is_conversational`` looks at the
    first row), so a file mixing both shapes leaves the other rows untemplated. The shape is known
    only once every record has been seen, so each record is checked (``to_rows(record, True)``,
    whose ValueError rejects it at once), spooled as JSON to a temporary file, and written out in
    the chosen shape on :meth:`close` — memory stays flat.

    ``extra`` (optional, settable after opening, as on :class:`~redline.data.formats.base.JsonlWriter`)
    returns columns merged into every object written for a record; it is called at write time.

    Attributes:
        conversational: After :meth:`close`, the shape written (None before).
    """

    def __init__(self, path: Path, to_rows: Callable[[Record, bool], dict[str, Any] | list[dict[str, Any]]],
                 needs_conversational: Callable[[Record], bool],
                 extra: Callable[[Record], dict[str, Any]] | None = None):
        import tempfile

        self._path = path
        self._to_rows = to_rows
        self._needs = needs_conversational
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._conv = False
        self.extra = extra
        self.conversational: bool | None = None

    def write(self, record: Record) -> None:
        """Check that the record fits (ValueError otherwise) and spool it.

        Args:
            record: The record.

        Raises:
            ValueError: The format cannot express the record.
        """
        import json

        self._to_rows(record, True)  # raises ValueError when the record does not fit
        more = self.extra(record) if self.extra is not None else None
        self._conv = self._conv or bool(self._needs(record))
        self._spool.write(json.dumps([record.model_dump(mode="json"), more],
                                     ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Write every spooled record in the one shape the file needs, then close."""
        import json

        if self._spool.closed:
            return
        self.conversational = self._conv
        try:
            self._spool.seek(0)
            with open(self._path, "w", encoding="utf-8", newline="\n") as f:
                for line in self._spool:
                    data, more = json.loads(line)
                    rows = self._to_rows(Record.model_validate(data), self._conv)
                    for o in rows if isinstance(rows, list) else [rows]:
                        f.write(json.dumps({**o, **more} if more else o, ensure_ascii=False) + "\n")
        finally:
            self._spool.close()
