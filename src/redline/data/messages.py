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
from contextlib import nullcontext
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
    img: Image.Image
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


#: images larger than this (bytes) are downscaled before being inlined into a page
INLINE_MAX_BYTES = 300_000


def inline_images(sample: dict[str, Any], data_file: str | None) -> list[dict[str, str | None]]:
    """The image parts of a stored sample as ``data:`` URLs a page can show inline.

    A page never loads an image from outside: an http(s) URL is not fetched (its ``src`` is None
    and ``note`` says so); a ``data:`` URL or base64 image is kept when it is an image; a local file
    is read only under the rules of :mod:`redline.data.images`, relative to ``data_file``'s folder
    (the suite the run read). Images over :data:`INLINE_MAX_BYTES` are downscaled to 800 px.

    Args:
        sample: A sample as stored in ``results.jsonl`` (``messages`` of content-part dicts).
        data_file: The suite file the sample came from (None: local files are not read).

    Returns:
        One ``{"src", "note"}`` per image part, in order; ``src`` is None when it is not shown.
    """
    from redline.data.images import ImageRejected, image_access, sniff_image

    out: list[dict[str, str | None]] = []
    parts = [p for m in sample.get("messages") or () if isinstance(m, dict)
             and isinstance(m.get("content"), list) for p in m["content"]
             if isinstance(p, dict) and p.get("type") in ("image", "image_url")]
    if not parts:
        return out
    with image_access(data_file) if data_file else nullcontext():
        for p in parts:
            try:
                part = ImagePart.model_validate(p) if p.get("type") == "image" else None
                if part is None:  # an OpenAI-style part left as is
                    url = (p.get("image_url") or {}).get("url") or ""
                    part = ImagePart(base64=url) if url.startswith("data:") else ImagePart(url=url or "-")
                if part.url:
                    out.append({"src": None, "note": f"image at {part.url[:80]} not loaded (pages never "
                                                     "load outside URLs)"})
                    continue
                src = part.data_url()
                if not src.startswith("data:image/"):
                    raise ImageRejected("not an image")
                import base64 as b64mod

                sniff_image(b64mod.b64decode(src.partition(",")[2], validate=True))
                if len(src) * 3 // 4 > INLINE_MAX_BYTES:
                    src = downscale_data_url(src, 800)
                out.append({"src": src, "note": None})
            except (ValueError, ImageRejected) as e:
                out.append({"src": None, "note": f"image not shown: {e}"})
    return out



def embed_local_images(messages: Sequence[Message]) -> list[Message]:
    """``messages`` with every local image file (``path``) replaced by its bytes as a ``data:``
    URL, read under the rules of :mod:`redline.data.images` (bind the data file's folder with
    :func:`~redline.data.images.image_access` first); other parts are kept as they are.

    Args:
        messages: A conversation.

    Returns:
        The same messages, self-contained (a page can show them without reading files).

    Raises:
        ValueError: An image that cannot be read (:class:`~redline.data.images.ImageRejected`:
            outside the allowed folders, missing, not an image, too large).
    """
    out = []
    for m in messages:
        if not any(isinstance(p, ImagePart) and p.path for p in m.content):
            out.append(m)
            continue
        parts = [ImagePart(base64=p.data_url(), mime_type=p.mime_type) if isinstance(p, ImagePart) and p.path
                 else p for p in m.content]
        out.append(m.model_copy(update={"content": parts}))
    return out
