"""``inspect``: Inspect AI dataset samples — ``{"id", "input", "target", "metadata", "choices"?}``.

``input`` is a string (one user message) or a list of chat messages (``{"type": "image", "image":
…}`` parts for images). ``metadata.category/expected/language/source`` map to the record fields,
``metadata.response`` to a final assistant turn; the rest of ``metadata``, ``target`` and
``choices`` go to ``meta``. Writes JSONL (``inspect_ai.dataset.json_dataset`` reads it).
"""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import inspect_messages, parse_messages
from redline.data.formats.base import JsonRowFormat
from redline.data.records import Record
from redline.data.schema import Message, TextPart
from redline.plugins import plugin

_FIELDS = ("category", "expected", "language", "source")


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    inp = row.pop("input", None)
    if isinstance(inp, str):
        if not inp.strip():
            raise ValueError("field 'input': empty")
        msgs = [Message(role="user", content=inp)]  # type: ignore[arg-type]
    elif isinstance(inp, list):
        msgs = parse_messages(inp, "input")[0]
    else:
        raise ValueError("field 'input': expected a string or a list of chat messages")
    md = dict(row.pop("metadata", None) or {})
    if not isinstance(md, dict):
        raise ValueError("field 'metadata': expected an object")
    response = md.pop("response", None)
    if isinstance(response, str) and response:
        msgs.append(Message(role="assistant", content=response))  # type: ignore[arg-type]
    fields = {k: md.pop(k) for k in _FIELDS if md.get(k) not in (None, "")}
    labels = md.pop("labels", None) or {}
    meta = {**md, **{k: v for k, v in row.items() if k != "id" and v not in (None, "", [])}}
    rid = row.get("id", n)
    return Record(id=str(rid), messages=msgs, labels=labels, meta=meta, **fields)


def _dump(r: Record) -> dict[str, Any]:
    prompt = r.prompt_messages
    if len(prompt) == 1 and prompt[0].role == "user" and [type(p) for p in prompt[0].content] == [TextPart]:
        inp: Any = prompt[0].text  # a plain text prompt: Inspect's string input
    else:
        inp = inspect_messages(prompt)
    meta = dict(r.meta)
    out: dict[str, Any] = {"id": r.id, "input": inp, "target": meta.pop("target", "")}
    if "choices" in meta:
        out["choices"] = meta.pop("choices")
    md: dict[str, Any] = {}
    for k in _FIELDS:
        v = getattr(r, k)
        if v is not None:
            md[k] = str(v.value if hasattr(v, "value") else v)
    if r.response is not None:
        md["response"] = r.response
    if r.labels:
        md["labels"] = r.labels
    md.update(meta)
    if md:
        out["metadata"] = md
    return out


@plugin("format", "inspect")
class InspectFormat(JsonRowFormat):
    """Inspect AI samples ({id, input, target, metadata}) as JSONL"""

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
