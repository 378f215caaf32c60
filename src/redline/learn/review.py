"""Launch review: the one page a launch meeting reads about a candidate model.

:func:`build_review` gathers, for a candidate run against a baseline run and a budgets file:

- the **gates** (:func:`redline.learn.gate.gate_run`: budgets with one-sided 95% bounds and the
  regression rule) and the decision they imply;
- the **significant changes** against the baseline (:func:`redline.learn.compare.compare_runs`:
  paired tests, Holm-corrected), worse first;
- the **top failure clusters** of the candidate (``<run>/clusters.json``, else
  :func:`redline.learn.clusters.cluster_failures`);
- the **data requests** that would fix the weak cells (:func:`redline.learn.requests.requests_from_run`);
- the judges' **calibration** (the runs' ``summary.json`` ``calibrated`` blocks) and the
  **caveats** that limit what the numbers mean.

:func:`render_review` turns it into one self-contained HTML page (jinja2, autoescaped: prompts,
responses and names from the runs are escaped; no external resources).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["build_review", "render_review"]

#: the share of unassessable samples above which the review warns
UNASSESSABLE_WARN = 0.05


def _clusters(run: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The run's failure clusters (``clusters.json``, else computed), and a note when unavailable."""
    path = run.dir / "clusters.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8")), None
        except (OSError, ValueError) as e:
            return None, f"{path} is unreadable ({e}): failure clusters are not shown"
    try:
        from redline.learn.clusters import cluster_failures
    except ImportError:
        return None, "failure clustering is not available in this installation"
    return cluster_failures(run, write=False), None


def _caveats(cand: Any, base: Any, comparison: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """What limits the numbers: judge calibration, mismatches, unassessable samples."""
    out: list[str] = []
    for label, run in (("candidate", cand), ("baseline", base)):
        cal = run.summary.get("calibrated")
        dec = run.manifest.get("deciding_judge") or {}
        judge = f"{dec.get('id', '?')} {dec.get('version', '')}".strip()
        if cal is None:
            out.append(f"The {label}'s judge ({judge}) has no calibration against human labels: its rates are the "
                       "judge's verdicts, not corrected for judge error (`redline calibrate`).")
        elif cal.get("error"):
            out.append(f"The {label}'s calibrated rates are unavailable: {cal['error']}")
        else:
            c = cal.get("calibration") or {}
            if c.get("policy_match") is False:
                out.append(f"The {label}'s judge was calibrated under another policy version than the run's.")
            unc = cal.get("uncalibrated_categories") or []
            if unc:
                out.append(f"The {label}'s judge was never calibrated on {len(unc)} of its categories "
                           f"({', '.join(unc)}): corrected rates there use the judge's overall error rates.")
            rows = c.get("labelled_rows")
            if rows is not None and rows < 100:
                out.append(f"The {label}'s judge calibration rests on only {rows} labelled responses.")
        un = (run.metrics.get("overall") or {}).get("unassessable_rate") or {}
        if un.get("rate") is not None and un["rate"] > UNASSESSABLE_WARN:
            out.append(f"{100 * un['rate']:.1f}% of the {label}'s samples ({un['k']}/{un['n']}) are unassessable "
                       "(errors, refusals of the judge): they are left out of every rate.")
    out += list(comparison.get("warnings") or [])
    out += [w for w in gate.get("warnings") or [] if w not in out]
    comps = comparison.get("comparisons") or []
    if comps and not comps[0].get("paired"):
        out.append("The runs do not share their samples: the comparison is unpaired (Newcombe intervals) and "
                   "less sensitive than a paired one.")
    return out


def build_review(candidate: Any, baseline: Any, budgets: Any, *, ws: Any = None, max_clusters: int = 8,
                 max_requests: int = 15, allow_judge_mismatch: bool = False) -> dict[str, Any]:
    """Everything the launch review page shows, JSON-ready.

    Args:
        candidate: The candidate run (a run directory, a run name, or a loaded run).
        baseline: The baseline run (the same).
        budgets: The budgets (:func:`redline.learn.gate.load_budgets`).
        ws: The workspace (default: the current one).
        max_clusters: The most failure clusters shown.
        max_requests: The most data requests shown (the largest needs first).
        allow_judge_mismatch: Compare runs graded by different judges (with a caveat) instead of
            refusing.

    Returns:
        ``{"generated", "decision": {"ready", "headline", "reasons"}, "candidate", "baseline"
        (run descriptions), "gate", "comparison", "changes" (significant rows, worse first),
        "unchanged" (count), "clusters" (the top ones, or None), "failures", "requests",
        "requests_total", "calibration": {"candidate", "baseline"}, "caveats"}``.

    Raises:
        InputError: A run is not a finished run, the budgets name unknown categories, or the
            runs were judged by different judges (rejudge first, or ``allow_judge_mismatch``).
    """
    from redline.learn.compare import compare_runs
    from redline.learn.gate import Regression, gate_run
    from redline.learn.requests import requests_from_run
    from redline.learn.runs import load_run

    cand = candidate if hasattr(candidate, "summary") else load_run(candidate, ws)
    base = baseline if hasattr(baseline, "summary") else load_run(baseline, ws)
    rule = budgets.regression or Regression()
    comparison = compare_runs([base.dir, cand.dir], baseline=0, correction=rule.correction,
                              allow_judge_mismatch=allow_judge_mismatch, ws=ws)
    gate = gate_run(cand, budgets, ws=ws, write=False, comparison=comparison)
    rows = (comparison.get("comparisons") or [{}])[0].get("rows") or []
    changes = sorted((r for r in rows if r.get("verdict") in ("worse", "better")),
                     key=lambda r: (r["verdict"] != "worse", r["category"] is not None, -abs(r.get("diff") or 0)))
    clusters, cluster_note = _clusters(cand)
    reqs = requests_from_run(cand, comparison=comparison, clusters=clusters, budgets=budgets)
    caveats = _caveats(cand, base, comparison, gate)
    if cluster_note:
        caveats.append(cluster_note)
    failed = [c for c in gate["checks"] if not c["passed"]]
    worse = [r for r in rows if r.get("verdict") == "worse"]
    reasons = []
    if failed:
        n_reg = sum(1 for c in failed if c["rule"] == "regression")
        reasons.append(f"{len(failed)} of {len(gate['checks'])} gate checks fail"
                       + (f" ({n_reg} significant regressions against the baseline)" if n_reg else ""))
    if not gate["checks"]:
        reasons.append("the budgets file sets no budget that applies to this run")
    headline = ("Ready to launch: every gate passes" if gate["passed"] and gate["checks"]
                else "Not ready to launch" if failed else "No gates apply")
    ctop = None
    if clusters is not None:
        # the clusters across categories only: a category's view repeats them (``parent``)
        ctop = sorted((c for c in clusters.get("clusters") or []
                       if not c.get("unclustered") and c.get("category") is None),
                      key=lambda c: -(c.get("size") or 0))[:max_clusters]

    def describe(run: Any) -> dict[str, Any]:
        man = run.manifest
        return {"name": run.name, "dir": str(run.dir), "target": run.target,
                "suite": (man.get("suite") or {}).get("name"), "policy": (man.get("policy") or {}).get("name"),
                "policy_version": (man.get("policy") or {}).get("version"),
                "deciding_judge": man.get("deciding_judge"), "finished": man.get("finished"),
                "overall": run.metrics.get("overall") or {}}

    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "decision": {"ready": bool(gate["passed"] and gate["checks"]), "headline": headline, "reasons": reasons,
                     "worse": len(worse), "better": sum(1 for r in rows if r.get("verdict") == "better")},
        "candidate": describe(cand), "baseline": describe(base),
        "gate": gate, "comparison": comparison, "changes": changes, "unchanged": len(rows) - len(changes),
        "clusters": ctop, "failures": (clusters or {}).get("failures"),
        "cluster_method": (clusters or {}).get("method"),
        "requests": reqs[:max_requests], "requests_total": len(reqs),
        "calibration": {"candidate": cand.summary.get("calibrated"), "baseline": base.summary.get("calibrated")},
        "caveats": caveats,
    }


def render_review(review: dict[str, Any]) -> str:
    """The launch review as one self-contained, autoescaped HTML page.

    Args:
        review: What :func:`build_review` returned.

    Returns:
        The HTML text.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    from redline.learn.gate import pct, signed_points
    from redline.report.compare import METRIC_NAMES, forest_svg

    env = Environment(loader=PackageLoader("redline.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["pct"] = pct
    env.filters["pts"] = signed_points
    rows = ((review["comparison"].get("comparisons") or [{}])[0]).get("rows") or []
    forests = [forest_svg(mrows, title=f"{METRIC_NAMES.get(m, m)}: candidate − baseline, percentage points")
               for m in ("harmful_rate", "over_refusal_rate")
               if (mrows := [r for r in rows if r["metric"] == m])]
    return env.get_template("review.html.j2").render(r=review, forests=forests)
