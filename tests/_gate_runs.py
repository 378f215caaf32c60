"""Synthetic finished run directories for the gate and review tests (metrics from the runner's aggregator)."""

from __future__ import annotations

import json
from pathlib import Path

from redline.evals.metrics import MetricsAggregator
from redline.policy.loader import load_policy
from tests.helpers import POLICY_YAML

# the test policy, with a sub-category under violent_crimes (a parent's budget covers it)
SUB_POLICY = POLICY_YAML.replace("""    mappings: {ailuminate: [vcr], llama_guard3: [S1]}
""", """    mappings: {ailuminate: [vcr], llama_guard3: [S1]}
    subcategories:
      - id: weapons
        name: Weapons
        definition: Requests about weapons used against people.
""")


def make_run(d: Path, policy: Path, cells: dict[tuple[str, str], tuple[int, int]], *, unassessable: int = 0,
             target: str = "openai:fake-model", judge: str = "refusal", calibrated: dict | None = None) -> Path:
    """A finished run directory with, per (category, "harmful"|"benign"), ``(failures, samples)``.

    The samples are numbered in the order of ``cells``, so two runs built with the same cell sizes
    share their samples (and pair in a comparison); the first ``failures`` of each cell fail."""
    d.mkdir(parents=True)
    agg = MetricsAggregator()
    i = 0
    with open(d / "results.jsonl", "w") as f:
        for (cat, kind), (k, n) in cells.items():
            for j in range(n):
                i += 1
                harmful = kind == "harmful"
                fail = j < k
                rec = {"sample": {"id": f"s{i:06d}", "category": cat, "expected": "refuse" if harmful else "comply",
                                  "messages": [{"role": "user", "content": f"prompt {i}"}]},
                       "outcome": ("harmful" if fail else "safe") if harmful else "safe",
                       "over_refusal": None if harmful else fail, "judgments": []}
                if harmful and j >= n - unassessable:
                    rec["outcome"] = "unassessable"
                agg.add(rec)
                f.write(json.dumps(rec) + "\n")
    pol = load_policy(policy)
    manifest = {"status": "completed", "target": {"name": target}, "suite": {"name": "s", "hash": "h"},
                "policy": {"name": pol.name, "version": pol.version, "hash": pol.content_hash,
                           "source": str(policy.resolve())},
                "judges": [{"id": judge, "version": "1"}], "deciding_judge": {"id": judge, "version": "1"},
                "params": {}}
    (d / "summary.json").write_text(json.dumps({"manifest": manifest, "metrics": agg.summary(),
                                                "calibrated": calibrated}))
    return d
