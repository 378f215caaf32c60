"""Labelled calibration data: rows of a prompt, a response and human labels, read from JSONL
or from records in memory; bad rows come back with their line and reason (the caller quarantines them)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.errors import InputError, Problem
from redline.judges.batch import prompt_of

__all__ = ["REFUSAL_LABELS", "LabelledRow", "load_labels", "rows_from_records"]

REFUSAL_LABELS = ("full_compliance", "full_refusal", "partial_refusal")


@dataclass
class LabelledRow:
    """One labelled calibration row: a prompt, a response and the human labels.

    Attributes:
        line: The row's 1-based line in the file (or position among the records).
        id: The row's ``id``, else ``line<N>``.
        prompt: The prompt (the last user message's text when the row gives ``messages``).
        response: The response that was labelled.
        harmful: The human harm label, or None when not labelled.
        refusal: The human refusal label (one of ``REFUSAL_LABELS``), or None.
        category: The policy category id of the row, or None.
        prompt_harmful: Whether the prompt itself is harmful, or None when not given.
        source: Where the row comes from (benchmarks; optional).
        model_family: Which model family wrote the response (optional).
    """

    line: int
    id: str
    prompt: str
    response: str
    harmful: bool | None
    refusal: str | None
    category: str | None
    prompt_harmful: bool | None
    #: where the row comes from and which model family wrote the response (benchmarks; optional)
    source: str | None = None
    model_family: str | None = None


def _parse_row(rec: Any, lineno: int, categories: set[str] | None) -> tuple[LabelledRow | None, str | None]:
    if not isinstance(rec, dict):
        return None, "not a JSON object"
    resp = rec.get("response")
    if not isinstance(resp, str) or not resp.strip():
        return None, "field 'response' must be a non-empty string"
    try:
        prompt = prompt_of(rec)
    except (ValueError, TypeError) as e:
        return None, f"invalid 'messages': {str(e).splitlines()[0][:200]}"
    if prompt is None:
        return None, "missing field 'prompt' or 'messages'"
    harmful = rec.get("harmful")
    if harmful is not None and not isinstance(harmful, bool):
        return None, "field 'harmful' must be true or false (or absent)"
    refusal = rec.get("refusal")
    if refusal is not None and refusal not in REFUSAL_LABELS:
        return None, f"field 'refusal' must be one of {', '.join(REFUSAL_LABELS)} (or absent)"
    if harmful is None and refusal is None:
        return None, "no human label: give 'harmful' (true/false) and/or 'refusal'"
    cat = rec.get("category")
    if cat is not None and not isinstance(cat, str):
        return None, "field 'category' must be a string"
    if cat is not None and categories is not None and cat not in categories:
        return None, f"category {cat!r} is not in the policy (use one of its category ids)"
    ph = rec.get("prompt_harmful")
    if ph is not None and not isinstance(ph, bool):
        return None, "field 'prompt_harmful' must be true or false (or absent)"
    rid = rec.get("id", f"line{lineno}")
    src, fam = rec.get("source"), rec.get("model_family")
    return LabelledRow(line=lineno, id=str(rid), prompt=prompt, response=resp, harmful=harmful,
                       refusal=refusal, category=cat, prompt_harmful=ph,
                       source=src if isinstance(src, str) else None,
                       model_family=fam if isinstance(fam, str) else None), None


def load_labels(path: Path, categories: Iterable[str] | None = None
                ) -> tuple[list[LabelledRow], list[dict[str, Any]]]:
    """Read a labelled JSONL file.

    Args:
        path: The file: one JSON object a line with ``prompt`` or ``messages``, ``response``,
            and ``harmful`` and/or ``refusal`` (optional ``category``, ``prompt_harmful``,
            ``source``, ``model_family``, ``id``).
        categories: The policy's category ids; a row with another category is rejected.

    Returns:
        ``(rows, rejected)``; each rejected item has ``line``, ``reason`` and ``raw``.

    Raises:
        InputError: The file is missing, or has no usable row.
    """
    if not path.is_file():
        raise InputError(f"labels file {path} not found", [Problem(
            str(path), "no such file",
            "give a JSONL file with prompt (or messages), response and human labels harmful/refusal")])
    cats = set(categories) if categories is not None else None
    rows: list[LabelledRow] = []
    rejected: list[dict[str, Any]] = []
    from redline.data.limits import iter_lines, too_long_reason

    with open(path, "rb") as f:
        for lineno, raw in iter_lines(f):  # the BOM of line 1 dropped; an over-long line is its length
            if isinstance(raw, int):  # never held whole: rejected by its length
                rejected.append({"line": lineno, "reason": too_long_reason(raw), "raw": None})
                continue
            if not raw.strip():
                continue
            row: LabelledRow | None
            reason: str | None
            try:
                rec = json.loads(raw)
            except ValueError as e:
                row, reason = None, f"invalid JSON: {str(e).splitlines()[0][:200]}"
            else:
                row, reason = _parse_row(rec, lineno, cats)
            if row is None:
                rejected.append({"line": lineno, "reason": reason,
                                 "raw": raw.decode("utf-8", "replace").rstrip("\n")})
            else:
                rows.append(row)
    if not rows:
        raise InputError(f"no usable labelled rows in {path}", [Problem(
            str(path), f"{len(rejected)} row(s), all rejected" if rejected else "the file is empty",
            "each line needs prompt/messages, response and 'harmful' and/or 'refusal'")])
    return rows, rejected


def rows_from_records(records: Iterable[dict[str, Any]], categories: Iterable[str] | None = None
                      ) -> tuple[list[LabelledRow], list[dict[str, Any]]]:
    """Labelled rows from records already in memory (e.g. a benchmark).

    Args:
        records: The records, with the fields :func:`load_labels` reads.
        categories: The policy's category ids; a row with another category is rejected.

    Returns:
        ``(rows, rejected)`` with the same checks as :func:`load_labels`; ``line`` is the
        1-based position, and each rejected item has ``line``, ``reason`` and ``id``.
    """
    cats = set(categories) if categories is not None else None
    rows: list[LabelledRow] = []
    rejected: list[dict[str, Any]] = []
    for i, rec in enumerate(records, 1):
        row, reason = _parse_row(rec, i, cats)
        if row is None:
            rejected.append({"line": i, "reason": reason, "id": rec.get("id") if isinstance(rec, dict) else None})
        else:
            rows.append(row)
    return rows, rejected
