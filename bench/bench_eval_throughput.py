"""Throughput of the whole `redline eval` command against a loopback OpenAI-compatible server.

1,000 and 5,000 samples (``--samples``, comma-separated), 100 ms server latency, concurrency
64: the limit is samples × 0.1 / 64 (1.56 s and 7.8 s). Prints, per size, wall time (median of
--runs), the fraction of the limit reached, and the client's CPU time per sample (which swings
less than wall time on a shared machine). Start-up, judging, the report (with its failure
clusters) and the database are all included: the timed thing is the CLI process. Nothing is
asserted. Compare before/after in the same sitting.

Each timed run writes to a workspace that already exists (``REDLINE_HOME`` made by an untimed
warm-up run of 10 samples): a team's second run onwards, whose database is at the current
schema. ``--fresh-workspace`` gives every run a new one instead (its database is created and
stamped during the run: the first run on a machine). Every run has prompts of its own, so no
response comes from the cache either way.
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
    ap.add_argument("--samples", default="1000,5000", help="comma-separated sizes")
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fresh-workspace", action="store_true",
                    help="a new REDLINE_HOME for every run (default: one, made by a warm-up run)")
    ap.add_argument("--server", choices=["lean", "uvicorn"], default="lean",
                    help="lean: bench/_lean_server.py (asyncio Protocol, ~1.5 ms own latency); "
                         "uvicorn: the tests' fake server (~3 ms own latency)")
    args = ap.parse_args()
    lines = [measure(args, int(n)) for n in args.samples.split(",")]
    print()
    for line in lines:
        print(line)


def measure(args: argparse.Namespace, samples: int) -> str:
    limit = samples * args.latency / args.concurrency
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        if args.server == "lean":
            server = start_lean(args.latency)
        else:
            server = start_server(tmp, "--latency", str(args.latency))
        policy = write_policy(tmp / "pol.yaml")
        try:
            if not args.fresh_workspace:  # untimed: creates the workspace the timed runs use
                warm = write_suite(tmp / "warm.jsonl", make_records(10, marker="warm-up"))
                subprocess.run([sys.executable, "-m", "redline", "eval", "--target", "openai:bench",
                                "--base-url", server.url, "--suite", str(warm), "--policy", str(policy),
                                "--out", str(tmp / "warm"), "--no-progress", "--json"], check=True,
                               capture_output=True, env=dict(os.environ, REDLINE_HOME=str(tmp / "home"),
                                                             REDLINE_RUNS=str(tmp / "runs")))
            for i in range(args.runs):
                suite = write_suite(tmp / f"suite{i}.jsonl", make_records(samples, marker=f"run{i}"))
                home = tmp / (f"home{i}" if args.fresh_workspace else "home")
                env = dict(os.environ, REDLINE_HOME=str(home), REDLINE_RUNS=str(tmp / "runs"))
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
                assert s["metrics"]["overall"]["samples"] == samples
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                walls.append(wall)
                cpus.append(cpu)
                print(f"{samples} samples, run {i + 1}: {wall:.2f} s wall, {limit / wall:.2f} of the limit, "
                      f"client CPU {1000 * cpu / samples:.2f} ms/sample, "
                      f"peak RSS {after.ru_maxrss / 1024:.0f} MiB")
        finally:
            server.proc.terminate()
    w = statistics.median(walls)
    return (f"server={args.server} samples={samples} latency={args.latency}s concurrency={args.concurrency} "
            f"workspace={'fresh' if args.fresh_workspace else 'existing'} "
            f"limit={limit:.2f}s: median wall {w:.2f} s → {limit / w:.2f} of the limit; "
            f"median client CPU {1000 * statistics.median(cpus) / samples:.2f} ms/sample "
            f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
