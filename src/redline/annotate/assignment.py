"""Assignment: who labels which item next.

``next_item`` gives each normal item ``overlap`` (k) independent labels; an annotator never gets
an item twice (UNIQUE (project, item, user) plus routing); gold items are injected with the
project's per-category rate and look exactly like normal ones in the annotator flow; the exposure
budget (items per annotator per UTC day per category) and vendor reservations are respected;
paused users get nothing. The item is locked before its slots are counted again, so concurrent
annotators never push an item past k.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from redline.annotate.base import Retry, utc
from redline.annotate.items import ItemRow
from redline.annotate.rows import Assignment, Item, Project
from redline.annotate.schema import candidates
from redline.annotate.suggestions import Assists
from redline.data.records import Record
from redline.store.annotation import ann_assignments, ann_items, ann_users


class Assigner(Assists):
    """Assignments, the exposure budget and gold injection."""

    def _assignment(self, r: Any, item: Item, *, include_gold: bool = False) -> Assignment:
        return Assignment(project=r.project, item_id=r.item_id, username=r.username, vendor=r.vendor,
                          status=r.status, assigned_at=utc(r.assigned_at), done_at=utc(r.done_at),
                          skip_reason=r.skip_reason, order=json.loads(r.order_json) if r.order_json else None,
                          item=item, is_gold=bool(r.is_gold) if include_gold else None,
                          suggestion_arm=r.suggestion_arm)

    @staticmethod
    def _joined() -> Any:
        """Assignments joined with their items (item columns labelled for :class:`_ItemRow`)."""
        a, i = ann_assignments, ann_items
        return (select(a, i.c.project.label("i_project"), i.c.seq, i.c.record_json, i.c.category,
                       i.c.is_gold.label("i_gold"), i.c.gold_json, i.c.origin, i.c.vendor.label("i_vendor"))
                .join(i, and_(i.c.project == a.c.project, i.c.item_id == a.c.item_id)))

    @staticmethod
    def _ancestors(schema: dict[str, Any], cid: str | None) -> list[str]:
        """``cid`` and its ancestors, most specific first."""
        trail: list[str] = []

        def find(nodes: list[dict[str, Any]], path: list[str]) -> bool:
            for n in nodes:
                if n["id"] == cid:
                    trail.extend(reversed([*path, n["id"]]))
                    return True
                if find(n.get("children") or [], [*path, n["id"]]):
                    return True
            return False

        if cid is not None and not find(schema.get("categories") or [], []):
            trail.append(cid)
        return trail

    def _rate(self, p: Project, category: str | None) -> float:
        for k in [*self._ancestors(p.schema, category), "*"]:
            if k in p.gold_rate:
                return p.gold_rate[k]
        return 0.0

    def _budget_key(self, p: Project, category: str | None) -> tuple[str, int] | None:
        """(group, budget) of a category: the most specific budget key among it and its ancestors
        (a node's budget covers its subtree); with only "*", each category has its own budget."""
        budget = p.settings.exposure_budget
        for k in self._ancestors(p.schema, category):
            if k in budget:
                return k, budget[k]
        if "*" in budget:
            return f"*:{category or 'none'}", budget["*"]
        return None

    def _today(self) -> datetime:
        return self.now().replace(hour=0, minute=0, second=0, microsecond=0)

    def _exposure(self, conn: Connection, project: str, username: str) -> dict[str, int]:
        rows = conn.execute(select(ann_items.c.category, func.count()).select_from(
            ann_assignments.join(ann_items, and_(ann_items.c.project == ann_assignments.c.project,
                                                 ann_items.c.item_id == ann_assignments.c.item_id)))
            .where(ann_assignments.c.project == project, ann_assignments.c.username == username,
                   ann_assignments.c.assigned_at >= self._today())
            .group_by(ann_items.c.category)).all()
        return {(c if c is not None else "none"): int(n) for c, n in rows}

    def exposure_today(self, project: str, username: str) -> dict[str, int]:
        """Items assigned to the user in this project today (UTC), per category ("none": no category)."""
        with self._read() as conn:
            return self._exposure(conn, project, username)

    def budget_left(self, project: str, username: str, category: str | None) -> int | None:
        """Items of ``category`` the user may still get today (None: no budget applies)."""
        p = self.get_project(project)
        key = self._budget_key(p, category)
        if key is None:
            return None
        used = self._group_use(p, self.exposure_today(project, username))
        return max(0, key[1] - used.get(key[0], 0))

    def _group_use(self, p: Project, exposure: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for c, n in exposure.items():
            key = self._budget_key(p, None if c == "none" else c)
            if key is not None:
                out[key[0]] = out.get(key[0], 0) + n
        return out

    def next_item(self, project: str, username: str, *, reuse_open: bool = True) -> Assignment | None:
        """The user's next assignment (see the module docstring); None when there is nothing
        (all done, budget reached, or the user is paused). ``reuse_open=False`` always makes a new
        assignment under the same rules, even when the user has open ones (vendor batches)."""
        p = self.get_project(project)
        user = self._need_user(username)
        if not user.active:
            return None

        def run(conn: Connection) -> tuple[Any, Any] | None:
            a, i = ann_assignments, ann_items
            # serialise one user's calls (two tabs) — SQLite's write lock already does
            u = conn.execute(self._lock(select(ann_users.c.active, ann_users.c.vendor)
                                        .where(ann_users.c.username == username))).first()
            if u is None or not u.active:
                return None
            open_q = (self._joined().where(a.c.project == project, a.c.username == username, a.c.status == "open")
                      .order_by(a.c.assigned_at, a.c.id))
            got = conn.execute(open_q).first() if reuse_open else None
            if got is not None:
                return got, None
            exposure = self._exposure(conn, project, username)
            used = self._group_use(p, exposure)

            def within_budget(cat: str | None) -> bool:
                key = self._budget_key(p, cat)
                return key is None or used.get(key[0], 0) < key[1]

            mine = select(a.c.item_id).where(a.c.project == project, a.c.username == username)
            vendor_ok = i.c.vendor.is_(None) if u.vendor is None else or_(i.c.vendor.is_(None), i.c.vendor == u.vendor)
            taken = (select(a.c.item_id, func.count().label("n")).where(
                a.c.project == project, a.c.status.in_(("open", "submitted"))).group_by(a.c.item_id).subquery())
            base = (select(i.c.item_id, i.c.category, i.c.seq)
                    .select_from(i.outerjoin(taken, taken.c.item_id == i.c.item_id))
                    .where(i.c.project == project, i.c.is_gold.is_(False), i.c.item_id.not_in(mine), vendor_ok,
                           func.coalesce(taken.c.n, 0) < p.overlap)
                    .order_by(i.c.seq))
            n_before = conn.execute(select(func.count()).select_from(a).where(
                a.c.project == project, a.c.username == username)).scalar() or 0
            rng = random.Random(f"{project}:{username}:{n_before}")
            offset, page = 0, 200
            while True:
                cands = conn.execute(base.limit(page).offset(offset)).all()
                if not cands:
                    return None
                for c in cands:
                    if not within_budget(c.category):
                        continue
                    rate = self._rate(p, c.category)
                    if rate > 0 and rng.random() < rate:
                        g = self._pick_gold(conn, p, username, vendor_ok, mine, c.category, within_budget)
                        if g is not None:
                            return self._insert_assignment(conn, p, username, u.vendor, g, gold=True)
                    # lock the item, then count again: nobody else can fill its slots meanwhile
                    conn.execute(self._lock(select(i.c.item_id).where(i.c.project == project,
                                                                      i.c.item_id == c.item_id))).first()
                    n = conn.execute(select(func.count()).select_from(a).where(
                        a.c.project == project, a.c.item_id == c.item_id,
                        a.c.status.in_(("open", "submitted")))).scalar() or 0
                    if n >= p.overlap:
                        continue
                    return self._insert_assignment(conn, p, username, u.vendor, c.item_id, gold=False)
                offset += page

        got = self._write(run)
        if got is None:
            return None
        row, _ = got
        return self._assignment(row, self._item(ItemRow(row), include_gold=False))

    def _pick_gold(self, conn: Connection, p: Project, username: str, vendor_ok: Any, mine: Any,
                   category: str | None, within_budget: Callable[[str | None], bool]) -> str | None:
        """An unseen gold item for the user: of the same category when there is one."""
        i = ann_items
        rows = conn.execute(select(i.c.item_id, i.c.category).where(
            i.c.project == p.name, i.c.is_gold.is_(True), i.c.item_id.not_in(mine), vendor_ok)
            .order_by(i.c.seq)).all()
        rows = [r for r in rows if within_budget(r.category)]
        same = [r for r in rows if r.category == category]
        pick = (same or rows)[:1]
        return pick[0].item_id if pick else None

    def _insert_assignment(self, conn: Connection, p: Project, username: str, vendor: str | None,
                           item_id: str, *, gold: bool, status: str = "open") -> tuple[Any, Any]:
        i, a = ann_items, ann_assignments
        rec_json = conn.execute(select(i.c.record_json).where(i.c.project == p.name, i.c.item_id == item_id)).scalar()
        order = None
        if p.task == "preference":
            n = len(candidates(Record.model_validate_json(str(rec_json))))
            order = list(range(n))
            random.Random(f"{p.name}:{item_id}:{username}").shuffle(order)
        now = self.now()
        try:
            conn.execute(a.insert().values(project=p.name, item_id=item_id, username=username, vendor=vendor,
                                           status=status, is_gold=gold,
                                           suggestion_arm=self._suggestion_arm(conn, p, item_id, gold=gold),
                                           order_json=json.dumps(order) if order is not None else None,
                                           assigned_at=now, done_at=now if status != "open" else None))
        except IntegrityError:
            raise Retry() from None  # the whole transaction runs again
        row = conn.execute(self._joined().where(a.c.project == p.name, a.c.item_id == item_id,
                                                a.c.username == username)).first()
        return row, None

    def assignments(self, project: str, *, username: str | None = None, vendor: str | None = None,
                    include_gold: bool = False) -> list[Assignment]:
        """Assignments in the order they were made, with their items (blind unless ``include_gold``),
        of one user or one vendor's annotators when given."""
        self.get_project(project)
        a = ann_assignments
        q = self._joined().where(a.c.project == project).order_by(a.c.assigned_at, a.c.id)
        if username is not None:
            q = q.where(a.c.username == username)
        if vendor is not None:
            q = q.where(a.c.vendor == vendor)
        out = []
        with self._read() as conn:
            for r in conn.execute(q):
                it = self._item(ItemRow(r), include_gold=include_gold)
                out.append(self._assignment(r, it, include_gold=include_gold))
        return out
