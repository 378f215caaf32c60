"""``alpaca``: ``{"instruction", "input", "output", "system"?, "history"?}`` per row.

The prompt is ``instruction`` followed by a blank line and ``input`` (when given); the split is
kept in ``meta['alpaca']`` so that writing Alpaca again restores it. ``history`` is a list of
``[user, assistant]`` pairs before the instruction.
"""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import text_only
from redline.data.formats.base import JsonRowFormat
from redline.data.records import Record
from redline.plugins import plugin


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    instruction = row.pop("instruction", None)
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError("field 'instruction': missing or empty")
    inp = row.pop("input", "") or ""
    output = row.pop("output", "") or ""
    msgs: list[Any] = []  # message dicts, validated by Record
    system = row.pop("system", None)
    if system:
        msgs.append({"role": "system", "content": system})
    for i, pair in enumerate(row.pop("history", None) or []):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f"field 'history[{i}]': expected [user, assistant]")
        msgs += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    prompt = f"{instruction}\n\n{inp}" if inp else instruction
    msgs.append({"role": "user", "content": prompt})
    if output:
        msgs.append({"role": "assistant", "content": output})
    meta = {k: v for k, v in row.items() if k != "id"}
    if inp:
        meta["alpaca"] = {"instruction": instruction, "input": inp}
    return Record(id=str(row.get("id", n)), messages=msgs, meta=meta)


def _dump(r: Record) -> dict[str, Any]:
    msgs = [*r.prompt_messages, *r.chosen] if r.chosen is not None else r.messages
    system = None
    if msgs[0].role == "system":
        system = text_only(msgs[0], "the system message")
        msgs = msgs[1:]
    output = ""
    if msgs and msgs[-1].role == "assistant":
        output = text_only(msgs[-1], "the response")
        msgs = msgs[:-1]
    if not msgs or msgs[-1].role != "user":
        raise ValueError("no user instruction before the response")
    prompt = text_only(msgs[-1], "the instruction")
    history = []
    body = msgs[:-1]
    if len(body) % 2 or any(m.role != ("user", "assistant")[i % 2] for i, m in enumerate(body)):
        raise ValueError("earlier turns must alternate user/assistant to fit Alpaca 'history'")
    for i in range(0, len(body), 2):
        history.append([text_only(body[i], "a history turn"), text_only(body[i + 1], "a history turn")])
    split = r.meta.get("alpaca")
    if isinstance(split, dict) and f"{split.get('instruction')}\n\n{split.get('input')}" == prompt:
        instruction, inp = split["instruction"], split["input"]
    else:
        instruction, inp = prompt, ""
    return {"instruction": instruction, "input": inp, "output": output,
            **({"system": system} if system is not None else {}), **({"history": history} if history else {})}


@plugin("format", "alpaca")
class AlpacaFormat(JsonRowFormat):
    """Alpaca instruction data ({instruction, input, output}; training content only)"""

    keeps = ("messages",)

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
