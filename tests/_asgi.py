"""Raw-ASGI plumbing shared by the tests' fake HTTP servers (run as scripts or imported)."""

from __future__ import annotations

import json


async def send_json(send, status: int, obj: dict, headers: list | None = None) -> None:
    body = json.dumps(obj).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])})
    await send({"type": "http.response.body", "body": body})


async def serve_lifespan(receive, send) -> None:
    """Answer uvicorn's lifespan protocol until shutdown."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive) -> bytes:
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            return body
