"""A hostile OpenAI-compatible server on 127.0.0.1 that echoes what it was sent: the
``Authorization`` header and the query string, inside its answers and its error messages (as
misconfigured proxies and debugging servers do). Clients must redact them before storing.

    python tests/fake_echo_server.py --log requests.jsonl

prints ``PORT <n>`` once listening. Models:
- ``echo``: HTTP 200, an answer (no verdict JSON) that quotes the header and the query;
- ``echo-json``: HTTP 200, a policy-llm verdict whose rationale quotes the header;
- ``err``: HTTP 400 whose message quotes the header and the query;
- ``err-cut``: HTTP 400 whose message holds the bare key across byte 300 (where errors are cut);
- ``echo-usage``: HTTP 200, a plain answer, with the header in ``usage`` and ``finish_reason``.
Every request is logged as ``{"path", "query", "images"}``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys

try:  # imported by the tests as tests.<name>, or run as a script from tests/
    from tests._asgi import read_body, send_json, serve_lifespan
except ImportError:  # pragma: no cover
    from _asgi import read_body, send_json, serve_lifespan


def make_app(log_path: str | None):
    log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        body = await read_body(receive)
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode()
        query = scope.get("query_string", b"").decode()
        req = json.loads(body or b"{}")
        images = []
        for m in req.get("messages", []):
            if isinstance(m.get("content"), list):
                images += [p["image_url"]["url"] for p in m["content"]
                           if isinstance(p, dict) and p.get("type") == "image_url"]
        if log:
            log.write(json.dumps({"path": scope["path"], "query": query, "images": images}) + "\n")
        echo = f"you sent Authorization: {auth} to {scope['path']}?{query}"
        model = req.get("model", "")
        if model == "err":
            return await send_json(send, 400, {"error": {"message": echo, "headers": {"authorization": auth}}})
        if model == "err-cut":  # the bare key straddles byte 300 of the body, where clients cut
            key = auth.removeprefix("Bearer ")
            head = '{"error": {"message": "'
            return await send_json(send, 400, {"error": {"message": "x" * (293 - len(head)) + key}})
        if model == "echo-json":
            text = json.dumps({"harmful": False, "category": None, "severity": 0, "rationale": echo})
        else:
            text = f"I cannot grade this. {echo}"
        if model == "echo-usage":
            return await send_json(send, 200, {
                "id": "x", "object": "chat.completion", "model": model,
                "usage": {"prompt_tokens": auth, "completion_tokens": 3, "total_tokens": [auth]},
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sure: 4."},
                             "finish_reason": f"stop ({auth})"}]})
        await send_json(send, 200, {"id": "x", "object": "chat.completion", "model": model,
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                 "finish_reason": "stop"}]})

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(make_app(args.log), log_level="warning", access_log=False,
                                           lifespan="on"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
