"""Accuracy (vs known truth) of majority vote, Dawid–Skene and model-assisted consensus on
simulated crowds, plus the time to compute them and an agreement report.

    python bench/bench_consensus.py [--items 1000] [--seeds 5] [--project-items 300]

Each setting is simulated with ``redline.annotate.simulate.simulate_crowd`` over ``--seeds``
seeds (0..seeds-1): 12 annotators, classes safe/harmful/borderline with priors 0.75/0.20/0.05
(a rare class), good annotators' accuracy uniform in 0.65-0.95, plus spammers (uniformly random
labels) and one adversarial annotator (the next class 90% of the time), each item labelled by
``k`` distinct annotators, and a calibrated model ("judge") of the given accuracy. Prints the
median and [min-max] accuracy of each method per setting, then times ``agreement_report`` and
``project_quality`` on a real SQLite project. No assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time

from redline.annotate.agreement import agreement_report
from redline.annotate.consensus import dawid_skene, majority_vote, model_assisted
from redline.annotate.simulate import simulate_crowd

SETTINGS = [
    # (label, overlap k, spammers, adversarial, model accuracy)
    ("k=2, 2 spammers, 1 adversary, model 0.80", 2, 2, 1, 0.80),
    ("k=3, 2 spammers, 1 adversary, model 0.80", 3, 2, 1, 0.80),
    ("k=3, 4 spammers, 1 adversary, model 0.80", 3, 4, 1, 0.80),
    ("k=3, no spammers/adversary,   model 0.80", 3, 0, 0, 0.80),
    ("k=5, 2 spammers, 1 adversary, model 0.80", 5, 2, 1, 0.80),
    ("k=2, 2 spammers, 1 adversary, model 0.65", 2, 2, 1, 0.65),
    ("k=3, 2 spammers, 1 adversary, model 0.65", 3, 2, 1, 0.65),
]


def _fmt(vals: list[float]) -> str:
    return f"{statistics.median(vals):.3f} [{min(vals):.3f}-{max(vals):.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--project-items", type=int, default=300,
                    help="items of the SQLite project timed at the end (0: skip)")
    args = ap.parse_args()
    print(f"{args.items} items, 12 annotators, priors 0.75/0.20/0.05, {args.seeds} seeds; "
          "accuracy vs truth: median [min-max]")
    print(f"{'setting':44} {'majority':>20} {'dawid-skene':>20} {'model-assisted':>20} "
          f"{'model alone':>20}")
    times: dict[str, list[float]] = {"majority": [], "dawid-skene": [], "model": []}
    for label, k, spam, adv, macc in SETTINGS:
        acc: dict[str, list[float]] = {"mv": [], "ds": [], "ma": [], "model": []}
        for seed in range(args.seeds):
            s = simulate_crowd(n_items=args.items, n_annotators=12, overlap=k, n_spammers=spam,
                               n_adversarial=adv, model_accuracy=macc, seed=seed)
            t = time.perf_counter()
            mv = majority_vote(s.ratings)
            times["majority"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ds = dawid_skene(s.ratings)
            times["dawid-skene"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ma = model_assisted(s.ratings, s.model_probs)
            times["model"].append(time.perf_counter() - t)
            acc["mv"].append(s.accuracy(mv.labels()))
            acc["ds"].append(s.accuracy(ds.labels()))
            acc["ma"].append(s.accuracy(ma.labels()))
            acc["model"].append(s.accuracy({i: max(p, key=p.get) for i, p in s.model_probs.items()}))
        print(f"{label:44} {_fmt(acc['mv']):>20} {_fmt(acc['ds']):>20} {_fmt(acc['ma']):>20} "
              f"{_fmt(acc['model']):>20}")
    print("median seconds per run (" + f"{args.items} items): " + ", ".join(
        f"{m} {statistics.median(v):.3f}s" for m, v in times.items()))
    s = simulate_crowd(n_items=args.items, overlap=3, seed=0)
    rts = []
    for _ in range(3):
        t = time.perf_counter()
        agreement_report(s.ratings, "nominal", n_boot=1000, seed=0)
        rts.append(time.perf_counter() - t)
    print(f"agreement_report with 1000 bootstrap replicates on {args.items} items x 3 labels: "
          f"median {statistics.median(rts):.2f}s of 3 runs")
    if args.project_items:
        bench_project(args.project_items)


def bench_project(n_items: int, runs: int = 3) -> None:
    """Time ``project_quality`` (the dashboard's dict) on a real SQLite project: a simulated
    crowd of 8 annotators in two vendors labels ``n_items`` response-label items, k = 3."""
    import tempfile
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from redline.annotate.project_quality import project_quality
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.store.db import WorkspaceDB

    with tempfile.TemporaryDirectory() as tmp:
        now = {"t": datetime(2026, 1, 5, 9, tzinfo=UTC)}
        svc = Annotations(WorkspaceDB(f"sqlite:///{Path(tmp) / 'ws.db'}"), clock=lambda: now["t"])
        cats = ["hate", "self_harm", "violent_crimes"]
        recs = [Record(id=f"item{i:05d}", prompt=f"a test prompt {i}", response=f"a test response {i}",
                       category=cats[i % 3]) for i in range(n_items)]
        svc.create_project("bench", policy=load_policy("default"), policy_ref="default",
                           task="response-label", records=recs, overlap=3, gold_rate=0.0)
        s = simulate_crowd(n_items=n_items, n_annotators=8, classes=(False, True), priors=(0.8, 0.2),
                           overlap=3, seed=0, model_accuracy=None)
        for j, a in enumerate(sorted(s.annotator_kind)):
            svc.add_user(a, f"pw-{a}-long-secret", "annotator", vendor="acme" if j % 2 else "beta")
        t0 = time.perf_counter()
        busy = True
        while busy:
            busy = False
            for a in sorted(s.annotator_kind):
                if (x := svc.next_item("bench", a)) is None:
                    continue
                busy = True
                now["t"] += timedelta(seconds=40)
                h = s.truth[x.item_id] if s.annotator_kind[a] == "good" else not s.truth[x.item_id]
                vals = ({"harmful": True, "category": x.item.category, "severity": 2,
                         "refusal": "full_compliance", "completion_quality": "n/a"} if h else
                        {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"})
                svc.submit("bench", a, x.item_id, vals, duration_s=20.0)
        label_s = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            q = project_quality(svc, "bench", judge=None)
            times.append(time.perf_counter() - t)
        print(f"project_quality on a SQLite project, {n_items} items x 3 labels, 8 annotators, "
              f"5 fields, 500 bootstrap replicates: median {statistics.median(times):.2f}s of {runs} "
              f"(labelling through the service took {label_s:.1f}s; "
              f"{q['progress']['labels']} labels, {len(q['flags'])} flagged)")


if __name__ == "__main__":
    main()
