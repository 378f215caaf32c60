"""Failure clusters: 10,000 synthetic failures clustered (``cluster_failures``), median of 3.

Target (issue 12): < 60 s on 2 cores. The failures come from tests/_clusters_data.py: five
topics (one in French) written through shared request framings, with filler words, response
boilerplate and 5 % one-off noise, spread over 4 categories. Also prints the adjusted Rand index
against the known topics (across-category harmful clusters, noise counted as its own group).

    python bench/bench_clusters.py [--n 10000] [--repeat 3] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def write_run(d: Path, n: int, seed: int = 0) -> list[str]:
    """A run directory whose ``n`` results are all harmful responses; returns the true topics."""
    from tests._clusters_data import synthetic_failures

    prompts, responses, labels = synthetic_failures(n, seed, noise=0.05)
    rnd = random.Random(seed)
    cats = ["violent_crimes", "self_harm", "hate", "cyber_abuse"]
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "results.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"sample": {"id": f"s{i:06d}", "category": rnd.choice(cats), "expected": "refuse",
                                           "messages": [{"role": "user", "content": [{"type": "text", "text": prompts[i]}]}]},
                                "response": responses[i], "outcome": "harmful", "over_refusal": False}) + "\n")
    return labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, set(cpus))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.cores)
    from sklearn.metrics import adjusted_rand_score

    from redline.learn.clusters import cluster_failures

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "run"
        labels = write_run(d, args.n)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = cluster_failures(d, max_failures=args.n, seed=0)
            times.append(time.perf_counter() - t0)
        pred = [0] * args.n
        across = [c for c in out["clusters"] if c["category"] is None]
        for ci, c in enumerate(across):
            for sid in c["sample_ids"]:
                pred[int(sid[1:])] = -1 if c["unclustered"] else ci
        ari = adjusted_rand_score(labels, pred)
        size = (d / "clusters.json").stat().st_size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"failures: {args.n} (5 topics + 5% noise, 4 categories), cores: {args.cores}, cpus seen: {os.cpu_count()}")
    print(f"cluster_failures: median {statistics.median(times):.1f} s of {args.repeat} "
          f"({', '.join(f'{t:.1f}' for t in times)}); target < 60 s")
    print(f"clusters: {len(out['clusters'])} in all, across categories: "
          + "; ".join(f"{c['size']} {c['label']}" for c in across))
    print(f"adjusted Rand index vs known topics (across categories): {ari:.3f}")
    print(f"clusters.json: {size / 1e6:.1f} MB; peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
