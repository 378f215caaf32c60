"""The modality gap of a run: text vs image-borne versions of the same requests, paired.

An image suite (:mod:`redline.data.image_suites`) holds each request twice, as text
(``meta.modality = "text"``) and drawn into an image (``"image"``), both with the text
original's id in ``meta.text_id``; :func:`redline.evals.gaps.paired_gap` pairs them on it and
reports, overall and per category, each modality's harmful-response and over-refusal rates
(Wilson intervals) and the paired difference image − text (Newcombe's paired interval, exact
McNemar, Holm across categories). Other modalities (``image_context``) get their rates and an
unpaired difference. A run with a single modality has no gap (None).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redline.evals.gaps import modality_of, pair_by_meta, paired_gap

#: the reference level of the modality gap
REFERENCE = "text"
#: the meta field pairing an image sample with its text twin
PAIR_FIELD = "text_id"


def modality_gap(records: Any) -> dict[str, Any] | None:
    """The paired modality gap of result records, or None when they hold only one modality.

    Args:
        records: Result records (dicts as written to ``results.jsonl``).

    Returns:
        :func:`redline.evals.gaps.paired_gap`'s output for the ``modality`` dimension
        (reference ``text``, paired on ``meta.text_id``), plus ``image_borne``: how many
        samples carried an image.
    """
    recs = list(records)
    gap = paired_gap(recs, dimension=modality_of, reference=REFERENCE,
                     pair_key=pair_by_meta(PAIR_FIELD, fallback_to_id=False), name="modality")
    if len(gap["levels"]) < 2:
        return None
    gap["image_borne"] = sum(1 for r in recs if modality_of(r) != REFERENCE)
    return gap


def modality_gap_for_run(results: Path) -> dict[str, Any] | None:
    """:func:`modality_gap` of a run's ``results.jsonl``; None when the file is missing or holds
    one modality.

    Only what the gap needs is kept per record (not the conversation), so memory stays small on
    large runs. As in the runner, the first record of a sample id counts (later ones are counted
    in ``repeated_samples``); unreadable lines are counted in
    ``unreadable_lines``.
    """
    if not results.is_file():
        return None
    recs: list[dict[str, Any]] = []
    bad = repeated = 0
    seen: set[str] = set()
    with open(results, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                sample = rec["sample"]
                sid, category, expected = str(sample["id"]), sample["category"], sample["expected"]
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            if sid in seen:
                repeated += 1
                continue
            seen.add(sid)
            meta = sample.get("meta") if isinstance(sample.get("meta"), dict) else {}
            recs.append({"sample": {"id": sid, "category": category, "expected": expected,
                                    "meta": {"modality": modality_of(rec), PAIR_FIELD: meta.get(PAIR_FIELD)}},
                         "outcome": rec.get("outcome"), "over_refusal": rec.get("over_refusal")})
    gap = modality_gap(recs)
    if gap is not None:
        gap["unreadable_lines"] = bad  # as the language gap block
        gap["repeated_samples"] = repeated
    return gap


def headline(gap: dict[str, Any], level: str = "image") -> dict[str, Any] | None:
    """The headline numbers of a modality gap: for ``level`` vs text, the paired difference of
    the harmful-response and the over-refusal rate with their intervals (None when absent)."""
    block = (gap.get("overall") or {}).get(level)
    if not block or "gap_vs_reference" not in block:
        return None
    g = block["gap_vs_reference"]
    return {m: {k: g[m]["paired"][k] for k in ("pairs", "level_rate", "reference_rate", "diff", "ci95",
                                               "p_value")} for m in ("harmful_rate", "over_refusal_rate")}
