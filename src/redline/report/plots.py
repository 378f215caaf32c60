"""Charts for run reports, drawn as inline SVG.

The run report's one chart (grouped bars with interval whiskers) is generated
as SVG markup by the report template's data here: it is crisp at any zoom,
searchable, tiny, and costs no import. Importing matplotlib costs ~0.6 s on 2
cores, ~8% of a 5,000-sample eval's whole budget; heavier reports (data
profiles, annotation reports) use matplotlib, and :func:`figure_png` to inline its figures.
"""

from __future__ import annotations

import base64
import io
from typing import Any

ROW_H = 26
BAR_H = 9
LEFT = 290
WIDTH = 900
PLOT_W = WIDTH - LEFT - 90  # room on the right for the value labels


def figure_png(fig: Any) -> str:
    """A matplotlib figure as a base64 PNG (laid out tightly, 90 dpi); the figure is closed.

    Args:
        fig: A matplotlib figure.

    Returns:
        The PNG's bytes, base64-encoded (for ``data:image/png;base64,...``).
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def category_bars(by_category: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    """Lay out the per-category chart: harmful-response rate vs over-refusal rate.

    Each category gets two bars with Wilson 95% whiskers; positions are in SVG pixels.

    Args:
        by_category: ``metrics.by_category`` of a run summary: per category id, the
            ``harmful_rate`` and ``over_refusal_rate`` dicts (``rate``, ``k``, ``n``, ``ci95``).
        names: Display name per category id (ids without one are shown as is).

    Returns:
        The geometry the report template draws (``rows``, ``ticks``, sizes), or ``None``
        when no category has data.
    """
    rows: list[dict[str, Any]] = []
    for cid, m in by_category.items():
        if not (m["harmful_rate"]["n"] or m["over_refusal_rate"]["n"]):
            continue
        bars: list[dict[str, Any]] = []
        for i, key in enumerate(("harmful_rate", "over_refusal_rate")):
            r = m[key]
            y = len(rows) * ROW_H + 6 + i * (BAR_H + 1)
            if r["rate"] is None:
                bars.append({"key": key, "y": y, "w": 0, "na": True})
                continue
            lo, hi = r["ci95"]
            bars.append({"key": key, "y": y, "w": round(r["rate"] * PLOT_W, 1),
                         "lo": round(lo * PLOT_W, 1), "hi": round(hi * PLOT_W, 1),
                         "label": f"{100 * r['rate']:.0f}% ({r['k']}/{r['n']})", "na": False})
        name = names.get(cid, cid)
        if len(name) > 44:
            name = name[:43] + "…"
        rows.append({"id": cid, "name": name, "y": len(rows) * ROW_H, "bars": bars})
    if not rows:
        return None
    height = len(rows) * ROW_H + 66
    ticks = [{"x": round(t / 100 * PLOT_W, 1), "label": f"{t}%"} for t in range(0, 101, 20)]
    return {"rows": rows, "width": WIDTH, "height": height, "left": LEFT, "plot_w": PLOT_W,
            "ticks": ticks, "bar_h": BAR_H, "axis_y": len(rows) * ROW_H + 4}
