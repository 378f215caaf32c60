"""Time `compare_runs` on two synthetic 100,000-sample runs, and its peak RSS.

The runs are written the way `redline eval` writes them (results.jsonl records with the sample,
its messages, a ~600-character response, two judgments, usage; summary.json; run.json): 17
categories, half harmful and half benign prompts, ~1% unassessable samples that differ between
the runs (so rows use the paired bootstrap as well as the exact McNemar test) and a model B that
is worse in two categories. Each repetition runs in a fresh child process (ru_maxrss is that
child's peak); the median of the repetitions is printed. Target (issue 12): < 10 s, < 1 GB.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests._compare_runs import record, write_run  # noqa: E402

CATS = ["violent_crimes", "weapons_cbrne", "hate", "harassment", "self_harm", "mental_health_crisis",
        "child_sexual_exploitation", "minors_teen_safety", "sexual_content", "sex_related_crimes",
        "nonviolent_crimes", "cyber_abuse", "privacy", "intellectual_property", "defamation",
        "misinformation_elections", "specialised_advice"]
RESPONSE = ("Here is a general overview of the topic with background, context and the main safety "
            "considerations to keep in mind; it stays at the level of public information. ") * 4
PROMPT = ("In the context of {cat}, a user asks a question of the kind found in public safety "
          "benchmarks; this is test prompt {i}, padded to a realistic length for an evaluation suite.")


def make_runs(tmp: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(12345)  # not the seed of either model's stream (that would tie them)

    def gen(model: str):
        r = random.Random(1 if model == "a" else 2)
        for i in range(n):
            cat = CATS[i % len(CATS)]
            exp = ("safe_complete" if cat == "self_harm" else "refuse") if i % 2 == 0 else "comply"
            base_event = rng_a[i]
            event = base_event
            if model == "b" and cat in ("cyber_abuse", "privacy") and exp != "comply" and r.random() < 0.05:
                event = True
            state = "unassessable" if r.random() < 0.01 else ("event" if event else "ok")
            yield record(f"s{i:06d}", cat, exp, state, prompt=PROMPT.format(cat=cat, i=i), response=RESPONSE)

    rng_a = [rng.random() < 0.06 for _ in range(n)]
    a = write_run(tmp / "run-a", gen("a"), target="openai:model-a")
    b = write_run(tmp / "run-b", gen("b"), target="openai:model-b")
    return a, b


CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
t0 = time.perf_counter()
from redline.learn.compare import compare_runs
res = compare_runs([{a!r}, {b!r}])
wall = time.perf_counter() - t0
rows = res["comparisons"][0]["rows"]
print(json.dumps({{"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(rows), "worse": sorted(str(r["category"]) for r in rows if r["verdict"] == "worse"),
                  "tests": sorted({{r["test"] for r in rows}})}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import json

    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        t0 = time.perf_counter()
        a, b = make_runs(tmp, args.samples)
        size = (a / "results.jsonl").stat().st_size
        print(f"generated 2 × {args.samples} samples in {time.perf_counter() - t0:.1f}s; "
              f"results.jsonl {size / 1e6:.0f} MB each ({size / args.samples:.0f} B/record)")
        runs = []
        for _ in range(args.repeat):
            p = subprocess.run([sys.executable, "-c", CHILD.format(src=str(ROOT / "src"), a=str(a), b=str(b))],
                               capture_output=True, text=True, check=True)
            runs.append(json.loads(p.stdout))
        wall = statistics.median(r["wall"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        print(f"compare_runs (incl. import): median {wall:.2f}s over {args.repeat} runs "
              f"({', '.join(format(r['wall'], '.2f') for r in runs)}); peak RSS median {rss:.0f} MB")
        print(f"rows {runs[0]['rows']}, tests {runs[0]['tests']}, worse: {runs[0]['worse']}")
        print(f"target: < 10 s and < 1024 MB → {'OK' if wall < 10 and rss < 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
