"""The red-team section of a run's HTML report (jinja2, autoescaped: all content is escaped)."""

from __future__ import annotations

from typing import Any

START = "<!-- redline:redteam -->"
END = "<!-- /redline:redteam -->"


def render_section(metrics: dict[str, Any]) -> str:
    """The red-team section (ASR tables, attackers, over-refusal under attack, best attacks).

    Args:
        metrics: What :func:`redline.redteam.metrics.compute` returned (``redteam.json``).
    """
    from redline.report.html import _env

    return _env().get_template("redteam.html.j2").render(rt=metrics)


def add_section(html: str, metrics: dict[str, Any]) -> str:
    """``html`` (a run report) with the red-team section before the end of its main part.

    A section added before is replaced, so that re-measuring a run never repeats it.

    Args:
        html: The report's HTML.
        metrics: The red-team measures.
    """
    if START in html and END in html:
        head, _, rest = html.partition(START)
        html = head + rest.partition(END)[2]
    section = f"{START}\n{render_section(metrics)}\n{END}\n"
    at = html.rfind("</main>")
    if at < 0:
        at = html.rfind("</body>")
    if at < 0:
        return html + section
    return html[:at] + section + html[at:]
