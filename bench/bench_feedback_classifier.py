"""Measure the feedback category classifier on data it was not trained on, beside the keyword baseline.

    PYTHONPATH=src python bench/bench_feedback_classifier.py [--out FILE.json]

Held-out data: the built-in suites (their prompts are not the policy's texts; any exact overlap
is dropped and counted) and, when ../shared/data is present, the AILuminate v1.0 demo prompt sets
(English and French; hazard codes mapped to nodes through the policy's ``mappings.ailuminate``,
hazards that map to no node or to several are left out).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def suite_items(name: str) -> list[tuple[str, str]]:
    from redline.data.io import read_records

    recs = read_records(ROOT / "src" / "redline" / "packs" / "suites" / f"{name}.jsonl")
    return [(r.prompt, r.category) for r in recs if r.category]


def ailuminate_items(policy, locale: str) -> list[tuple[str, str]]:
    path = SHARED / "ailuminate" / f"airr_official_1.0_demo_{locale}_prompt_set_release.csv"
    if not path.is_file():
        return []
    by_code: dict[str, list[str]] = {}
    for node in policy.nodes():
        for code in node.mappings.ailuminate:
            by_code.setdefault(code, []).append(node.id)
    out = []
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            nodes = by_code.get(row["hazard"], [])
            if len(nodes) == 1:
                out.append((row["prompt_text"], nodes[0]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from redline.learn.feedback import evaluate_classifiers, training_texts
    from redline.policy import load_policy

    sets = [("default", "core", None), ("default", "demo", None), ("mental-health", "mental_health", None),
            ("teen-safety", "teen_safety", None), ("default", "ailuminate-en", "en_us"),
            ("default", "ailuminate-fr", "fr_fr")]
    rows = []
    for pol_name, data, locale in sets:
        pol = load_policy(pol_name)
        items = ailuminate_items(pol, locale) if locale else suite_items(data)
        if not items:
            print(f"{data}: not found, skipped", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        res = evaluate_classifiers(pol, items)
        res.update(policy=pol_name, data=data, training_texts=len(training_texts(pol)),
                   seconds=round(time.perf_counter() - t0, 2))
        rows.append(res)
        c, k = res["classifier"], res["keyword"]
        print(f"{data:15s} {pol_name:14s} n={res['n']:5d} (dropped {res['overlap_with_training']}) "
              f"top-level acc clf {c['top_level_accuracy']:.3f} kw {k['top_level_accuracy']:.3f} | "
              f"macro-F1 clf {c['top_level_macro_f1']:.3f} kw {k['top_level_macro_f1']:.3f} | "
              f"node acc clf {c['node_accuracy']:.3f} kw {k['node_accuracy']:.3f} | "
              "abstain " + " ".join(f"p>={a['min_confidence']}: {a['categorised']:.2f}/{a['top_level_accuracy']}"
                                    for a in c["abstain"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
