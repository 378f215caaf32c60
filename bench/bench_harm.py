"""Throughput + peak RSS of the offline harm judge (pure Python, one thread).

    python bench/bench_harm.py [--n 2000] [--runs 5]

Each item is a (prompt, response) pair: prompts from the built-in ``core`` suite (harmful and
benign), responses from the same length mix as ``bench_refusal.py`` (team-written synthetic
responses padded to 50-300 words, 15% short, 5% of 1,000-3,000 words), judged as ``redline
eval`` judges them (with the suite's sample: its expectation and category are known) and, on
the last line, with the prompt alone (``redline judge``: the category model runs too). Prints
responses/s (median of --runs, wall clock and CPU time), load time and peak RSS. No assertions.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_refusal import make_mix  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    from redline.judges.harm import HarmJudge

    judge = HarmJudge()
    load_s = time.perf_counter() - t0
    from redline.data.schema import Sample

    rng = random.Random(1)
    core = [json.loads(line) for line in
            (ROOT / "src" / "redline" / "packs" / "suites" / "core.jsonl").read_text().splitlines()]
    samples = [Sample(id=str(i), prompt=c["prompt"], category=c["category"], expected=c["expected"])
               for i, c in enumerate(core)]
    pairs = [(rng.choice(samples), r) for r in make_mix(args.n)]
    for s, r in pairs[:50]:  # warm-up
        judge.judge(s, None, r)
    rates, cpu_rates = [], []
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for s, r in pairs:
            judge.judge(s, None, r)
        rates.append(len(pairs) / (time.perf_counter() - t0))
        cpu_rates.append(len(pairs) / (time.process_time() - c0))
    c0 = time.process_time()
    for s, r in pairs:
        judge.judge(None, s.prompt_text, r)
    prompt_only = len(pairs) / (time.process_time() - c0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        peak_kb //= 1024
        base_kb //= 1024
    print(f"judge harm {judge.version}; load {load_s * 1000:.0f} ms (harm + refusal artefacts)")
    print(f"{len(pairs)} (prompt, response) pairs; prompts from the core suite, responses as bench_refusal.py")
    med = statistics.median(rates)
    print(f"throughput: {med:,.0f} responses/s (median of {args.runs}; min {min(rates):,.0f}, "
          f"max {max(rates):,.0f}) = {1e6 / med:.0f} us/response")
    print(f"CPU-time throughput: {statistics.median(cpu_rates):,.0f} responses/s per core (median of {args.runs})")
    print(f"prompt only (no sample; + category model): {prompt_only:,.0f} responses/s per core (CPU time, 1 run)")
    print(f"peak RSS: {peak_kb / 1024:.1f} MiB (interpreter before loading: {base_kb / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
