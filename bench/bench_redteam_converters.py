"""Throughput of a converter-only `redline redteam` run vs plain `redline eval` on as many items.

Both commands run as a CLI process against bench/_lean_server.py (loopback, --latency), each with
a fresh workspace (no cache hits), the default judges and --concurrency. The red-team run plans
G goals × (none + the --converter chains) work items; the plain run gets a suite of exactly that
many samples. Prints samples/s of each run and the medians of --runs. Nothing is asserted.

Measured (shared 2-core machine, 200 goals × 4 chains = 800 items, 20 ms latency, concurrency
64, medians of 3): redteam 25 samples/s, eval 37 samples/s. `redline eval` of the planned suite
file itself is as slow as the redteam run: the judges read longer (encoded, framed) prompts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_eval_throughput import start_lean  # noqa: E402
from tests.helpers import make_records, write_policy, write_suite  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:4])}: {p.stderr[-2000:]}")
    return wall, json.loads(p.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals", type=int, default=500)
    ap.add_argument("--converter", default="base64,roleplay,hex+refusal_suppression")
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    chains = 1 + len(args.converter.split(","))
    items = args.goals * chains
    rt_rates, ev_rates = [], []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        server = start_lean(args.latency)
        policy = write_policy(tmp / "pol.yaml")
        common = ["--target", "openai:bench", "--base-url", server.url, "--policy", str(policy),
                  "--concurrency", str(args.concurrency), "--no-progress", "--json"]
        try:
            for i in range(args.runs):
                goals = write_suite(tmp / f"goals{i}.jsonl", make_records(args.goals, marker=f"rt{i}"))
                plain = write_suite(tmp / f"plain{i}.jsonl", make_records(items, marker=f"ev{i}"))
                env = dict(os.environ, REDLINE_HOME=str(tmp / f"home{i}"), REDLINE_RUNS=str(tmp / "runs"))
                w_rt, s = timed([sys.executable, "-m", "redline", "redteam", "--suite", str(goals),
                                 "--converter", args.converter, "--out", str(tmp / f"rt{i}"), *common], env)
                assert s["metrics"]["overall"]["samples"] == items, s["metrics"]["overall"]
                w_ev, s = timed([sys.executable, "-m", "redline", "eval", "--suite", str(plain),
                                 "--out", str(tmp / f"ev{i}"), *common], env)
                assert s["metrics"]["overall"]["samples"] == items
                rt_rates.append(items / w_rt)
                ev_rates.append(items / w_ev)
                print(f"run {i + 1}: redteam {items} items {w_rt:.2f} s ({items / w_rt:.0f} samples/s); "
                      f"eval {items} samples {w_ev:.2f} s ({items / w_ev:.0f} samples/s)")
        finally:
            server.proc.terminate()
    rt, ev = statistics.median(rt_rates), statistics.median(ev_rates)
    print(f"\ngoals={args.goals} chains={chains} items={items} latency={args.latency}s "
          f"concurrency={args.concurrency} runs={args.runs}")
    print(f"median: redteam (converters only) {rt:.0f} samples/s · eval {ev:.0f} samples/s · ratio {rt / ev:.2f}")


if __name__ == "__main__":
    main()
