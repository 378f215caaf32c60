"""Dataset standards: what a delivery must satisfy, and ``redline data check`` against them.

A standards file (YAML)::

    name: vendor-delivery-v1
    policy: default                  # categories must be ids of this policy pack
    required_fields: [id, category, expected, language]
    categories: [self_harm, hate]    # optional: policy nodes allowed (with their sub-categories)
    languages: [en, fr]              # base codes; en_US counts as en
    expected: [refuse, safe_complete, comply]
    expected_matches_policy: true    # harmful rows must use the category's expected behaviour
    prompt_chars: {min: 10, max: 4000}
    response_chars: {min: 1, max: 8000}
    turns: {min: 1, max: 10}         # user turns
    labels: {harm: [safe, unsafe]}   # each listed label must be present with one of these values
    min_per_category: 20             # per listed / top-level category, sub-categories rolled up;
                                     # or {self_harm: 40, eating_disorders: 10} (either level)
    no_pii: true                     # or a list of PII kinds
    no_duplicates: near              # exact | near | false
    near_threshold: 0.7
    no_overlap_with: [core, evals/heldout.jsonl]   # built-in suite names or files (any format)
    detected_language_matches: true  # declared language must match py3langid's

Every violation names its rule, the row ids and a message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from redline.data import limits
from redline.data._yamlerr import yaml_problem
from redline.data.dedup import DupIndex, NearDupConfig
from redline.data.formats import FieldMap, Rejected
from redline.data.io import Quarantine, RowCounts, open_input
from redline.data.profile import MAX_IDS, base_language, dedup_text
from redline.data.records import Record
from redline.errors import InputError, Problem

_FIELDS = ("id", "prompt", "response", "system", "category", "expected", "language", "source", "chosen",
           "rejected", "labels")


class Bounds(BaseModel):
    """An inclusive range for a per-row count (characters or turns); ``None`` leaves that side open."""

    model_config = ConfigDict(extra="forbid")
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class Standard(BaseModel):
    """A dataset standard: the rules a delivery must satisfy (the YAML keys of the module docstring).

    Every rule is off by default. Attributes that are not obvious:

    Attributes:
        policy: A policy pack; categories must be its node ids, and allowing a node allows its
            sub-categories.
        required_fields: Record fields that must be present and non-empty (``meta.X`` and
            ``labels.X`` accepted).
        expected_matches_policy: A row that is not ``comply`` must carry its category's harmful
            behaviour from the policy.
        labels: Per label name, the allowed values (compared as lower-case strings); the label
            must be present.
        min_per_category: One minimum for every listed category (none listed: the policy's
            top-level ones, or without a policy those in the data), or a minimum per named
            category; with a policy, sub-categories' rows are rolled up.
        no_pii: True for every PII kind, or the list of kinds to refuse.
        no_duplicates: ``exact``, ``near`` (exact as well) or ``False``.
        near_threshold: The Jaccard similarity at which rows are near duplicates.
        no_overlap_with: Built-in suite names or data files that no row may also occur in.
        detected_language_matches: The declared language must match the one detected from the prompt.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = "standard"
    policy: str | None = None
    required_fields: list[str] = Field(default_factory=list)
    categories: list[str] | None = None
    languages: list[str] | None = None
    expected: list[Literal["refuse", "safe_complete", "comply"]] | None = None
    expected_matches_policy: bool = False
    prompt_chars: Bounds | None = None
    response_chars: Bounds | None = None
    turns: Bounds | None = None
    labels: dict[str, list[str | bool | int]] = Field(default_factory=dict)
    min_per_category: int | dict[str, int] | None = None
    no_pii: bool | list[str] = False
    no_duplicates: Literal["exact", "near", False] = False
    near_threshold: float = Field(default=0.7, gt=0, le=1)
    no_overlap_with: list[str] = Field(default_factory=list)
    detected_language_matches: bool = False

    @field_validator("required_fields")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in _FIELDS and not f.startswith(("meta.", "labels."))]
        if bad:
            raise ValueError(f"unknown field(s) {bad}; use {', '.join(_FIELDS)}, meta.X or labels.X")
        return v


def load_standard(path: str | Path) -> Standard:
    """Read and validate a standards YAML file (size, depth and alias limits applied).

    Args:
        path: The standards file.

    Returns:
        The parsed standard; an empty file gives a standard with every rule off.

    Raises:
        InputError: The file cannot be read, is too large, is not valid YAML or does not match the
            schema (each problem names the line and the allowed keys).
    """
    import yaml

    p = Path(path)
    try:
        text = limits.read_config_text(p, "standards file")
        limits.check_yaml(text, p)  # depth, aliases, integer size (docs/limits.md)
        doc = yaml.safe_load(text)
    except OSError as e:
        raise InputError(f"{p}: cannot read the standards file", [Problem(str(p), e.strerror or str(e),
                                                                         "check the path")]) from None
    except yaml.YAMLError as e:
        raise InputError(f"{p}: not valid YAML", [Problem(str(p), str(e).splitlines()[0], "fix the YAML")]) from None
    try:
        return Standard.model_validate(doc or {})
    except ValidationError as e:
        raise InputError(f"{p}: bad standards file",
                         [yaml_problem(p, text, err, _fields_at, "docs/data.md (Dataset standards)")
                          for err in e.errors()]) from None


def _fields_at(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys allowed in the mapping that holds ``loc[-1]`` (Standard's, or a Bounds')."""
    if len(loc) == 1:
        return list(Standard.model_fields)
    if len(loc) == 2 and loc[0] in ("prompt_chars", "response_chars", "turns"):
        return list(Bounds.model_fields)
    return None


class _Violations:
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {}

    def add(self, rule: str, message: str, rid: str | None = None) -> None:
        v = self.rules.setdefault(rule, {"rule": rule, "count": 0, "message": message, "ids": []})
        v["count"] += 1
        if rid is not None and len(v["ids"]) < MAX_IDS:
            v["ids"].append(rid)


def _has(r: Record, f: str) -> bool:
    if f.startswith("meta."):
        return r.meta.get(f[5:]) not in (None, "")
    if f.startswith("labels."):
        return f[7:] in r.labels
    if f == "prompt":
        return bool(r.prompt.strip())
    if f == "response":
        return r.response is not None and bool(r.response.strip())
    if f == "system":
        return r.system is not None
    if f == "labels":
        return bool(r.labels)
    return getattr(r, f) not in (None, "")


def load_eval_set(name: str) -> tuple[str, list[Record]]:
    """A built-in suite name or a file in any format → (name, records)."""
    from redline.data.io import read_records
    from redline.data.jsonl import iter_samples, validate_samples
    from redline.data.suites import builtin_suites

    if name in builtin_suites():
        path = builtin_suites()[name]
        validate_samples(path)
        return name, [Record.from_sample(s) for s in iter_samples(path)]
    return name, read_records(name)


def check_records(items: Iterable[Record | Rejected], std: Standard,
                  on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Check a stream of records against a standard; returns the report."""
    v = _Violations()
    policy = None
    allowed_cats: set[str] | None = set(std.categories) if std.categories else None
    paths: dict[str, list[str]] = {}
    harmful_of: dict[str, str] = {}
    if std.policy:
        from redline.policy import load_policy

        policy = load_policy(std.policy)
        pol_cats = set(policy.category_ids)
        paths = {c: policy.path(c) for c in policy.category_ids}
        named = set(allowed_cats or ()) | (set(std.min_per_category) if isinstance(std.min_per_category, dict) else set())
        unknown = named - pol_cats
        if unknown:
            raise InputError("standards file names categories the policy lacks", [Problem(
                f"categories: {sorted(unknown)}", f"not in policy {policy.name}", "fix the list or the policy")])
        # allowing a node allows its sub-categories
        allowed_cats = pol_cats if allowed_cats is None else {c for c in pol_cats if set(paths[c]) & allowed_cats}
        harmful_of = {c: e.harmful for c in policy.category_ids if (e := policy.category(c).expected) is not None}
    langs = {base_language(x) for x in std.languages} if std.languages else None
    pii_kinds = None
    scanner = None
    if std.no_pii:
        from redline.data.pii import KINDS, PiiScanner

        pii_kinds = tuple(std.no_pii) if isinstance(std.no_pii, list) else KINDS
        scanner = PiiScanner(pii_kinds)
    detect: Callable[[str], str] | None = None
    if std.detected_language_matches:
        from redline.data.langid import detect_language

        detect = detect_language
    dup = DupIndex(cfg=NearDupConfig(threshold=std.near_threshold), near=std.no_duplicates == "near" or bool(std.no_overlap_with))
    per_cat: Counter[str] = Counter()
    ids: list[str] = []
    unreadable: list[dict[str, str]] = []
    seen: set[str] = set()
    n = n_rejected = 0
    for item in items:
        if on_progress is not None:
            on_progress(1)
        if isinstance(item, Rejected):
            n_rejected += 1
            v.add("readable", "rows that cannot be read or mapped", item.where)
            if len(unreadable) < MAX_IDS:
                unreadable.append({"where": item.where, "reason": item.reason})
            continue
        r = item
        n += 1
        ids.append(r.id)
        if r.id in seen:
            v.add("unique_ids", "id used more than once", r.id)
        seen.add(r.id)
        for f in std.required_fields:
            if not _has(r, f):
                v.add(f"required:{f}", f"required field '{f}' missing or empty", r.id)
        if r.category is not None:
            per_cat[r.category] += 1
            if allowed_cats is not None and r.category not in allowed_cats:
                v.add("categories", "category not allowed (not in the policy / list)", r.id)
        if langs is not None and r.language is not None and base_language(r.language) not in langs:
            v.add("languages", f"language not in {sorted(x for x in langs if x)}", r.id)
        if std.expected is not None and r.expected is not None and r.expected.value not in std.expected:
            v.add("expected", f"expected behaviour not in {std.expected}", r.id)
        if (std.expected_matches_policy and r.expected is not None
                and r.category in harmful_of and r.expected.value != "comply"):
            if r.expected.value != harmful_of[r.category]:
                v.add("expected_matches_policy", "harmful rows must carry the category's expected behaviour "
                      "from the policy", r.id)
        for name, b, value in (("prompt_chars", std.prompt_chars, len(r.prompt)),
                               ("response_chars", std.response_chars,
                                None if r.response is None else len(r.response)),
                               ("turns", std.turns, r.turns)):
            if b is None or value is None:
                continue
            if b.min is not None and value < b.min:
                v.add(f"{name}.min", f"{name} below {b.min}", r.id)
            if b.max is not None and value > b.max:
                v.add(f"{name}.max", f"{name} above {b.max}", r.id)
        for lname, allowed in std.labels.items():
            if lname not in r.labels:
                v.add(f"labels.{lname}", f"label '{lname}' missing", r.id)
            elif str(r.labels[lname]).lower() not in {str(a).lower() for a in allowed}:
                v.add(f"labels.{lname}", f"label '{lname}' not one of {allowed}", r.id)
        if scanner is not None:
            kinds = sorted({f.kind for t in r.texts() for f in scanner.scan(t)})
            for k in kinds:
                v.add(f"no_pii:{k}", f"contains PII ({k})", r.id)
        if detect is not None and r.language:
            got = detect(r.prompt)
            if got != "und" and got != base_language(r.language):
                v.add("detected_language_matches", "declared language differs from the detected one", r.id)
        if std.no_duplicates or std.no_overlap_with:
            dup.add(dedup_text(r))
    if std.min_per_category is not None:
        # with a policy, a node's count includes its sub-categories' rows (rolled up)
        rolled: Counter[str] = Counter()
        for cat, count in per_cat.items():
            for anc in paths.get(cat, [cat]):
                rolled[anc] += count
        if isinstance(std.min_per_category, int):
            if policy is not None:  # the listed categories, else the policy's top-level ones
                cats = list(std.categories) if std.categories else list(policy.top_level_ids)
            else:
                cats = sorted(allowed_cats) if allowed_cats is not None else sorted(per_cat)
            mins = dict.fromkeys(cats, std.min_per_category)
        else:
            mins = std.min_per_category
        for c, need in mins.items():
            if rolled[c] < need:
                v.add("min_per_category", "categories with fewer rows than required", f"{c} ({rolled[c]}/{need})")
    if std.no_duplicates:
        for cl in dup.exact_clusters():
            for i in cl[1:]:
                v.add("no_duplicates:exact", "exact duplicate of an earlier row (after normalisation)",
                      f"{ids[i]} = {ids[cl[0]]}")
        if std.no_duplicates == "near":
            near, _ = dup.near_clusters()
            for cl in near:
                v.add("no_duplicates:near", f"near-duplicate cluster (Jaccard ≥ {std.near_threshold})",
                      "+".join(ids[i] for i in cl[:20]) + ("+…" if len(cl) > 20 else ""))
    if std.no_overlap_with:
        from redline.data.profile import leakage

        sets: list[tuple[str, Iterable[Record]]] = [load_eval_set(name) for name in std.no_overlap_with]
        for entry in leakage(dup, ids, sets, dup.cfg if dup.near else None):
            for a, b in entry["exact"]["pairs"]:
                v.add(f"no_overlap_with:{entry['against']}", "row also in an eval set (exact)", f"{a} = {b}")
            for a, b in entry.get("near", {}).get("pairs", []):
                v.add(f"no_overlap_with:{entry['against']}", "row also in an eval set (near)", f"{a} ~ {b}")
    total = sum(x["count"] for x in v.rules.values())
    return {"standard": std.name, "records": n, "passed": total == 0, "violations": total,
            "rules": list(v.rules.values()), "unreadable": unreadable, "per_category": dict(per_cat.most_common()),
            "row_counts": RowCounts(read=n + n_rejected, written=n, rejected=n_rejected, verb="checked").to_json()}


def check_file(path: str | Path, std: Standard, fmt: str | None = None, fmap: FieldMap | None = None,
               on_progress: Callable[[int], None] | None = None,
               quarantine: Quarantine | None = None) -> dict[str, Any]:
    """Check a data file against a standard (see :func:`check_records`).

    Args:
        path: The data file.
        std: The standard to check against.
        fmt: The format name; ``None`` detects it from the extension.
        fmap: The field map applied to each row.
        on_progress: Called with 1 for every row read.
        quarantine: Where the rows that cannot be read are written, with their reasons.

    Returns:
        The check report (``passed``, ``violations``, ``rules`` …) with ``file`` added.

    Raises:
        InputError: The file cannot be read, or the standard names categories its policy lacks.
    """
    rep = check_records(open_input(path, fmt, fmap, quarantine), std, on_progress)
    return {"file": str(path), **rep}
