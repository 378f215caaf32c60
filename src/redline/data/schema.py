"""The one record schema that flows through every Redline stage.

A :class:`Sample` is a conversation (``messages`` of role + content parts)
plus the metadata an evaluation needs (``category``, ``expected`` behaviour,
``language``, ``source``).  A :class:`Result` is a sample after a target has
answered it and judges have graded the answer.  A :class:`Judgment` is one
judge's verdict.

JSONL is the interchange format; a shorthand record
``{"id", "prompt", "category", "expected"}`` is accepted wherever samples are
read.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = "1"


class Expected(StrEnum):
    """What the policy expects the model to do with a prompt."""

    refuse = "refuse"
    safe_complete = "safe_complete"
    comply = "comply"


class Outcome(StrEnum):
    """Three-valued outcome of a sample. Never collapse ``unassessable`` into ``safe``."""

    harmful = "harmful"
    safe = "safe"
    unassessable = "unassessable"


class TextPart(BaseModel):
    """A text part of a message's content."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image given by local path, URL, or base64 data (``data:`` URL or raw base64)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["image"] = "image"
    path: str | None = None
    url: str | None = None
    base64: str | None = None
    mime_type: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ImagePart:
        given = [x for x in (self.path, self.url, self.base64) if x]
        if len(given) != 1:
            raise ValueError("an image part needs exactly one of 'path', 'url' or 'base64'")
        return self

    def data_url(self) -> str:
        """A URL an API accepts: the URL itself, a ``data:`` URL, or the local file read as a
        ``data:`` URL. A local file is read only when it passes the checks of
        :mod:`redline.data.images` (inside an allowed folder, a real image, within the size
        limit); otherwise :class:`~redline.data.images.ImageRejected` (a ``ValueError``) says why."""
        if self.url:
            return self.url
        if self.base64:
            if self.base64.startswith("data:"):
                return self.base64
            return f"data:{self.mime_type or 'image/png'};base64,{self.base64}"
        import base64

        from redline.data.images import read_image

        data, mime = read_image(self.path or "")
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(BaseModel):
    """One chat turn: a role and its content parts.

    ``content`` also accepts a plain string (one text part), strings in a list, and OpenAI-style
    ``{"type": "image_url", "image_url": {"url": …}}`` parts, which become :class:`ImagePart`.

    Attributes:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: The text and image parts, in order.
    """

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant", "tool"]
    content: list[ContentPart]

    @field_validator("content", mode="before")
    @classmethod
    def _coerce_content(cls, v: Any) -> Any:
        # Plain strings are the common case: "content": "hello".
        if isinstance(v, str):
            return [{"type": "text", "text": v}]
        if isinstance(v, list):
            out = []
            for part in v:
                if isinstance(part, str):
                    out.append({"type": "text", "text": part})
                elif isinstance(part, dict) and part.get("type") == "image_url":
                    # OpenAI style {"type": "image_url", "image_url": {"url": ...}}
                    spec = part.get("image_url")
                    url = spec.get("url") if isinstance(spec, dict) else None
                    if not isinstance(url, str):
                        raise ValueError('an image_url part must be {"type": "image_url", "image_url": '
                                         '{"url": "https://… or data:…"}}, got image_url = '
                                         f"{type(spec).__name__} {str(spec)[:40]!r}")
                    if url.startswith("data:"):
                        out.append({"type": "image", "base64": url})
                    else:
                        out.append({"type": "image", "url": url})
                else:
                    out.append(part)
            return out
        return v

    @property
    def text(self) -> str:
        """The message's text parts joined by newlines (images omitted)."""
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


def last_user_text(messages: list[Message]) -> str:
    """Text of the last user message (or of the last message when there is none).

    Args:
        messages: a non-empty conversation.
    """
    for m in reversed(messages):
        if m.role == "user":
            return m.text
    return messages[-1].text


def _id_not_empty(v: str) -> str:
    if not v.strip():
        raise ValueError("'id' must not be empty")
    return v


#: a record's or sample's id: any non-blank text
ItemId = Annotated[str, AfterValidator(_id_not_empty)]


class Sample(BaseModel):
    """One evaluation item: a conversation plus what the policy expects."""

    model_config = ConfigDict(extra="forbid")
    id: ItemId
    messages: list[Message] = Field(min_length=1)
    category: str
    expected: Expected
    language: str = "en"
    source: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # Accept {"id", "prompt", "category", "expected"} and turn it into messages.
        if isinstance(data, dict) and "prompt" in data:
            if "messages" in data:
                raise ValueError("give either 'prompt' or 'messages', not both")
            data = dict(data)
            prompt = data.pop("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError("'prompt' must be a non-empty string")
            data["messages"] = [{"role": "user", "content": prompt}]
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            data = {**data, "id": str(data["id"])}
        return data

    @property
    def prompt_text(self) -> str:
        """Text of the last user message (what most judges look at)."""
        return last_user_text(self.messages)

    @property
    def judge_prompt(self) -> str:
        """The request as a text judge should read it: :attr:`prompt_text`, plus the text drawn in
        the sample's images (``meta["rendered_text"]``) when the request is image-borne, so that
        judges grade the response against the sample's real intent."""
        rendered = self.meta.get("rendered_text")
        if isinstance(rendered, str) and rendered.strip():
            return f"{rendered}\n\n{self.prompt_text}".strip()
        return self.prompt_text

    @property
    def is_harmful_prompt(self) -> bool:
        """Whether the policy expects anything but compliance (``refuse`` or ``safe_complete``)."""
        return self.expected is not Expected.comply


class Usage(BaseModel):
    """Token counts a target reported for one call; ``None`` where it did not report one."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Judgment(BaseModel):
    """One judge's verdict on one response."""

    judge: str
    version: str
    label: str | None  # None when the judge failed
    score: float | None = None
    rationale: str | None = None
    error: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the judge gave a verdict: no error and a label."""
        return self.error is None and self.label is not None


class Result(BaseModel):
    """A sample, the target's answer, and the judges' verdicts."""

    sample: Sample
    target: str
    response: str | None = None
    error: str | None = None
    latency_s: float | None = None
    usage: Usage | None = None
    cached: bool = False
    judgments: list[Judgment] = Field(default_factory=list)
    outcome: Outcome = Outcome.unassessable
    over_refusal: bool | None = None
    policy_hash: str | None = None  # content hash of the policy the run judged against
    schema_version: str = SCHEMA_VERSION


def messages_key(messages: list[Message]) -> str:
    """A stable content hash of a conversation (used in cache keys and logs)."""
    h = hashlib.sha256()
    for m in messages:
        h.update(m.model_dump_json().encode())
        h.update(b"\x00")
    return h.hexdigest()
