"""Progress counts: one definition of progress for every view (admin, reviewer, annotator, vendor)."""

from __future__ import annotations

from sqlalchemy import func, select, true

from redline.annotate.items import Items
from redline.annotate.rows import Progress
from redline.store.annotation import ann_assignments, ann_items


class ProgressCounts(Items):
    """Counts for progress bars."""

    def progress(self, project: str, *, username: str | None = None, vendor: str | None = None,
                 include_gold: bool = False) -> Progress:
        """Counts for a progress bar; one definition of progress for every view.

        - A *data item* is any item whose origin is not ``"gold"``: an item promoted to gold
          after it was labelled keeps counting as a data item, and the labels it got as one count.
          Gold-origin items never count toward progress.
        - ``items``: data items in view (``vendor``: assigned to that vendor's annotators or
          reserved for it); ``target_labels`` = items × overlap.
        - ``include_gold=True`` (admins, in-house reviewers): ``labels``/``open``/``skipped``
          count data assignments only (never above ``target_labels`` for ``labels``), and
          ``gold_labels`` counts the labels made on gold assignments, apart.
        - ``include_gold=False`` (annotators, vendors — the blind view): gold assignments are
          counted like data ones, so that no counter moves differently for a gold item;
          ``labels`` is capped at ``target_labels`` and ``gold_labels`` is 0.
        - ``done_items``: data items with ≥ overlap labels made on data assignments.
        - ``per_user``: each user's submitted/open/skipped assignments in view (gold included).
        """
        p = self.get_project(project)
        a, i = ann_assignments, ann_items
        with self._read() as conn:
            # blind: what the viewer's items() holds; else data items only
            iq = select(i.c.item_id).where(i.c.project == project, self._in_view(project, vendor, include_gold=False))
            if include_gold:
                iq = iq.where(i.c.origin != "gold")
            data = {r[0] for r in conn.execute(iq)}
            aq = select(a.c.item_id, a.c.username, a.c.status, a.c.is_gold).where(a.c.project == project)
            if username is not None:
                aq = aq.where(a.c.username == username)
            if vendor is not None:
                aq = aq.where(a.c.vendor == vendor)
            rows = conn.execute(aq).all()
            done_q = (select(a.c.item_id).where(a.c.project == project, a.c.status == "submitted",
                                                a.c.is_gold.is_(False) if include_gold else true())
                      .group_by(a.c.item_id).having(func.count() >= p.overlap))
            done = {r[0] for r in conn.execute(done_q)} & data
        per: dict[str, dict[str, int]] = {}
        for r in rows:
            d = per.setdefault(r.username, {"submitted": 0, "open": 0, "skipped": 0})
            d[r.status] += 1
        target = len(data) * p.overlap
        if include_gold:
            counted = [r for r in rows if not r.is_gold and r.item_id in data]
            gold_labels = sum(1 for r in rows if r.status == "submitted" and r.is_gold)
        else:
            counted, gold_labels = list(rows), 0
        labels = sum(1 for r in counted if r.status == "submitted")
        return Progress(items=len(data), target_labels=target, labels=min(labels, target),
                        open=sum(1 for r in counted if r.status == "open"),
                        skipped=sum(1 for r in counted if r.status == "skipped"), done_items=len(done),
                        gold_labels=gold_labels, per_user=per)
