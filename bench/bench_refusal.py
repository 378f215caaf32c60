"""Throughput + peak RSS of the offline refusal classifier (pure Python).

    python bench/bench_refusal.py [--n 2000] [--runs 5]

Prints responses/s (median of --runs; wall clock and CPU time) over a mix of response lengths
(short refusals, 50-300 word answers, a few very long ones), plus load time
and peak RSS.  No assertions on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_refusal_model", ROOT / "src" / "redline" / "judges" / "_refusal_model.py")
rm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rm)

SYNTH = ROOT / "training" / "refusal" / "synthetic.jsonl"


def make_mix(n: int, seed: int = 0) -> list[str]:
    """Single responses built from the team-written synthetic set: each item is one
    synthetic response (refusal, partial or compliance), padded where needed with
    benign how-to paragraphs to reach its target length.  15% short (as written),
    80% typical (50-300 words), 5% very long (1000-3000 words; the model caps the
    text it examines at 1500 + 500 chars)."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in SYNTH.read_text(encoding="utf-8").splitlines() if line.strip()]
    pool = [r["text"] for r in rows]
    filler = [r["text"] for r in rows if r["source"] == "compose:benign"]
    short = [t for t in pool if len(t.split()) <= 30]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.15:
            out.append(rng.choice(short))
            continue
        lo, hi = (50, 300) if r < 0.95 else (1000, 3000)
        target = rng.randint(lo, hi)
        head = rng.choice(pool)
        parts, words = [head], len(head.split())
        while words < target:
            t = rng.choice(filler)
            parts.insert(rng.randint(0, len(parts)), t) if rng.random() < 0.3 else parts.append(t)
            words += len(t.split())
        out.append("\n\n".join(parts))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model = rm.RefusalModel.load()
    load_s = time.perf_counter() - t0
    texts = make_mix(args.n)
    words = [len(t.split()) for t in texts]
    for t in texts[:50]:  # warm-up
        model.predict(t)
    rates = []
    cpu_rates = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for t in texts:
            model.predict(t)
        rates.append(len(texts) / (time.perf_counter() - t0))
        cpu_rates.append(len(texts) / (time.process_time() - c0))
    typical = [t for t, w in zip(texts, words, strict=False) if 50 <= w <= 300]
    t0 = time.perf_counter()
    for t in typical:
        model.predict(t)
    typ_rate = len(typical) / (time.perf_counter() - t0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        peak_kb //= 1024
    print(f"model {model.version}; load {load_s * 1000:.0f} ms")
    print(f"mix of {len(texts)} responses (median {statistics.median(words):.0f} words, max {max(words)})")
    print(f"throughput: {statistics.median(rates):,.0f} responses/s (median of {args.runs}; "
          f"min {min(rates):,.0f}, max {max(rates):,.0f}) = {1e6 / statistics.median(rates):.0f} us/response")
    print(f"CPU-time throughput (less sensitive to other processes on a shared machine): "
          f"{statistics.median(cpu_rates):,.0f} responses/s per core (median of {args.runs})")
    print(f"typical 50-300 word responses only: {typ_rate:,.0f} responses/s")
    print(f"peak RSS: {peak_kb / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
