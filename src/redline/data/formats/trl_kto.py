"""``trl_kto``: TRL unpaired preference data — ``{"prompt", "completion", "label": bool}``.

Read: the label becomes ``labels['desirable']``. Write: a record with a response gives one row,
labelled by ``labels['desirable']`` or, for judged data (``redline judge`` output, eval results),
by what the verdict implies (:func:`redline.data.verdicts.desirable`); a preference pair gives two
rows (chosen → true, rejected → false). The file has ONE shape: message lists for every row when
any row needs them (a system prompt, several turns, images), strings otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redline.data.formats._chat import OneShapeWriter, plain
from redline.data.formats.base import JsonRowFormat
from redline.data.formats.trl_sft import side
from redline.data.records import Record
from redline.data.schema import Message
from redline.data.verdicts import desirable
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


def _simple(prompt: list[Message], completion: list[Message]) -> bool:
    return (len(prompt) == 1 and prompt[0].role == "user" and len(completion) == 1
            and all(len(m.content) == 1 and m.content[0].type == "text" for m in (*prompt, *completion)))


def _one(prompt: list[Message], completion: list[Message], label: bool, conversational: bool) -> dict[str, Any]:
    if not conversational:
        return {"prompt": prompt[0].text, "completion": completion[0].text, "label": label}
    return {"prompt": plain(prompt), "completion": plain(completion), "label": label}


def _sides(r: Record) -> list[tuple[list[Message], list[Message], bool]]:
    if r.chosen is not None and r.rejected is not None:
        return [(r.prompt_messages, r.chosen, True), (r.prompt_messages, r.rejected, False)]
    label = desirable(r)
    if r.response is None:
        raise ValueError("no response (final assistant turn) to label")
    return [(r.prompt_messages, r.messages[-1:], label)]


def needs_conversational(r: Record) -> bool:
    """Whether the record's KTO rows can only be written as message lists.

    Args:
        r: A record with a response, or a preference pair.

    Returns:
        True when a row has a system prompt, several turns or an image.
    """
    return not all(_simple(p, c) for p, c, _ in _sides(r))


def kto_rows(r: Record, conversational: bool) -> list[dict[str, Any]]:
    """The KTO rows of a record, in the shape asked for.

    Args:
        r: A labelled (or judged) record with a response, or a preference pair.
        conversational: Message lists (True) or strings (False; only where
            :func:`needs_conversational` says the record fits).

    Returns:
        One ``{"prompt", "completion", "label"}`` row (two for a preference pair).

    Raises:
        ValueError: No response, or no label and no verdict that decides one.
    """
    return [_one(p, c, lab, conversational) for p, c, lab in _sides(r)]


def _dump(r: Record) -> list[dict[str, Any]]:
    return kto_rows(r, needs_conversational(r))


@plugin("format", "trl_kto")
class TrlKtoFormat(JsonRowFormat):
    """TRL KTO unpaired preference data ({prompt, completion, label})"""

    keeps = ("messages", "chosen", "rejected", "labels.desirable")

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)

    def open_writer(self, path: Path) -> OneShapeWriter:
        """A writer that gives the file one shape: conversational when any row needs it."""
        return OneShapeWriter(path, kto_rows, needs_conversational)
