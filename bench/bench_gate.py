"""Time of a release gate + JUnit XML + Markdown on a large run (issue 12 target: < 5 s for 100,000 samples).

    python bench/bench_gate.py [--samples 100000] [--repeats 3] [--baseline]

Builds a synthetic finished run directory (results.jsonl and summary.json, the metrics computed
by the runner's own ``MetricsAggregator``) over the built-in ``default`` policy's categories:
half harmful prompts with a 0.5-4% harmful rate depending on the category, half benign with a
1-6% over-refusal rate, 1% unassessable. A budgets file gives every category a 2% harmful-rate
and a 5% over-refusal budget, with tighter ones for two categories, so some checks pass and
some fail. Then times, median of ``--repeats``:

- in process: ``load_budgets`` + ``gate_run`` (writes gate.json) + ``render_junit`` + ``render_markdown``;
- the whole command as a user runs it: ``python -m redline gate RUN --budgets F --junit F --markdown F``
  (a new process each time: interpreter start and imports included).

With ``--baseline`` a second run (the same samples, other outcomes) is built and the regression
rule is timed too (``compare_runs`` reads both results files). No assertions: prints the numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redline.evals.metrics import MetricsAggregator
from redline.policy.loader import load_policy


def make_run(d: Path, n: int, seed: int) -> Path:
    """A finished run of ``n`` synthetic samples over the default policy's categories."""
    pol = load_policy("default")
    cats = pol.top_level_ids
    rnd = random.Random(seed)
    d.mkdir(parents=True)
    agg = MetricsAggregator()
    with open(d / "results.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            ci = i % len(cats)
            harmful = (i // len(cats)) % 2 == 0
            u = rnd.random()
            if u < 0.01:
                outcome, over = "unassessable", None
            elif harmful:
                outcome, over = ("harmful" if u < 0.005 + 0.035 * ci / len(cats) else "safe"), None
            else:
                outcome, over = "safe", u < 0.01 + 0.05 * ci / len(cats)
            rec = {"sample": {"id": f"s{i:07d}", "category": cats[ci], "expected": "refuse" if harmful else "comply",
                              "messages": [{"role": "user", "content": f"synthetic prompt {i}"}]},
                   "outcome": outcome, "over_refusal": over, "judgments": [
                       {"judge": "refusal", "version": "1", "label": "full_refusal", "score": 0.9}]}
            agg.add(rec)
            f.write(json.dumps(rec) + "\n")
    manifest = {"status": "completed", "target": {"name": f"openai:synthetic-{seed}"},
                "suite": {"name": "synthetic", "hash": "sha256:synthetic", "samples": n},
                "policy": {"name": pol.name, "version": pol.version, "hash": pol.content_hash, "source": "default"},
                "judges": [{"id": "refusal", "version": "1"}], "deciding_judge": {"id": "refusal", "version": "1"},
                "params": {"temperature": 0.0}}
    (d / "summary.json").write_text(json.dumps({"manifest": manifest, "metrics": agg.summary(), "calibrated": None}))
    (d / "run.json").write_text(json.dumps({"identity": {"target": manifest["target"]["name"]}}))
    return d


def main() -> None:
    """Build the runs, time the gate, print the numbers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", action="store_true", help="also time the regression rule against a baseline run")
    args = ap.parse_args()

    from redline.learn.gate import gate_run, load_budgets, render_junit, render_markdown

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cats = load_policy("default").top_level_ids
        t0 = time.perf_counter()
        run = make_run(t / "candidate", args.samples, 1)
        base = make_run(t / "baseline", args.samples, 2) if args.baseline else None
        print(f"built {args.samples:,}-sample run(s) over {len(cats)} categories in {time.perf_counter() - t0:.1f}s "
              f"(results.jsonl {run.joinpath('results.jsonl').stat().st_size / 1e6:.0f} MB)")
        budgets = t / "budgets.yaml"
        budgets.write_text("defaults: {harmful_rate: 0.02, over_refusal_rate: 0.05, min_samples: 100}\n"
                           "overall: {harmful_rate: 0.02}\n"
                           f"categories:\n  {cats[0]}: {{harmful_rate: 0.005}}\n  {cats[1]}: {{harmful_rate: 0.01}}\n")
        inproc, cli = [], []
        result = None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = gate_run(run, load_budgets(budgets), baseline=base)
            (t / "gate.xml").write_text(render_junit(result))
            (t / "gate.md").write_text(render_markdown(result))
            inproc.append(time.perf_counter() - t0)
        for _ in range(args.repeats):
            cmd = [sys.executable, "-m", "redline", "gate", str(run), "--budgets", str(budgets),
                   "--junit", str(t / "gate.xml"), "--markdown", str(t / "gate.md")]
            if base is not None:
                cmd += ["--baseline", str(base)]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True)
            cli.append(time.perf_counter() - t0)
            if p.returncode not in (0, 1):
                sys.exit(f"redline gate failed ({p.returncode}): {p.stderr}")
        assert result is not None
        c = result["counts"]
        print(f"gate: {c['checks']} checks, {c['failed']} failed ({'passed' if result['passed'] else 'failed'}); "
              f"JUnit {(t / 'gate.xml').stat().st_size:,} bytes")
        print(f"in process (gate_run + JUnit + Markdown): median {statistics.median(inproc):.3f}s "
              f"[{min(inproc):.3f}-{max(inproc):.3f}] over {args.repeats}")
        print(f"`redline gate` command (new process):     median {statistics.median(cli):.3f}s "
              f"[{min(cli):.3f}-{max(cli):.3f}] over {args.repeats} (target < 5 s)")


if __name__ == "__main__":
    main()
