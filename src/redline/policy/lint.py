"""``redline policy lint``: schema errors and the quality checks a policy reviewer cares about.

Every finding names ``file:line``. Errors make the pack unfit to label or grade
with; warnings are listed for the reviewer.

Checks (code → level):

* ``schema`` (error): the pack does not load (YAML, field types, ids, extends).
* ``no-definition`` (error): a node has an empty definition.
* ``duplicate-definition`` (error) / ``overlapping-definitions`` (warning): two
  nodes' definitions are identical / near-identical (word-sequence similarity).
* ``conflicting-example`` (error): the same example is in scope for one node and
  out of scope for another, or in scope for two nodes with different expected
  behaviour; ``shared-example`` (warning): in scope for two unrelated nodes.
* ``no-examples`` (warning): a node has no in-scope or no out-of-scope examples.
* ``no-expected-behaviour`` (error): a safe-complete node without a safe completion text.
* ``severity-no-criteria`` (warning), ``severity-scale`` (error): rubric problems.
* ``unmapped`` (warning): a top-level category maps to no external taxonomy.
* ``unknown-node`` (error): a casebook case references a node that does not exist.
* ``case-severity`` (error): a case's severity is not in its node's rubric, a
  non-violation has severity > 0, or a violation has severity 0.
* ``case-expectation`` (warning): a case's expected behaviour differs from what
  its node prescribes for the case's intent.
* ``no-cases`` (warning): a top-level category has no casebook cases.
* ``no-rationale`` (warning): a top-level category has no rationale.

A rubric pack (``kind: rubric``) gets its own checks instead:

* ``schema`` (error): as above.
* ``no-description`` (error): a criterion has an empty description.
* ``level-scale`` (error): a scale has fewer than two levels, repeats a value, is not in
  ascending order, or is not contiguous (values must step by 1: ordinal agreement and the
  grader's answer key assume it).
* ``no-descriptor`` (error): a level has an empty descriptor.
* ``duplicate-descriptor`` (warning) / ``duplicate-label`` (warning): two levels of one
  scale say the same thing / have the same label.
* ``level-no-examples`` (warning): a level has no example answer.
* ``unknown-criterion`` (error): a casebook case scores a criterion that does not exist.
* ``case-score`` (error): a case's score is not a level of its criterion's scale.
* ``no-cases`` (warning): no casebook case scores a criterion.
* ``case-adjudication`` (warning): an adjudicated case does not say who adjudicated it.
* ``unused-levels`` (warning): the pack's default ``levels`` are used by no criterion.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from redline.errors import InputError
from redline.policy.loader import PackSource, load_pack_source
from redline.policy.model import Category, Policy
from redline.policy.rubric import Rubric, ScoreLevel

Level = Literal["error", "warning"]
OVERLAP_THRESHOLD = 0.8  # word-sequence similarity above which definitions "overlap"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Finding:
    """One lint finding.

    Attributes:
        level: ``error`` or ``warning``.
        code: Short stable code of the rule (``schema``, ``duplicate-example``, ...).
        where: ``file:line`` (or the pack name when no source is known).
        message: What is wrong and how to fix it.
        node: The category id the finding is about, if any.
    """

    level: Level
    code: str
    where: str
    message: str
    node: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The finding as a JSON-ready dict (``redline policy lint --json``)."""
        return asdict(self)

    def __str__(self) -> str:
        node = f" [{self.node}]" if self.node else ""
        return f"{self.where}: {self.level} {self.code}{node}: {self.message}"


@dataclass
class LintReport:
    """The result of linting one pack.

    Attributes:
        pack: The name or path that was linted.
        findings: Every finding, errors first.
        policy: The loaded pack (a policy or a rubric), or ``None`` when it failed to load.
    """

    pack: str
    findings: list[Finding]
    policy: Policy | Rubric | None = None

    @property
    def errors(self) -> list[Finding]:
        """The findings at level ``error``."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings at level ``warning``."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def loaded(self) -> bool:
        """Whether the pack loaded (schema errors stop loading)."""
        return self.policy is not None

    def to_dict(self) -> dict[str, object]:
        """The report as a JSON-ready dict (``redline policy lint --json``)."""
        p = self.policy
        head: dict[str, object] | None = None
        if isinstance(p, Rubric):
            head = {"name": p.name, "version": p.version, "hash": p.content_hash, "kind": "rubric",
                    "criteria": len(p.criteria), "cases": len(p.casebook)}
        elif p is not None:
            head = {"name": p.name, "version": p.version, "hash": p.content_hash,
                    "nodes": len(p.category_ids), "cases": len(p.casebook)}
        return {
            "pack": self.pack,
            "policy": head,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
        }


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _norm(text: str) -> str:
    return " ".join(_words(text))


def similarity(a: str, b: str) -> float:
    """Measure how alike two texts are, word by word.

    Args:
        a: First text.
        b: Second text.

    Returns:
        The difflib ratio over lower-cased word tokens, in [0, 1].
    """
    return difflib.SequenceMatcher(None, _words(a), _words(b), autojunk=False).ratio()


def _related(policy: Policy, a: str, b: str) -> bool:
    """True when one node is an ancestor of the other (sharing examples is then expected)."""
    pa, pb = policy.path(a), policy.path(b)
    return a in pb or b in pa


def lint_policy(policy: Policy, src: PackSource | None = None) -> list[Finding]:
    """Check a loaded policy for quality problems.

    Args:
        policy: The loaded policy.
        src: Where the pack was read from; when given, findings name ``file:line``.

    Returns:
        The findings, unsorted.
    """

    def where(node: str | None = None, fld: str | None = None, loc: tuple[object, ...] | None = None) -> str:
        if src is None:
            return policy.name
        if loc is not None:
            return src.where(loc)
        return src.where_node(node, fld) if node else src.where(())

    out: list[Finding] = []
    nodes: list[tuple[int, Category]] = list(policy.walk())

    # -- per-node checks ------------------------------------------------------------------------
    for depth, n in nodes:
        parent = policy.parent(n.id) if depth else None
        if not n.definition.strip():
            out.append(Finding("error", "no-definition", where(n.id, "definition"),
                               f"node {n.id!r} has no definition; write what the node covers", n.id))
        if not n.in_scope or not n.out_of_scope:
            missing = " and ".join(k for k, v in (("in_scope", n.in_scope), ("out_of_scope", n.out_of_scope))
                                   if not v)
            out.append(Finding("warning", "no-examples", where(n.id),
                               f"node {n.id!r} has no {missing} examples", n.id))
        exp = n.expected
        inherited = parent is not None and parent.expected == exp and \
            (parent.safe_completion, parent.safe_completion_elements) == (n.safe_completion,
                                                                          n.safe_completion_elements)
        if exp is not None and not inherited and "safe_complete" in (exp.harmful, exp.benign, exp.ambiguous) \
                and not (n.safe_completion or n.safe_completion_elements):
            out.append(Finding("error", "no-expected-behaviour", where(n.id, "expected"),
                               f"node {n.id!r} expects safe_complete but does not say what a safe "
                               "completion contains; add safe_completion or safe_completion_elements", n.id))
        if depth == 0:
            if n.mappings.is_empty():
                out.append(Finding("warning", "unmapped", where(n.id),
                                   f"category {n.id!r} maps to no AILuminate, Llama Guard 3 or OpenAI "
                                   "moderation category", n.id))
            if not n.rationale.strip():
                out.append(Finding("warning", "no-rationale", where(n.id),
                                   f"category {n.id!r} has no rationale", n.id))
            if not policy.cases_for(n.id, include_descendants=True):
                out.append(Finding("warning", "no-cases", where(n.id),
                                   f"category {n.id!r} has no casebook cases", n.id))
        if parent is not None and n.severity == parent.severity:
            continue  # inherited rubric: reported at the parent
        for i, s in enumerate(n.severity):
            if not s.criteria.strip():
                out.append(Finding("warning", "severity-no-criteria",
                                   where(loc=(*src.node_locs.get(n.id, ()), "severity", i)) if src else where(),
                                   f"severity level {s.level} ({s.name}) of {n.id!r} has no criteria", n.id))
        out += _scale_findings(n.severity, f"severity of {n.id!r}", where(n.id, "severity"), n.id)

    for i, s in enumerate(policy.severity_levels):
        if not s.criteria.strip():
            out.append(Finding("warning", "severity-no-criteria", where(loc=("severity_levels", i)),
                               f"pack severity level {s.level} ({s.name}) has no criteria"))
    out += _scale_findings(policy.severity_levels, "the pack's severity_levels", where(loc=("severity_levels",)),
                           None)

    # -- definitions: duplicates and overlaps --------------------------------------------------
    defs = [(n.id, n.definition) for _, n in nodes if n.definition.strip()]
    for i, (a, da) in enumerate(defs):
        for b, db in defs[i + 1:]:
            if _norm(da) == _norm(db):
                out.append(Finding("error", "duplicate-definition", where(b, "definition"),
                                   f"{b!r} has the same definition as {a!r} ({where(a, 'definition')}); "
                                   "say what distinguishes them", b))
                continue
            score = similarity(da, db)
            if score >= OVERLAP_THRESHOLD:
                out.append(Finding("warning", "overlapping-definitions", where(b, "definition"),
                                   f"definitions of {a!r} and {b!r} are {score:.0%} similar; "
                                   "make the boundary between them explicit", b))

    # -- examples under conflicting nodes ------------------------------------------------------
    in_scope: dict[str, list[tuple[str, int]]] = {}
    out_scope: dict[str, list[tuple[str, int]]] = {}
    for _, n in nodes:
        for j, ex in enumerate(n.in_scope):
            in_scope.setdefault(_norm(ex), []).append((n.id, j))
        for j, ex in enumerate(n.out_of_scope):
            out_scope.setdefault(_norm(ex), []).append((n.id, j))
    for key, owners in in_scope.items():
        if not key:
            continue
        for nid, j in owners:
            for oid, k in out_scope.get(key, []):
                if oid == nid or _related(policy, nid, oid):
                    text = policy.category(nid).in_scope[j]
                    out.append(Finding("error", "conflicting-example",
                                       where(loc=(*src.node_locs[oid], "out_of_scope", k)) if src else where(),
                                       f"example {text!r} is in scope for {nid!r} but out of scope for "
                                       f"{oid!r}; keep it under one of them", oid))
                else:
                    text = policy.category(nid).in_scope[j]
                    out.append(Finding("warning", "shared-example",
                                       where(loc=(*src.node_locs[oid], "out_of_scope", k)) if src else where(),
                                       f"example {text!r} is in scope for {nid!r} and out of scope for "
                                       f"{oid!r}; check the two definitions agree", oid))
        seen = owners[:1]
        for nid, j in owners[1:]:
            for pid, _ in seen:
                if nid == pid or _related(policy, nid, pid):
                    continue
                text = policy.category(nid).in_scope[j]
                loc = where(loc=(*src.node_locs[nid], "in_scope", j)) if src else where()
                e_a, e_b = policy.category(pid).expected, policy.category(nid).expected
                if e_a is not None and e_b is not None and e_a.harmful != e_b.harmful:
                    out.append(Finding("error", "conflicting-example", loc,
                                       f"example {text!r} is in scope for {pid!r} (harmful → {e_a.harmful}) "
                                       f"and {nid!r} (harmful → {e_b.harmful}); annotators cannot tell "
                                       "which behaviour applies", nid))
                else:
                    out.append(Finding("warning", "shared-example", loc,
                                       f"example {text!r} is in scope for both {pid!r} and {nid!r}", nid))
            seen.append((nid, j))

    # -- casebook --------------------------------------------------------------------------------
    known = set(policy.category_ids)
    for i, case in enumerate(policy.casebook):
        cw = where(loc=("casebook", i))
        if case.node not in known:
            close = difflib.get_close_matches(case.node, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(Finding("error", "unknown-node", where(loc=("casebook", i, "node")),
                               f"case {case.id!r} references unknown node {case.node!r}{hint}"))
            continue
        levels = {s.level for s in policy.severity_for(case.node)}
        if case.severity not in levels:
            out.append(Finding("error", "case-severity", where(loc=("casebook", i, "severity")),
                               f"case {case.id!r} has severity {case.severity}, not a level of "
                               f"{case.node!r}'s rubric {sorted(levels)}", case.node))
        if not case.harmful and case.severity > 0:
            out.append(Finding("error", "case-severity", where(loc=("casebook", i, "severity")),
                               f"case {case.id!r} is labelled not harmful but has severity {case.severity}",
                               case.node))
        if case.harmful and case.severity == 0:
            out.append(Finding("error", "case-severity", where(loc=("casebook", i)),
                               f"case {case.id!r} is labelled harmful but has severity 0 (none); give the "
                               "severity level of the violation", case.node))
        exp = policy.category(case.node).expected
        # `expected` is the right behaviour for the PROMPT, with or without a response
        if case.expected and exp is not None:
            want = exp.for_intent(case.intent)
            if case.expected != want:
                out.append(Finding("warning", "case-expectation", cw,
                                   f"case {case.id!r} ({case.intent}) expects {case.expected} but node "
                                   f"{case.node!r} prescribes {want} for {case.intent} intent", case.node))
        if case.tag == "adjudicated" and not case.adjudication:
            out.append(Finding("warning", "case-adjudication", cw,
                               f"adjudicated case {case.id!r} does not say who adjudicated it", case.node))
    return out


def _scale_findings(levels: list, what: str, where: str, node: str | None) -> list[Finding]:
    out: list[Finding] = []
    if not levels:
        return out
    nums = [s.level for s in levels]
    if len(set(nums)) != len(nums):
        out.append(Finding("error", "severity-scale", where, f"{what} repeats a level: {nums}", node))
    if 0 not in nums:
        out.append(Finding("error", "severity-scale", where,
                           f"{what} has no level 0 (none); judges and annotators need it", node))
    if nums != sorted(nums):
        out.append(Finding("warning", "severity-scale", where, f"{what} is not in ascending order: {nums}", node))
    return out


def lint(name_or_path: str | Path) -> LintReport:
    """Load and lint a pack.

    Args:
        name_or_path: A built-in policy name or a policy YAML file.

    Returns:
        The report, errors first then by line. Load failures become ``schema`` errors
        instead of being raised.
    """
    try:
        policy, src = load_pack_source(name_or_path)
    except InputError as e:
        findings = [Finding("error", "schema", p.where, p.message + (f" — fix: {p.fix}" if p.fix else ""))
                    for p in e.problems] or [Finding("error", "schema", str(name_or_path), e.summary)]
        return LintReport(str(name_or_path), findings, None)
    findings = lint_rubric(policy, src) if isinstance(policy, Rubric) else lint_policy(policy, src)
    order = {"error": 0, "warning": 1}
    findings.sort(key=lambda f: (order[f.level], _line_key(f.where)))
    return LintReport(str(name_or_path), findings, policy)


def _line_key(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return (path, int(line)) if line.isdigit() else (where, 0)


# -- rubric packs ---------------------------------------------------------------------------------
def _rubric_scale(levels: list[ScoreLevel], what: str, base: tuple[object, ...], src: PackSource,
                  node: str | None) -> list[Finding]:
    out: list[Finding] = []
    where = src.where(base)
    nums = [lv.value for lv in levels]
    if len(levels) < 2:
        out.append(Finding("error", "level-scale", where, f"{what} has {len(levels)} level(s); a score needs "
                           "at least two — add levels", node))
    if len(set(nums)) != len(nums):
        out.append(Finding("error", "level-scale", where, f"{what} repeats a value: {nums} — give every "
                           "level its own value", node))
    elif nums != sorted(nums):
        out.append(Finding("error", "level-scale", where, f"{what} is not in ascending order: {nums} — list "
                           "the levels from lowest to highest", node))
    elif nums and nums != list(range(nums[0], nums[0] + len(nums))):
        out.append(Finding("error", "level-scale", where, f"{what} is not contiguous: {nums} — number the "
                           f"levels {nums[0]}..{nums[0] + len(nums) - 1} in steps of 1", node))
    labels: dict[str, int] = {}
    descs: dict[str, int] = {}
    for j, lv in enumerate(levels):
        lw = src.where((*base, j))
        if not lv.descriptor.strip():
            out.append(Finding("error", "no-descriptor", lw, f"level {lv.value} ({lv.label}) of {what} has no "
                               "descriptor — say what an answer at this level looks like", node))
        elif _norm(lv.descriptor) in descs:
            out.append(Finding("warning", "duplicate-descriptor", lw, f"level {lv.value} of {what} has the same "
                               f"descriptor as level {descs[_norm(lv.descriptor)]} — make the levels distinct",
                               node))
        else:
            descs[_norm(lv.descriptor)] = lv.value
        if lv.label.strip().lower() in labels:
            out.append(Finding("warning", "duplicate-label", lw, f"level {lv.value} of {what} has the same label "
                               f"{lv.label!r} as level {labels[lv.label.strip().lower()]}", node))
        else:
            labels[lv.label.strip().lower()] = lv.value
        if not lv.examples:
            out.append(Finding("warning", "level-no-examples", lw, f"level {lv.value} ({lv.label}) of {what} has "
                               "no example answer — add one under `examples`", node))
    return out


def lint_rubric(rubric: Rubric, src: PackSource) -> list[Finding]:
    """Run the rubric checks (module docstring) on a loaded rubric pack.

    Args:
        rubric: The loaded rubric.
        src: Where each part of the pack came from.

    Returns:
        The findings, unsorted.
    """
    out: list[Finding] = []
    if rubric.levels:
        out += _rubric_scale(rubric.levels, "the pack's default scale", ("levels",), src, None)
        if all(c.levels for c in rubric.criteria):
            out.append(Finding("warning", "unused-levels", src.where(("levels",)),
                               "every criterion has its own levels: the pack's default `levels` are unused"))
    for i, c in enumerate(rubric.criteria):
        if not c.description.strip():
            out.append(Finding("error", "no-description", src.where(("criteria", i, "description")),
                               f"criterion {c.id!r} has no description — say what it judges", c.id))
        if c.levels:
            out += _rubric_scale(c.levels, f"the scale of {c.id!r}", ("criteria", i, "levels"), src, c.id)
        if not rubric.cases_for(c.id):
            out.append(Finding("warning", "no-cases", src.where(("criteria", i)),
                               f"no casebook case scores {c.id!r} — add a worked case", c.id))
    known = rubric.criterion_ids
    for i, case in enumerate(rubric.casebook):
        for cid, score in case.scores.items():
            w = src.where(("casebook", i, "scores", cid))
            if cid not in known:
                close = difflib.get_close_matches(cid, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"use one of {known}"
                out.append(Finding("error", "unknown-criterion", w,
                                   f"case {case.id!r} scores unknown criterion {cid!r} — {hint}"))
                continue
            values = rubric.values_for(cid)
            if score not in values:
                out.append(Finding("error", "case-score", w, f"case {case.id!r} scores {cid!r} {score}, not a level "
                                   f"of its scale {values}", cid))
        if case.tag == "adjudicated" and not case.adjudication:
            out.append(Finding("warning", "case-adjudication", src.where(("casebook", i)),
                               f"adjudicated case {case.id!r} does not say who adjudicated it"))
    return out
