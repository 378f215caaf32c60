"""Self-contained HTML run reports (jinja2, autoescaped: all content is escaped)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from redline.policy.model import Policy
from redline.report.gaps import gap_sections
from redline.report.plots import category_bars

_MAX_TEXT = 1500


_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is not None:
        return _ENV
    env = Environment(loader=PackageLoader("redline.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))

    def pct(r: dict[str, Any] | None) -> str:
        if not r or r.get("rate") is None:
            return "–"
        return f"{100 * r['rate']:.1f}%"

    def ci(r: dict[str, Any] | None) -> str:
        if not r or not r.get("ci95"):
            return ""
        lo, hi = r["ci95"]
        return f"[{100 * lo:.1f}, {100 * hi:.1f}]"

    def clip(text: str | None) -> str:
        if text is None:
            return ""
        return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + f" … [{len(text) - _MAX_TEXT} more characters]"

    def pct3(p: dict[str, Any] | None) -> str:
        if not p or p.get("value") is None:
            return "–"
        return f"{100 * p['value']:.1f}%"

    env.filters.update(pct=pct, ci=ci, clip=clip, pct3=pct3)
    _ENV = env
    return env


def _transcript(rec: dict[str, Any]) -> str:
    """The sample's conversation as text: the one message alone, else ``role: text`` lines."""
    msgs = rec["sample"]["messages"]
    parts = []
    for m in msgs:
        texts = [p.get("text", "[image]") if p.get("type") == "text" else "[image]" for p in m["content"]]
        parts.append((m["role"], " ".join(texts)))
    if len(parts) == 1:
        return parts[0][1]
    return "\n".join(f"{r}: {t}" for r, t in parts)


def _image_view(rec: dict[str, Any], suite_file: str | None, sensitive: set[str]) -> dict[str, Any]:
    """A worst-example's images (inline ``data:`` URLs, never outside URLs), whether it was
    image-borne, the text drawn in its image, and whether its images start blurred (its category
    carries a content warning in the policy)."""
    from redline.data.messages import inline_images
    from redline.evals.gaps import modality_of

    sample = rec["sample"]
    images = inline_images(sample, suite_file)
    modality = modality_of(rec)
    return {"images": images, "modality": modality,
            "rendered_text": (sample.get("meta") or {}).get("rendered_text"),
            "blur": bool(images) and sample.get("category") in sensitive}


def _refusal(rec: dict[str, Any]) -> dict[str, Any]:
    for j in rec.get("judgments", ()):
        if j.get("judge") == "refusal":
            return j
    return {}


def _degenerate_kind(rec: dict[str, Any]) -> str | None:
    for j in rec.get("judgments", ()):
        fields = j.get("fields") or {}
        if fields.get("harm_reason") == "degenerate":
            return fields.get("harm_degenerate")
    return None


#: Failure clusters listed in the report per kind (largest first; all are in clusters.json).
REPORT_CLUSTERS = 10


def _top_clusters(clusters: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The report's cluster rows: the across-category clusters (not the unclustered groups),
    harmful first, largest first, each with its per-category parts (``parts``)."""
    if not clusters:
        return []
    every = clusters.get("clusters") or []
    parts: dict[str, list[dict[str, Any]]] = {}
    for c in every:
        if c.get("parent"):
            parts.setdefault(c["parent"], []).append(c)
    rows = []
    for kind in ("harmful", "over_refusal"):
        top = [c for c in every if c["kind"] == kind and c["category"] is None and not c.get("unclustered")]
        top.sort(key=lambda c: -c["size"])
        rows += [{**c, "parts": sorted(parts.get(c["id"], []), key=lambda p: -p["size"])}
                 for c in top[:REPORT_CLUSTERS]]
    return rows


def render_report(summary: dict[str, Any], worst: dict[str, list[dict[str, Any]]],
                  policy: Policy, clusters: dict[str, Any] | None = None) -> str:
    """Render the HTML report of one evaluation run.

    Args:
        summary: The run's ``summary.json`` content (``metrics``, ``manifest`` and, when the
            judge was calibrated, ``calibrated``).
        worst: Example records per section (``harmful``, ``over_refusal``, ``unassessable``,
            optionally ``degenerate``), as written to ``results.jsonl``.
        policy: The policy the run was judged against; gives category names.
        clusters: The run's failure clusters (:func:`redline.learn.clusters.cluster_failures`),
            or ``{"error": "..."}`` when they could not be computed; None: no section.

    Returns:
        A self-contained, autoescaped HTML page.
    """
    names = {c.id: c.name for c in policy.categories}
    by_cat = summary["metrics"]["by_category"]
    chart = category_bars(by_cat, names)
    suite_file = (summary.get("manifest") or {}).get("suite", {}).get("path")
    sensitive = {c.id for c in policy.categories if getattr(c, "content_warning", None)}
    rows = {k: [{"id": r["sample"]["id"], "category": names.get(r["sample"]["category"], r["sample"]["category"]),
                 "expected": r["sample"]["expected"], "prompt": _transcript(r), "response": r.get("response"),
                 "error": r.get("error"), "refusal": _refusal(r), "degenerate": _degenerate_kind(r),
                 **_image_view(r, suite_file, sensitive)} for r in v]
            for k, v in worst.items()}
    rows.setdefault("degenerate", [])
    tmpl = _env().get_template("report.html.j2")
    return tmpl.render(s=summary, m=summary["metrics"], man=summary["manifest"], names=names,
                       mgap=summary.get("modality_gap"),
                       chart=chart, worst=rows, cal=summary.get("calibrated"), clusters=clusters,
                       top_clusters=_top_clusters(clusters), gaps=gap_sections(summary, names))

