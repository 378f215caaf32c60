"""Build a simulated response-label project and write its quality report (and the consensus
comparison as JSON): two vendors, gold items, careful, careless and drifting annotators, labels
spread over several days. For docs and release notes; nothing here is downloaded.

    .venv/bin/python scripts/annotate_simulated_report.py --out sim-report.html [--items 240]

Runs in a temporary workspace unless REDLINE_HOME is set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

POLICY = """\
name: simpol
version: "1"
categories:
  - id: violent_crimes
    name: Violent crimes
    definition: Requests that enable or encourage violence against people.
    expected: {harmful: refuse, benign: comply}
  - id: self_harm
    name: Self-harm
    definition: Requests about harming oneself.
    expected: {harmful: safe_complete, benign: comply}
    safe_completion: empathy and crisis resources
"""

# name → (vendor, accuracy on days 0-2, accuracy from day 3: drift)
CROWD = {
    "acme.ana": ("acme", 0.95, 0.95), "acme.ben": ("acme", 0.9, 0.9), "acme.cy": ("acme", 0.9, 0.55),
    "globex.dee": ("globex", 0.85, 0.85), "globex.eli": ("globex", 0.6, 0.6), "globex.fay": ("globex", 0.5, 0.5),
}


class _Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def _values(harmful: bool) -> dict[str, Any]:
    if harmful:
        return {"harmful": True, "category": "violent_crimes", "severity": 2, "refusal": "full_compliance",
                "completion_quality": "n/a"}
    return {"harmful": False, "refusal": "full_refusal", "completion_quality": "good"}


def build(home: Path, n_items: int, seed: int) -> Any:
    os.environ["REDLINE_HOME"] = str(home)
    from redline.annotate.service import Annotations
    from redline.data.records import Record
    from redline.policy.loader import load_policy
    from redline.workspace import Workspace

    rng = random.Random(seed)
    pol_path = home / "simpol.yaml"
    home.mkdir(parents=True, exist_ok=True)
    pol_path.write_text(POLICY)
    clock = _Clock()
    svc = Annotations(Workspace.default().db, clock=clock)
    truth = {f"r{i:04d}": rng.random() < 0.3 for i in range(n_items)}
    recs = [Record(id=i, prompt=f"simulated prompt {i}", response=f"simulated response {i}",
                   category="violent_crimes" if h else "self_harm") for i, h in truth.items()]
    gold = []
    for g in range(max(12, n_items // 8)):
        h = g % 3 == 0
        gold.append((Record(id=f"r9{g:03d}", prompt=f"simulated prompt g{g}", response=f"simulated response g{g}",
                            category="violent_crimes" if h else "self_harm"), _values(h)))
        truth[f"r9{g:03d}"] = h
    svc.create_project("sim", policy=load_policy(pol_path), policy_ref=str(pol_path), task="response-label",
                       records=recs, overlap=3, gold=gold, gold_rate=0.2)
    for u, (vendor, _, _) in CROWD.items():
        svc.add_user(u, "simulated-password", "annotator", vendor)
    day = 0
    while True:
        progressed = False
        for u, (_, acc0, acc1) in CROWD.items():
            acc = acc0 if day < 3 else acc1
            for _ in range(12):  # a few items per annotator per round
                a = svc.next_item("sim", u)
                if a is None:
                    break
                right = truth[a.item_id]
                said = right if rng.random() < acc else not right
                svc.submit("sim", u, a.item_id, _values(said), duration_s=rng.uniform(4, 30))
                progressed = True
        if not progressed:
            break
        day += 1
        clock.t += timedelta(days=1)
    return svc, truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("sim-report.html"))
    ap.add_argument("--items", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--judge", default=None, help="e.g. harm: add model-assisted consensus to the report")
    ap.add_argument("--judge-accuracy", type=float, default=0.8,
                    help="accuracy of the simulated judge used for the model-assisted comparison with truth")
    a = ap.parse_args()
    home = Path(os.environ["REDLINE_HOME"]) if "REDLINE_HOME" in os.environ else Path(tempfile.mkdtemp()) / "home"
    svc, truth = build(home, a.items, a.seed)
    from redline.annotate.report import consensus_comparison, write_report

    write_report(svc, "sim", a.out, judge=a.judge)
    comp = consensus_comparison(svc, "sim", judge=a.judge)
    from redline.annotate.consensus import dawid_skene, majority_vote, model_assisted
    from redline.annotate.pipeline import project_quality

    labs = svc.labels("sim")
    ratings = [(lb.item_id, lb.username, lb.values["harmful"]) for lb in labs]
    # a simulated judge with known accuracy (the built-in judges cannot read synthetic text):
    # right with probability --judge-accuracy, confidence drawn from [0.6, 0.95]
    rng = random.Random(a.seed + 1)
    judge_probs = {}
    for i in {r[0] for r in ratings}:
        said = truth[i] if rng.random() < a.judge_accuracy else not truth[i]
        c = rng.uniform(0.6, 0.95)
        judge_probs[i] = {said: c, not said: 1 - c}
    vs_truth: dict[str, Any] = {}
    for name, fn in (("majority", majority_vote), ("dawid-skene", dawid_skene),
                     ("model", lambda r: model_assisted(r, judge_probs))):
        got = fn(ratings).labels()
        normal = [i for i in got if not i.startswith("r9")]
        vs_truth[name] = {"all_items": round(sum(got[i] == truth[i] for i in got) / len(got), 4),
                          "normal_items": round(sum(got[i] == truth[i] for i in normal) / len(normal), 4),
                          "n": len(got)}
    vs_truth["judge_alone"] = round(sum(max(p, key=p.get) == truth[i] for i, p in judge_probs.items())
                                    / len(judge_probs), 4)
    q = project_quality(svc, "sim", judge=None)
    summary = {
        "agreement": {f: {k: r[k] for k in ("n_items", "alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement")}
                      for f, r in q["agreement"]["by_field"].items()},
        "agreement_by_vendor": {v: {f: r["alpha"] for f, r in per.items()}
                                for v, per in q["agreement"]["by_vendor"].items()},
        "annotators": [{k: x[k] for k in ("username", "vendor", "labels", "gold_n", "gold_accuracy", "gold_ci",
                                          "consensus_agreement", "median_seconds", "flagged", "flag_reasons")}
                       for x in q["annotators"]],
        "flags": q["flags"], "simulated_accuracy": {u: (c[1], c[2]) for u, c in CROWD.items()},
    }
    Path(str(a.out) + ".json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps({"report": str(a.out), "workspace": str(home), "labelled_items": len({lb.item_id for lb in labs}),
                      "accuracy_vs_simulated_truth": vs_truth, "consensus_comparison": comp}, indent=2, default=str))


if __name__ == "__main__":
    main()
