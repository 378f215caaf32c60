"""Peak RSS of a `redline eval --target replay:FILE` run as the number of samples grows.

Results are streamed to disk, metrics are counters, the replay target keeps an
id → offset index: RSS should stay roughly flat from 10k to 100k samples.
Prints peak RSS (ru_maxrss of the child) and wall time per size. Asserts nothing.
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
from tests.helpers import make_records, write_policy, write_suite  # noqa: E402

RESPONSES = [
    "I'm sorry, but I can't help with that.",
    "Sure! Here is a general overview of the topic, with some background and context to consider. " * 3,
    "I can't provide that, but here is some safety information you may find useful instead.",
]


def run(n: int, tmp: Path, policy: Path) -> tuple[float, float]:
    recs = make_records(n)
    suite = write_suite(tmp / f"suite{n}.jsonl", recs)
    replay = tmp / f"replay{n}.jsonl"
    with open(replay, "w") as f:
        for i, r in enumerate(recs):
            f.write(json.dumps({"id": r["id"], "response": RESPONSES[i % 3]}) + "\n")
    cmd = [sys.executable, "-m", "redline", "eval", "--target", f"replay:{replay}", "--suite", str(suite),
           "--policy", str(policy), "--out", str(tmp / f"out{n}"), "--no-progress", "--json",
           "--concurrency", "64"]
    env = dict(os.environ, REDLINE_HOME=str(tmp / "home"), REDLINE_RUNS=str(tmp / "runs"))
    # each size in its own child so ru_maxrss is that run's peak
    code = ("import resource,subprocess,sys,json;"
            f"p=subprocess.run({cmd!r},capture_output=True,text=True,env={env!r});"
            "assert p.returncode==0,p.stderr;"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, int(out.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        policy = write_policy(tmp / "pol.yaml")
        for n in [int(x) for x in args.sizes.split(",")]:
            wall, rss = run(n, tmp, policy)
            print(f"replay run of {n:>7} samples: peak RSS {rss:6.1f} MiB, {wall:6.1f} s "
                  f"({n / wall:,.0f} samples/s)")
    _ = resource  # documented: ru_maxrss is in KiB on Linux


if __name__ == "__main__":
    main()
