"""Gap sections of the run report: the language gap (and any other dimension's paired gap).

A gap block (:func:`redline.evals.gaps.paired_gap`, e.g. ``summary["language_gap"]``) becomes a
section of ``report.html``: per level the harmful-response and over-refusal rates with their
Wilson intervals and the paired difference to the reference level with its Newcombe interval,
overall and per category, and — for languages — the prompt/response language mismatches and
the judges' measured coverage next to each language's rates (a warning where they fall short).
The template is ``templates/gaps.html.j2`` (autoescaped like the rest of the report).
"""

from __future__ import annotations

from typing import Any

__all__ = ["GAP_BLOCKS", "gap_sections"]

#: summary keys holding gap blocks, with their section titles (other dimensions add theirs here)
GAP_BLOCKS: tuple[tuple[str, str], ...] = (("language_gap", "Language gap"), ("modality_gap", "Modality gap"))


def _diff(block: dict[str, Any] | None) -> dict[str, Any] | None:
    if not block or block.get("diff") is None:
        return None
    lo, hi = block["ci95"]
    return {"diff": 100 * block["diff"], "lo": 100 * lo, "hi": 100 * hi, "pairs": block["pairs"],
            "p": block.get("p_holm", block.get("p_value")),
            "significant": lo > 0 or hi < 0}


def _row(level: str, data: dict[str, Any], coverage: dict[str, Any], mismatch: dict[str, Any]) -> dict[str, Any]:
    gap = data.get("gap_vs_reference") or {}
    return {"level": level, "harmful": data["harmful_rate"], "over": data["over_refusal_rate"],
            "harmful_gap": _diff((gap.get("harmful_rate") or {}).get("paired")),
            "over_gap": _diff((gap.get("over_refusal_rate") or {}).get("paired")),
            "reference": not gap, "coverage": coverage.get(level), "mismatch": mismatch.get(level)}


def gap_sections(summary: dict[str, Any], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The report's gap sections, one per gap block present in the summary.

    Args:
        summary: The run's ``summary.json`` content.
        names: Category id → display name.

    Returns:
        One dict per section (``key``, ``title``, ``reference``, ``dimension``, ``rows`` overall,
        ``categories``: ``[(category name, rows)]``, ``warnings``, ``error``), ready for
        ``templates/gaps.html.j2``.
    """
    names = names or {}
    out: list[dict[str, Any]] = []
    for key, title in GAP_BLOCKS:
        block = summary.get(key)
        if not block:
            continue
        if block.get("error"):
            out.append({"key": key, "title": title, "error": block["error"]})
            continue
        coverage = block.get("judge_coverage") or {}
        mismatch = block.get("response_language") or {}
        rows = [_row(lv, block["overall"][lv], coverage, mismatch) for lv in block["levels"]]
        cats = []
        for cid, per in (block.get("by_category") or {}).items():
            cats.append((names.get(cid, cid), [_row(lv, per[lv], {}, {}) for lv in block["levels"] if lv in per]))
        out.append({"key": key, "title": title, "reference": block["reference"],
                    "dimension": block.get("dimension") or "level", "rows": rows, "categories": cats,
                    "warnings": coverage.get("warnings") or [], "error": None})
    return out
