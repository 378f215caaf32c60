"""``trl_dpo``: TRL preference data — ``{"prompt", "chosen", "rejected"}``, standard (strings) or
conversational (message lists); the implicit-prompt form (only ``chosen``/``rejected``, whole
conversations sharing a prefix) is read too.

Writes ONE shape per file, as TRL expects (it decides whether to apply the chat template from
the data set, not per row): strings when every pair is plain text with one user turn and no
system prompt, message lists for every row otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redline.data.formats._chat import OneShapeWriter, plain
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


def needs_conversational(r: Record) -> bool:
    """Whether the pair can only be written as message lists (a system prompt, several turns, images).

    Args:
        r: A preference record.

    Returns:
        False for a plain-text pair with one user turn and no system prompt.
    """
    return not (r.is_simple() and r.system is None)


def dpo_row(r: Record, conversational: bool) -> dict[str, Any]:
    """The DPO row of a preference pair, in the shape asked for.

    Args:
        r: A record with ``chosen`` and ``rejected``.
        conversational: Message lists (True) or strings (False; only for a pair that
            :func:`needs_conversational` says fits).

    Returns:
        ``{"prompt", "chosen", "rejected"}``.

    Raises:
        ValueError: The record is not a preference pair.
    """
    if r.chosen is None or r.rejected is None:
        raise ValueError("not a preference pair (no 'chosen'/'rejected')")
    prompt = r.prompt_messages
    if not conversational:
        return {"prompt": prompt[-1].text, "chosen": r.chosen[0].text, "rejected": r.rejected[0].text}
    return {"prompt": plain(prompt), "chosen": plain(r.chosen), "rejected": plain(r.rejected)}


def _dump(r: Record) -> dict[str, Any]:
    return dpo_row(r, needs_conversational(r))


@plugin("format", "trl_dpo")
class TrlDpoFormat(JsonRowFormat):
    """TRL DPO preference data ({prompt, chosen, rejected})"""

    keeps = ("messages", "chosen", "rejected")

    to_record, to_row = staticmethod(_parse), staticmethod(_dump)

    def open_writer(self, path: Path) -> OneShapeWriter:
        """A writer that gives the file one shape: conversational when any pair needs it."""
        return OneShapeWriter(path, dpo_row, needs_conversational)
