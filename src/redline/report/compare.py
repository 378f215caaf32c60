"""The comparison page of ``redline compare --html`` (self-contained, autoescaped) and its forest
plots (inline SVG, no external assets), which the web app reuses."""

from __future__ import annotations

import math
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

__all__ = ["METRIC_NAMES", "TEST_NAMES", "fmt_kn", "fmt_p", "fmt_pp", "forest_svg", "render_comparison"]

#: display names of the compared metrics
METRIC_NAMES = {"harmful_rate": "harmful-response rate", "over_refusal_rate": "over-refusal rate"}
#: display names of the tests
TEST_NAMES = {"mcnemar_exact": "exact McNemar", "paired_bootstrap": "paired bootstrap", "newcombe": "Newcombe (unpaired)"}
_COLORS = {"worse": "#c0392b", "better": "#1e8449", "no detectable difference": "#555"}


def fmt_pp(v: float | None, sign: bool = True) -> str:
    """A difference (or MDE) as percentage points.

    Args:
        v: The value, a fraction (0.031 is 3.1 points); None shows as "–".
        sign: Show a "+" on positive values.

    Returns:
        E.g. ``"+3.1"``.
    """
    if v is None:
        return "–"
    return f"{100 * v:+.1f}" if sign else f"{100 * v:.1f}"


def fmt_p(p: float | None) -> str:
    """A p-value for display: 3 significant digits, "<0.001" below that.

    Args:
        p: The p-value; None shows as "–".

    Returns:
        E.g. ``"0.0312"`` or ``"<0.001"``.
    """
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3g}"


def fmt_kn(x: dict[str, Any]) -> str:
    """A rate with its counts.

    Args:
        x: ``{"k", "n", "rate"}``.

    Returns:
        E.g. ``"12.5% 5/40"``, or "–" when nothing was assessed.
    """
    if x.get("rate") is None:
        return "–"
    return f"{100 * x['rate']:.1f}% {x['k']}/{x['n']}"


_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("redline.report", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True))
        _ENV.filters.update(pp=fmt_pp, pval=fmt_p, kn=fmt_kn)
    return _ENV


def _nice_step(span: float) -> float:
    raw = span / 3
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 0.01
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def forest_svg(rows: list[dict[str, Any]], *, width: int = 720, title: str | None = None) -> Markup:
    """A forest plot of differences with their confidence intervals, as inline SVG.

    One line per row (labelled by its category, "overall" for None), a dot at the difference
    and a bar over the interval, coloured by the verdict (worse red, better green, else grey),
    with a dashed line at zero. Rows without a difference are listed as "n/a". All text is
    escaped.

    Args:
        rows: Comparison rows (``category``, ``diff``, ``ci95``, ``verdict``), as in
            :func:`redline.learn.compare.compare_runs`'s output; usually one metric's rows.
        width: Width of the figure in pixels.
        title: A caption drawn above the plot (escaped).

    Returns:
        The ``<svg>`` element, safe to insert into an HTML page unescaped.
    """
    label_w, right_w, line_h, top = 170, 160, 24, 34 if title else 14
    plot_w = max(120, width - label_w - right_w)
    height = top + line_h * max(1, len(rows)) + 34
    ends = [abs(v) for r in rows if r.get("ci95") for v in r["ci95"] if v is not None]
    ends += [abs(r["diff"]) for r in rows if r.get("diff") is not None]
    span = max([0.02, *ends]) * 1.1
    step = _nice_step(span)
    span = math.ceil(span / step) * step

    def x(v: float) -> float:
        return label_w + (v + span) / (2 * span) * plot_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="forest" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12">']
    if title:
        out.append(f'<text x="4" y="18" font-weight="600">{escape(title)}</text>')
    bottom = top + line_h * max(1, len(rows))
    dec = 0 if abs(100 * step - round(100 * step)) < 1e-9 else 1
    t = -span
    while t <= span + 1e-9:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{bottom}" stroke="#eee"/>'
                   f'<text x="{x(t):.1f}" y="{bottom + 16}" text-anchor="middle" fill="#666">'
                   f'{100 * t:+.{dec}f}</text>' if abs(t) > 1e-12 else
                   f'<text x="{x(0):.1f}" y="{bottom + 16}" text-anchor="middle" fill="#666">0</text>')
        t += step
    out.append(f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{bottom}" stroke="#888" '
               'stroke-dasharray="4 3"/>')
    out.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{bottom + 30}" text-anchor="middle" fill="#666">'
               'difference (compared − baseline), percentage points</text>')
    for i, r in enumerate(rows):
        y = top + line_h * i + line_h / 2
        name = "overall" if r.get("category") is None else str(r["category"])
        weight = ' font-weight="600"' if r.get("category") is None else ""
        out.append(f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end"{weight}>{escape(name[:28])}</text>')
        color = _COLORS.get(r.get("verdict", ""), "#555")
        ci = r.get("ci95")
        if r.get("diff") is None:
            out.append(f'<text x="{x(0) + 6:.1f}" y="{y + 4:.1f}" fill="#999">n/a</text>')
            continue
        if ci and ci[0] is not None:
            out.append(f'<line x1="{x(ci[0]):.1f}" y1="{y:.1f}" x2="{x(ci[1]):.1f}" y2="{y:.1f}" '
                       f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<circle cx="{x(r["diff"]):.1f}" cy="{y:.1f}" r="4.5" fill="{color}">'
                   f'<title>{escape(name)}: {100 * r["diff"]:+.1f} pp</title></circle>')
        ci_txt = f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci and ci[0] is not None else ""
        out.append(f'<text x="{label_w + plot_w + 8}" y="{y + 4:.1f}" fill="{color}">'
                   f'{100 * r["diff"]:+.1f}{escape(ci_txt)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def render_comparison(result: dict[str, Any]) -> str:
    """Render the HTML page of a comparison.

    Args:
        result: What :func:`redline.learn.compare.compare_runs` returned.

    Returns:
        A self-contained, autoescaped HTML page: the runs, the warnings, and per comparison
        a forest plot per metric (one line per category) and the table of rows.
    """
    runs = result["runs"]
    sections = []
    for cmp in result["comparisons"]:
        plots = []
        for metric, label in METRIC_NAMES.items():
            rows = [r for r in cmp["rows"] if r["metric"] == metric]
            if rows:
                plots.append(forest_svg(rows, title=label))
        sections.append({"a": runs[cmp["a"]], "b": runs[cmp["b"]], "cmp": cmp, "plots": plots})
    return _env().get_template("compare.html.j2").render(
        r=result, runs=runs, sections=sections, metric_names=METRIC_NAMES, test_names=TEST_NAMES)
