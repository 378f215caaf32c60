"""Adjudication: the reviewed label of an item, promoted to gold and/or the casebook."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import IntegrityError

from redline.annotate.base import Retry, dumps, utc
from redline.annotate.casebook import Casebook, adjudicated_case
from redline.annotate.items import Items
from redline.annotate.rows import Adjudication
from redline.annotate.schema import validate_values
from redline.errors import InputError, Problem
from redline.policy.model import Case
from redline.store.annotation import ann_adjudications, ann_casebook, ann_items


class Review(Items, Casebook):
    """Adjudications by in-house reviewers and admins."""

    @staticmethod
    def _adj(r: Any) -> Adjudication:
        return Adjudication(project=r.project, item_id=r.item_id, reviewer=r.reviewer,
                            values=json.loads(r.values_json), rationale=r.rationale, created=utc(r.created),
                            promoted_casebook=bool(r.promoted_casebook), promoted_gold=bool(r.promoted_gold))

    def adjudicate(self, project: str, item_id: str, reviewer: str, values: dict[str, Any], rationale: str, *,
                   promote_casebook: bool = False, promote_gold: bool = False,
                   casebook_node: str | None = None, casebook_intent: str | None = None) -> Adjudication:
        """Record the adjudicated label (latest wins) and, in the same transaction, promote it to
        the gold pool and/or the project's casebook.

        A casebook case needs a policy node and an intent. ``casebook_node`` defaults to the
        adjudicated ``category``, else the item's category; ``casebook_intent`` to the
        adjudicated ``intent``, else ``record.meta.intent``, else ``benign`` when the record's
        expected behaviour is ``comply``. When neither is known the promotion is refused with a
        problem naming ``casebook_node``/``casebook_intent`` — an intent is never guessed."""
        p = self.get_project(project)
        who = self._need_user(reviewer)
        if not who.is_reviewer or who.vendor is not None or not who.active:
            # adjudication sets gold answers and case law: in-house reviewers and admins only
            raise InputError("cannot adjudicate", [Problem(
                "reviewer", f"{reviewer!r} is {'paused' if not who.active else 'a ' + who.role}"
                            f"{' of vendor ' + repr(who.vendor) if who.vendor else ''}",
                "adjudicate as an active in-house reviewer or admin")])
        item = self.item(project, item_id, include_gold=True)
        clean = validate_values(p.task, p.schema, values, item.record)
        if not (rationale or "").strip():
            raise InputError("a rationale is needed", [Problem(
                "rationale", "empty", "say why this is the right label (it becomes case law)")])
        now = self.now()
        cb_args = {"node": casebook_node or None, "intent": casebook_intent or None}
        case = adjudicated_case(p, item, clean, reviewer, rationale.strip(), now, **cb_args) if promote_casebook else None

        def run(conn: Connection) -> None:
            d = ann_adjudications
            key = and_(d.c.project == project, d.c.item_id == item_id)
            old = conn.execute(self._lock(select(d).where(key))).first()
            vals = {"reviewer": reviewer, "values_json": dumps(clean), "rationale": rationale.strip(),
                    "updated": now,
                    "promoted_casebook": bool(promote_casebook or (old is not None and old.promoted_casebook)),
                    "promoted_gold": bool(promote_gold or (old is not None and old.promoted_gold))}
            if old is None:
                try:
                    conn.execute(d.insert().values(project=project, item_id=item_id, created=now, **vals))
                except IntegrityError:  # a concurrent first adjudication won: run again, as an update
                    raise Retry() from None
            else:
                conn.execute(d.update().where(key).values(**vals))
            if promote_gold or (old is not None and old.promoted_gold):
                # the answer follows the latest adjudication; people who labelled it never get it again
                conn.execute(ann_items.update().where(ann_items.c.project == project, ann_items.c.item_id == item_id)
                             .values(is_gold=True, gold_json=dumps(clean),
                                     origin="promoted" if item.origin != "gold" else "gold"))
            if case is not None or (old is not None and old.promoted_casebook):
                cb = ann_casebook
                ck = and_(cb.c.project == project, cb.c.item_id == item_id)
                c = case
                if c is None:  # re-adjudicated: the case follows, keeping its node/intent unless given
                    prev = conn.execute(select(cb.c.case_json).where(ck)).first()
                    was = Case.model_validate_json(prev[0]) if prev else None
                    c = adjudicated_case(p, item, clean, reviewer, rationale.strip(), now,
                                         node=cb_args["node"] or (was.node if was and not clean.get("category") else None),
                                         intent=cb_args["intent"] or (str(was.intent) if was and not clean.get("intent")
                                                                      else None))
                if conn.execute(select(cb.c.id).where(ck)).first():
                    conn.execute(cb.update().where(ck).values(node=c.node, case_json=c.model_dump_json()))
                else:
                    try:
                        conn.execute(cb.insert().values(project=project, node=c.node,
                                                        case_json=c.model_dump_json(), item_id=item_id, created=now))
                    except IntegrityError:
                        raise Retry() from None

        self._write(run)
        got = self.adjudication(project, item_id)
        assert got is not None
        return got

    def adjudication(self, project: str, item_id: str) -> Adjudication | None:
        """The item's adjudication; None when it has none."""
        with self._read() as conn:
            r = conn.execute(select(ann_adjudications).where(ann_adjudications.c.project == project,
                                                             ann_adjudications.c.item_id == item_id)).first()
        return self._adj(r) if r else None

    def adjudications(self, project: str) -> list[Adjudication]:
        """The project's adjudications, oldest first."""
        self.get_project(project)
        with self._read() as conn:
            return [self._adj(r) for r in conn.execute(
                select(ann_adjudications).where(ann_adjudications.c.project == project)
                .order_by(ann_adjudications.c.created, ann_adjudications.c.item_id))]
