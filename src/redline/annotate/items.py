"""Items of a project: the blind and full views, vendor reservations, adding items."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from redline.annotate.intake import item_rows
from redline.annotate.projects import Projects
from redline.annotate.rows import Item
from redline.annotate.users import Users
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.store.annotation import ann_assignments, ann_items


class Items(Projects, Users):
    """Reading, adding and reserving items."""

    @staticmethod
    def _item(r: Any, *, include_gold: bool, keep_seq: bool = False) -> Item:
        """``seq`` is blanked (None) in the blind view unless ``keep_seq``: gold items are
        numbered after all the data, so a seq would tell an annotator which items are gold."""
        rec = Record.model_validate_json(r.record_json)
        if not include_gold:
            rec = rec.model_copy(update={"labels": {}})  # existing labels would unblind annotators
        seq = r.seq if include_gold or keep_seq else None
        return Item(project=r.project, item_id=r.item_id, seq=seq, record=rec, category=r.category,
                    is_gold=bool(r.is_gold) if include_gold else None,
                    gold=json.loads(r.gold_json) if include_gold and r.gold_json else None,
                    origin=r.origin if include_gold else None, vendor=r.vendor)

    def item(self, project: str, item_id: str, *, include_gold: bool = False) -> Item:
        """One item. Without ``include_gold`` it carries no gold flag, answer, origin or record
        labels (what annotators and vendors may see)."""
        with self._read() as conn:
            r = conn.execute(select(ann_items).where(ann_items.c.project == project,
                                                     ann_items.c.item_id == item_id)).first()
        if r is None:
            self.get_project(project)
            raise InputError("unknown item", [Problem("item_id", f"no item {item_id!r} in {project!r}",
                                                      "check the item id")])
        return self._item(r, include_gold=include_gold)

    def items(self, project: str, *, include_gold: bool = False, vendor: str | None = None) -> list[Item]:
        """Items in seq order (which ones: :meth:`_in_view`). In-house, gold-origin items are left
        out unless ``include_gold``; a vendor's view holds every item its annotators were given,
        gold included but not marked (no flag, answer or origin without ``include_gold``)."""
        self.get_project(project)
        q = (select(ann_items).where(ann_items.c.project == project,
                                     self._in_view(project, vendor, include_gold=include_gold))
             .order_by(ann_items.c.seq))
        with self._read() as conn:
            rows = conn.execute(q).all()
            if vendor is not None and not include_gold:
                # a vendor's blind list in the order its annotators got the items (gold items
                # were added after the data, so seq order would put them last), then the
                # reserved ones not yet given out
                a = ann_assignments
                first = dict(conn.execute(select(a.c.item_id, func.min(a.c.id)).where(
                    a.c.project == project, a.c.vendor == vendor).group_by(a.c.item_id)).all())
                rows.sort(key=lambda r: (r.item_id not in first, first.get(r.item_id, 0), r.seq))
        # in-house blind lists hold no gold-origin item, so their seq reveals nothing
        return [self._item(r, include_gold=include_gold, keep_seq=vendor is None) for r in rows]

    @staticmethod
    def _in_view(project: str, vendor: str | None, *, include_gold: bool) -> Any:
        """Which items a view holds. In-house (``vendor`` None): every item with
        ``include_gold``, else the data items (origin not "gold"). A vendor: the items its
        annotators were assigned (gold ones too — the vendor has seen them, so leaving them out
        would mark them as gold) and the data items reserved for it (and, with ``include_gold``,
        the gold items reserved for it)."""
        i, a = ann_items, ann_assignments
        data = i.c.origin != "gold"
        if vendor is None:
            return true() if include_gold else data
        assigned = select(a.c.item_id).where(a.c.project == project, a.c.vendor == vendor)
        reserved = i.c.vendor == vendor
        return or_(i.c.item_id.in_(assigned), reserved if include_gold else and_(reserved, data))

    def reserve(self, project: str, item_ids: Iterable[str], vendor: str | None) -> int:
        """Reserve items for one vendor (None: open to all). Returns how many were changed."""
        self.get_project(project)
        ids = list(item_ids)
        if vendor is not None:
            self.add_vendor(vendor)

        def run(conn: Connection) -> int:
            n = 0
            for i in range(0, len(ids), 500):
                n += conn.execute(ann_items.update().where(ann_items.c.project == project,
                                                           ann_items.c.item_id.in_(ids[i:i + 500]))
                                  .values(vendor=vendor)).rowcount
            return n

        return self._write(run)

    def add_items(self, project: str, records: Iterable[Record], *,
                  gold: Iterable[tuple[Record, dict[str, Any]]] = ()) -> int:
        """Add items (and gold items) to a project, numbered after the existing ones.

        Returns:
            How many items were added.

        Raises:
            InputError: Naming bad records and answers, or an id the project already has.
        """
        p = self.get_project(project)
        with self._read() as conn:
            existing = {r[0] for r in conn.execute(select(ann_items.c.item_id).where(ann_items.c.project == project))}
        rows = item_rows(project, p.task, p.schema, records, gold, start=0, existing=existing,
                         now=self.now())

        def run(conn: Connection) -> int:
            top = conn.execute(select(func.max(ann_items.c.seq)).where(ann_items.c.project == project)).scalar()
            base = (top + 1) if top is not None else 0
            for r in rows:
                r["seq"] += base
            for i in range(0, len(rows), 1000):
                conn.execute(ann_items.insert(), rows[i:i + 1000])
            return len(rows)

        try:
            return self._write(run)
        except IntegrityError:
            raise InputError("cannot add the items", [Problem(
                "items", "an item id already exists in the project", "give new ids")]) from None

class ItemRow:
    """An assignment+item joined row seen as an item row."""

    def __init__(self, r: Any):
        self.project, self.item_id, self.seq, self.record_json = r.i_project, r.item_id, r.seq, r.record_json
        self.category, self.is_gold, self.gold_json, self.origin, self.vendor = (
            r.category, r.i_gold, r.gold_json, r.origin, r.i_vendor)
