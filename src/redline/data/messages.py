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


def downscale_data_url(url: str, max_side: int) -> str:
    """A ``data:`` URL image with its longest side at most ``max_side`` pixels.

    Decoded and resized with Pillow (Lanczos); a JPEG stays a JPEG, anything else becomes a PNG.
    A URL whose image is small enough comes back unchanged.

    Args:
        url: a ``data:image/…;base64,…`` URL.
        max_side: the longest side allowed, in pixels.

    Returns:
        The (possibly new) ``data:`` URL.

    Raises:
        ValueError: Pillow is missing, or the bytes are not a decodable image (the reason).
    """
    import base64
    import binascii
    import io

    try:
        from PIL import Image
    except ImportError:
        raise ValueError("downscaling images needs Pillow (pip install pillow)") from None
    _, _, b64 = url.partition(",")
    try:
        img = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
        img.load()
    except (binascii.Error, ValueError, OSError, Image.DecompressionBombError) as e:
        raise ValueError(f"image cannot be decoded ({type(e).__name__}: {e})") from None
    if max(img.size) <= max_side:
        return url
    fmt = "JPEG" if img.format == "JPEG" else "PNG"
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buf.getvalue()).decode()}"
