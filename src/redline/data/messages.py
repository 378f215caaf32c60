"""Messages in the OpenAI chat shape: the one converter used by the ``openai`` format and target.

In the OpenAI chat API a message's ``content`` is either a string or a list of content parts
(``{"type": "text", "text": …}``, ``{"type": "image_url", "image_url": {"url": …}}``); the parts
are given to the model in order, and several text parts are *not* the same as one text joined
with newlines. So a message that is exactly one text part is written as a string (the common,
compact form), and any other message — several text parts, or any image — as its list of parts,
unchanged. An empty message is the empty string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redline.data.schema import ImagePart, Message, TextPart


def image_data_url(part: ImagePart) -> str:
    """:meth:`ImagePart.data_url`, a missing local file as a ``ValueError`` that names the need.

    Args:
        part: the image.

    Returns:
        The image's URL, or a ``data:`` URL of its bytes.
    """
    try:
        return part.data_url()
    except FileNotFoundError as e:
        raise ValueError(f"{e} (needed to embed it as base64)") from None


def to_openai_messages(messages: Sequence[Message], *,
                       image_url: Callable[[ImagePart], str] = image_data_url,
                       extras: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Messages as the OpenAI chat API takes them (see the module docstring for the content rule).

    Args:
        messages: the conversation.
        image_url: how an image becomes the URL sent (a target checks the scheme here, a
            training file embeds local files); it may raise to refuse the image.
        extras: per message, extra keys to add (``weight``, ``name`` …), by position.

    Returns:
        One ``{"role", "content", …}`` dict per message.
    """
    out = []
    for i, m in enumerate(messages):
        content: str | list[dict[str, Any]]
        if not m.content:
            content = ""
        elif len(m.content) == 1 and isinstance(m.content[0], TextPart):
            content = m.content[0].text
        else:
            content = [{"type": "text", "text": p.text} if isinstance(p, TextPart)
                       else {"type": "image_url", "image_url": {"url": image_url(p)}}
                       for p in m.content]
        d: dict[str, Any] = {"role": m.role, "content": content}
        if extras is not None and i < len(extras):
            d.update(extras[i])
        out.append(d)
    return out
