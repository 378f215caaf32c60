"""Start-up of `redline eval`: from process start to the first request at a loopback server.

A small threaded HTTP server in this process answers OpenAI chat requests and stamps the
arrival of each run's first request. For each run, ``python -m redline eval`` (one sample,
an OpenAI-compatible target at that server) is started and timed:

* ``spawn → first request``: what a user waits before the first request leaves;
* ``interpreter``: a bare ``python -c pass`` (the part Redline cannot change);
* ``import → first request``: the difference, i.e. Redline's own start-up (imports, policy,
  suite, judges, target, run directory) up to the first request.

Then one ``python -X importtime`` run of the same command prints the slowest top-level imports,
split into those before the first request and those after (the after ones are the wrap-up:
summary, report, database). Medians of ``--runs`` runs; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import make_records, write_policy, write_suite  # noqa: E402

FIRST: list[float] = []  # arrival time (time.time()) of each request
CPU_AT_FIRST: list[float] = []  # the client's CPU seconds (user + system) when its first request came
CLIENT: dict[str, int] = {}


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc; 10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Handler(BaseHTTPRequestHandler):
    """Answers every POST with a short refusal, and stamps its arrival."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        FIRST.append(time.time())
        if len(FIRST) == 1 and "pid" in CLIENT:
            try:
                CPU_AT_FIRST.append(_cpu_of(CLIENT["pid"]))
            except (OSError, IndexError, ValueError):
                pass
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        body = json.dumps({"id": "x", "object": "chat.completion", "model": "bench", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "I'm sorry, I can't help with that."},
             "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 9}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def eval_cmd(tmp: Path, url: str, i: int, suite: Path, policy: Path) -> list[str]:
    return ["-m", "redline", "eval", "--target", "openai:bench", "--base-url", url, "--suite", str(suite),
            "--policy", str(policy), "--out", str(tmp / f"out{i}"), "--no-progress", "--json",
            "--concurrency", "1"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    firsts, bares, wholes = [], [], []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        policy = write_policy(tmp / "pol.yaml")
        env = dict(os.environ, REDLINE_HOME=str(tmp / "home"), REDLINE_RUNS=str(tmp / "runs"))
        for i in range(args.runs):
            t0 = time.time()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bares.append(time.time() - t0)
            suite = write_suite(tmp / f"suite{i}.jsonl", make_records(1, marker=f"run{i}"))
            FIRST.clear()
            t0 = time.time()
            proc = subprocess.Popen([sys.executable, *eval_cmd(tmp, url, i, suite, policy)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            CLIENT["pid"] = proc.pid
            _, err = proc.communicate()
            end = time.time()
            CLIENT.clear()
            if proc.returncode != 0 or not FIRST:
                sys.exit(f"eval failed: {err}")
            firsts.append(FIRST[0] - t0)
            wholes.append(end - t0)
            cpu = f", CPU until then {CPU_AT_FIRST[-1]:.2f} s" if len(CPU_AT_FIRST) == i + 1 else ""
            print(f"run {i + 1}: first request after {FIRST[0] - t0:.3f} s{cpu}, whole command {end - t0:.3f} s")

        # one importtime run: which imports come before the first request, which after
        suite = write_suite(tmp / "suite_it.jsonl", make_records(1, marker="importtime"))
        FIRST.clear()
        proc = subprocess.Popen([sys.executable, "-X", "importtime", *eval_cmd(tmp, url, 99, suite, policy)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stderr is not None
        before: list[tuple[int, str]] = []
        after: list[tuple[int, str]] = []
        for line in proc.stderr:  # stderr is line-buffered: a line's arrival time is its import's
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cum, name = line.split("|")
            if name.startswith(" " * 2) or not cum.strip().isdigit():  # nested: counted in its parent
                continue
            (after if FIRST else before).append((int(cum), name.strip()))
        proc.wait()
    server.shutdown()

    bare = statistics.median(bares)
    first = statistics.median(firsts)
    print(f"\nmedians of {args.runs} runs ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}):")
    print(f"  spawn → first request     {first:.3f} s")
    print(f"  bare interpreter          {bare:.3f} s")
    print(f"  import → first request    {first - bare:.3f} s   (goal ≤ 0.3 s)")
    if CPU_AT_FIRST:  # wall time swings with the machine's load; CPU time much less
        print(f"  client CPU at first request {statistics.median(CPU_AT_FIRST):.2f} s (user + system; "
              "includes the interpreter's start)")
    print(f"  whole 1-sample command    {statistics.median(wholes):.3f} s")
    for label, rows in (("before the first request", before), ("after the first request", after)):
        total = sum(c for c, _ in rows)
        print(f"\ntop-level imports {label}: {total / 1e6:.3f} s in all; slowest:")
        for cum, name in sorted(rows, reverse=True)[:args.top]:
            print(f"  {cum / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
