"""Failure clusters: 10,000 synthetic failures clustered (``cluster_failures``), median of 3.

Target (issue 12): < 60 s on 2 cores. The failures come from tests/_clusters_data.py: five
topics (one in French) written through shared request framings, with filler words, response
boilerplate and 5 % one-off noise, spread over 4 categories. Also prints the adjusted Rand index
against the known topics (across-category harmful clusters, noise counted as its own group).

    python bench/bench_clusters.py [--n 10000] [--repeat 3] [--cores 2]
    python bench/bench_clusters.py --quality   # the method comparison of the module docstring
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
    (d / "summary.json").write_text(json.dumps({"manifest": {"status": "completed"}, "metrics": {}}))
    return labels


QUALITY_CASES = [
    ("60 texts, 5 topics", dict(n=60)),
    ("150 texts, 10% noise", dict(n=150, noise=0.1)),
    ("150 texts, sizes 60/25/10/4/1%", dict(n=150, weights=[60, 25, 10, 4, 1])),
    ("190 texts, phishing + French phishing + hate", dict(n=190, topics=("phishing", "arnaque", "hate"))),
    ("300 texts, 20% noise", dict(n=300, noise=0.2)),
    ("1000 texts, 5 topics", dict(n=1000)),
    ("1000 texts, sizes 60/25/10/4/1%", dict(n=1000, weights=[60, 25, 10, 4, 1])),
    ("1000 texts, sizes 60/25/10/4/1%, 10% noise", dict(n=1000, weights=[60, 25, 10, 4, 1], noise=0.1)),
    ("500 texts, phishing + French phishing + hate", dict(n=500, topics=("phishing", "arnaque", "hate"))),
]


def _kmeans(x, seed: int, min_size: int, max_k: int = 20):  # type: ignore[no-untyped-def]
    """k-means with k by silhouette: the alternative measured against (not in the library)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best, labels_best = 0.0, np.zeros(x.shape[0], dtype=int)
    for k in range(2, min(max_k, x.shape[0] // min_size) + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(x)
        if len(set(labels.tolist())) > 1:
            s = float(silhouette_score(x, labels, sample_size=min(2000, x.shape[0]), random_state=seed))
            if s > best:
                best, labels_best = s, labels
    return labels_best


def quality() -> None:
    """Adjusted Rand index (noise as its own group) of each method on known topics, seeds 0-2."""
    import warnings

    from sklearn.metrics import adjusted_rand_score
    from tests._clusters_data import synthetic_failures

    from redline.learn import clusters as C

    warnings.filterwarnings("ignore")
    print("| case | HDBSCAN | Ward + silhouette | k-means + silhouette |")
    print("|---|---|---|---|")
    for name, case in QUALITY_CASES:
        row = []
        for method in ("hdbscan", "ward", "kmeans"):
            scores = []
            for seed in range(3):
                prompts, responses, labels = synthetic_failures(seed=seed, **case)  # type: ignore[arg-type]
                texts = [p + "\n" + r for p, r in zip(prompts, responses, strict=True)]
                n = len(texts)
                min_size = max(3, min(50, round(0.02 * n)))
                if method == "kmeans":
                    pred = _kmeans(C._embed(texts, seed), seed, min_size).tolist()
                else:
                    pred = [0] * n
                    for ci, c in enumerate(C.cluster_texts(texts, seed=seed, method=method)):
                        for m in c["members"]:
                            pred[m] = -1 if c["unclustered"] else ci
                scores.append(adjusted_rand_score(labels, pred))
            row.append(f"{min(scores):.2f}–{max(scores):.2f}")
        print(f"| {name} | " + " | ".join(row) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--quality", action="store_true", help="compare the clustering methods instead")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, set(cpus))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.cores)
    if args.quality:
        quality()
        return
    from sklearn.metrics import adjusted_rand_score

    from redline.learn.clusters import cluster_failures

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "run"
        labels = write_run(d, args.n)
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = cluster_failures(d, max_failures=args.n, seed=0)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
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
          f"({', '.join(f'{t:.1f}' for t in times)}); CPU median {statistics.median(cpu):.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}; target < 60 s")
    print(f"clusters: {len(out['clusters'])} in all, across categories: "
          + "; ".join(f"{c['size']} {c['label']}" for c in across))
    print(f"adjusted Rand index vs known topics (across categories): {ari:.3f}")
    print(f"clusters.json: {size / 1e6:.1f} MB; peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
