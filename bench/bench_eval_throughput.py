"""Throughput of the whole `redline eval` command against a loopback OpenAI-compatible server.

5,000 samples, 100 ms server latency, concurrency 64: the limit is
5000 × 0.1 / 64 = 7.8 s. Prints wall time (median of --runs), the fraction of
the limit reached, and the client's CPU time per sample. Start-up, judging,
the report and the database are all included: the timed thing is the CLI
process. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.conftest import FakeServer, start_server  # noqa: E402

LEAN = Path(__file__).with_name("_lean_server.py")


def start_lean(latency: float) -> FakeServer:
    proc = subprocess.Popen([sys.executable, str(LEAN), "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return FakeServer(url=f"http://127.0.0.1:{port}/v1", log=Path("/dev/null"), proc=proc)
from tests.helpers import make_records, write_policy, write_suite  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--server", choices=["lean", "uvicorn"], default="lean",
                    help="lean: bench/_lean_server.py (asyncio Protocol, ~1.5 ms own latency); "
                         "uvicorn: the tests' fake server (~3 ms own latency)")
    args = ap.parse_args()
    limit = args.samples * args.latency / args.concurrency
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        if args.server == "lean":
            server = start_lean(args.latency)
        else:
            server = start_server(tmp, "--latency", str(args.latency))
        policy = write_policy(tmp / "pol.yaml")
        try:
            for i in range(args.runs):
                suite = write_suite(tmp / f"suite{i}.jsonl", make_records(args.samples, marker=f"run{i}"))
                env = dict(os.environ, REDLINE_HOME=str(tmp / f"home{i}"), REDLINE_RUNS=str(tmp / "runs"))
                cmd = [sys.executable, "-m", "redline", "eval", "--target", "openai:bench",
                       "--base-url", server.url, "--suite", str(suite), "--policy", str(policy),
                       "--out", str(tmp / f"out{i}"), "--concurrency", str(args.concurrency),
                       "--no-progress", "--json"]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if p.returncode != 0:
                    sys.exit(f"eval failed: {p.stderr}")
                s = json.loads(p.stdout)
                assert s["metrics"]["overall"]["samples"] == args.samples
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                walls.append(wall)
                cpus.append(cpu)
                print(f"run {i + 1}: {wall:.2f} s wall, {limit / wall:.2f} of the limit, "
                      f"client CPU {1000 * cpu / args.samples:.2f} ms/sample, "
                      f"peak RSS {after.ru_maxrss / 1024:.0f} MiB")
        finally:
            server.proc.terminate()
    w = statistics.median(walls)
    print(f"\nserver={args.server} samples={args.samples} latency={args.latency}s concurrency={args.concurrency} "
          f"limit={limit:.2f}s")
    print(f"median wall {w:.2f} s → {limit / w:.2f} of the limit; "
          f"median client CPU {1000 * statistics.median(cpus) / args.samples:.2f} ms/sample")


if __name__ == "__main__":
    main()
