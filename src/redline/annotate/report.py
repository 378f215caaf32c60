"""The quality report of an annotation project: one self-contained HTML file.

Tables and matplotlib plots (PNG, embedded as base64 ``data:`` URLs), inline CSS, no script and
no outside request; every name, label and text is escaped by jinja2's autoescape. Content:
progress; agreement with 95% bootstrap CIs per field, category, vendor and policy version; the
annotator table (gold accuracy with Wilson CIs, agreement with consensus, speed, skip rate, flags);
the drift chart (gold accuracy per time window against the 3-sigma lower control limit); the
consensus comparison (how often majority vote, Dawid–Skene and model-assisted consensus agree,
and their accuracy on gold items); the size of the review queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import InputError

if TYPE_CHECKING:
    from redline.annotate.service import Annotations

__all__ = ["consensus_comparison", "report_context", "write_report"]


def _data_url(fig: Any) -> str:
    from redline.report.plots import figure_png

    return "data:image/png;base64," + figure_png(fig)


def _short(s: str, n: int = 28) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _agreement_plot(by_field: dict[str, Any]) -> str | None:
    rows = [(f, r["alpha"]) for f, r in by_field.items() if r["alpha"]["value"] is not None]
    if not rows:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(rows) + 1.2))
    ys = list(range(len(rows)))[::-1]
    vals = [m["value"] for _, m in rows]
    lo = [m["value"] - (m["ci"] or [m["value"]] * 2)[0] for _, m in rows]
    hi = [(m["ci"] or [m["value"]] * 2)[1] - m["value"] for _, m in rows]
    ax.barh(ys, vals, xerr=[lo, hi], color="#4063d8", capsize=3)
    ax.set_yticks(ys, [_short(f) for f, _ in rows])
    ax.axvline(0.667, color="#c0392b", ls="--", lw=1)
    ax.axvline(0.8, color="#27ae60", ls="--", lw=1)
    ax.set_xlim(min(0.0, min(vals) - 0.05), 1.0)
    ax.set_title("Krippendorff's α per field (95% CI; 0.667 / 0.8 lines)", fontsize=10)
    ax.tick_params(labelsize=8)
    return _data_url(fig)


def _annotator_plot(annotators: list[dict[str, Any]]) -> str | None:
    rows = [a for a in annotators if a.get("gold_accuracy") is not None]
    if not rows:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(rows) + 1.2))
    ys = list(range(len(rows)))[::-1]
    vals = [a["gold_accuracy"] for a in rows]
    cis = [a.get("gold_ci") or [v, v] for a, v in zip(rows, vals, strict=True)]
    colors = ["#c0392b" if a.get("flagged") else "#4063d8" for a in rows]
    ax.barh(ys, vals, color=colors, xerr=[[v - c[0] for v, c in zip(vals, cis, strict=True)],
                                          [c[1] - v for v, c in zip(vals, cis, strict=True)]], capsize=3)
    ax.set_yticks(ys, [_short(a["username"]) for a in rows])
    ax.set_xlim(0, 1)
    ax.set_title("gold accuracy per annotator (Wilson 95% CI; red = flagged)", fontsize=10)
    ax.tick_params(labelsize=8)
    return _data_url(fig)


def _drift_plot(drift: dict[str, Any]) -> str | None:
    """Two p-charts, one above the other: gold accuracy and agreement with consensus per window,
    each annotator's series with its lower control limit (dotted) and flagged windows circled."""
    if _drift_windows(drift) < 2:  # one window: no time axis to draw (the template says so)
        return None
    import matplotlib.pyplot as plt

    metrics = [(m, title) for m, title in (("gold", "gold accuracy"), ("consensus", "agreement with consensus"))
               if any(len(d.get(m) or []) for d in drift.values())]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7.2, 3.3 * len(metrics)), squeeze=False)
    colors: dict[str, Any] = {}
    for ax, (metric, title) in zip(axes[:, 0], metrics, strict=True):
        series = {u: d.get(metric) or [] for u, d in drift.items()}
        for u, wins in sorted((u, w) for u, w in series.items() if w):
            xs = list(range(1, len(wins) + 1))
            line = ax.plot(xs, [w["rate"] for w in wins], marker="o", ms=3, lw=1, label=_short(u, 18),
                           color=colors.get(u))[0]
            colors[u] = line.get_color()
            lcl = [(x, w["lcl"]) for x, w in zip(xs, wins, strict=True) if w.get("lcl") is not None]
            if lcl:
                ax.step([x for x, _ in lcl], [v for _, v in lcl], where="mid", ls=":", lw=1, color=colors[u])
            bad = [(x, w["rate"]) for x, w in zip(xs, wins, strict=True) if w.get("flagged")]
            if bad:
                ax.scatter([x for x, _ in bad], [v for _, v in bad], s=70, facecolors="none", edgecolors="#c0392b",
                           linewidths=2, zorder=3)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time window (day)", fontsize=8)
        ax.set_ylabel(title, fontsize=8)
        ax.set_title(f"drift: {title} per window (dotted: 3σ lower limit; circled: flagged)", fontsize=10)
        ax.tick_params(labelsize=8)
        if len(series) <= 12:
            ax.legend(fontsize=7, loc="lower left", ncol=2)
    return _data_url(fig)


def _drift_windows(drift: dict[str, Any]) -> int:
    """The most time windows any annotator's drift series has (0: no series yet)."""
    return max((len(s or []) for d in drift.values() for s in d.values()), default=0)


def _comparison_plot(comp: dict[str, Any]) -> str | None:
    rows = [(m, r["gold_accuracy"]) for m, r in comp.get("methods", {}).items() if r.get("gold_accuracy") is not None]
    if not rows:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 2.6))
    ax.bar([m for m, _ in rows], [v for _, v in rows], color=["#4063d8", "#8e44ad", "#16a085"][: len(rows)])
    for i, (_, v) in enumerate(rows):
        ax.text(i, v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title(f"consensus accuracy on gold items ({comp['field']})", fontsize=10)
    ax.tick_params(labelsize=8)
    return _data_url(fig)


def consensus_comparison(svc: Annotations, project: str, *, judge: str | None = None,
                         vendor: str | None = None) -> dict[str, Any]:
    """Majority vote vs Dawid–Skene vs model-assisted consensus on the project's first agreement
    field: pairwise share of items where two methods decide the same label, each method's mean
    confidence and its accuracy on the gold items (whose answers the annotators did not see)."""
    from redline.annotate.consensus import run_consensus
    from redline.annotate.exports import _field_ratings, _judge_field, _judge_probs
    from redline.annotate.project_quality import (
        NONE_LABEL,
        _none_is_answer,
        agreement_fields,
        main_field,
    )

    p = svc.get_project(project)
    fields = {f.name: f for f in agreement_fields(svc, project)}
    if not fields:
        return {"field": None, "methods": {}, "pairs": []}
    f = fields.get(main_field(p.task)) or next(iter(fields.values()))
    labels = svc.labels(project, vendor=vendor)
    ratings = _field_ratings(f, labels)
    none_is = _none_is_answer(f)
    gold = {it.item_id: (NONE_LABEL if none_is and it.gold.get(f.name) is None else it.gold.get(f.name))
            for it in svc.items(project, include_gold=True) if it.is_gold and it.gold}
    probs = None
    if judge and f.name == _judge_field(judge):
        try:
            probs = _judge_probs(svc, project, [f.name], judge)[0].get(f.name)
        except InputError:  # the judge scored no item: the comparison shows the annotator-only methods
            probs = None
    methods: dict[str, dict[str, Any]] = {}
    decided: dict[str, dict[str, Any]] = {}
    for m in ("majority", "dawid-skene", "model"):
        if m == "model" and not probs:
            continue
        try:
            got = run_consensus(m, ratings, model_probs=probs).items if ratings else {}
            res: dict[Any, tuple[Any, float | None]] = {i: (ic.label, ic.confidence) for i, ic in got.items()}
        except (ValueError, ZeroDivisionError):  # too little data for this method
            continue
        decided[m] = {k: v for k, (v, _) in res.items()}
        conf = [c for _, c in res.values() if c is not None]
        on_gold = [(decided[m][i], gold[i]) for i in decided[m] if i in gold and gold[i] is not None]
        methods[m] = {"items": len(res), "mean_confidence": sum(conf) / len(conf) if conf else None,
                      "gold_items": len(on_gold),
                      "gold_accuracy": (sum(1 for a, b in on_gold if str(a) == str(b)) / len(on_gold)
                                        if on_gold else None)}
    names = list(decided)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = set(decided[a]) & set(decided[b])
            same = sum(1 for k in common if decided[a][k] == decided[b][k])
            pairs.append({"a": a, "b": b, "items": len(common), "agreement": same / len(common) if common else None})
    return {"field": f.name, "methods": methods, "pairs": pairs, "judge": judge}


def report_context(svc: Annotations, project: str, *, vendor: str | None = None,
                   judge: str | None = None) -> dict[str, Any]:
    """Everything the template renders (plain data; plots as data URLs)."""
    import matplotlib

    matplotlib.use("Agg")
    from redline.annotate.exports import check_judge
    from redline.annotate.project_quality import GOLD_PRIMARY, project_quality, review_queue

    if judge:
        check_judge(judge)
    q = project_quality(svc, project, vendor=vendor, judge=judge or "auto")
    # the model-assisted comparison uses --judge, else the project's queue judge (if it has one)
    comp = consensus_comparison(svc, project, judge=judge or svc.get_project(project).settings.judge,
                                vendor=vendor)
    queue = review_queue(svc, project, vendor=vendor, judge=judge or "auto")
    by_kind, by_field = _queue_groups(queue)
    with matplotlib.rc_context({"text.parse_math": False}):  # names are text, never mathtext
        plots = {"agreement": _agreement_plot(q["agreement"]["by_field"]),
                 "annotators": _annotator_plot(q["annotators"]),
                 "drift": _drift_plot(q.get("drift") or {}),
                 "comparison": _comparison_plot(comp)}
    groups = [("field", {"all": q["agreement"]["by_field"]}), ("category", q["agreement"]["by_category"]),
              ("vendor", q["agreement"]["by_vendor"]), ("policy version", q["agreement"]["by_policy_version"])]
    return {"q": q, "comp": comp, "queue": {"size": len(queue), "by_kind": by_kind, "by_field": by_field,
                                            "top": queue[:20]},
            "plots": plots, "groups": groups, "overlap": svc.get_project(project).overlap,
            "primary": list(GOLD_PRIMARY.get(q["task"], ())),
            "drift_windows": _drift_windows(q.get("drift") or {})}


def _queue_groups(queue: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Queued items per kind (disagreement / low confidence / consensus-vs-judge) and per
    contested field; an item contested in several ways or on several fields counts in each."""
    by_kind: dict[str, int] = {}
    by_field: dict[str, int] = {}
    for e in queue:
        for k in e.reasons:
            by_kind[k] = by_kind.get(k, 0) + 1
        for f in e.fields:
            by_field[f] = by_field.get(f, 0) + 1
    return by_kind, dict(sorted(by_field.items(), key=lambda kv: (-kv[1], kv[0])))


def _fmt(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "–"
    ci = m.get("ci")
    return f"{m['value']:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def _pct(v: float | None, ci: list[float] | None = None) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" + (f" [{100 * ci[0]:.0f}–{100 * ci[1]:.0f}]" if ci else "")


def write_report(svc: Annotations, project: str, out: Path, *, vendor: str | None = None,
                 judge: str | None = None) -> Path:
    """Render a project's quality report as a self-contained HTML file.

    Args:
        svc: The annotation service holding the project.
        project: The project's name.
        out: Where to write the HTML (parent folders are created).
        vendor: Only this vendor's annotators, if given.
        judge: The judge for the model-assisted comparison; else the project's queue judge.

    Returns:
        ``out``.

    Raises:
        InputError: If ``judge`` is not a registered judge name.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    import redline

    ctx = report_context(svc, project, vendor=vendor, judge=judge)
    env = Environment(loader=PackageLoader("redline.annotate", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True))
    env.filters["metric"] = _fmt
    env.filters["pct"] = _pct
    html = env.get_template("report.html.j2").render(**ctx, version=getattr(redline, "__version__", ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
