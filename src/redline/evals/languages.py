"""The language side of a run: response languages, the language gap and judge coverage.

- :func:`suite_is_multilingual` tells the runner, before it starts, whether the suite holds a
  language other than English (then every response's language is detected and recorded as
  ``response_language`` in its result; in an English-only run a response is detected only when
  it is not plain ASCII, so the language model is not loaded for nothing);
- :func:`language_block` builds the ``language_gap`` block of ``summary.json`` for a run with
  more than one language: per language (overall and per category) the harmful-response and
  over-refusal rates paired with English on the same requests (:func:`redline.evals.gaps.paired_gap`,
  pairs by ``sample.meta.en_id``), the prompt/response language mismatches per language, and
  the judges' measured coverage of each language
  (:func:`redline.judges.language_coverage.judge_coverage_block`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from redline.evals.gaps import language_of, pair_by_meta, paired_gap

__all__ = ["REFERENCE", "detect_response_language", "language_block", "suite_is_multilingual"]

#: the reference language of the gap
REFERENCE = "en"


def suite_is_multilingual(path: Path) -> bool:
    """Whether a suite file holds a sample whose ``language`` is not English.

    Reads only each line's ``language`` (stops at the first non-English one); lines that do not
    parse are left to the suite validator.

    Args:
        path: The suite (JSONL).

    Returns:
        True when any sample's language is not ``en``.
    """
    marker = b'"language"'
    english = (b'"language": "en"', b'"language":"en"')
    with path.open("rb") as f:
        for line in f:
            if marker not in line or (line.count(marker) == 1 and any(e in line for e in english)):
                continue
            try:
                lang = json.loads(line).get("language")
            except (ValueError, AttributeError):
                continue
            if lang and lang != "en":
                return True
    return False


def detect_response_language(response: str | None, detect_all: bool) -> str | None:
    """The language of a response (:func:`redline.data.langid.detect_language`), or None.

    Args:
        response: The response text (None or blank: nothing to detect).
        detect_all: Detect every response (multilingual runs); otherwise only non-ASCII ones.

    Returns:
        An ISO 639-1 code, ``und`` for too little text, or None when not detected.
    """
    if response is None or not response.strip():
        return None
    if not detect_all and response.isascii():
        return None
    from redline.data.langid import detect_language

    return detect_language(response)


def _records(results: Path) -> tuple[list[dict[str, Any]], int]:
    """The result records needed for the block (sample, outcome, response language); bad lines counted."""
    out: list[dict[str, Any]] = []
    bad = 0
    seen: set[str] = set()
    with results.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                sample = rec["sample"]
                sid = sample["id"]
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            if sid in seen:  # the runner's own rule: the first record of a sample counts
                continue
            seen.add(sid)
            out.append({"sample": {"id": sid, "language": sample.get("language") or "en",
                                   "category": sample["category"], "expected": sample["expected"],
                                   "meta": {"en_id": (sample.get("meta") or {}).get("en_id")}},
                        "outcome": rec.get("outcome"), "over_refusal": rec.get("over_refusal"),
                        "response_language": rec.get("response_language")})
    return out, bad


def _mismatches(records: list[dict[str, Any]]) -> dict[str, Any]:
    by_lang: dict[str, Counter[str]] = {}
    for rec in records:
        detected = rec.get("response_language")
        if detected is None:
            continue
        by_lang.setdefault(rec["sample"]["language"], Counter())[detected] += 1
    out: dict[str, Any] = {}
    for lang, counts in sorted(by_lang.items()):
        checked = sum(counts.values())
        undetermined = counts.get("und", 0)
        mismatched = sum(n for code, n in counts.items() if code not in (lang, "und"))
        out[lang] = {"responses": checked, "same_language": counts.get(lang, 0), "mismatched": mismatched,
                     "undetermined": undetermined, "by_detected": dict(counts.most_common())}
    return out


def language_block(results: Path, judge_versions: dict[str, str] | None = None, *,
                   harm_judge: str | None = "harm", refusal_judge: str | None = "refusal") -> dict[str, Any] | None:
    """The ``language_gap`` block of a run's summary, or None for a single-language run.

    Args:
        results: The run's ``results.jsonl``.
        judge_versions: The run's ``{judge id: version}`` (for stale coverage figures).
        harm_judge: The id of the judge deciding harmful prompts (None: the refusal rule).
        refusal_judge: The id of the judge deciding refusals.

    Returns:
        :func:`redline.evals.gaps.paired_gap`'s output (dimension ``language``, reference
        ``en``, pairs by ``meta.en_id``) plus ``response_language`` (per prompt language:
        responses checked, same language, mismatched, undetermined, counts by detected
        language), ``judge_coverage`` (per language, with ``warnings``) and ``unreadable_lines``.
    """
    if not results.is_file():
        return None
    from redline.judges.language_coverage import judge_coverage_block

    records, bad = _records(results)
    languages = {language_of(r) for r in records}
    if len(languages) < 2:
        return None
    block = paired_gap(records, dimension=language_of, reference=REFERENCE,
                       pair_key=pair_by_meta("en_id"), name="language")
    block["response_language"] = _mismatches(records)
    english = {lang: m["by_detected"].get("en", 0) / m["responses"]
               for lang, m in block["response_language"].items() if m["responses"]}
    block["judge_coverage"] = judge_coverage_block(block["levels"], judge_versions, harm_judge=harm_judge,
                                                   refusal_judge=refusal_judge, english_responses=english)
    block["unreadable_lines"] = bad
    return block
