"""Build a simulated response-label project and write its quality report (and the consensus
comparison as JSON): two vendors, gold items, careful, careless and drifting annotators, labels
spread over several days. For docs and release notes; nothing here is downloaded.

    .venv/bin/python scripts/annotate_simulated_report.py --out sim-report.html [--items 1000] [--per-day 40]

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

# name → (vendor, accuracy on days 0-2, accuracy from day 3: drift). Most annotators are good
# (0.85-0.95); acme.cy drifts (0.9 → 0.55 from day 3); globex.eli is weak (0.7); globex.fay is a
# spammer (answers at random, whatever the item). Accuracy applies to every field independently.
CROWD = {
    "acme.ana": ("acme", 0.95, 0.95), "acme.ben": ("acme", 0.9, 0.9), "acme.cy": ("acme", 0.9, 0.55),
    "acme.dan": ("acme", 0.88, 0.88),
    "globex.dee": ("globex", 0.85, 0.85), "globex.eli": ("globex", 0.7, 0.7), "globex.fay": ("globex", 0.5, 0.5),
    "globex.gus": ("globex", 0.92, 0.92),
}
SPAMMERS = {"globex.fay"}
CATEGORIES = ("violent_crimes", "self_harm")
SEVERITIES = (1, 2, 3)
REFUSALS = ("full_compliance", "partial_refusal", "full_refusal")
QUALITIES = ("good", "acceptable", "poor")


class _Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def _truth(rng: random.Random, harmful: bool) -> dict[str, Any]:
    """The true label of a simulated item (harmful with the prior 0.3; category/severity vary)."""
    if harmful:
        return {"harmful": True, "category": rng.choice(CATEGORIES), "severity": rng.choice(SEVERITIES),
                "refusal": rng.choice(("full_compliance", "partial_refusal")), "completion_quality": "n/a"}
    return {"harmful": False, "refusal": rng.choice(("full_refusal", "full_refusal", "partial_refusal")),
            "completion_quality": rng.choice(QUALITIES)}


def _answer(rng: random.Random, true: dict[str, Any], acc: float, spammer: bool) -> dict[str, Any]:
    """An annotator's label: each field right with probability ``acc``, else another value; a
    spammer answers every field at random."""
    def pick(v: Any, options: tuple[Any, ...]) -> Any:
        if spammer:
            return rng.choice(options)
        return v if rng.random() < acc else rng.choice([o for o in options if o != v])

    harmful = pick(true["harmful"], (True, False))
    if harmful:
        return {"harmful": True,
                "category": pick(true.get("category") or rng.choice(CATEGORIES), CATEGORIES),
                "severity": pick(true.get("severity") or rng.choice(SEVERITIES), SEVERITIES),
                "refusal": pick(true["refusal"], REFUSALS), "completion_quality": "n/a"}
    return {"harmful": False, "refusal": pick(true["refusal"], REFUSALS),
            "completion_quality": pick(true.get("completion_quality") if true.get("completion_quality") in QUALITIES
                                       else rng.choice(QUALITIES), QUALITIES)}


def build(home: Path, n_items: int, seed: int, per_day: int = 40) -> Any:
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
    full = {f"r{i:04d}": _truth(rng, rng.random() < 0.3) for i in range(n_items)}
    recs = [Record(id=i, prompt=f"simulated prompt {i}", response=f"simulated response {i}",
                   category=t.get("category") or rng.choice(CATEGORIES)) for i, t in full.items()]
    gold = []
    for g in range(max(12, n_items // 8)):
        t = _truth(rng, g % 3 == 0)
        gold.append((Record(id=f"r9{g:03d}", prompt=f"simulated prompt g{g}", response=f"simulated response g{g}",
                            category=t.get("category") or rng.choice(CATEGORIES)), t))
        full[f"r9{g:03d}"] = t
    truth = {i: t["harmful"] for i, t in full.items()}
    svc.create_project("sim", policy=load_policy(pol_path), policy_ref=str(pol_path), task="response-label",
                       records=recs, overlap=3, gold=gold, gold_rate=0.2)
    for u, (vendor, _, _) in CROWD.items():
        svc.add_user(u, "simulated-password", "annotator", vendor)
    day = 0
    while True:
        progressed = False
        for u, (_, acc0, acc1) in CROWD.items():
            acc = acc0 if day < 3 else acc1
            for _ in range(per_day):  # one round = one day of work
                a = svc.next_item("sim", u)
                if a is None:
                    break
                said = _answer(rng, full[a.item_id], acc, u in SPAMMERS)
                svc.submit("sim", u, a.item_id, said, duration_s=rng.uniform(2, 8) if u in SPAMMERS
                           else rng.uniform(8, 40))
                progressed = True
        if not progressed:
            break
        day += 1
        clock.t += timedelta(days=1)
    return svc, truth, full


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("sim-report.html"))
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--per-day", type=int, default=40, help="items each annotator labels per simulated day")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--judge", default=None, help="e.g. harm: add model-assisted consensus to the report")
    ap.add_argument("--judge-accuracy", type=float, default=0.8,
                    help="accuracy of the simulated judge used for the model-assisted comparison with truth")
    a = ap.parse_args()
    home = Path(os.environ["REDLINE_HOME"]) if "REDLINE_HOME" in os.environ else Path(tempfile.mkdtemp()) / "home"
    svc, truth, full = build(home, a.items, a.seed, a.per_day)
    from redline.annotate.report import consensus_comparison, write_report

    write_report(svc, "sim", a.out, judge=a.judge)
    comp = consensus_comparison(svc, "sim", judge=a.judge)
    from redline.annotate.consensus import dawid_skene, majority_vote, model_assisted
    from redline.annotate.project_quality import project_quality

    labs = svc.labels("sim")
    ratings = [(lb.item_id, lb.username, lb.values["harmful"]) for lb in labs]
    # a simulated judge with known accuracy (the built-in judges cannot read synthetic text):
    # right with probability --judge-accuracy, confidence drawn from [0.6, 0.95]
    rng = random.Random(a.seed + 1)
    judge_probs = {}
    for i in sorted({r[0] for r in ratings}):  # sorted: the same judge for the same seed
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
    # every field: majority vote and Dawid–Skene against the simulated truth (items where the field applies)
    per_field: dict[str, Any] = {}
    for f in ("harmful", "category", "severity", "refusal", "completion_quality"):
        fr = [(lb.item_id, lb.username, lb.values.get(f)) for lb in labs if lb.values.get(f) is not None]
        row: dict[str, Any] = {}
        for name, fn in (("majority", majority_vote), ("dawid-skene", dawid_skene)):
            got = fn(fr).labels()
            scored = [i for i in got if full[i].get(f) is not None and not i.startswith("r9")]
            row[name] = round(sum(str(got[i]) == str(full[i][f]) for i in scored) / len(scored), 4) if scored else None
        row["n"] = len({r[0] for r in fr})
        per_field[f] = row
    vs_truth["per_field_normal_items"] = per_field
    q = project_quality(svc, "sim", judge=None)
    summary = {
        "agreement": {f: {k: r[k] for k in ("n_items", "alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement")}
                      for f, r in q["agreement"]["by_field"].items()},
        "agreement_by_vendor": {v: {f: r["alpha"] for f, r in per.items()}
                                for v, per in q["agreement"]["by_vendor"].items()},
        "annotators": [{k: v for k, v in x.items() if k not in ("paused_reason",)} for x in q["annotators"]],
        "flags": q["flags"], "simulated_accuracy": {u: (c[1], c[2]) for u, c in CROWD.items()},
    }
    Path(str(a.out) + ".json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps({"report": str(a.out), "workspace": str(home), "labelled_items": len({lb.item_id for lb in labs}),
                      "accuracy_vs_simulated_truth": vs_truth, "consensus_comparison": comp}, indent=2, default=str))


if __name__ == "__main__":
    main()
