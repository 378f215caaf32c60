"""Coverage of a data set against a policy: the category × language × expected-behaviour matrix
(× persona/attack style × modality where the data has them), thin and empty cells, and — against a
quota — the gaps as *data requests*.

Quota file (YAML)::

    languages: [en, fr]          # languages every category must cover (default: those in the data)
    categories: [self_harm, hate]  # default: every category of the policy
    min_per_cell: 20             # each category × language × {harmful, benign-contrast}
    cells:                       # overrides; "*" matches any category/language
      - {category: self_harm, language: fr, expected: benign, min: 40}

``expected`` in a quota is ``harmful`` (the category's harmful behaviour in the policy),
``benign`` (``comply``: benign-contrast prompts), or a behaviour (``refuse``, ``safe_complete``,
``comply``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from redline.data.formats import Rejected
from redline.data.profile import MAX_IDS, base_language
from redline.data.records import Record
from redline.errors import InputError, Problem

LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English", "es": "Spanish", "fa": "Persian",
    "fr": "French", "hi": "Hindi", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "jv": "Javanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sw": "Swahili",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}


class QuotaCell(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = "*"
    language: str = "*"
    expected: str = "harmful"
    min: int = Field(ge=0)


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")
    languages: list[str] | None = None
    categories: list[str] | None = None
    min_per_cell: int = Field(default=0, ge=0)
    cells: list[QuotaCell] = Field(default_factory=list)


def load_quota(path: str | Path) -> Quota:
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        return Quota.model_validate(doc or {})
    except OSError as e:
        raise InputError(f"{p}: cannot read the quota file", [Problem(str(p), e.strerror or str(e),
                                                                     "check the path")]) from None
    except yaml.YAMLError as e:
        raise InputError(f"{p}: not valid YAML", [Problem(str(p), str(e).splitlines()[0], "fix the YAML")]) from None
    except ValidationError as e:
        raise InputError(f"{p}: bad quota file", [Problem(
            f"{p} ({'.'.join(str(x) for x in err['loc'])})", err["msg"], "see docs/data.md (Coverage)")
            for err in e.errors()]) from None


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _kind(expected: str) -> str:
    return "benign-contrast" if expected == "comply" else "harmful"


def coverage_records(items: Iterable[Record | Rejected], policy: Any, quota: Quota | None = None,
                     thin: int = 5, on_progress: Callable[[int], None] | None = None,
                     assume_harmful: bool = False) -> dict[str, Any]:
    """The coverage report. ``assume_harmful``: a row without ``expected`` is a harmful prompt and
    gets its category's harmful behaviour from the policy (for prompt sets like AILuminate)."""
    cats = list(policy.category_ids)
    cat_set = set(cats)
    cells: Counter[tuple[str, str, str]] = Counter()
    extra: Counter[tuple[str, ...]] = Counter()  # with persona / modality
    outside: dict[str, dict[str, Any]] = {}
    no_expected: list[str] = []
    n_no_expected = 0
    rejected: list[dict[str, Any]] = []
    n_rej = 0
    n = 0
    has_persona = has_images = False
    langs_seen: Counter[str] = Counter()
    for item in items:
        if on_progress is not None:
            on_progress(1)
        if isinstance(item, Rejected):
            n_rej += 1
            if len(rejected) < MAX_IDS:
                rejected.append({"where": item.where, "reason": item.reason})
            continue
        r = item
        n += 1
        lang = base_language(r.language) or "(none)"
        langs_seen[lang] += 1
        cat = r.category or "(none)"
        if cat not in cat_set:
            o = outside.setdefault(cat, {"count": 0, "ids": []})
            o["count"] += 1
            if len(o["ids"]) < 20:
                o["ids"].append(r.id)
            continue
        if r.expected is None and assume_harmful:
            exp = str(policy.category(cat).expected.harmful)
        elif r.expected is None:
            exp = "(none)"
            n_no_expected += 1
            if len(no_expected) < MAX_IDS:
                no_expected.append(r.id)
        else:
            exp = r.expected.value
        cells[(cat, lang, exp)] += 1
        persona = r.meta.get("persona") or r.meta.get("attack_style")
        has_persona = has_persona or persona is not None
        modality = "image" if r.has_images else "text"
        has_images = has_images or modality == "image"
        extra[(cat, lang, exp, str(persona or "(none)"), modality)] += 1

    q = quota or Quota()
    if q.categories:
        unknown = set(q.categories) - cat_set
        if unknown:
            raise InputError("quota names categories the policy lacks", [Problem(
                f"categories: {sorted(unknown)}", f"not in policy {policy.name}", "fix the quota or the policy")])
    q_cats = q.categories or cats
    languages = [base_language(x) or x for x in q.languages] if q.languages else \
        sorted(x for x in langs_seen if x != "(none)") or ["(none)"]

    def harmful_of(c: str) -> str:
        return str(policy.category(c).expected.harmful)

    def need(c: str, lang: str, exp: str) -> int:
        base = (harmful_of(c), "comply")
        want = q.min_per_cell if c in q_cats and lang in languages and exp in base else 0
        for qc in q.cells:
            if qc.category not in ("*", c) or (qc.language != "*" and base_language(qc.language) != lang):
                continue
            e = qc.expected
            if e == "harmful":
                e = harmful_of(c)
            elif e == "benign":
                e = "comply"
            if e == exp:
                want = qc.min
        return want

    matrix = []
    requests = []
    for c in cats:
        cat_obj = policy.category(c)
        exps = [harmful_of(c), "comply"]
        exps += sorted({e for (cc, _, e) in cells if cc == c and e not in exps})
        for lang in languages + sorted({lg for (cc, lg, _) in cells if cc == c and lg not in languages}):
            for exp in exps:
                have = cells[(c, lang, exp)]
                quota_n = need(c, lang, exp) if exp != "(none)" else 0
                status = "empty" if have == 0 else ("thin" if have < max(thin, quota_n) else "ok")
                matrix.append({"category": c, "language": lang, "expected": exp, "kind": _kind(exp),
                               "count": have, "quota": quota_n or None, "status": status})
                if quota_n and have < quota_n:
                    name = getattr(cat_obj, "name", c)
                    k = _kind(exp)
                    requests.append({
                        "category": c, "category_name": name, "language": lang,
                        "language_name": language_name(lang), "expected": exp, "kind": k,
                        "have": have, "quota": quota_n, "need": quota_n - have, "policy": policy.name,
                        "text": f"need {quota_n - have} more {k} prompts for {name} in {language_name(lang)}",
                    })
    breakdown = []
    if has_persona or has_images:
        for (c, lang, exp, persona, modality), cnt in sorted(extra.items()):
            row = {"category": c, "language": lang, "expected": exp, "count": cnt}
            if has_persona:
                row["persona"] = persona
            if has_images:
                row["modality"] = modality
            breakdown.append(row)
    return {
        "policy": policy.name, "records": n, "languages": languages, "thin_below": thin,
        "cells": matrix,
        "empty_cells": sum(1 for m in matrix if m["status"] == "empty"),
        "thin_cells": sum(1 for m in matrix if m["status"] == "thin"),
        "outside_policy": outside,
        "without_expected": {"count": n_no_expected, "ids": no_expected},
        "breakdown": breakdown,
        "requests": requests,
        "rejected": {"count": n_rej, "rows": rejected},
    }
