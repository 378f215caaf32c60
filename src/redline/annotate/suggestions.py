"""Model output attached to a project's items — suggestions, drafts, critique flags — and the
anchoring experiment built into assignment.

Everything a model contributes lives in ``ann_assists`` (one row per item, kind and index) and
is never a label: labels are only what annotators submit and reviewers adjudicate.

Suggestions (pre-labels): a judge's verdict or a category, per item
(:func:`prelabel`, or imported with the items as ``meta.suggestion``). **The anchoring
experiment** is always on: when an item with a suggestion is assigned, the assignment is put in
the ``shown`` or ``hidden`` arm, randomised per item in blocks of two (the item's 1st and 2nd
assignment get one arm each, in a seeded random order; the 3rd and 4th likewise, …), so every
item's labels are split half and half between the arms and the arms are comparable item by
item. Gold items never get an arm: their suggestions are never shown. The page shows the
suggestion in the ``shown`` arm only; every label stores its assignment's arm and, when shown,
the suggestion it was made with (``Label.suggestion_arm`` / ``Label.suggestion``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, select

from redline.annotate.base import dumps, utc
from redline.annotate.items import Items
from redline.annotate.schema import task_fields
from redline.errors import InputError, Problem
from redline.store.annotation import ann_assignments, ann_assists, ann_items

if TYPE_CHECKING:
    from redline.annotate.rows import Project
    from redline.annotate.service import Annotations

__all__ = ["ARMS", "KINDS", "Assists", "PrelabelResult", "prelabel"]

#: kinds of model output kept per item
KINDS: tuple[str, ...] = ("suggestion", "draft", "critique")
#: the arms of the anchoring experiment
ARMS: tuple[str, ...] = ("shown", "hidden")


class Assists(Items):
    """Suggestions, drafts and critique flags of items, and the anchoring arm of assignments."""

    def set_assists(self, project: str, kind: str, rows: Iterable[tuple[str, int, str, dict[str, Any]]]) -> int:
        """Store model output for items, replacing what the same (item, kind, index) had.

        Args:
            project: The project.
            kind: One of :data:`KINDS`.
            rows: ``(item_id, index, source, values)`` tuples; ``source`` names the model or
                judge (e.g. ``judge:harm``, ``openai:gpt-4o``, ``meta``).

        Returns:
            How many rows were stored.

        Raises:
            InputError: An unknown kind, or an item the project does not have.
        """
        if kind not in KINDS:
            raise InputError("unknown kind of model output", [Problem("kind", repr(kind), f"use one of {', '.join(KINDS)}")])
        self.get_project(project)
        todo = list(rows)
        with self._read() as conn:
            known = {r[0] for r in conn.execute(select(ann_items.c.item_id).where(ann_items.c.project == project))}
        missing = sorted({r[0] for r in todo} - known)
        if missing:
            raise InputError("unknown items", [Problem("item_id", f"{len(missing)} not in {project!r}, e.g. {missing[0]!r}",
                                                       "attach model output to the project's items only")])
        now = self.now()

        def run(conn: Connection) -> int:
            t = ann_assists
            for item_id, idx, source, values in todo:
                conn.execute(delete(t).where(t.c.project == project, t.c.item_id == item_id, t.c.kind == kind,
                                             t.c.idx == idx))
                conn.execute(t.insert().values(project=project, item_id=item_id, kind=kind, idx=idx,
                                               source=source, values_json=dumps(values), created=now))
            return len(todo)

        return self._write(run)

    def assists(self, project: str, kind: str, *, item_id: str | None = None) -> list[dict[str, Any]]:
        """Model output of one kind, by item then index: dicts with ``item_id``, ``idx``,
        ``source``, ``values`` and ``created``."""
        t = ann_assists
        q = select(t).where(t.c.project == project, t.c.kind == kind).order_by(t.c.item_id, t.c.idx)
        if item_id is not None:
            q = q.where(t.c.item_id == item_id)
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [{"item_id": r.item_id, "idx": r.idx, "source": r.source, "values": json.loads(r.values_json),
                 "created": utc(r.created)} for r in rows]

    def suggestion(self, project: str, item_id: str) -> dict[str, Any] | None:
        """The item's suggestion (``{"source", "values"}``), or None."""
        got = self.assists(project, "suggestion", item_id=item_id)
        return {"source": got[0]["source"], "values": got[0]["values"]} if got else None

    def shown_suggestion(self, project: str, item_id: str, arm: str | None) -> dict[str, Any] | None:
        """What the annotator of an assignment in ``arm`` may see: the suggestion in the
        ``shown`` arm, else None."""
        return self.suggestion(project, item_id) if arm == "shown" else None

    def _suggestion_arm(self, conn: Connection, p: Project, item_id: str, *, gold: bool) -> str | None:
        """The arm of a new assignment of ``item_id`` (see the module docstring)."""
        if gold:
            return None
        t, a = ann_assists, ann_assignments
        has = conn.execute(select(t.c.idx).where(t.c.project == p.name, t.c.item_id == item_id,
                                                 t.c.kind == "suggestion")).first()
        if has is None:
            return None
        n = conn.execute(select(func.count()).select_from(a).where(
            and_(a.c.project == p.name, a.c.item_id == item_id))).scalar() or 0
        order = list(ARMS)
        random.Random(f"anchoring:{p.name}:{item_id}:{n // 2}").shuffle(order)
        return order[n % 2]

    def _label_suggestion(self, conn: Connection, project: str, item_id: str, arm: str | None) -> str | None:
        """The stored suggestion JSON for a label made in ``arm`` (None unless shown)."""
        if arm != "shown":
            return None
        t = ann_assists
        r = conn.execute(select(t.c.source, t.c.values_json).where(
            t.c.project == project, t.c.item_id == item_id, t.c.kind == "suggestion")).first()
        return None if r is None else dumps({"source": r.source, "values": json.loads(r.values_json)})

    def _revision(self, p: Project, item_id: str, clean: dict[str, Any]) -> dict[str, Any]:
        """What a ``revise`` label keeps beside the annotator's values: the draft it started from
        (the item's first draft, else the record's own final assistant turn, else empty), the
        drafter, and the edit distance from the draft to the final response."""
        from redline.annotate.drafts import edit_stats

        got = self.assists(p.name, "draft", item_id=item_id)
        if got:
            draft, drafter = str(got[0]["values"].get("text") or ""), got[0]["source"]
        else:
            rec = self.item(p.name, item_id).record
            last = rec.messages[-1] if rec.messages else None
            draft, drafter = (last.text, "data") if last is not None and last.role == "assistant" else ("", None)
        return {"draft": draft, "drafter": drafter, **edit_stats(draft, str(clean.get("response") or ""))}


@dataclass
class PrelabelResult:
    """What a pre-labelling pass stored.

    Attributes:
        source: Where the suggestions came from (``judge:NAME`` or ``meta``).
        suggested: Items that got a suggestion.
        skipped: Items left without one, counted by reason.
    """

    source: str
    suggested: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {"source": self.source, "suggested": self.suggested, "skipped": dict(self.skipped)}


def _clean_suggestion(p: Project, values: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The suggestion's values that are fields of the task with an allowed value, and why
    nothing is left (None when something is)."""
    specs = {f.name: f for f in task_fields(p.task, p.schema) if f.level != "none" and f.type != "text"}
    out: dict[str, Any] = {}
    for k, v in values.items():
        spec = specs.get(k)
        if spec is None or v is None:
            continue
        allowed = [o.value for o in spec.options]
        if allowed and v not in allowed:
            continue
        out[k] = v
    return out, None if out else "no field of the task"


def prelabel(svc: Annotations, project: str, *, judge: str | None = None) -> PrelabelResult:
    """Store a suggestion for each item of ``project``.

    With ``judge`` (a judge plug-in, e.g. ``harm``): the judge's verdict on the item's response
    becomes the suggestion (``harmful``, ``category`` from the harm category, ``refusal``) —
    items without a response, or whose verdict fails, are counted in ``skipped``. Without a
    judge, suggestions imported with the items (``meta.suggestion``, an object of field → value)
    are stored. Values that are not fields of the task, or not one of a field's options, are
    dropped; an item left with nothing is counted. Gold items get suggestions too, but they are
    never shown (see the module docstring).
    """
    p = svc.get_project(project)
    res = PrelabelResult(source=f"judge:{judge}" if judge else "meta")

    def skip(why: str) -> None:
        res.skipped[why] = res.skipped.get(why, 0) + 1

    rows: list[tuple[str, int, str, dict[str, Any]]] = []
    if judge is None:
        for it in svc.items(project, include_gold=True):
            raw = it.record.meta.get("suggestion")
            if not isinstance(raw, dict):
                skip("no meta.suggestion")
                continue
            vals, why = _clean_suggestion(p, raw)
            if why:
                skip(why)
                continue
            rows.append((it.item_id, 0, str(raw.get("_source") or "meta"), vals))
    else:
        from redline.annotate.exports import check_judge
        from redline.judges.base import create_judge

        check_judge(judge)
        j = create_judge(judge, policy=svc.policy(project))
        for it in svc.items(project, include_gold=True):
            response = it.record.response
            if not response or not response.strip():
                skip("no response to judge")
                continue
            v = j.judge(None, it.record.prompt, response)
            if not v.ok:
                skip("judge failed")
                continue
            out = j.output_fields(v) if hasattr(j, "output_fields") else dict(v.fields)
            raw = {"harmful": out.get("harmful"), "refusal": out.get("refusal", v.label)}
            if out.get("harmful") and out.get("harm_category"):
                raw["category"] = out.get("harm_category")
            vals, why = _clean_suggestion(p, raw)
            if why:
                skip(why)
                continue
            rows.append((it.item_id, 0, res.source, vals))
    res.suggested = svc.set_assists(project, "suggestion", rows)
    return res
