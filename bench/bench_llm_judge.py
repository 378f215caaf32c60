"""Throughput of the network-bound judges (`redline judge`) against a local judge server.

    python bench/bench_llm_judge.py [--n 400] [--latency 0.05] [--jitter 0] [--runs 3]
                                    [--inprocess-n 0]

Starts tests/fake_judge_server.py (a real HTTP server on 127.0.0.1 that answers like a judge
model after ``--latency`` seconds, plus an exponential delay of mean ``--jitter``: a real
server's latency tail), then times the whole `redline judge` command for ``policy-llm``,
``guard:llama-guard-3`` and ``ensemble:majority`` (the two + a safeguard-style guard) at
several concurrencies, verdict cache off. Prints responses/s (median of --runs) and the client
CPU per response; the ideal is concurrency / mean latency responses/s. Then one run with the
verdict cache warm. With ``--inprocess-n N`` it also times ``judge_file`` (what `redline judge`
runs) in this process over N records — start-up excluded, so the judging loop itself shows.
Nothing is asserted.
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
from tests import fake_judge_server  # noqa: E402
from tests.helpers import write_policy  # noqa: E402


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"redline judge failed: {p.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _inprocess(args: argparse.Namespace, tmp: Path, server: object, policy: Path, mean_latency: float) -> None:
    """``judge_file`` timed in this process (start-up and imports excluded)."""
    from redline.judges.batch import judge_file

    inp = tmp / "in-big.jsonl"
    with open(inp, "w") as f:
        for i in range(args.inprocess_n):
            resp = f"Answer {i}. " + ("Here is how [[harmful]]" if i % 3 == 0 else "I can't help.")
            f.write(json.dumps({"id": i, "prompt": f"prompt {i}", "response": resp,
                                "category": "violent_crimes"}) + "\n")
    url = server.url  # type: ignore[attr-defined]
    print(f"judge_file in-process, {args.inprocess_n} responses, latency {1000 * args.latency:.0f} ms "
          f"+ exp. jitter {1000 * args.jitter:.0f} ms, verdict cache off, median of {args.runs} runs")
    for name, opts in (("policy-llm", {"model": "openai:judge-model"}), ("guard:llama-guard-3", {})):
        for conc in args.concurrency:
            walls = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                judge_file(name, inp, tmp / "out-big.jsonl", options={"base_url": url, **opts},
                           policy=str(policy), concurrency=conc, use_cache=False)
                walls.append(time.perf_counter() - t0)
            rate = args.inprocess_n / statistics.median(walls)
            ideal = conc / mean_latency
            print(f"  {name:<22} concurrency {conc:>3}: {rate:8.1f} responses/s "
                  f"(ideal {ideal:7.1f}; {rate / ideal:.2f} of ideal)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--inprocess-n", type=int, default=0)
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        server = fake_judge_server.start(tmp, "--latency", str(args.latency), "--jitter", str(args.jitter))
        policy = write_policy(tmp / "pol.yaml")
        inp = tmp / "in.jsonl"
        with open(inp, "w") as f:
            for i in range(args.n):
                resp = f"Response number {i}. " + ("Here is how [[harmful]]" if i % 3 == 0 else "I can't help.")
                f.write(json.dumps({"id": i, "prompt": f"prompt {i}", "response": resp,
                                    "category": "violent_crimes"}) + "\n")
        env = dict(os.environ, REDLINE_HOME=str(tmp / "home"))
        judges = {
            "policy-llm": ["--judge", "policy-llm", "--option", "model=openai:judge-model"],
            "guard:llama-guard-3": ["--judge", "guard:llama-guard-3"],
            "ensemble:majority(3)": ["--judge", "ensemble:majority", "--option",
                                     "members=policy-llm,guard:llama-guard-3,guard:safeguard",
                                     "--option", "model=openai:judge-model"],
        }
        mean_latency = args.latency + args.jitter
        try:
            if args.inprocess_n:
                _inprocess(args, tmp, server, policy, mean_latency)
            if args.skip_cli:
                return
            print(f"{args.n} responses, judge server latency {1000 * args.latency:.0f} ms "
                  f"+ exp. jitter {1000 * args.jitter:.0f} ms, median of {args.runs} runs "
                  "(whole `redline judge` command, start-up included)")
            for name, jargs in judges.items():
                for conc in args.concurrency:
                    walls, cpus = [], []
                    for r in range(args.runs):
                        out = tmp / f"out-{r}.jsonl"
                        wall, cpu = _run(["judge", *jargs, "--option", f"base_url={server.url}",
                                          "--policy", str(policy), "--input", str(inp), "--output", str(out),
                                          "--concurrency", str(conc), "--no-cache", "--no-progress"], env)
                        walls.append(wall)
                        cpus.append(cpu)
                    w = statistics.median(walls)
                    ideal = conc / mean_latency
                    print(f"  {name:<22} concurrency {conc:>3}: {args.n / w:8.1f} responses/s "
                          f"(ideal {min(ideal, 1e9):7.1f}), client CPU {1000 * statistics.median(cpus) / args.n:.2f} ms/response")
            # warm verdict cache: the second pass asks nothing
            cargs = ["judge", *judges["policy-llm"], "--option", f"base_url={server.url}", "--policy",
                     str(policy), "--input", str(inp), "--output", str(tmp / "c.jsonl"), "--no-progress"]
            _run(cargs, env)
            wall, cpu = _run(cargs, env)
            print(f"  policy-llm, verdict cache warm: {args.n / wall:8.1f} responses/s, "
                  f"client CPU {1000 * cpu / args.n:.2f} ms/response")
        finally:
            fake_judge_server.stop(server)


if __name__ == "__main__":
    main()
