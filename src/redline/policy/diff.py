"""``redline policy diff``: what a policy change changes, and which results or labels it affects.

Nodes are matched by id. A removed id and an added id whose definitions are
near-identical are reported as a *rename*; a node whose parent changed is
*moved*. Text fields get a word-level diff (``[-old-]{+new+}``); expected
behaviour, severity rubric, examples, mappings and casebook changes are listed
field by field.

Rubric packs (``kind: rubric``) are compared with :func:`diff_rubrics`: criteria added,
removed or renamed (near-identical descriptions), per criterion its name, description and
every level (added, removed, relabelled, descriptor word diff, examples), a changed *scale*
(the set of level values — scores given under the old scale no longer compare), the pack's
fields, the changelog entries the new version adds, and the casebook.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.data.limits import LimitError, iter_lines, loads_json, too_long_reason
from redline.errors import InputError, Problem
from redline.policy.lint import similarity
from redline.policy.model import Category, Intent, Policy
from redline.policy.rubric import Criterion, Rubric, ScoreLevel

RENAME_THRESHOLD = 0.8
_TOKEN = re.compile(r"\s*(?:\w+(?:['’-]\w+)*|[^\w\s])")
_BEHAVIOURS = {"refuse", "safe_complete", "comply"}
_INTENTS: tuple[Intent, ...] = ("harmful", "benign", "ambiguous")


def _tokens(text: str) -> list[str]:
    """Words and punctuation marks, each carrying the whitespace before it."""
    return _TOKEN.findall(text or "")


def word_diff(old: str, new: str) -> str:
    """Diff two texts word by word.

    Args:
        old: The old text.
        new: The new text.

    Returns:
        The new text with unchanged words as is, removed words as ``[-removed-]`` and added
        ones as ``{+added+}``.
    """
    a, b = _tokens(old), _tokens(new)
    ka, kb = [t.strip() for t in a], [t.strip() for t in b]
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
            continue
        for seg, removed in (("".join(a[i1:i2]), True), ("".join(b[j1:j2]), False)):
            if seg:
                lead, body = seg[: len(seg) - len(seg.lstrip())], seg.strip()
                out.append(f"{lead}[-{body}-]" if removed else f"{lead}{{+{body}+}}")
    return "".join(out).strip()


@dataclass
class FieldChange:
    """One changed field of a node or of the pack.

    Attributes:
        field: Dotted field name, such as ``definition`` or ``expected.harmful``.
        old: The old value (``None`` when added).
        new: The new value (``None`` when removed).
        diff: Word-level diff, for text fields.
        inherited: The same change as the parent node's (the field is inherited).
    """

    field: str
    old: Any
    new: Any
    diff: str | None = None  # word-level, for text fields
    inherited: bool = False  # the same change as the parent node's (the field is inherited)

    def to_dict(self) -> dict[str, Any]:
        """The change as a JSON-ready dict (``diff`` and ``inherited`` only when set)."""
        d = {"field": self.field, "old": self.old, "new": self.new}
        if self.diff is not None:
            d["diff"] = self.diff
        if self.inherited:
            d["inherited"] = True
        return d


@dataclass
class NodeChange:
    """The changed fields of one category node (by its new id)."""

    id: str
    changes: list[FieldChange] = field(default_factory=list)

    def fields(self) -> set[str]:
        """The top-level names of the changed fields (``expected.harmful`` → ``expected``)."""
        return {c.field.split(".")[0] for c in self.changes}


@dataclass
class PolicyDiff:
    """What changed between two versions of a policy: nodes, pack fields and casebook."""

    old: Policy
    new: Policy
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # old id → new id
    moved: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # id → (old, new parent)
    changed: dict[str, NodeChange] = field(default_factory=dict)  # by NEW id
    pack_changes: list[FieldChange] = field(default_factory=list)
    cases_added: list[str] = field(default_factory=list)
    cases_removed: list[str] = field(default_factory=list)
    cases_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return not (self.added or self.removed or self.renamed or self.moved or self.changed
                    or self.pack_changes or self.cases_added or self.cases_removed or self.cases_changed)

    def new_id(self, old_id: str) -> str | None:
        """Map an old node id to its id in the new policy.

        Args:
            old_id: A node id of the old policy.

        Returns:
            The node's id in the new policy (renamed or the same), or ``None`` when removed.
        """
        if old_id in self.renamed:
            return self.renamed[old_id]
        return None if old_id in self.removed else old_id

    def to_dict(self) -> dict[str, Any]:
        """The diff as a JSON-ready dict (``redline policy diff --json``)."""
        return {
            "old": {"name": self.old.name, "version": self.old.version, "hash": self.old.content_hash},
            "new": {"name": self.new.name, "version": self.new.version, "hash": self.new.content_hash},
            "added": self.added, "removed": self.removed,
            "renamed": [{"old": o, "new": n} for o, n in self.renamed.items()],
            "moved": [{"id": i, "old_parent": o, "new_parent": n} for i, (o, n) in self.moved.items()],
            "changed": {nid: [c.to_dict() for c in ch.changes] for nid, ch in self.changed.items()},
            "pack": [c.to_dict() for c in self.pack_changes],
            "casebook": {"added": self.cases_added, "removed": self.cases_removed,
                         "changed": self.cases_changed},
        }


def _parent(p: Policy, nid: str) -> str | None:
    path = p.path(nid)
    return path[-2] if len(path) > 1 else None


def _text(fc: list[FieldChange], name: str, a: str | None, b: str | None) -> None:
    if (a or "").strip() != (b or "").strip():
        fc.append(FieldChange(name, a, b, word_diff(a or "", b or "")))


def _items(fc: list[FieldChange], name: str, a: list[str], b: list[str]) -> None:
    if a != b:
        gone = [x for x in a if x not in b]
        new = [x for x in b if x not in a]
        fc.append(FieldChange(name, gone, new, None if (gone or new) else "reordered"))


def _node_changes(old: Policy, new: Policy, a: Category, b: Category) -> list[FieldChange]:
    fc: list[FieldChange] = []
    if a.name != b.name:
        fc.append(FieldChange("name", a.name, b.name, word_diff(a.name, b.name)))
    _text(fc, "definition", a.definition, b.definition)
    _text(fc, "rationale", a.rationale, b.rationale)
    _items(fc, "in_scope", a.in_scope, b.in_scope)
    _items(fc, "out_of_scope", a.out_of_scope, b.out_of_scope)
    ea, eb = a.expected, b.expected
    if ea is not None and eb is not None:
        for intent in _INTENTS:
            old_b, new_b = ea.for_intent(intent), eb.for_intent(intent)
            if old_b != new_b:
                fc.append(FieldChange(f"expected.{intent}", old_b, new_b))
        _text(fc, "expected.notes", ea.notes, eb.notes)
    _text(fc, "safe_completion", a.safe_completion, b.safe_completion)
    _items(fc, "safe_completion_elements", a.safe_completion_elements, b.safe_completion_elements)
    sa = {s.level: s for s in old.severity_for(a.id)}
    sb = {s.level: s for s in new.severity_for(b.id)}
    for lvl in sorted(set(sa) | set(sb)):
        x, y = sa.get(lvl), sb.get(lvl)
        if x is None or y is None:
            fc.append(FieldChange(f"severity.{lvl}", x and f"{x.name}: {x.criteria}",
                                  y and f"{y.name}: {y.criteria}"))
        elif (x.name, x.criteria.strip()) != (y.name, y.criteria.strip()):
            fc.append(FieldChange(f"severity.{lvl}", f"{x.name}: {x.criteria}", f"{y.name}: {y.criteria}",
                                  word_diff(f"{x.name}: {x.criteria}", f"{y.name}: {y.criteria}")))
    for tax in ("ailuminate", "llama_guard3", "openai_moderation"):
        x, y = getattr(a.mappings, tax), getattr(b.mappings, tax)
        if sorted(x) != sorted(y):
            fc.append(FieldChange(f"mappings.{tax}", x, y))
    _text(fc, "content_warning", a.content_warning, b.content_warning)
    return fc


def _match_renames(old_ids: list[str], new_ids: list[str],
                   sim: Callable[[str, str], float]) -> tuple[list[str], list[str], dict[str, str]]:
    """Added ids, removed ids and renames (old id → new id): each removed id is paired with the
    added id it is most similar to (``sim``), when at least ``RENAME_THRESHOLD``."""
    old_set, new_set = set(old_ids), set(new_ids)
    removed = [i for i in old_ids if i not in new_set]
    added = [i for i in new_ids if i not in old_set]
    renamed: dict[str, str] = {}
    for rid in list(removed):
        best, score = None, 0.0
        for aid in added:
            x = sim(rid, aid)
            if x > score:
                best, score = aid, x
        if best is not None and score >= RENAME_THRESHOLD:
            renamed[rid] = best
            removed.remove(rid)
            added.remove(best)
    return added, removed, renamed


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Compare two versions of a policy.

    A removed node and an added node whose definitions are at least ``RENAME_THRESHOLD``
    similar are reported as a rename.

    Args:
        old: The old policy.
        new: The new policy.

    Returns:
        The differences.
    """
    d = PolicyDiff(old, new)
    # renames: best definition match between a removed and an added node
    d.added, d.removed, d.renamed = _match_renames(
        old.category_ids, new.category_ids,
        lambda rid, aid: similarity(old.category(rid).definition, new.category(aid).definition))
    for oid in old.category_ids:
        nid = d.new_id(oid)
        if nid is None:
            continue
        op, np_ = _parent(old, oid), _parent(new, nid)
        if d.renamed.get(op or "", op) != np_:
            d.moved[nid] = (op, np_)
        fc = _node_changes(old, new, old.category(oid), new.category(nid))
        if fc:
            d.changed[nid] = NodeChange(nid, fc)
    for nid, ch in d.changed.items():  # mark changes a node merely inherits from its parent
        parent = _parent(new, nid)
        if parent in d.changed:
            mine = {(c.field, repr(c.old), repr(c.new)) for c in d.changed[parent].changes}
            for c in ch.changes:
                c.inherited = (c.field, repr(c.old), repr(c.new)) in mine
    for attr in ("name", "version", "description", "extends", "suite", "audience"):
        x, y = getattr(old, attr), getattr(new, attr)
        if x != y:
            d.pack_changes.append(FieldChange(attr, x, y, word_diff(x or "", y or "")
                                              if attr == "description" else None))
    sa = {s.level: (s.name, s.criteria) for s in old.severity_levels}
    sb = {s.level: (s.name, s.criteria) for s in new.severity_levels}
    if sa != sb:
        d.pack_changes.append(FieldChange("severity_levels", sa, sb))
    ca = {c.id: c for c in old.casebook}
    cb = {c.id: c for c in new.casebook}
    d.cases_added = [i for i in cb if i not in ca]
    d.cases_removed = [i for i in ca if i not in cb]
    d.cases_changed = [i for i in cb if i in ca and ca[i] != cb[i]]
    return d


# -- rendering ------------------------------------------------------------------------------------
def format_diff(d: PolicyDiff) -> str:
    """Render a policy diff as text for the terminal.

    Args:
        d: The diff from :func:`diff_policies`.

    Returns:
        A header line, then one line per change: ``+`` added, ``-`` removed, ``>`` renamed or
        moved, ``~`` changed (with its fields), and a casebook summary.
    """
    o, n = d.old, d.new
    lines = [f"policy diff {o.name} {o.version} ({o.content_hash}) → {n.name} {n.version} ({n.content_hash})"]
    if d.empty:
        lines.append("no changes")
        return "\n".join(lines)
    for c in d.pack_changes:
        lines.append(f"~ pack.{c.field}: {c.diff or f'{c.old!r} → {c.new!r}'}")
    for nid in d.added:
        node = n.category(nid)
        parent = _parent(n, nid)
        exp = node.expected
        lines.append(f"+ added {nid} ({node.name})" + (f" under {parent}" if parent else " at top level")
                     + (f"; harmful → {exp.harmful}, benign → {exp.benign}" if exp else ""))
    for oid in d.removed:
        lines.append(f"- removed {oid} ({o.category(oid).name})")
    for oid, nid in d.renamed.items():
        lines.append(f"> renamed {oid} → {nid}")
    for nid, (op, np_) in d.moved.items():
        lines.append(f"> moved {nid}: {op or '(top level)'} → {np_ or '(top level)'}")
    for nid, ch in d.changed.items():
        lines.append(f"~ changed {nid}:")
        inherited = [c.field for c in ch.changes if c.inherited]
        if inherited:
            lines.append(f"    (inherited from {_parent(n, nid)}: {', '.join(inherited)})")
        for c in ch.changes:
            if c.inherited:
                continue
            if c.diff is not None:  # word-level diff, or "reordered" for a list
                lines.append(f"    {c.field}: {c.diff}")
            elif isinstance(c.old, list) and c.field.endswith(("scope", "elements")):
                lines += [f"    {c.field}: - {x}" for x in c.old] + [f"    {c.field}: + {x}" for x in c.new]
            else:
                lines.append(f"    {c.field}: {c.old} → {c.new}")
    if d.cases_added or d.cases_removed or d.cases_changed:
        lines.append(f"casebook: +{len(d.cases_added)} added, -{len(d.cases_removed)} removed, "
                     f"~{len(d.cases_changed)} changed")
    return "\n".join(lines)


# -- rubric packs ---------------------------------------------------------------------------------
@dataclass
class RubricDiff:
    """What changed between two versions of a rubric pack: criteria, levels, pack, casebook."""

    old: Rubric
    new: Rubric
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # old id → new id
    changed: dict[str, NodeChange] = field(default_factory=dict)  # by NEW criterion id
    rescaled: list[str] = field(default_factory=list)  # criteria whose set of level values changed
    pack_changes: list[FieldChange] = field(default_factory=list)
    changelog: list[dict[str, Any]] = field(default_factory=list)  # entries new in the new version
    cases_added: list[str] = field(default_factory=list)
    cases_removed: list[str] = field(default_factory=list)
    cases_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return not (self.added or self.removed or self.renamed or self.changed or self.pack_changes
                    or self.changelog or self.cases_added or self.cases_removed or self.cases_changed)

    def to_dict(self) -> dict[str, Any]:
        """The diff as a JSON-ready dict (``redline policy diff --json`` on rubric packs)."""
        return {
            "kind": "rubric",
            "old": {"name": self.old.name, "version": self.old.version, "hash": self.old.content_hash},
            "new": {"name": self.new.name, "version": self.new.version, "hash": self.new.content_hash},
            "added": self.added, "removed": self.removed,
            "renamed": [{"old": o, "new": n} for o, n in self.renamed.items()],
            "changed": {cid: [c.to_dict() for c in ch.changes] for cid, ch in self.changed.items()},
            "rescaled": self.rescaled,
            "pack": [c.to_dict() for c in self.pack_changes],
            "changelog": self.changelog,
            "casebook": {"added": self.cases_added, "removed": self.cases_removed,
                         "changed": self.cases_changed},
        }


def _level_text(lv: ScoreLevel) -> str:
    return f"{lv.label}: {lv.descriptor.strip()}"


def _criterion_changes(old: Rubric, new: Rubric, a: Criterion, b: Criterion) -> list[FieldChange]:
    fc: list[FieldChange] = []
    if a.name != b.name:
        fc.append(FieldChange("name", a.name, b.name, word_diff(a.name, b.name)))
    _text(fc, "description", a.description, b.description)
    la = {lv.value: lv for lv in old.levels_for(a.id)}
    lb = {lv.value: lv for lv in new.levels_for(b.id)}
    for v in sorted(set(la) | set(lb)):
        x, y = la.get(v), lb.get(v)
        if x is None or y is None:
            fc.append(FieldChange(f"levels.{v}", x and _level_text(x), y and _level_text(y)))
            continue
        if _level_text(x) != _level_text(y):
            fc.append(FieldChange(f"levels.{v}", _level_text(x), _level_text(y),
                                  word_diff(_level_text(x), _level_text(y))))
        ex = [e.model_dump() for e in x.examples]
        ey = [e.model_dump() for e in y.examples]
        if ex != ey:
            gone = sum(e not in ey for e in ex)
            new_n = sum(e not in ex for e in ey)
            fc.append(FieldChange(f"levels.{v}.examples", len(ex), len(ey),
                                  f"-{gone} removed, +{new_n} added" if gone or new_n else "reordered"))
    return fc


def diff_rubrics(old: Rubric, new: Rubric) -> RubricDiff:
    """Compare two versions of a rubric pack.

    A removed criterion and an added one whose descriptions are at least ``RENAME_THRESHOLD``
    similar are reported as a rename.

    Args:
        old: The old rubric.
        new: The new rubric.

    Returns:
        The differences.
    """
    d = RubricDiff(old, new)
    d.added, d.removed, d.renamed = _match_renames(
        old.criterion_ids, new.criterion_ids,
        lambda rid, aid: similarity(old.criterion(rid).description, new.criterion(aid).description))
    new_ids = set(new.criterion_ids)
    for oid in old.criterion_ids:
        nid = d.renamed.get(oid, oid if oid in new_ids else None)
        if nid is None:
            continue
        fc = _criterion_changes(old, new, old.criterion(oid), new.criterion(nid))
        if fc:
            d.changed[nid] = NodeChange(nid, fc)
        if old.values_for(oid) != new.values_for(nid):
            d.rescaled.append(nid)
    for attr in ("name", "version", "description", "audience", "data"):
        x, y = getattr(old, attr), getattr(new, attr)
        if x != y:
            d.pack_changes.append(FieldChange(attr, x, y, word_diff(x or "", y or "")
                                              if attr == "description" else None))
    known = {e.version for e in old.changelog}
    d.changelog = [e.model_dump() for e in new.changelog if e.version not in known]
    ca = {c.id: c for c in old.casebook}
    cb = {c.id: c for c in new.casebook}
    d.cases_added = [i for i in cb if i not in ca]
    d.cases_removed = [i for i in ca if i not in cb]
    d.cases_changed = [i for i in cb if i in ca and ca[i] != cb[i]]
    return d


def format_rubric_diff(d: RubricDiff) -> str:
    """Render a rubric diff as text for the terminal.

    Args:
        d: The diff from :func:`diff_rubrics`.

    Returns:
        A header line, then ``+`` added, ``-`` removed, ``>`` renamed, ``~`` changed criteria
        (level by level), ``!`` a changed scale, the new changelog entries and a casebook summary.
    """
    o, n = d.old, d.new
    lines = [f"rubric diff {o.name} {o.version} ({o.content_hash}) → {n.name} {n.version} ({n.content_hash})"]
    if d.empty:
        lines.append("no changes")
        return "\n".join(lines)
    for c in d.pack_changes:
        lines.append(f"~ pack.{c.field}: {c.diff or f'{c.old!r} → {c.new!r}'}")
    for cid in d.added:
        lines.append(f"+ added criterion {cid} ({n.criterion(cid).name}), levels {n.values_for(cid)}")
    for cid in d.removed:
        lines.append(f"- removed criterion {cid} ({o.criterion(cid).name})")
    for oid, nid in d.renamed.items():
        lines.append(f"> renamed criterion {oid} → {nid}")
    for cid, ch in d.changed.items():
        lines.append(f"~ changed {cid}:")
        for c in ch.changes:
            if c.diff is not None:
                lines.append(f"    {c.field}: {c.diff}")
            elif c.old is None:
                lines.append(f"    {c.field}: + {c.new}")
            elif c.new is None:
                lines.append(f"    {c.field}: - {c.old}")
            else:
                lines.append(f"    {c.field}: {c.old} → {c.new}")
    old_of = {v: k for k, v in d.renamed.items()}
    for cid in d.rescaled:
        lines.append(f"! scale of {cid} changed: {o.values_for(old_of.get(cid, cid))} → {n.values_for(cid)} "
                     "(scores given under the old scale do not compare)")
    for e in d.changelog:
        lines.append(f"changelog {e['version']}" + (f" ({e['date']})" if e.get("date") else "") + ": "
                     + "; ".join(e.get("changes") or []))
    if d.cases_added or d.cases_removed or d.cases_changed:
        lines.append(f"casebook: +{len(d.cases_added)} added, -{len(d.cases_removed)} removed, "
                     f"~{len(d.cases_changed)} changed")
    return "\n".join(lines)


# -- impact ---------------------------------------------------------------------------------------
def _read_records(path: Path) -> tuple[str, list[dict[str, Any]], Path]:
    """``(kind, records, file)`` for a run directory (results.jsonl) or a labels JSONL."""
    if path.is_dir():
        f = path / "results.jsonl"
        if not f.is_file():
            raise InputError(f"{path} is not a run directory", [Problem(
                str(path), "no results.jsonl in this directory",
                "give a run directory written by `redline eval`, or a labels JSONL file")])
        kind = "run"
    elif path.is_file():
        f, kind = path, "labels"
    else:
        raise InputError(f"{path} not found", [Problem(str(path), "no such file or directory",
                                                       "give a run directory or a labels JSONL file")])
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    try:
        fh = f.open("rb")
    except OSError as e:
        raise InputError(f"cannot read {f}", [Problem(str(f), e.strerror or str(e),
                                                      "give a readable run directory or labels JSONL")]) from None
    with fh:
        for ln, raw in iter_lines(fh):  # the BOM of line 1 dropped; an over-long line is its length
            if isinstance(raw, int):
                problems.append(Problem(f"{f}:{ln}", too_long_reason(raw), "split or remove the line"))
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(Problem(f"{f}:{ln}", f"not UTF-8 ({e.reason})",
                                        "give a JSONL file (UTF-8 text, one JSON object per line)"))
                if len(problems) >= 20:
                    break
                continue
            if not line.strip():
                continue
            try:
                rec = loads_json(line)  # nesting, integer size, lone surrogates limited (docs/limits.md)
            except LimitError as e:
                problems.append(Problem(f"{f}:{ln}", e.reason, e.fix))
                continue
            except json.JSONDecodeError as e:
                problems.append(Problem(f"{f}:{ln}", f"not valid JSON ({e.msg})", "fix or remove the line"))
                continue
            if not isinstance(rec, dict):
                problems.append(Problem(f"{f}:{ln}", "not a JSON object", "one JSON object per line"))
                continue
            rec["_line"] = ln
            records.append(rec)
    if problems:
        raise InputError(f"{f} has {len(problems)} unreadable line(s)", problems)
    return kind, records, f


def _record_fields(rec: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """``(id, category, expected, intent)`` of a result or label record."""
    nested = rec.get("sample")
    sample: dict[str, Any] = nested if isinstance(nested, dict) else rec
    found_meta = sample.get("meta")
    meta: dict[str, Any] = found_meta if isinstance(found_meta, dict) else {}
    rid = sample.get("id") or rec.get("id")
    cat = sample.get("category")
    exp = sample.get("expected")
    label = rec.get("label")
    if exp is None and isinstance(label, str) and label in _BEHAVIOURS:
        exp = label
    intent = rec.get("intent") or meta.get("intent")
    if intent is None and isinstance(label, str) and label in _INTENTS:
        intent = label
    return (str(rid) if rid is not None else None, cat, exp, intent)


def _infer_intent(exp: str | None, node: Category | None) -> str | None:
    """The intent a record without one was written for: the one whose behaviour under the OLD
    policy is the stored ``expected`` (harmful first), else comply → benign, other → harmful."""
    if exp not in _BEHAVIOURS:
        return None
    if node is not None and node.expected is not None:
        for intent in _INTENTS:
            if node.expected.for_intent(intent) == exp:
                return intent
    return "benign" if exp == "comply" else "harmful"


def impact(d: PolicyDiff, path: str | Path) -> dict[str, Any]:
    """Which stored results or labels the change affects, with reasons and counts.

    A record is affected when its category was removed, renamed or moved, when the
    expected behaviour for its intent changes, or when its node's definition, scope
    examples or severity rubric changed (the label should be re-reviewed).

    Args:
        d: The diff from :func:`diff_policies`.
        path: A run directory (its ``results.jsonl``) or a labels JSONL file.

    Returns:
        Counts (``records``, ``affected``, ``by_reason``, ``by_category``, records not
        assessed) and the affected ``items`` with their reasons.

    Raises:
        InputError: The path is neither, or has unreadable lines.
    """
    kind, records, f = _read_records(Path(path))
    reasons: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    affected: list[dict[str, Any]] = []
    unknown = 0  # category not in the old policy
    unknown_both = 0  # … nor in the new one: cannot be assessed
    no_category = 0
    old_ids, new_ids = set(d.old.category_ids), set(d.new.category_ids)
    for rec in records:
        rid, cat, exp, intent = _record_fields(rec)
        if not isinstance(cat, str) or not cat:
            no_category += 1
            continue
        why: list[tuple[str, str]] = []  # (reason key, detail)
        if cat not in old_ids:
            unknown += 1
            if cat not in new_ids:
                unknown_both += 1
                continue
        old_node = d.old.category(cat) if cat in old_ids else None
        if intent not in _INTENTS:
            intent = _infer_intent(exp, old_node)
        if cat in d.removed:
            why.append(("category removed", "category removed"))
        elif cat in d.renamed:
            why.append(("category renamed", f"category renamed to {d.renamed[cat]}"))
        nid = d.new_id(cat) if cat in d.old.category_ids else cat
        if nid is not None and nid in d.moved:
            op, np_ = d.moved[nid]
            why.append(("category moved", f"moved from {op or '(top level)'} to {np_ or '(top level)'}"))
        if nid is not None and nid in new_ids and intent in _INTENTS:
            # what the policy change does to the behaviour expected for this record's intent
            # (a stored `expected` that was already out of date is not this change's doing)
            new_exp = d.new.category(nid).expected
            want = new_exp.for_intent(intent) if new_exp else None
            old_exp = old_node.expected if old_node is not None else None
            was = old_exp.for_intent(intent) if old_exp else exp
            if was in _BEHAVIOURS and want is not None and want != was:
                why.append(("expected behaviour changed", f"expected behaviour {was} → {want}"))
        if nid is not None and nid in d.changed:
            scope = d.changed[nid].fields() & {"definition", "in_scope", "out_of_scope", "severity"}
            if scope:
                why.append(("definition, scope or severity changed (re-review)",
                            "re-review: " + ", ".join(sorted(scope)) + " changed"))
        if why:
            for key, _ in why:
                reasons[key] += 1
            by_cat[cat] += 1
            affected.append({"id": rid, "line": rec["_line"], "category": cat, "expected": exp,
                             "intent": intent, "reasons": [w for _, w in why]})
    return {"source": str(f), "kind": kind, "records": len(records), "affected": len(affected),
            "unknown_category_in_old": unknown, "unknown_category": unknown_both,
            "no_category": no_category, "by_reason": dict(reasons.most_common()),
            "by_category": dict(by_cat.most_common()), "items": affected}


def format_impact(imp: dict[str, Any], limit: int = 20) -> str:
    """Render the result of :func:`impact` as text for the terminal.

    Args:
        imp: The result of :func:`impact`.
        limit: Show at most this many affected records.

    Returns:
        A summary line, counts by reason and category, then the first records.
    """
    lines = [f"impact on {imp['kind']} {imp['source']}: {imp['affected']} of {imp['records']} record(s) affected"]
    if imp.get("no_category") or imp.get("unknown_category"):
        lines.append(f"  not assessed: {imp.get('no_category', 0)} without a category, "
                     f"{imp.get('unknown_category', 0)} with a category in neither policy")
    for r, n in imp["by_reason"].items():
        lines.append(f"  {n:>6}  {r}")
    if imp["by_category"]:
        lines.append("  by category: " + ", ".join(f"{c} {n}" for c, n in imp["by_category"].items()))
    for it in imp["items"][:limit]:
        lines.append(f"  {it['id']} ({it['category']}, line {it['line']}): {'; '.join(it['reasons'])}")
    if len(imp["items"]) > limit:
        lines.append(f"  … and {len(imp['items']) - limit} more (use --json for all)")
    return "\n".join(lines)
