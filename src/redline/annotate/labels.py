"""Labels: submitting and skipping assignments, and reading the labels made."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import IntegrityError

from redline.annotate.assignment import Assigner
from redline.annotate.base import dumps, utc
from redline.annotate.rows import Label
from redline.annotate.schema import validate_values
from redline.errors import InputError, Problem
from redline.store.annotation import ann_assignments, ann_labels, ann_users


class Labelling(Assigner):
    """Submit, skip and read labels."""

    def submit(self, project: str, username: str, item_id: str, values: dict[str, Any], *,
               duration_s: float | None = None, source: str = "web", assign: bool = False) -> Label:
        """Record the user's label for an item of their open assignment (validated, stamped with
        the project's current policy version). ``assign=True`` (imports) first creates the
        assignment when the user has none for the item."""
        p = self.get_project(project)
        user = self._need_user(username)
        item = self.item(project, item_id, include_gold=True)
        clean = validate_values(p.task, p.schema, values, item.record)
        if duration_s is not None and (not isinstance(duration_s, int | float) or duration_s < 0):
            raise InputError("bad duration", [Problem("duration_s", f"{duration_s!r}", "give seconds ≥ 0")])
        extra = self._revision(p, item_id, clean) if p.task == "revise" else {}

        def run(conn: Connection) -> int:
            self._check_active(conn, username)
            a = ann_assignments
            key = and_(a.c.project == project, a.c.item_id == item_id, a.c.username == username)
            row = conn.execute(self._lock(select(a).where(key))).first()  # vs. a concurrent skip
            if row is None and assign:
                if item.vendor is not None and item.vendor != user.vendor:
                    raise InputError("cannot attribute the label", [Problem(
                        "item_id", f"{item_id!r} is reserved for vendor {item.vendor!r}",
                        "attribute it to that vendor's annotators")])
                self._insert_assignment(conn, p, username, user.vendor, item_id,
                                        gold=bool(item.is_gold), status="open")
                row = conn.execute(select(a).where(key)).first()
            if row is None or row.status != "open":
                what = ("no assignment of this item to the user" if row is None
                        else f"the assignment is already {row.status}")
                raise InputError("cannot submit the label", [Problem(
                    "item_id", f"{item_id!r}: {what}", "label the item you were given (next item)")])
            now = self.now()
            # a vendor batch file shows no suggestion: its labels are not part of the experiment
            arm = None if source.startswith("import:") else row.suggestion_arm
            res = conn.execute(ann_labels.insert().values(
                suggestion_arm=arm, suggestion_json=self._label_suggestion(conn, project, item_id, arm),
                project=project, item_id=item_id, username=username, vendor=user.vendor,
                values_json=dumps({**clean, **extra}), policy_hash=p.policy_hash, policy_version=p.policy_version,
                is_gold=bool(row.is_gold), duration_s=duration_s, created=now, source=source))
            conn.execute(a.update().where(key).values(status="submitted", done_at=now))
            pk = res.inserted_primary_key
            assert pk is not None
            return int(pk[0])

        try:
            lid = self._write(run)
        except IntegrityError:
            raise InputError("cannot submit the label", [Problem(
                "item_id", f"{item_id!r}: {username} has already labelled it", "label another item")]) from None
        got = self.labels(project, item_id=item_id, username=username)
        return next(lb for lb in got if lb.id == lid)

    def _check_active(self, conn: Connection, username: str) -> None:
        """Inside a write's transaction: a paused (or unknown) user writes nothing. Locks the
        user's row, so a pause either waits for this write or is seen by it."""
        u = conn.execute(self._lock(select(ann_users.c.active, ann_users.c.paused_reason)
                                    .where(ann_users.c.username == username))).first()
        if u is None:
            raise InputError("unknown user", [Problem("username", f"{username!r}", "add the user first")])
        if not u.active:
            raise InputError(f"{username} is paused", [Problem(
                "username", f"{username!r} is paused" + (f" ({u.paused_reason})" if u.paused_reason else "")
                + ": nothing was saved", "an admin (or the vendor's manager) resumes the account")])

    def skip(self, project: str, username: str, item_id: str, reason: str) -> None:
        """Give an open assignment back with a reason; the slot goes to another annotator."""
        if not (reason or "").strip():
            raise InputError("a reason is needed to skip", [Problem(
                "reason", "empty", "say why (e.g. 'not in my language', 'too distressing')")])
        self.get_project(project)

        def run(conn: Connection) -> None:
            self._check_active(conn, username)
            a = ann_assignments
            key = and_(a.c.project == project, a.c.item_id == item_id, a.c.username == username)
            row = conn.execute(self._lock(select(a.c.status).where(key))).first()  # vs. a concurrent submit
            if row is None or row.status != "open":
                raise InputError("cannot skip", [Problem(
                    "item_id", f"{item_id!r} is not an open assignment of {username}", "skip the item you were given")])
            conn.execute(a.update().where(key).values(status="skipped", skip_reason=reason.strip(),
                                                      done_at=self.now()))

        self._write(run)

    def labels(self, project: str, *, item_id: str | None = None, username: str | None = None,
               vendor: str | None = None, include_gold: bool = True,
               policy_hash: str | None = None) -> list[Label]:
        """Labels in the order they were made. ``include_gold=False`` (the blind view, for
        annotators and vendors) keeps every label but hides the gold flag: leaving gold labels
        out would mark the items they were made on as gold. ``outdated``: made under another
        policy version than the project's current one."""
        p = self.get_project(project)
        lb = ann_labels
        q = select(lb).where(lb.c.project == project).order_by(lb.c.id)
        if item_id is not None:
            q = q.where(lb.c.item_id == item_id)
        if username is not None:
            q = q.where(lb.c.username == username)
        if vendor is not None:
            q = q.where(lb.c.vendor == vendor)
        if policy_hash is not None:
            q = q.where(lb.c.policy_hash == policy_hash)
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [Label(id=r.id, project=r.project, item_id=r.item_id, username=r.username, vendor=r.vendor,
                      values=json.loads(r.values_json), policy_hash=r.policy_hash, policy_version=r.policy_version,
                      is_gold=bool(r.is_gold) if include_gold else None, duration_s=r.duration_s,
                      created=utc(r.created), source=r.source, outdated=r.policy_hash != p.policy_hash,
                      suggestion_arm=r.suggestion_arm,
                      suggestion=json.loads(r.suggestion_json) if r.suggestion_json else None)
                for r in rows]
