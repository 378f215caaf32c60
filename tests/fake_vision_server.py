"""A real OpenAI-compatible *vision* chat server for tests and the multimodal docs' worked example.

It plays a vision model that reads: every ``image_url`` part of the request is decoded (a
``data:`` URL's base64, then Pillow opens and fully loads the pixels; anything else is an HTTP
400 naming the part), and the text drawn in it is read with Tesseract OCR (Debian's
``tesseract-ocr``: grayscale, upscaled 2x, ``--psm 6`` for blocks of text; results cached by the
image's hash). The answer is chosen by regular expressions on what was read, so a test proves
that the image bytes arrived intact:

- ``--refuse-if REGEX``: refuse when the request's *text parts* match;
- ``--image-refuse-if REGEX``: refuse when the *text read from its images* matches (default: the
  same as ``--refuse-if``; a narrower one plays a model whose safety is weaker on images);
- otherwise comply, with a placeholder answer (no content is ever generated).

Every request is appended to ``--log`` as ``{"texts", "ocr", "images": [{"width", "height",
"bytes", "format"}], "answer"}``. Started as a subprocess, it prints ``PORT <n>`` once listening:

    python tests/fake_vision_server.py --refuse-if "kill|weapon" --log requests.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

try:  # imported by the tests as tests.<name>, or run as a script from tests/
    from tests._asgi import read_body, send_json, serve_lifespan
except ImportError:  # pragma: no cover
    from _asgi import read_body, send_json, serve_lifespan

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = "Sure, here is how: 1. [details omitted] 2. [details omitted] 3. [details omitted]"
TESSERACT = os.environ.get("TESSERACT", "tesseract")


def ocr(png: bytes) -> str:
    """The text Tesseract reads in an image (decoded with Pillow first)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    img.load()
    gray = img.convert("L")
    gray = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    gray.save(buf, "PNG")
    out = subprocess.run([TESSERACT, "-", "stdout", "--psm", "6"], input=buf.getvalue(),
                         capture_output=True, timeout=60, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return " ".join(out.stdout.decode("utf-8", "replace").split())


class BadImage(ValueError):
    """An image part that cannot be decoded."""


def decode(url: str) -> tuple[bytes, dict]:
    """``(bytes, info)`` of a ``data:`` URL image, decoded by Pillow; :class:`BadImage` otherwise."""
    from PIL import Image

    if not url.startswith("data:") or ";base64," not in url:
        raise BadImage(f"only data: URLs are read here, got {url[:40]!r}")
    try:
        raw = base64.b64decode(url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadImage(f"bad base64: {e}") from None
    try:
        img = Image.open(io.BytesIO(raw))
        img.load()
    except Exception as e:
        raise BadImage(f"cannot decode image: {type(e).__name__}: {e}") from None
    return raw, {"width": img.width, "height": img.height, "bytes": len(raw), "format": img.format}


def make_app(args: argparse.Namespace):
    log = open(args.log, "a", buffering=1) if args.log else None  # noqa: SIM115
    refuse_if = re.compile(args.refuse_if, re.I) if args.refuse_if else None
    image_refuse_if = re.compile(args.image_refuse_if, re.I) if args.image_refuse_if else refuse_if
    pool = ThreadPoolExecutor(max_workers=args.workers)
    cache: dict[str, str] = {}

    async def read_image(raw: bytes) -> str:
        key = hashlib.sha256(raw).hexdigest()
        if key not in cache:
            cache[key] = await asyncio.get_running_loop().run_in_executor(pool, ocr, raw)
        return cache[key]

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        body = await read_body(receive)
        path = scope["path"]
        if not path.endswith("/chat/completions"):
            return await send_json(send, 404, {"error": {"message": f"no route {path}"}})
        req = json.loads(body)
        last = req["messages"][-1]["content"]
        parts = last if isinstance(last, list) else [{"type": "text", "text": last}]
        texts, read, infos = [], [], []
        for i, p in enumerate(parts):
            if p.get("type") == "text":
                texts.append(p.get("text", ""))
            elif p.get("type") == "image_url":
                try:
                    raw, info = decode(p["image_url"]["url"])
                except BadImage as e:
                    return await send_json(send, 400, {"error": {"message": f"content part {i}: {e}"}})
                infos.append(info)
                read.append(await read_image(raw))
        text, seen = " ".join(texts), " ".join(read)
        refuse = bool((refuse_if and refuse_if.search(text)) or (image_refuse_if and image_refuse_if.search(seen)))
        answer = REFUSAL if refuse else COMPLIANCE
        if log:
            log.write(json.dumps({"texts": texts, "ocr": read, "images": infos, "answer": answer},
                                 ensure_ascii=False) + "\n")
        await send_json(send, 200, {
            "id": "chatcmpl-vision", "object": "chat.completion", "model": req.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(text.split()) + len(seen.split()),
                      "completion_tokens": len(answer.split()), "total_tokens": 0}})

    return app


def main() -> None:
    """Parse the flags, bind a port, print it and serve."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--workers", type=int, default=2, help="OCR processes at once")
    ap.add_argument("--refuse-if", default=None, help="refuse when this regex is in the text parts")
    ap.add_argument("--image-refuse-if", default=None,
                    help="refuse when this regex is in the text read from the images (default: --refuse-if)")
    args = ap.parse_args()
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(256)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(make_app(args), log_level="warning", access_log=False,
                                           lifespan="on"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
