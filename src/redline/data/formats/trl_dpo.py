"""``trl_dpo``: TRL preference data — ``{"prompt", "chosen", "rejected"}``, standard (strings) or
conversational (message lists); the implicit-prompt form (only ``chosen``/``rejected``, whole
conversations sharing a prefix) is read too. Writes strings when the pair is plain text with one
user turn, message lists otherwise."""

from __future__ import annotations

from typing import Any

from redline.data.formats._chat import plain
from redline.data.formats.base import JsonRowFormat
from redline.data.formats.trl_sft import side
from redline.data.records import Record
from redline.plugins import plugin


def _parse(row: dict[str, Any], n: int) -> Record:
    row = dict(row)
    rid = str(row.pop("id", n))
    for k in ("chosen", "rejected"):
        if k not in row:
            raise ValueError(f"field '{k}': missing (preference rows need prompt, chosen, rejected)")
    chosen = side(row.pop("chosen"), "assistant", "chosen")
    rejected = side(row.pop("rejected"), "assistant", "rejected")
    if "prompt" in row:
        prompt = side(row.pop("prompt"), "user", "prompt")
    else:  # implicit prompt: the shared prefix
        shared = 0
        while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
            shared += 1
        if shared == 0:
            raise ValueError("field 'prompt': missing, and chosen/rejected share no prompt prefix")
        prompt, chosen, rejected = chosen[:shared], chosen[shared:], rejected[shared:]
    return Record(id=rid, messages=prompt, chosen=chosen, rejected=rejected, meta=row)


def _dump(r: Record) -> dict[str, Any]:
    if r.chosen is None or r.rejected is None:
        raise ValueError("not a preference pair (no 'chosen'/'rejected')")
    prompt = r.prompt_messages
    if r.is_simple() and r.system is None:
        return {"prompt": prompt[-1].text, "chosen": r.chosen[0].text, "rejected": r.rejected[0].text}
    return {"prompt": plain(prompt), "chosen": plain(r.chosen), "rejected": plain(r.rejected)}


@plugin("format", "trl_dpo")
class TrlDpoFormat(JsonRowFormat):
    """TRL DPO preference data ({prompt, chosen, rejected})"""

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)
