"""A minimal OpenAI-compatible HTTP/1.1 server for throughput benchmarks.

uvicorn + an ASGI app (tests/fake_openai_server.py) adds ~2-3 ms of latency per
request on this 2-core machine, which alone caps a client at ~0.96 of the
theoretical limit. This server answers from an asyncio Protocol with keep-alive
and nothing else, so the benchmark measures the client. It runs under uvloop
when available. Prints ``PORT <n>``. Half the prompts (by hash) get a refusal,
half a compliance.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = ("Sure, here is an overview. First, the background of the topic. Then the main points: "
              "1. the context, 2. the options, 3. the trade-offs. Finally, a short summary.")


def response_for(body: bytes) -> bytes:
    req = json.loads(body)
    last = req["messages"][-1]["content"]
    h = int(hashlib.sha256(str(last).encode()).hexdigest()[:8], 16)
    text = REFUSAL if h % 2 else COMPLIANCE
    return json.dumps({
        "id": "x", "object": "chat.completion", "model": req.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }).encode()


class Proto(asyncio.Protocol):
    latency = 0.1

    def connection_made(self, transport):  # type: ignore[override]
        self.t = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            out = response_for(body)
            msg = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                   + str(len(out)).encode() + b"\r\n\r\n" + out)
            asyncio.get_running_loop().call_later(self.latency, self._send, msg)

    def _send(self, msg: bytes) -> None:
        if not self.t.is_closing():
            self.t.write(msg)


async def serve(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = await asyncio.get_running_loop().create_server(Proto, sock=sock)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.1)
    args = ap.parse_args()
    Proto.latency = args.latency
    try:
        import uvloop

        uvloop.run(serve(args.port))
    except ImportError:
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
