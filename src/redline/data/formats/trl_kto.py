"""``trl_kto``: TRL unpaired preference data — ``{"prompt", "completion", "label": bool}``.

Read: the label becomes ``labels['desirable']``. Write: a record with ``labels['desirable']`` and
a response gives one row; a preference pair gives two rows (chosen → true, rejected → false).
"""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import plain
from redline.data.formats.base import JsonRowFormat
from redline.data.formats.trl_sft import side
from redline.data.records import Record
from redline.data.schema import Message
from redline.plugins import plugin

_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    rid = str(row.pop("id", n))
    for k in ("prompt", "completion", "label"):
        if k not in row:
            raise ValueError(f"field '{k}': missing (KTO rows need prompt, completion, label)")
    label = row.pop("label")
    if isinstance(label, str) and label.strip().lower() in _TRUE:
        label = _TRUE[label.strip().lower()]
    if not isinstance(label, bool):
        raise ValueError(f"field 'label': expected true or false, got {label!r}")
    msgs = side(row.pop("prompt"), "user", "prompt") + side(row.pop("completion"), "assistant", "completion")
    return Record(id=rid, messages=msgs, labels={"desirable": label}, meta=row)


def _one(prompt: list[Message], completion: list[Message], label: bool) -> dict[str, Any]:
    simple = (len(prompt) == 1 and prompt[0].role == "user" and len(completion) == 1
              and all(len(m.content) == 1 for m in (*prompt, *completion)))
    if simple:
        return {"prompt": prompt[0].text, "completion": completion[0].text, "label": label}
    return {"prompt": plain(prompt), "completion": plain(completion), "label": label}


def _dump(r: Record) -> list[dict[str, Any]]:
    if r.chosen is not None and r.rejected is not None:
        return [_one(r.prompt_messages, r.chosen, True), _one(r.prompt_messages, r.rejected, False)]
    label = r.labels.get("desirable")
    if not isinstance(label, bool):
        raise ValueError("no boolean labels.desirable (KTO needs a desirable/undesirable label)")
    if r.response is None:
        raise ValueError("no response (final assistant turn) to label")
    return [_one(r.prompt_messages, r.messages[-1:], label)]


@plugin("format", "trl_kto")
class TrlKtoFormat(JsonRowFormat):
    """TRL KTO unpaired preference data ({prompt, completion, label})"""

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
