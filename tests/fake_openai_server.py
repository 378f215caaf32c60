"""A real OpenAI-compatible chat-completions server for tests and benchmarks.

Runs on 127.0.0.1 under uvicorn (a raw ASGI app, so the server costs little
CPU). Started as a subprocess:

    python tests/fake_openai_server.py --latency 0.1 --log requests.jsonl

prints ``PORT <n>`` on stdout once it is listening.

Fault injection is driven by markers in the last user message, so tests are
deterministic:
- ``[[429xN]]`` → HTTP 429 with ``Retry-After`` for the first N requests of that prompt
- ``[[500xN]]`` → HTTP 500 for the first N requests
- ``[[timeoutxN]]`` → sleep ``--slow`` seconds (past the client's timeout) for the first N
- ``[[400]]`` → HTTP 400 always; ``[[empty]]`` → an empty completion
- ``[[refuse]]`` / ``[[comply]]`` force the answer's style; ``[[echo]]`` answers with the prompt
- ``[[refusalfield]]`` → OpenAI's structured refusal: ``content: null`` and ``refusal`` set
Without a marker, ``--refuse-if REGEX`` then ``--comply-if REGEX`` (searched in the last user
message, case-insensitive; the first that matches wins) choose the answer's style, so two
servers can play two models that differ by category; otherwise the style follows a hash of the
messages.
``--script FILE`` (JSON: a list of rules ``{"system": REGEX, "user": REGEX, "reply": TEXT}``)
scripts replies by role-play: the first rule whose ``system`` regex matches the request's system
message ("" when there is none) and whose ``user`` regex matches its last user message (a
missing regex matches anything) answers with ``reply``, in which ``{turn}`` is the number of user
messages, ``{seed}`` the request's seed and ``{hash}`` a short hash of the messages. One server
can so play attacker, judge and target; requests no rule matches get the answers above.
``--api-key K`` makes every request without ``Authorization: Bearer K`` a 401.
``--fail-rate P`` answers a random fraction P of all requests with 429/500.
Every request is appended to ``--log`` as ``{"key", "status", "t"}`` where
key is a hash of the messages.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import socket
import sys
import time

try:  # imported by the tests as tests.<name>, or run as a script from tests/
    from tests._asgi import read_body, send_json, serve_lifespan
except ImportError:  # pragma: no cover
    from _asgi import read_body, send_json, serve_lifespan

REFUSAL = "I'm sorry, but I can't help with that request. If you are in danger, please contact local emergency services."
COMPLIANCE = ("Sure, here is an overview. First, it helps to understand the background of the topic. "
              "Second, consider the main points in order: 1. the context, 2. the options, 3. the "
              "trade-offs. Finally, summarise what you learned.")
MARK = re.compile(r"\[\[(429|500|timeout)x(\d+)\]\]")


def make_app(args: argparse.Namespace):
    seen: dict[str, int] = {}
    log = open(args.log, "a", buffering=1) if args.log else None  # noqa: SIM115
    rng = random.Random(args.seed)
    comply_if = re.compile(args.comply_if, re.I) if args.comply_if else None
    refuse_if = re.compile(args.refuse_if, re.I) if args.refuse_if else None
    script = []
    if args.script:
        with open(args.script) as f:
            for rule in json.load(f):
                script.append((re.compile(rule.get("system", ""), re.I | re.S),
                               re.compile(rule.get("user", ""), re.I | re.S), rule["reply"]))

    def scripted(msgs: list, last: str, key: str, seed) -> str | None:
        system = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else ""
        system = system if isinstance(system, str) else ""
        for sys_rx, user_rx, reply in script:
            if sys_rx.search(system) and user_rx.search(last):
                turns = sum(1 for m in msgs if m["role"] == "user")
                return (reply.replace("{turn}", str(turns)).replace("{seed}", str(seed))
                        .replace("{hash}", key[:6]))
        return None

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        body = await read_body(receive)
        path = scope["path"]
        if scope["method"] == "GET" and path.endswith("/models"):
            return await send_json(send, 200, {"data": [{"id": "fake-model"}]})
        if not path.endswith("/chat/completions"):
            return await send_json(send, 404, {"error": {"message": f"no route {path}"}})
        if args.api_key:
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            if auth != f"Bearer {args.api_key}":
                return await send_json(send, 401, {"error": {"message": "invalid api key"}})
        req = json.loads(body)
        msgs = req["messages"]
        key = hashlib.sha256(json.dumps(msgs, sort_keys=True).encode()).hexdigest()[:16]
        last = msgs[-1]["content"]
        images = []
        if isinstance(last, list):
            images = [p["image_url"]["url"] for p in last if isinstance(p, dict) and p.get("type") == "image_url"]
            last = " ".join(p.get("text", "") for p in last if isinstance(p, dict))
        n = seen.get(key, 0)
        seen[key] = n + 1
        status = 200
        await asyncio.sleep(args.latency)
        m = MARK.search(last)
        fault = None
        if m and n < int(m.group(2)):
            fault = m.group(1)
        elif args.fail_rate and rng.random() < args.fail_rate:
            fault = rng.choice(["429", "500"])
        if "[[400]]" in last:
            status = 400
            resp = {"error": {"message": "bad request: context length exceeded"}}
        elif fault == "429":
            status = 429
            resp = {"error": {"message": "rate limited"}}
        elif fault == "500":
            status = 500
            resp = {"error": {"message": "internal error"}}
        elif fault == "timeout":
            await asyncio.sleep(args.slow)
            status = 200
            resp = None
        else:
            resp = None
        if log:
            log.write(json.dumps({"key": key, "status": status, "t": time.time(), "fault": fault,
                                 "images": images, "n_messages": len(msgs)}) + "\n")
        if status == 429:
            return await send_json(send, 429, resp, [(b"retry-after", b"0.05")])
        if status != 200:
            return await send_json(send, status, resp)
        text = scripted(msgs, last, key, req.get("seed")) if script else None
        if text is not None:
            pass
        elif "[[empty]]" in last:
            text = ""
        elif "[[refuse]]" in last:
            text = REFUSAL
        elif "[[comply]]" in last:
            text = COMPLIANCE
        elif "[[echo]]" in last:
            text = last  # the prompt back: lets tests put judge markers into a response
        elif refuse_if is not None and refuse_if.search(last):
            text = REFUSAL
        elif comply_if is not None and comply_if.search(last):
            text = COMPLIANCE
        else:
            text = REFUSAL if int(key, 16) % 2 else COMPLIANCE
        message = {"role": "assistant", "content": text}
        if "[[refusalfield]]" in last:
            message = {"role": "assistant", "content": None, "refusal": REFUSAL}
        await send_json(send, 200, {
            "id": "chatcmpl-" + key, "object": "chat.completion", "model": req.get("model"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(last.split()), "completion_tokens": len(text.split()),
                      "total_tokens": len(last.split()) + len(text.split())},
        })

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--slow", type=float, default=5.0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--comply-if", default=None, help="comply when this regex is in the last user message")
    ap.add_argument("--refuse-if", default=None, help="refuse when this regex is in the last user message")
    ap.add_argument("--script", default=None, help="JSON rules of scripted replies by role-play")
    args = ap.parse_args()
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(make_app(args), log_level="warning", access_log=False, lifespan="on",
                            backlog=2048, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
