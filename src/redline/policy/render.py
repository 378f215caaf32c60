"""``redline policy render``: annotator guidelines from a policy pack (HTML or Markdown).

Both formats are rendered with jinja2. HTML is autoescaped and self-contained
(inline CSS, no scripts, no external resources); Markdown escapes ``<``, ``>``,
``&`` and Markdown control characters in policy text so that a prompt such as
``<script>`` shows as text.

:func:`render_rubric` renders a rubric pack the same way: per criterion its description and a
level table (value, label, descriptor, example answers), then the casebook with each case's
scores and reasoning, and the changelog.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from redline.policy.compile import BEHAVIOURS
from redline.policy.model import Case, Category, Policy
from redline.policy.rubric import Rubric

Format = Literal["html", "md"]
_ENVS: dict[str, Environment] = {}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
_MD_BLOCK_START = re.compile(r"^(\d*)([#+\-=.)])")


def _md(text: object) -> str:
    """Escape text for Markdown: HTML-significant characters and Markdown syntax."""
    s = "" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = " ".join(s.split())
    # text placed at the start of a line or list item must not open a block: a heading
    # ("# x"), a nested list ("- x", "+ x", "1. x") or a thematic break
    return _MD_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s, count=1)


def _env(fmt: Format) -> Environment:
    if fmt not in _ENVS:
        env = Environment(loader=PackageLoader("redline.policy", "templates"),
                          autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False,
                                                       default_for_string=False),
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        env.filters["md"] = _md
        _ENVS[fmt] = env
    return _ENVS[fmt]


def _node_view(policy: Policy, node: Category, depth: int) -> dict[str, Any]:
    path = policy.path(node.id)
    warn = node.content_warning
    if warn is None:  # inherit the nearest ancestor's warning: the whole section is sensitive
        for anc in reversed(path[:-1]):
            warn = policy.category(anc).content_warning
            if warn:
                break
    cases: list[Case] = policy.cases_for(node.id)
    exp = node.expected
    assert exp is not None
    return {
        "node": node, "depth": depth, "path": path, "anchor": f"node-{node.id}",
        "parents": [policy.category(p) for p in path[:-1]],
        "content_warning": warn,
        "severity": policy.severity_for(node.id),
        "behaviours": [(intent, exp.for_intent(intent)) for intent in ("harmful", "benign", "ambiguous")],
        "cases": cases,
    }


def render_guidelines(policy: Policy, fmt: Format = "html") -> str:
    """Render annotator guidelines for a policy.

    The guidelines show the category tree and, per node, its definition, severity rubric,
    expected behaviours and casebook.

    Args:
        policy: The loaded policy.
        fmt: ``html`` (a self-contained page) or ``md`` (Markdown).

    Returns:
        The rendered document.

    Raises:
        ValueError: ``fmt`` is neither ``html`` nor ``md``.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown format {fmt!r}; use html or md")
    views = [_node_view(policy, n, d) for d, n in policy.walk()]
    tags: dict[str, int] = {}
    for c in policy.casebook:
        tags[c.tag] = tags.get(c.tag, 0) + 1
    known = set(policy.category_ids)
    template = _env(fmt).get_template("guidelines.html.j2" if fmt == "html" else "guidelines.md.j2")
    return template.render(
        policy=policy, views=views, behaviours=BEHAVIOURS, tags=tags,
        orphan_cases=[c for c in policy.casebook if c.node not in known],
        sensitive=[v for v in views if v["node"].content_warning],
    )


def render_rubric(rubric: Rubric, fmt: Format = "html") -> str:
    """Render scoring guidelines for a rubric pack (escaped like :func:`render_guidelines`).

    Args:
        rubric: The loaded rubric.
        fmt: ``html`` (a self-contained page) or ``md`` (Markdown).

    Returns:
        The rendered document.

    Raises:
        ValueError: ``fmt`` is neither ``html`` nor ``md``.
    """
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown format {fmt!r}; use html or md")
    views = [{"criterion": c, "levels": rubric.levels_for(c.id), "cases": rubric.cases_for(c.id)}
             for c in rubric.criteria]
    names = {c.id: c.name for c in rubric.criteria}
    labels = {(c.id, lv.value): lv.label for c in rubric.criteria for lv in rubric.levels_for(c.id)}
    template = _env(fmt).get_template("rubric.html.j2" if fmt == "html" else "rubric.md.j2")
    return template.render(rubric=rubric, views=views, names=names, labels=labels)
