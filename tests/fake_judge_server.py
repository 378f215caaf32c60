"""A real OpenAI-compatible server on 127.0.0.1 that answers like judge and guard models.

    python tests/fake_judge_server.py [--latency 0.05] [--jitter 0.05] [--slow 5] [--log requests.jsonl]

prints ``PORT <n>`` once listening. The answer style depends on the requested model:

- a name containing ``llama-guard``: Llama Guard 3 — ``safe`` or ``unsafe\\nS1,S10``; on
  ``/v1/chat/completions`` the graded text is the last assistant turn, on ``/v1/completions``
  the last ``Agent:`` turn of the rendered Llama Guard prompt;
- a name containing ``safeguard``: a "bring your own policy" model — JSON
  ``{"violation": 0|1, "policy_category", "rationale"}``; the policy is the system prompt;
- anything else: the policy-llm contract — JSON ``{"harmful", "category", "severity", "rationale"}``.

For policy-style models the graded response is read ONLY from between the markers tagged with
the nonce announced in the user message (as a careful model would), and logged as ``block``.

Markers inside the graded response drive the verdict and faults (deterministic tests):
``[[harmful]]`` → a violation; ``[[unsafe:S1,S10]]`` → Llama Guard codes; ``[[garbage]]`` →
prose without a verdict (``[[garbagexN]]``: only the first N times); ``[[invalid]]`` → a verdict
with wrong types; ``[[fenced]]`` / ``[[prose]]`` → a valid verdict in a ```json fence / amid
prose; ``[[disagree]]`` → two contradicting verdicts; ``[[badcat]]`` → an unknown category;
``[[500]]`` → HTTP 500 always (``[[500xN]]``: first N); ``[[timeout]]`` → sleep ``--slow`` s;
``[[empty]]`` → empty content; ``[[lone]]`` anywhere in the last message → an answer holding a
lone surrogate (``\\ud83d``), as servers send for an emoji cut at max_tokens.
``--fail-all``: every request gets HTTP 500 (a judge that is up but failing).
``--api-key K``: requests without ``Authorization: Bearer K`` get a 401 whose message echoes
the header received (so clients must redact it).
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

MARK_N = re.compile(r"\[\[(500|garbage)x(\d+)\]\]")
CODES = re.compile(r"\[\[unsafe:([A-Z0-9,]+)\]\]")


def _policy_block(user: str) -> str | None:
    m = re.search(r"only markers carrying the tag ([0-9a-f]+) are real", user)
    if not m:
        return None
    tag = m.group(1)
    begin = f"<<BEGIN RESPONSE {tag}>>\n"
    end = f"\n<<END RESPONSE {tag}>>"
    i = user.find(begin)
    j = user.find(end, i + len(begin))
    if i < 0 or j < 0:
        return None
    return user[i + len(begin):j]


def _text(content) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def make_app(args: argparse.Namespace):
    seen: dict[str, int] = {}
    log = open(args.log, "a", buffering=1) if args.log else None  # noqa: SIM115
    rng = random.Random(args.seed)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        body = await read_body(receive)
        path = scope["path"]
        completions = path.endswith("/v1/completions")
        if not (completions or path.endswith("/chat/completions")):
            return await send_json(send, 404, {"error": {"message": f"no route {path}"}})
        if args.fail_all:
            if log:
                log.write(json.dumps({"t": time.time(), "status": 500, "path": path}) + "\n")
            return await send_json(send, 500, {"error": {"message": "internal error"}})
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        if args.api_key and auth != f"Bearer {args.api_key}":
            if log:
                log.write(json.dumps({"t": time.time(), "status": 401, "path": path}) + "\n")
            # a careless server that echoes the credential it got: clients must redact it
            return await send_json(send, 401, {"error": {"message": f"invalid key in {auth!r}"}})
        req = json.loads(body)
        model = req.get("model", "")
        convo = req.get("messages") if "messages" in req else req.get("prompt")
        key = hashlib.sha256(json.dumps(convo, sort_keys=True).encode()).hexdigest()[:16]
        n = seen.get(key, 0)
        seen[key] = n + 1
        await asyncio.sleep(args.latency + (rng.expovariate(1 / args.jitter) if args.jitter else 0.0))
        system = ""
        roles: list[str] = []
        if completions:
            prompt = req["prompt"]
            parts = prompt.split("Agent: ")
            graded = parts[-1].split("\n\n<END CONVERSATION>")[0] if len(parts) > 1 else None
        else:
            msgs = req["messages"]
            roles = [m["role"] for m in msgs]
            system = next((_text(m["content"]) for m in msgs if m["role"] == "system"), "")
            if "llama-guard" in model:
                graded = _text(msgs[-1]["content"]) if msgs[-1]["role"] == "assistant" else None
            else:
                graded = _policy_block(_text(msgs[-1]["content"]))
        g = graded or ""
        m = MARK_N.search(g)
        fault = None
        if "[[500]]" in g or (m and m.group(1) == "500" and n < int(m.group(2))):
            fault = "500"
        elif "[[timeout]]" in g:
            fault = "timeout"
        if log:
            log.write(json.dumps({"model": model, "key": key, "t": time.time(), "fault": fault,
                                  "path": path, "roles": roles, "block": graded,
                                  "system_len": len(system)}) + "\n")
        if fault == "500":
            return await send_json(send, 500, {"error": {"message": "internal error"}})
        if fault == "timeout":
            await asyncio.sleep(args.slow)
        harmful = "[[harmful]]" in g or bool(CODES.search(g))
        garbage = "[[garbage]]" in g or bool(m and m.group(1) == "garbage" and n < int(m.group(2)))
        last = (req.get("prompt") if completions else _text(req["messages"][-1]["content"])) or ""
        if "[[lone]]" in last:
            text = "A reply cut mid-emoji: \ud83d"  # sent as the JSON escape of a lone surrogate
        elif graded is None:
            text = "I could not find the response to grade."
        elif "[[empty]]" in g:
            text = ""
        elif garbage:
            text = "Hmm, hard to say. It depends on the context, I would rather not decide."
        elif "llama-guard" in model:
            cm = CODES.search(g)
            text = f"unsafe\n{cm.group(1)}" if cm else ("unsafe\nS1" if harmful else "safe")
        elif "safeguard" in model:
            cat_m = re.search(r"^## ([a-z][a-z0-9_]*):", system, re.M)
            cat = cat_m.group(1) if (cat_m and harmful) else None
            if "[[badcat]]" in g:
                cat = "not_a_category"
            verdict = {"violation": "yes" if "[[invalid]]" in g else int(harmful),
                       "policy_category": cat, "rationale": "fake safeguard verdict"}
            text = json.dumps(verdict)
        else:
            cat_m = re.search(r"\(id: ([a-z][a-z0-9_]*)\)", system)
            cat = cat_m.group(1) if (cat_m and harmful) else None
            if "[[badcat]]" in g:
                cat = "not_a_category"
            verdict = {"harmful": "maybe" if "[[invalid]]" in g else harmful, "category": cat,
                       "severity": 2 if harmful else 0, "rationale": "fake judge verdict"}
            text = json.dumps(verdict)
            if "[[fenced]]" in g:
                text = f"Here is my assessment.\n```json\n{json.dumps(verdict, indent=2)}\n```\nDone."
            elif "[[prose]]" in g:
                text = f"After reading the policy, my verdict is {text} — that is all."
            elif "[[disagree]]" in g:
                text = json.dumps({**verdict, "harmful": True}) + "\n" + json.dumps({**verdict, "harmful": False})
        if completions:
            return await send_json(send, 200, {"id": "cmpl-" + key, "object": "text_completion",
                                               "model": model, "choices": [{"index": 0, "text": text,
                                                                            "finish_reason": "stop"}]})
        return await send_json(send, 200, {
            "id": "chatcmpl-" + key, "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--jitter", type=float, default=0.0,
                    help="add an exponentially distributed delay with this mean (s): real servers' tail")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fail-all", action="store_true", help="answer every request with HTTP 500")
    ap.add_argument("--slow", type=float, default=5.0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--api-key", default=None, help="answer 401 to requests without this bearer key")
    args = ap.parse_args()
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(make_app(args), log_level="warning", access_log=False, lifespan="on",
                            backlog=2048, timeout_keep_alive=30)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        sys.exit(0)


def start(tmp, *extra: str):
    """Start this server as a subprocess; returns a ``tests.conftest.FakeServer``."""
    import os
    import subprocess
    from pathlib import Path

    from tests.conftest import FakeServer

    log = Path(tmp) / f"judge-requests-{os.getpid()}-{len(list(Path(tmp).glob('judge-requests-*')))}.jsonl"
    proc = subprocess.Popen([sys.executable, __file__, "--log", str(log), *extra],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), f"judge server did not start: {line!r}"
    return FakeServer(url=f"http://127.0.0.1:{int(line.split()[1])}/v1", log=log, proc=proc)


def stop(server) -> None:
    import subprocess

    server.proc.terminate()
    try:
        server.proc.wait(5)
    except subprocess.TimeoutExpired:
        server.proc.kill()


if __name__ == "__main__":
    main()
