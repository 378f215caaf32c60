"""``sharegpt``: ``{"conversations": [{"from": "human"|"gpt"|"system", "value": …}], "system"?, "images"?}``.

Multimodal rows (LLaVA / LLaMA-Factory style) list image paths in ``images`` (or ``image``) and mark
where each goes with ``<image>`` in the text; both are kept. Other keys go to ``meta`` and back.
"""

from __future__ import annotations

from typing import Any

from redline.data.formats.base import JsonRowFormat
from redline.data.records import Record
from redline.data.schema import ImagePart, Message, TextPart
from redline.plugins import plugin

_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
          "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system"}
_BACK = {"user": "human", "assistant": "gpt", "system": "system"}
_TOKEN = "<image>"


def _image(src: str) -> ImagePart:
    if src.startswith("data:"):
        return ImagePart(base64=src)
    if src.startswith(("http://", "https://")):
        return ImagePart(url=src)
    return ImagePart(path=src)


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    conv = row.pop("conversations", None)
    if conv is None:
        conv = row.pop("messages", None)
    if not isinstance(conv, list) or not conv:
        raise ValueError("field 'conversations': expected a non-empty list of {from, value}")
    images = row.pop("images", None)
    if images is None and "image" in row:
        images = [row.pop("image")]
    queue = [_image(str(s)) for s in (images or [])]
    msgs: list[Message] = []
    system = row.pop("system", None)
    if system:
        msgs.append(Message(role="system", content=[TextPart(text=system)]))
    for i, turn in enumerate(conv):
        if not isinstance(turn, dict):
            raise ValueError(f"field 'conversations[{i}]': expected an object")
        who = turn.get("from", turn.get("role"))
        role = _ROLES.get(str(who))
        if role is None:
            raise ValueError(f"field 'conversations[{i}].from': unknown speaker {who!r} (use human, gpt or system)")
        text = turn.get("value", turn.get("content"))
        if not isinstance(text, str):
            raise ValueError(f"field 'conversations[{i}].value': expected a string")
        parts: list[TextPart | ImagePart] = []
        pieces = text.split(_TOKEN)
        for j, piece in enumerate(pieces):
            if j > 0:
                if not queue:
                    raise ValueError(f"field 'conversations[{i}]': more {_TOKEN} markers than images")
                parts.append(queue.pop(0))
            if piece:
                parts.append(TextPart(text=piece))
        if not parts:
            parts.append(TextPart(text=""))
        msgs.append(Message(role=role, content=parts))  # type: ignore[arg-type]  # validated by pydantic
    if queue:  # images without markers: put them before the first user text
        first = next((m for m in msgs if m.role == "user"), msgs[0])
        first.content[:0] = queue
    rid = row.pop("id", None)
    return Record(id=str(rid if rid is not None else n), messages=msgs, meta=row)


def _dump(r: Record) -> dict[str, Any]:
    msgs = [*r.prompt_messages, *r.chosen] if r.chosen is not None else r.messages
    out: dict[str, Any] = {"id": r.id}
    images: list[str] = []
    conv: list[dict[str, str]] = []
    for m in msgs:
        if m.role == "system" and not conv and "system" not in out:
            out["system"] = m.text
            continue
        if m.role not in _BACK:
            raise ValueError(f"role {m.role!r} has no ShareGPT speaker")
        text = ""
        for p in m.content:
            if isinstance(p, TextPart):
                text += p.text
            else:
                text += _TOKEN
                images.append(p.path or p.url or p.base64 or "")
        conv.append({"from": _BACK[m.role], "value": text})
    out["conversations"] = conv
    if images:
        out["images"] = images
    for k, v in r.meta.items():
        out.setdefault(k, v)
    return out


@plugin("format", "sharegpt")
class ShareGPTFormat(JsonRowFormat):
    """ShareGPT conversations ({conversations: [{from, value}]}, images via <image>)"""

    keeps = ("id", "messages", "meta")

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
