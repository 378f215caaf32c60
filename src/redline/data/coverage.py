"""Coverage of a data set against a policy: the category × language × expected-behaviour matrix
(× persona/attack style × modality where the data has them), thin and empty cells, and — against a
quota — the gaps as *data requests*.

Policies are trees (top-level categories with sub-nodes). A row may name any node. By default the
matrix has one row per **top-level** category and every row of a sub-node is rolled up into its
top-level ancestor; ``tree=True`` lists every node with its own count and its rolled-up total.

Each row falls into a *kind*: ``harmful`` (its expected behaviour is its node's harmful behaviour
in the policy), ``benign-contrast`` (``comply``), ``other`` (any other behaviour: an ambiguous
prompt or a mislabelled row) or ``unlabelled`` (no ``expected``).

Quota file (YAML)::

    languages: [en, fr]            # languages every category must cover (default: those in the data)
    categories: [self_harm, hate]  # nodes of either level; default: the policy's top-level categories
    min_per_cell: 20               # each listed node × language × {harmful, benign-contrast}
    cells:                         # overrides; "*" matches the listed categories / the languages
      - {category: eating_disorders, language: fr, expected: benign, min: 40}

*Gaps* (what ``--strict`` fails on, ``gaps`` in the report): with a quota, the cells under quota
(the data requests); without one, the empty cells of the top-level matrix (every top-level category
× language has a ``harmful`` and a ``benign-contrast`` cell).

A quota on a node counts that node's rows plus its sub-nodes' rows. ``expected`` in a quota is
``harmful`` (the node's harmful behaviour), ``benign`` (= ``comply``) or a behaviour (``refuse``,
``safe_complete``, ``comply``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from redline.data import limits
from redline.data._yamlerr import yaml_problem
from redline.data.formats import Rejected
from redline.data.formats.base import RejectedSummary
from redline.data.io import RowCounts
from redline.data.profile import MAX_IDS, base_language
from redline.data.records import Record
from redline.errors import InputError, Problem

LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English", "es": "Spanish", "fa": "Persian",
    "fr": "French", "hi": "Hindi", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "jv": "Javanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "sw": "Swahili",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}

_HARMFUL, _BENIGN, _NONE = "harmful", "comply", "(none)"


class QuotaCell(BaseModel):
    """One override in a quota file: the minimum row count for a category × language × behaviour cell.

    Attributes:
        category: A policy node id, or ``"*"`` for every category the quota lists.
        language: A language code, or ``"*"`` for every language the quota lists.
        expected: ``harmful`` (the node's harmful behaviour), ``benign`` (= ``comply``) or a behaviour.
        min: The minimum number of rows the cell needs; a later matching cell overrides an earlier one.
    """

    model_config = ConfigDict(extra="forbid")
    category: str = "*"
    language: str = "*"
    expected: Literal["harmful", "benign", "refuse", "safe_complete", "comply"] = "harmful"
    min: int = Field(ge=0)


class Quota(BaseModel):
    """A coverage quota file: which categories and languages must be covered, and by how many rows.

    Attributes:
        languages: The languages every category must cover; ``None`` means those in the data.
        categories: Policy nodes of any level; ``None`` means the policy's top-level categories.
        min_per_cell: The minimum for each listed category × language × {harmful, benign-contrast} cell.
        cells: Per-cell overrides of ``min_per_cell``.
    """

    model_config = ConfigDict(extra="forbid")
    languages: list[str] | None = None
    categories: list[str] | None = None
    min_per_cell: int = Field(default=0, ge=0)
    cells: list[QuotaCell] = Field(default_factory=list)


def load_quota(path: str | Path) -> Quota:
    """Read and validate a quota YAML file (size, depth and alias limits applied).

    Args:
        path: The quota file.

    Returns:
        The parsed quota; an empty file gives the default (empty) quota.

    Raises:
        InputError: The file cannot be read, is too large, is not valid YAML or does not match the
            quota schema (each problem names the line and the allowed keys).
    """
    import yaml

    p = Path(path)
    text = ""
    try:
        text = limits.read_config_text(p, "quota file")
        limits.check_yaml(text, p)  # depth, aliases, integer size (docs/limits.md)
        doc = yaml.safe_load(text)
        return Quota.model_validate(doc or {})
    except OSError as e:
        raise InputError(f"{p}: cannot read the quota file", [Problem(str(p), e.strerror or str(e),
                                                                     "check the path")]) from None
    except yaml.YAMLError as e:
        raise InputError(f"{p}: not valid YAML", [Problem(str(p), str(e).splitlines()[0], "fix the YAML")]) from None
    except ValidationError as e:
        raise InputError(f"{p}: bad quota file", [yaml_problem(p, text, err, _quota_fields_at, "docs/data.md (Coverage)")
                                                  for err in e.errors()]) from None


def _quota_fields_at(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys allowed where ``loc[-1]`` sits: the quota's, or a cell's (``cells[i].key``)."""
    if len(loc) == 1:
        return list(Quota.model_fields)
    if len(loc) == 3 and loc[0] == "cells":
        return list(QuotaCell.model_fields)
    return None


def language_name(code: str) -> str:
    """The English name of a language code (``fr`` → ``French``); an unknown code is returned as is."""
    return LANGUAGE_NAMES.get(code, code)


def _kind(key: str) -> str:
    return {_HARMFUL: "harmful", _BENIGN: "benign-contrast", _NONE: "unlabelled"}.get(key, "other")


class _Tree:
    """The policy's nodes: ids in pre-order, ancestors, names, harmful behaviours."""

    def __init__(self, policy: Any) -> None:
        self.ids: list[str] = list(policy.category_ids)
        self.top: list[str] = list(policy.top_level_ids)
        self.path = {n: list(policy.path(n)) for n in self.ids}
        node = {n: policy.category(n) for n in self.ids}
        self.name = {n: str(getattr(node[n], "name", n) or n) for n in self.ids}
        self.harm = {n: str(node[n].expected.harmful) for n in self.ids}

    def key(self, node: str, expected: str) -> str:
        """The cell key of a behaviour under a node: ``harmful``, ``comply``, ``(none)`` or the behaviour."""
        if expected == self.harm[node]:
            return _HARMFUL
        return expected


def _suggest(name: str, ids: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.6)
    return f"did you mean {', '.join(close)}?" if close else "use a node id of the policy (`redline policy render`)"


#: the dimensions ``--by`` adds to the matrix
BY_DIMENSIONS = ("modality",)
MODALITIES = ("text", "image", "text+image")


def record_modality(r: Record) -> str:
    """``text`` (no image), ``image`` (images and no user text) or ``text+image``."""
    if not r.has_images:
        return "text"
    has_text = any(m.role == "user" and m.text.strip() for m in r.messages)
    return "text+image" if has_text else "image"


def coverage_records(items: Iterable[Record | Rejected], policy: Any, quota: Quota | None = None,
                     thin: int = 5, on_progress: Callable[[int], None] | None = None,
                     assume_harmful: bool = False, tree: bool = False,
                     by: Iterable[str] = ()) -> dict[str, Any]:
    """The coverage report. ``assume_harmful``: a row without ``expected`` is a harmful prompt and
    gets its node's harmful behaviour from the policy (for prompt sets like AILuminate).
    ``tree``: one matrix row per node (own count + rolled-up total) instead of per top-level category.
    ``by``: extra dimensions (``modality``: text / image / text+image, see :func:`record_modality`),
    each a matrix of category × language × value × {harmful, benign-contrast} under ``by.<name>``."""
    by = list(dict.fromkeys(by))
    for d in by:
        if d not in BY_DIMENSIONS:
            raise InputError(f"unknown coverage dimension {d!r}", [Problem(
                f"--by {d}", "not a coverage dimension", f"use one of: {', '.join(BY_DIMENSIONS)}")])
    by_mod: Counter[tuple[str, str, str, str]] = Counter()  # (node, lang, key, modality)
    t = _Tree(policy)
    node_set = set(t.ids)
    q = quota or Quota()
    # validate the quota before reading the data (fail fast, name the field and the fix)
    problems = []
    for c in q.categories or []:
        if c not in node_set:
            problems.append(Problem(f"quota categories: {c!r}", f"not a node of policy {policy.name}",
                                    _suggest(c, t.ids)))
    for i, qc in enumerate(q.cells):
        if qc.category != "*" and qc.category not in node_set:
            problems.append(Problem(f"quota cells[{i}].category: {qc.category!r}",
                                    f"not a node of policy {policy.name}", _suggest(qc.category, t.ids)))
    if problems:
        raise InputError("the quota names categories the policy lacks", problems)

    own: Counter[tuple[str, str, str]] = Counter()  # (node, language, key)
    extra: Counter[tuple[str, str, str, str, str]] = Counter()  # (node, lang, key, persona, modality)
    outside: dict[str, dict[str, Any]] = {}
    no_expected: list[str] = []
    n_no_expected = 0
    rejected = RejectedSummary(MAX_IDS)
    n = 0
    has_persona = has_images = False
    langs_seen: Counter[str] = Counter()
    for r in rejected.records(items, on_progress):
        n += 1
        lang = base_language(r.language) or _NONE
        langs_seen[lang] += 1
        cat = r.category or _NONE
        if r.expected is None:  # counted whether or not --assume-harmful gives it a behaviour
            n_no_expected += 1
            if len(no_expected) < MAX_IDS:
                no_expected.append(r.id)
        if cat not in node_set:
            o = outside.setdefault(cat, {"count": 0, "ids": []})
            o["count"] += 1
            if len(o["ids"]) < 20:
                o["ids"].append(r.id)
            continue
        if r.expected is None and assume_harmful:
            key = _HARMFUL
        elif r.expected is None:
            key = _NONE
        else:
            key = t.key(cat, r.expected.value)
        own[(cat, lang, key)] += 1
        persona = r.meta.get("persona") or r.meta.get("attack_style")
        has_persona = has_persona or persona is not None
        modality = "image" if r.has_images else "text"
        has_images = has_images or modality == "image"
        extra[(cat, lang, key, str(persona or _NONE), modality)] += 1
        if "modality" in by:
            by_mod[(cat, lang, key, record_modality(r))] += 1

    total: Counter[tuple[str, str, str]] = Counter()  # rolled up: every ancestor gets the row too
    for (node, lang, key), cnt in own.items():
        for anc in t.path[node]:
            total[(anc, lang, key)] += cnt

    q_cats = list(q.categories) if q.categories else list(t.top)
    q_set = set(q_cats)
    languages = [base_language(x) or x for x in q.languages] if q.languages else \
        sorted(x for x in langs_seen if x != _NONE) or [_NONE]
    lang_set = set(languages)

    def need(c: str, lang: str, key: str) -> int:
        want = q.min_per_cell if c in q_set and lang in lang_set and key in (_HARMFUL, _BENIGN) else 0
        for qc in q.cells:
            if (qc.category == "*" and c not in q_set) or (qc.category != "*" and qc.category != c):
                continue
            if (qc.language == "*" and lang not in lang_set) or \
                    (qc.language != "*" and base_language(qc.language) != lang):
                continue
            e = {"harmful": _HARMFUL, "benign": _BENIGN}.get(qc.expected) or t.key(c, qc.expected)
            if e == key:
                want = qc.min
        return want

    def expected_label(c: str, key: str) -> str:
        return t.harm[c] if key == _HARMFUL else key

    def keys_for(c: str, counts: Counter[tuple[str, str, str]]) -> list[str]:
        seen = {k for (cc, _, k) in counts if cc == c}
        return [_HARMFUL, _BENIGN] + sorted(seen - {_HARMFUL, _BENIGN, _NONE}) + ([_NONE] if _NONE in seen else [])

    def langs_for(c: str, counts: Counter[tuple[str, str, str]]) -> list[str]:
        return languages + sorted({lg for (cc, lg, _) in counts if cc == c and lg not in lang_set})

    rows = t.ids if tree else t.top
    matrix = []
    for c in rows:
        for lang in langs_for(c, total):
            for key in keys_for(c, total):
                have = total[(c, lang, key)]
                quota_n = need(c, lang, key) if key != _NONE else 0
                if have == 0 and not quota_n and key not in (_HARMFUL, _BENIGN):
                    continue  # other behaviours / unlabelled: only where present
                status = "empty" if have == 0 else ("thin" if have < max(thin, quota_n) else "ok")
                cell = {"category": c, "language": lang, "expected": expected_label(c, key), "kind": _kind(key),
                        "count": have, "quota": quota_n or None, "status": status}
                if tree:
                    cell.update(own=own[(c, lang, key)], depth=len(t.path[c]) - 1,
                                parent=t.path[c][-2] if len(t.path[c]) > 1 else None)
                matrix.append(cell)

    # data requests: every quota'd node (either level), whatever the view
    requested = [c for c in t.ids if c in q_set or any(qc.category == c for qc in q.cells)]
    extra_langs = sorted({base_language(qc.language) or qc.language for qc in q.cells
                          if qc.language != "*"} - lang_set)
    requests = []
    for c in requested:
        top = t.path[c][0]
        for lang in languages + extra_langs:
            for key in (_HARMFUL, _BENIGN, *sorted({t.key(c, qc.expected) for qc in q.cells
                                                    if qc.expected not in ("harmful", "benign")} - {_HARMFUL, _BENIGN})):
                quota_n = need(c, lang, key)
                have = total[(c, lang, key)]
                if not quota_n or have >= quota_n:
                    continue
                k = _kind(key)
                where = t.name[c] if c == top else f"{t.name[c]} ({t.name[top]})"
                requests.append({
                    "category": c, "category_name": t.name[c], "top_level": top, "path": t.path[c],
                    "language": lang, "language_name": language_name(lang), "expected": expected_label(c, key),
                    "kind": k, "have": have, "quota": quota_n, "need": quota_n - have, "policy": policy.name,
                    "text": f"need {quota_n - have} more {k if k != 'other' else expected_label(c, key)} "
                            f"prompts for {where} in {language_name(lang)}",
                })
    breakdown = []
    if has_persona or has_images:
        rolled: Counter[tuple[str, str, str, str, str]] = Counter()
        for (c, lang, key, persona, modality), cnt in extra.items():
            rolled[(c if tree else t.path[c][0], lang, key, persona, modality)] += cnt
        for (c, lang, key, persona, modality), cnt in sorted(rolled.items()):
            row = {"category": c, "language": lang, "expected": expected_label(c, key), "kind": _kind(key),
                   "count": cnt}
            if has_persona:
                row["persona"] = persona
            if has_images:
                row["modality"] = modality
            breakdown.append(row)
    by_rep: dict[str, Any] = {}
    if "modality" in by:
        mod_total: Counter[tuple[str, str, str, str]] = Counter()
        for (node, lang, key, mod), cnt in by_mod.items():
            for anc in (t.path[node] if tree else t.path[node][:1]):
                mod_total[(anc, lang, key, mod)] += cnt
        seen_mods = {m for (_, _, _, m) in mod_total}
        mods = [m for m in MODALITIES if m in seen_mods or m == "text"] if seen_mods <= {"text"} else list(MODALITIES)
        mcells = []
        for c in rows:
            for lang in langs_for(c, total):
                for key in (_HARMFUL, _BENIGN):
                    for mod in mods:
                        have = mod_total[(c, lang, key, mod)]
                        mcells.append({"category": c, "language": lang, "expected": expected_label(c, key),
                                       "kind": _kind(key), "modality": mod, "count": have,
                                       "status": "empty" if have == 0 else ("thin" if have < thin else "ok")})
        by_rep["modality"] = {
            "values": mods, "cells": mcells,
            "totals": {m: sum(v for (c, _, _, mm), v in mod_total.items() if mm == m and c in set(t.top))
                       for m in mods},
            "empty_cells": sum(1 for m in mcells if m["status"] == "empty"),
            "thin_cells": sum(1 for m in mcells if m["status"] == "thin")}
    nodes = [{"id": c, "name": t.name[c], "depth": len(t.path[c]) - 1, "top_level": t.path[c][0],
              "own": sum(v for (cc, _, _), v in own.items() if cc == c),
              "total": sum(v for (cc, _, _), v in total.items() if cc == c)} for c in rows]
    # gaps (what --strict fails on): with a quota, the cells under quota (the data requests); without
    # one, the empty cells of the top-level matrix (category × language × harmful / benign-contrast,
    # plus any other kind that has rows somewhere in that category)
    if quota is not None:
        gaps = {"basis": "quota", "count": len(requests),
                "cells": [{k: r[k] for k in ("category", "language", "expected", "kind", "have", "quota")}
                          for r in requests[:MAX_IDS]]}
    else:
        empty = [m for m in matrix if m["status"] == "empty" and m.get("depth", 0) == 0]
        gaps = {"basis": "empty cells", "count": len(empty),
                "cells": [{k: m[k] for k in ("category", "language", "expected", "kind")} for m in empty[:MAX_IDS]]}
    return {
        "policy": policy.name, "view": "tree" if tree else "top-level", "records": n, "languages": languages,
        "thin_below": thin, "categories": nodes,
        "cells": matrix,
        "empty_cells": sum(1 for m in matrix if m["status"] == "empty"),
        "thin_cells": sum(1 for m in matrix if m["status"] == "thin"),
        "outside_policy": outside,
        "without_expected": {"count": n_no_expected, "ids": no_expected, "assumed_harmful": assume_harmful},
        "gaps": gaps,
        "breakdown": breakdown,
        "by": by_rep,
        "requests": requests,
        "rejected": rejected.to_json(),
        "row_counts": _row_counts(n, rejected.count, outside, policy.name).to_json(),
    }


def _row_counts(n: int, rejected: int, outside: dict[str, dict[str, Any]], policy: str) -> RowCounts:
    """The coverage's rows: counted in the matrix, rejected, or skipped as outside the policy."""
    rc = RowCounts(read=n + rejected, written=n - sum(o["count"] for o in outside.values()),
                   rejected=rejected, verb="counted")
    for cat, o in outside.items():
        rc.skip("without a category" if cat == _NONE else f"category {cat!r} not in policy {policy}", o["count"])
    return rc
