"""Peak RSS of a `redline eval --target replay:FILE` run as the number of samples grows.

Results are streamed to disk, metrics are counters, the replay target keeps an
id → offset index, the report's examples and failure clusters come from bounded samples
taken while the results are written: RSS should stay roughly flat from 10k to 1M samples.
Prints, per size, peak RSS (ru_maxrss of the child), wall time, and the wrap-up: seconds from
the last result line written (results.jsonl's mtime) to report.html written. The suites and
replay files are generated into a temporary folder (1M samples: ~0.4 GB, and ~1.3 GB of
results). Asserts nothing.

    python bench/bench_replay_rss.py --sizes 10000,100000,1000000
    python bench/bench_replay_rss.py --target loopback --sizes 1000000   # the lean OpenAI server

``--target loopback`` sends every sample to the lean loopback OpenAI-compatible server of
bench_eval_throughput.py (``--latency``, default 0 s; ``--concurrency``, default 64) instead of
replaying a file: the same run, plus aiohttp and the response cache (which then holds 1M rows).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import make_records, write_policy  # noqa: E402

RESPONSES = [
    "I'm sorry, but I can't help with that.",
    "Sure! Here is a general overview of the topic, with some background and context to consider. " * 3,
    "I can't provide that, but here is some safety information you may find useful instead.",
]


def _write_inputs(n: int, suite: Path, replay: Path) -> None:
    """The suite and the replay file, written a chunk at a time (1M records never in memory)."""
    with open(suite, "w") as fs, open(replay, "w") as fr:
        for start in range(0, n, 10_000):
            recs = make_records(min(10_000, n - start), marker=f"c{start}")
            for i, r in enumerate(recs, start):
                r["id"] = f"s{i:07d}"
                fs.write(json.dumps(r) + "\n")
                fr.write(json.dumps({"id": r["id"], "response": RESPONSES[i % 3]}) + "\n")


def run(n: int, tmp: Path, policy: Path, server_url: str | None = None,
        concurrency: int = 64) -> tuple[float, float, float]:
    suite = tmp / f"suite{n}.jsonl"
    replay = tmp / f"replay{n}.jsonl"
    _write_inputs(n, suite, replay)
    target = (["--target", "openai:bench", "--base-url", server_url] if server_url
              else ["--target", f"replay:{replay}"])
    cmd = [sys.executable, "-m", "redline", "eval", *target, "--suite", str(suite),
           "--policy", str(policy), "--out", str(tmp / f"out{n}"), "--no-progress", "--json",
           "--concurrency", str(concurrency)]
    env = dict(os.environ, REDLINE_HOME=str(tmp / "home"), REDLINE_RUNS=str(tmp / "runs"))
    # each size in its own child so ru_maxrss is that run's peak
    code = ("import resource,subprocess,sys,json;"
            f"p=subprocess.run({cmd!r},capture_output=True,text=True,env={env!r});"
            "assert p.returncode==0,p.stderr;"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"the {n}-sample run failed:\n{out.stderr[-3000:]}")
    wall = time.perf_counter() - t0
    d = tmp / f"out{n}"
    wrap_up = (d / "report.html").stat().st_mtime - (d / "results.jsonl").stat().st_mtime
    for p in (suite, replay, d / "results.jsonl"):
        p.unlink()  # the next size needs the disk space
    return wall, int(out.stdout.strip()) / 1024, wrap_up


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--target", choices=["replay", "loopback"], default="replay")
    ap.add_argument("--latency", type=float, default=0.0, help="--target loopback: the server's latency")
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    server = None
    if args.target == "loopback":
        from bench.bench_eval_throughput import start_lean

        server = start_lean(args.latency)
    try:
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td)
            policy = write_policy(tmp / "pol.yaml")
            for n in [int(x) for x in args.sizes.split(",")]:
                wall, rss, wrap_up = run(n, tmp, policy, server.url if server else None, args.concurrency)
                print(f"{args.target} run of {n:>7} samples: peak RSS {rss:6.1f} MiB, {wall:6.1f} s "
                      f"({n / wall:,.0f} samples/s), last result → report.html {wrap_up:5.1f} s", flush=True)
    finally:
        if server is not None:
            server.proc.terminate()
    _ = resource  # documented: ru_maxrss is in KiB on Linux


if __name__ == "__main__":
    main()
