"""The general data-operations record: prompts, responses, preference pairs, labels.

A :class:`Sample` is an *evaluation item* and requires ``category`` and ``expected``. Data
teams also handle prompt/response sets, SFT/DPO/KTO training data and labelled data, where
those may be missing and where assistant turns, preference pairs and labels matter. A
:class:`Record` carries all of that:

- ``messages``: the conversation; a final ``assistant`` turn is the response;
- ``chosen`` / ``rejected``: preferred and dispreferred completions (assistant turns) of a
  preference pair (DPO); the prompt is ``messages``;
- ``labels``: named labels, e.g. ``{"harm": "unsafe"}`` or ``{"desirable": true}`` (KTO);
- ``category``, ``expected``, ``language``, ``source``, ``meta``: as in :class:`Sample`.

``Record.from_sample`` / ``Record.to_sample`` convert; ``to_sample`` needs ``category`` and
``expected`` and drops a final assistant turn into ``meta['response']``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from redline.data.schema import (
    Expected,
    ImagePart,
    ItemId,
    Message,
    Sample,
    TextPart,
    last_user_text,
)

LabelValue = str | bool | int | float


class Record(BaseModel):
    """One data record (see the module docstring and docs/data.md)."""

    model_config = ConfigDict(extra="forbid")
    id: ItemId
    messages: list[Message] = Field(min_length=1)
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    labels: dict[str, LabelValue] = Field(default_factory=dict)
    category: str | None = None
    expected: Expected | None = None
    language: str | None = None
    source: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    #: ``(path, unit, row)`` of the source row when read from a file (not part of the record's
    #: content); see :meth:`redline.data.formats.Rejected.of_record`
    _source: tuple[str, str, int] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # {"prompt": ..., "response": ..., "system": ...} → messages; chosen/rejected strings → turns.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "prompt" in data or "response" in data or "system" in data:
            if "messages" in data and data.get("prompt") is not None:
                raise ValueError("give either 'prompt' or 'messages', not both")
            msgs = list(data.pop("messages", None) or [])
            system = data.pop("system", None)
            prompt = data.pop("prompt", None)
            response = data.pop("response", None)
            if system is not None and system != "":
                msgs.insert(0, {"role": "system", "content": system})
            if prompt is not None:
                if isinstance(prompt, list):
                    msgs.extend(prompt)
                elif not isinstance(prompt, str) or not prompt.strip():
                    raise ValueError("'prompt' must be a non-empty string")
                else:
                    msgs.append({"role": "user", "content": prompt})
            if response is not None and response != "":
                if not isinstance(response, str):
                    raise ValueError("'response' must be a string")
                msgs.append({"role": "assistant", "content": response})
            data["messages"] = msgs
        for key in ("chosen", "rejected"):
            v = data.get(key)
            if isinstance(v, str):
                data[key] = [{"role": "assistant", "content": v}]
            elif isinstance(v, dict):
                data[key] = [v]
        if isinstance(data.get("id"), int | float):
            data["id"] = str(data["id"])
        if data.get("expected") in ("", None):
            data.pop("expected", None)
        return data

    @model_validator(mode="after")
    def _pairs(self) -> Record:
        if (self.chosen is None) != (self.rejected is None):
            raise ValueError("a preference pair needs both 'chosen' and 'rejected'")
        return self

    # -- views ---------------------------------------------------------------------------------

    @property
    def prompt_messages(self) -> list[Message]:
        """The conversation without a final assistant turn (the prompt side)."""
        if len(self.messages) > 1 and self.messages[-1].role == "assistant":
            return self.messages[:-1]
        return self.messages

    @property
    def prompt(self) -> str:
        """Text of the last user message (or of the last message when there is none)."""
        return last_user_text(self.prompt_messages)

    @property
    def response(self) -> str | None:
        """Text of the final assistant turn, if the conversation ends with one."""
        if len(self.messages) > 1 and self.messages[-1].role == "assistant":
            return self.messages[-1].text
        return None

    @property
    def system(self) -> str | None:
        """Text of the leading system message, or ``None`` when the conversation has none."""
        return self.messages[0].text if self.messages[0].role == "system" else None

    @property
    def turns(self) -> int:
        """Number of user turns."""
        return sum(1 for m in self.messages if m.role == "user")

    @property
    def has_images(self) -> bool:
        """Whether any message (chosen and rejected included) has an image part."""
        return any(isinstance(p, ImagePart) for m in self._all_messages() for p in m.content)

    def texts(self) -> list[str]:
        """All text of the record (every turn, chosen and rejected)."""
        return [m.text for m in self._all_messages() if m.text]

    def _all_messages(self) -> list[Message]:
        return [*self.messages, *(self.chosen or []), *(self.rejected or [])]

    def is_simple(self) -> bool:
        """Optional system, one user turn, optional final assistant turn; text only."""
        roles = [m.role for m in self.messages]
        if roles and roles[0] == "system":
            roles = roles[1:]
        if roles not in (["user"], ["user", "assistant"]):
            return False
        for m in self._all_messages():
            if len(m.content) != 1 or not isinstance(m.content[0], TextPart):
                return False
        for side in (self.chosen, self.rejected):
            if side is not None and (len(side) != 1 or side[0].role != "assistant"):
                return False
        return True

    def canonical_json(self) -> str:
        """A canonical serialisation (sorted keys, defaults dropped), for hashing."""
        return json.dumps(self.model_dump(mode="json", exclude_defaults=True), sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))

    def content_hash(self) -> str:
        """The SHA-256 hex digest of :meth:`canonical_json` (equal records, equal hashes)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    # -- conversion ----------------------------------------------------------------------------

    @classmethod
    def from_sample(cls, s: Sample) -> Record:
        """A record of an evaluation sample: its id, messages, category, expected behaviour,
        language, source and (a copy of) its meta."""
        return cls(id=s.id, messages=s.messages, category=s.category, expected=s.expected,
                   language=s.language, source=s.source, meta=dict(s.meta))

    def to_sample(self) -> Sample:
        """The evaluation item; raises ValueError when ``category`` or ``expected`` is missing."""
        missing = [f for f in ("category", "expected") if getattr(self, f) in (None, "")]
        if missing:
            raise ValueError(f"a sample needs {' and '.join(repr(m) for m in missing)}")
        meta = dict(self.meta)
        if self.response is not None:
            meta["response"] = self.response
        if self.labels:
            meta["labels"] = dict(self.labels)
        return Sample(id=self.id, messages=self.prompt_messages, category=self.category or "",
                      expected=self.expected or Expected.refuse, language=self.language or "en",
                      source=self.source, meta=meta)


def dump_messages(msgs: list[Message]) -> list[dict[str, Any]]:
    """Messages as plain dicts: a single text part becomes a string."""
    out: list[dict[str, Any]] = []
    for m in msgs:
        if len(m.content) == 1 and isinstance(m.content[0], TextPart):
            out.append({"role": m.role, "content": m.content[0].text})
        else:
            out.append({"role": m.role,
                        "content": [p.model_dump(mode="json", exclude_none=True) for p in m.content]})
    return out


def record_json(r: Record) -> dict[str, Any]:
    """The native JSON shape of a record (what the ``jsonl`` format writes)."""
    d: dict[str, Any] = {"id": r.id, "messages": dump_messages(r.messages)}
    if r.chosen is not None and r.rejected is not None:
        d["chosen"] = dump_messages(r.chosen)
        d["rejected"] = dump_messages(r.rejected)
    for key in ("category", "expected", "language", "source"):
        v = getattr(r, key)
        if v is not None:
            d[key] = str(v.value if isinstance(v, Expected) else v)
    for key in ("labels", "meta"):
        v = getattr(r, key)
        if v:
            d[key] = v
    return d
