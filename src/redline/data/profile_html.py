"""The profile report as an HTML page with matplotlib plots (images embedded, text escaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redline.data.profile import MAX_IDS
from redline.report.plots import figure_png


def _bar(title: str, counts: dict[str, int], top: int = 20) -> dict[str, str] | None:
    if not counts:
        return None
    import matplotlib.pyplot as plt

    items = list(counts.items())[:top]
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(items) + 1.2))
    ax.barh([str(k) for k, _ in items][::-1], [v for _, v in items][::-1], color="#4063d8")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    return _chart(fig, title)


def _hist(title: str, hist: dict[str, Any] | None, xlabel: str = "characters") -> dict[str, str] | None:
    if not hist or not hist.get("counts"):
        return None
    import matplotlib.pyplot as plt

    edges, counts = hist["edges"], hist["counts"]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges[:-1], edges[1:], strict=True)], align="edge",
           color="#4063d8", edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=8)
    return _chart(fig, title)


def _chart(fig: Any, title: str) -> dict[str, str]:
    return {"title": title, "png": figure_png(fig)}


def _findings(rep: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, node: dict[str, Any] | None, extra: str = "") -> None:
        if node is None:
            return
        ids = ", ".join(node.get("ids", [])[:MAX_IDS])
        out.append({"name": name, "count": node["count"], "result": f"{node['count']:,}{extra}", "ids": ids})

    add("duplicate ids", rep["duplicate_ids"])
    add("empty prompt", rep["empty"]["empty_prompt"])
    add("whitespace-only content", rep["empty"]["whitespace_only"])
    for k, v in rep["encoding"].items():
        add(f"encoding: {k}", v)
    if "language" in rep:
        add("declared ≠ detected language", rep["language"]["mismatch_with_declared"])
    add("mixed scripts", rep["scripts"]["mixed"])
    if "pii" in rep:
        add("rows with PII", rep["pii"]["rows"])
        for k, v in rep["pii"]["by_kind"].items():
            add(f"PII: {k}", v)
    im = rep.get("images")
    if im:
        add("images missing", im["missing"])
        add("images not decoding", im["decode_errors"])
        add("images not read (not allowed / too large)", im["not_read"])
        add("image URLs (not fetched)", im["remote_not_checked"])
        add("images with EXIF GPS position (privacy risk)", im["exif"]["gps"])
        add("images with EXIF device ids (privacy risk)", im["exif"]["device_ids"])
        for kind in ("exact", "near"):
            node = im["duplicates"].get(kind)
            if node:
                out.append({"name": f"{kind} duplicate images", "count": node["clusters"],
                            "result": f"{node['clusters']} clusters",
                            "ids": " | ".join(", ".join(c) for c in node["examples"][:20])})
    d = rep["duplicates"]
    out.append({"name": "exact duplicates", "count": d["exact"]["extra_copies"],
                "result": f"{d['exact']['clusters']} clusters", "ids": ""})
    if "near" in d:
        out.append({"name": "near duplicates", "count": d["near"]["clusters"],
                    "result": f"{d['near']['clusters']} clusters", "ids": ""})
    return out


def write_profile_html(rep: dict[str, Any], path: str | Path) -> Path:
    """Render a profile report as one HTML page: charts (lengths, categories, languages, scripts,
    PII, labels) and a table of findings.

    Args:
        rep: The report of :func:`redline.data.profile.profile_records` / ``profile_file``.
        path: The HTML file to write (overwritten).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    from jinja2 import Environment, PackageLoader, select_autoescape

    import redline

    # data values (category names, labels) are plain text: "$…$" must not be parsed as mathtext
    with matplotlib.rc_context({"text.parse_math": False}):
        plots = [
            _hist("prompt length (characters)", rep["lengths"]["prompt_chars"].get("histogram")),
            _hist("response length (characters)", rep["lengths"]["response_chars"].get("histogram")),
            _bar("categories", rep["counts"].get("category", {})),
            _bar("languages (detected)", rep.get("language", {}).get("detected", {})),
            _bar("scripts", rep["scripts"]["main"]),
            _bar("PII rows by kind", {k: v["count"] for k, v in rep.get("pii", {}).get("by_kind", {}).items()}),
        ]
        if rep.get("images"):
            im = rep["images"]
            plots += [_bar("image formats", im["formats"]),
                      _hist("image width (pixels)", im["width"].get("histogram"), "pixels"),
                      _hist("image file size (bytes)", im["file_bytes"].get("histogram"), "bytes")]
        plots += [_bar(f"label: {k}", v.get("counts", {})) for k, v in rep["labels"].items()]
    env = Environment(loader=PackageLoader("redline.data", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True))
    html = env.get_template("profile.html.j2").render(
        rep=rep, plots=[p for p in plots if p], findings=_findings(rep), max_ids=MAX_IDS,
        version=getattr(redline, "__version__", ""))
    p = Path(path)
    p.write_text(html, encoding="utf-8")
    return p
