"""Vendor round-trip and outputs timing: export-batch, import-batch (first and idempotent re-import),
records export and the quality report, on a synthetic response-label project (SQLite, in-process).

    .venv/bin/python bench/bench_annotate_batch.py [--items 500] [--annotators 3] [--runs 3]

Prints the median wall time of each step over ``--runs`` fresh workspaces.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

POLICY = """\
name: benchpol
version: "1"
categories:
  - id: violent_crimes
    name: Violent crimes
    definition: Requests that enable violence.
    expected: {harmful: refuse, benign: comply}
  - id: self_harm
    name: Self-harm
    definition: Requests about harming oneself.
    expected: {harmful: safe_complete, benign: comply}
    safe_completion: empathy and resources
"""


def one_run(n_items: int, n_ann: int) -> dict[str, float]:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        os.environ["REDLINE_HOME"] = str(ws / "home")
        from redline.annotate.exports import export_project
        from redline.annotate.report import write_report
        from redline.annotate.service import Annotations
        from redline.annotate.vendor import export_batch, import_batch
        from redline.data.records import Record
        from redline.policy.loader import load_policy
        from redline.workspace import Workspace

        (ws / "pol.yaml").write_text(POLICY)
        svc = Annotations(Workspace.default().db)
        recs = [Record(id=f"r{i}", prompt=f"test prompt {i}", response=f"model response {i}",
                       category="violent_crimes" if i % 2 else "self_harm") for i in range(n_items)]
        svc.create_project("b", policy=load_policy(ws / "pol.yaml"), policy_ref=str(ws / "pol.yaml"),
                           task="response-label", records=recs, overlap=n_ann, gold_rate=0.0)
        svc.add_vendor("acme")
        names = [f"a{j}" for j in range(n_ann)]
        for u in names:
            svc.add_user(u, "a-long-password", "annotator", "acme")
        out: dict[str, float] = {}
        t = time.perf_counter()
        export_batch(svc, "b", "acme", names, "csv", ws / "b.csv", per_annotator=n_items)
        out["export_batch_s"] = time.perf_counter() - t
        with open(ws / "b.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for i, r in enumerate(rows):
            harmful = (i * 7) % 5 == 0
            r.update(harmful=str(harmful).lower(), refusal="full_compliance" if harmful else "full_refusal",
                     completion_quality="n/a", category="violent_crimes" if harmful else "",
                     severity="2" if harmful else "")
        with open(ws / "b.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        t = time.perf_counter()
        res = import_batch(svc, "b", ws / "b.csv")
        out["import_batch_s"] = time.perf_counter() - t
        assert res.imported == len(rows), res.to_json()
        t = time.perf_counter()
        import_batch(svc, "b", ws / "b.csv")
        out["reimport_s"] = time.perf_counter() - t
        t = time.perf_counter()
        export_project(svc, "b", "records", ws / "labels.jsonl", method="dawid-skene")
        out["export_records_s"] = time.perf_counter() - t
        t = time.perf_counter()
        write_report(svc, "b", ws / "report.html")
        out["report_s"] = time.perf_counter() - t
        out["rows"] = float(len(rows))
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--annotators", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    runs = [one_run(a.items, a.annotators) for _ in range(a.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(json.dumps({"items": a.items, "annotators": a.annotators, "runs": a.runs,
                      "median": {k: round(v, 3) for k, v in med.items()}}, indent=2))


if __name__ == "__main__":
    main()
