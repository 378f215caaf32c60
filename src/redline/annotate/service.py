"""The annotation service: users, sessions, projects, assignment, labels, review.

One class, :class:`Annotations`, over the workspace database (SQLite by default, PostgreSQL for
teams; the same SQLAlchemy Core code). The web app, the CLI and the quality pipeline all go
through it.

Assignment (``next_item``): each normal item gets ``overlap`` (k) independent labels; an
annotator never gets an item twice (UNIQUE (project, item, user) plus routing); gold items are
injected with the project's per-category rate and look exactly like normal ones in the annotator
flow; the exposure budget (items per annotator per UTC day per category) and vendor reservations
are respected; paused users get nothing. Writes run in short transactions that take the write
lock up front (SQLite ``BEGIN IMMEDIATE``; PostgreSQL row locks ``FOR UPDATE`` on the user and the
item), and are retried when the database is busy, so concurrent annotators never push an item
past k and lose no label.
"""

from __future__ import annotations

import difflib
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, func, or_, select, true
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from redline.annotate import auth
from redline.annotate.rows import (
    ROLES,
    Adjudication,
    Assignment,
    Item,
    Label,
    Progress,
    Project,
    ProjectSettings,
    Session,
    User,
)
from redline.annotate.schema import TASKS, candidates, find_node, validate_values
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.policy.compile import annotation_schema
from redline.policy.model import Case, Policy
from redline.store.annotation import (
    ann_adjudications,
    ann_assignments,
    ann_casebook,
    ann_items,
    ann_labels,
    ann_policy_versions,
    ann_projects,
    ann_sessions,
    ann_users,
    ann_vendors,
)
from redline.store.db import WorkspaceDB

T = TypeVar("T")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
_CASE_ID_BAD = re.compile(r"[^A-Za-z0-9_.:-]")
_RETRIES = 60
_TOUCH_EVERY = timedelta(seconds=30)  # a session's last_seen is written at most this often


class _Retry(Exception):
    """Internal: the transaction lost a race; run it again."""


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _retryable(e: BaseException) -> bool:
    if isinstance(e, _Retry):
        return True
    if isinstance(e, OperationalError | DBAPIError):
        msg = str(getattr(e, "orig", e)).lower()
        return any(w in msg for w in ("database is locked", "database is busy", "deadlock",
                                      "could not serialize", "serialization failure"))
    return False


def _name_problem(where: str, name: str) -> Problem | None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > 128:
        return Problem(where, f"{name!r} is not a valid name",
                       "use letters, digits and _ . @ - (starting with a letter or digit), at most 128")
    return None


class Annotations:
    """Users, sessions, projects, assignment, labels and review over a :class:`WorkspaceDB`."""

    def __init__(self, db: WorkspaceDB, *, clock: Callable[[], datetime] | None = None):
        self.db = db
        self.engine = db.engine
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sqlite = self.engine.dialect.name == "sqlite"

    # -- plumbing ----------------------------------------------------------------------------

    def now(self) -> datetime:
        return _utc(self._clock()) or datetime.now(UTC)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction holding the write lock from its start (SQLite ``BEGIN IMMEDIATE``;
        elsewhere an ordinary transaction whose statements lock rows explicitly)."""
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction, again when the database was busy or a race was lost."""
        for attempt in range(_RETRIES):
            try:
                with self._tx() as conn:
                    return fn(conn)
            except (OperationalError, DBAPIError, _Retry) as e:
                if isinstance(e, IntegrityError) or not _retryable(e) or attempt == _RETRIES - 1:
                    raise
            time.sleep(min(0.5, 0.005 * (attempt + 1)) * (1 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self) -> Any:
        return self.engine.connect()

    def _lock(self, q: Any) -> Any:
        """``q FOR UPDATE`` where the database has row locks (SQLite's write lock covers it)."""
        return q if self._sqlite else q.with_for_update()

    # -- users -------------------------------------------------------------------------------

    def add_vendor(self, name: str) -> None:
        p = _name_problem("vendor", name)
        if p:
            raise InputError("bad vendor name", [p])

        def run(conn: Connection) -> None:
            if conn.execute(select(ann_vendors.c.name).where(ann_vendors.c.name == name)).first() is None:
                conn.execute(ann_vendors.insert().values(name=name, created=self.now()))

        self._write(run)

    def list_vendors(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute(select(ann_vendors.c.name).order_by(ann_vendors.c.name))]

    def add_user(self, username: str, password: str, role: str, vendor: str | None = None) -> User:
        problems = [p for p in (_name_problem("username", username),) if p]
        if role not in ROLES:
            problems.append(Problem("role", f"{role!r} is not a role", f"use one of {', '.join(ROLES)}"))
        if vendor is not None and (p := _name_problem("vendor", vendor)):
            problems.append(p)
        if not isinstance(password, str) or len(password) < auth.MIN_PASSWORD:
            problems.append(Problem("password", f"shorter than {auth.MIN_PASSWORD} characters",
                                    "choose a longer password"))
        if problems:
            raise InputError(f"cannot add user {username!r}", problems)
        pw_hash = auth.hash_password(password)
        if vendor is not None:
            self.add_vendor(vendor)

        def run(conn: Connection) -> None:
            if conn.execute(select(ann_users.c.username).where(ann_users.c.username == username)).first():
                raise InputError(f"cannot add user {username!r}", [Problem(
                    "username", "already exists",
                    f"choose another name, or change the password: `redline annotate user passwd {username}`")])
            conn.execute(ann_users.insert().values(username=username, password_hash=pw_hash, role=role,
                                                   vendor=vendor, active=True, created=self.now()))

        self._write(run)
        return User(username=username, role=role, vendor=vendor)  # type: ignore[arg-type]

    @staticmethod
    def _user(r: Any) -> User:
        return User(username=r.username, role=r.role, vendor=r.vendor, active=bool(r.active),
                    paused_reason=r.paused_reason)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches (Argon2id); inactive users too (they see 'paused')."""
        with self._read() as conn:
            r = conn.execute(select(ann_users).where(ann_users.c.username == username)).first()
        ok, new_hash = auth.verify_password(r.password_hash if r else None, password)
        if not ok or r is None:
            return None
        if new_hash:
            self._write(lambda c: c.execute(ann_users.update().where(ann_users.c.username == username)
                                            .values(password_hash=new_hash)))
        return self._user(r)

    def get_user(self, username: str) -> User | None:
        with self._read() as conn:
            r = conn.execute(select(ann_users).where(ann_users.c.username == username)).first()
        return self._user(r) if r else None

    def _need_user(self, username: str) -> User:
        u = self.get_user(username)
        if u is None:
            with self._read() as conn:
                names = [r[0] for r in conn.execute(select(ann_users.c.username))]
            close = difflib.get_close_matches(username, names, n=1)
            raise InputError("unknown user", [Problem(
                "username", f"no user {username!r}",
                f"did you mean {close[0]!r}?" if close else "add it with `redline annotate user add`")])
        return u

    def list_users(self, vendor: str | None = None) -> list[User]:
        q = select(ann_users).order_by(ann_users.c.username)
        if vendor is not None:
            q = q.where(ann_users.c.vendor == vendor)
        with self._read() as conn:
            return [self._user(r) for r in conn.execute(q)]

    def set_password(self, username: str, password: str) -> None:
        self._need_user(username)
        if not isinstance(password, str) or len(password) < auth.MIN_PASSWORD:
            raise InputError("cannot set the password", [Problem(
                "password", f"shorter than {auth.MIN_PASSWORD} characters", "choose a longer password")])
        h = auth.hash_password(password)

        def run(conn: Connection) -> None:
            conn.execute(ann_users.update().where(ann_users.c.username == username).values(password_hash=h))
            conn.execute(ann_sessions.delete().where(ann_sessions.c.username == username))

        self._write(run)

    def pause(self, username: str, reason: str) -> None:
        self._need_user(username)
        if not (reason or "").strip():
            raise InputError("a reason is needed", [Problem("reason", "empty", "say why the user is paused")])
        self._write(lambda c: c.execute(ann_users.update().where(ann_users.c.username == username)
                                        .values(active=False, paused_reason=reason.strip())))

    def resume(self, username: str) -> None:
        self._need_user(username)
        self._write(lambda c: c.execute(ann_users.update().where(ann_users.c.username == username)
                                        .values(active=True, paused_reason=None)))

    # -- sessions ----------------------------------------------------------------------------

    def create_session(self, username: str, ttl: timedelta = timedelta(hours=12),
                       idle: timedelta = timedelta(minutes=60)) -> tuple[str, Session]:
        """A new session: ``(token for the cookie, Session)``. Only sha256(token) is stored."""
        user = self._need_user(username)
        token, csrf, now = auth.new_token(), auth.new_csrf(), self.now()
        expires = now + ttl
        self._write(lambda c: c.execute(ann_sessions.insert().values(
            token_hash=auth.token_hash(token), username=username, csrf_token=csrf, created=now,
            last_seen=now, expires=expires, idle_s=int(idle.total_seconds()))))
        return token, Session(username=username, csrf_token=csrf, expires=expires, user=user)

    def get_session(self, token: str) -> Session | None:
        """The live session of ``token``; None when unknown, past its expiry or idle too long."""
        if not token:
            return None
        th = auth.token_hash(token)
        now = self.now()
        with self._read() as conn:
            r = conn.execute(select(ann_sessions, ann_users).join(
                ann_users, ann_users.c.username == ann_sessions.c.username)
                .where(ann_sessions.c.token_hash == th)).first()
        if r is None:
            return None
        last = _utc(r.last_seen) or now
        expires = _utc(r.expires) or now
        if now >= expires or now - last > timedelta(seconds=r.idle_s):
            self.delete_session(token)
            return None
        if now - last >= _TOUCH_EVERY:
            self._write(lambda c: c.execute(ann_sessions.update().where(ann_sessions.c.token_hash == th)
                                            .values(last_seen=now)))
        return Session(username=r.username, csrf_token=r.csrf_token, expires=expires, user=self._user(r))

    def delete_session(self, token: str) -> None:
        th = auth.token_hash(token or "")
        self._write(lambda c: c.execute(ann_sessions.delete().where(ann_sessions.c.token_hash == th)))

    # -- projects ----------------------------------------------------------------------------

    @staticmethod
    def _project(r: Any) -> Project:
        return Project(name=r.name, task=r.task, policy_name=r.policy_name, policy_ref=r.policy_ref,
                       policy_hash=r.policy_hash, policy_version=r.policy_version,
                       schema=json.loads(r.schema_json), overlap=r.overlap,
                       gold_rate=json.loads(r.gold_rate_json),
                       settings=ProjectSettings.model_validate(json.loads(r.settings_json)),
                       created=_utc(r.created), status=r.status)

    def _gold_rates(self, gold_rate: float | dict[str, float], schema: dict[str, Any]) -> dict[str, float]:
        rates = {"*": float(gold_rate)} if isinstance(gold_rate, int | float) else dict(gold_rate)
        rates.setdefault("*", 0.0)
        problems = []
        ids = set(schema.get("category_ids") or [])
        for k, v in rates.items():
            if k != "*" and k not in ids:
                problems.append(Problem(f"gold_rate.{k}", "not a category of the policy",
                                        "use '*' or a category id of the policy"))
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                problems.append(Problem(f"gold_rate.{k}", f"{v!r} is not a rate", "give a number from 0 to 1"))
        if problems:
            raise InputError("bad gold rate", problems)
        return {k: float(v) for k, v in rates.items()}

    @staticmethod
    def _check_settings(settings: ProjectSettings, schema: dict[str, Any]) -> None:
        ids = set(schema.get("category_ids") or [])
        problems = []
        for name in ("blur_categories", "warn_categories"):
            for c in getattr(settings, name) or []:
                if c not in ids:
                    problems.append(Problem(f"settings.{name}", f"{c!r} is not a category of the policy",
                                            "use category ids of the policy"))
        for k, v in settings.exposure_budget.items():
            if k != "*" and k not in ids:
                problems.append(Problem(f"settings.exposure_budget.{k}", "not a category of the policy",
                                        "use '*' or a category id of the policy"))
            if not isinstance(v, int) or v < 0:
                problems.append(Problem(f"settings.exposure_budget.{k}", f"{v!r} is not a count",
                                        "give a whole number ≥ 0"))
        if settings.judge is not None:
            from redline.judges.base import judge_names

            names = judge_names()
            prefix, colon, arg = settings.judge.partition(":")
            if not (settings.judge in names or (colon and arg and f"{prefix}:" in names)):
                problems.append(Problem("settings.judge", f"no judge named {settings.judge!r}",
                                        f"use one of: {', '.join(names)} (or leave it unset: no judge)"))
        if problems:
            raise InputError("bad project settings", problems)

    def create_project(self, name: str, *, policy: Policy, policy_ref: str, task: str,
                       records: Iterable[Record], overlap: int = 3,
                       gold: Iterable[tuple[Record, dict[str, Any]]] = (),
                       gold_rate: float | dict[str, float] = 0.1,
                       settings: ProjectSettings | None = None) -> Project:
        """A new project; its label schema is compiled from ``policy``. Gold answers are validated
        against the task's schema; duplicate item ids are an error naming them."""
        problems = [p for p in (_name_problem("name", name),) if p]
        if task not in TASKS:
            problems.append(Problem("task", f"{task!r} is not a task type", f"use one of {', '.join(TASKS)}"))
        if not isinstance(overlap, int) or overlap < 1:
            problems.append(Problem("overlap", f"{overlap!r}", "give a whole number ≥ 1"))
        if problems:
            raise InputError("cannot create the project", problems)
        schema = annotation_schema(policy)
        rates = self._gold_rates(gold_rate, schema)
        settings = settings or ProjectSettings()
        self._check_settings(settings, schema)
        now = self.now()
        row = {"name": name, "task": task, "policy_name": policy.name, "policy_ref": str(policy_ref),
               "policy_hash": policy.content_hash, "policy_version": policy.version,
               "schema_json": _dumps(schema), "overlap": overlap, "gold_rate_json": _dumps(rates),
               "settings_json": settings.model_dump_json(), "created": now, "status": "active"}
        rows = self._item_rows(name, task, schema, records, gold, start=0, existing=set())

        def run(conn: Connection) -> None:
            if conn.execute(select(ann_projects.c.name).where(ann_projects.c.name == name)).first():
                raise InputError("cannot create the project", [Problem(
                    "name", f"a project {name!r} exists", "choose another name")])
            conn.execute(ann_projects.insert().values(**row))
            conn.execute(ann_policy_versions.insert().values(
                project=name, policy_hash=policy.content_hash, policy_version=policy.version,
                policy_ref=str(policy_ref), schema_json=row["schema_json"], activated=now))
            for i in range(0, len(rows), 1000):
                conn.execute(ann_items.insert(), rows[i:i + 1000])

        self._write(run)
        return self.get_project(name)

    def _item_rows(self, project: str, task: str, schema: dict[str, Any], records: Iterable[Record],
                   gold: Iterable[tuple[Record, dict[str, Any]]], *, start: int,
                   existing: set[str]) -> list[dict[str, Any]]:
        now = self.now()
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        problems: list[Problem] = []
        dups: list[str] = []

        def add(rec: Record, answer: dict[str, Any] | None, where: str) -> None:
            if not isinstance(rec, Record):
                problems.append(Problem(where, f"{type(rec).__name__} is not a Record", "give Record objects"))
                return
            if rec.id in seen or rec.id in existing:
                dups.append(rec.id)
                return
            seen[rec.id] = 1
            if task == "response-label" and rec.response is None:
                problems.append(Problem(f"{where} ({rec.id})", "no response to label",
                                        "give records that end with an assistant turn (or 'response')"))
            if task == "preference" and len(candidates(rec)) < 2:
                problems.append(Problem(f"{where} ({rec.id})", "fewer than 2 candidate responses",
                                        "give meta.responses (2+) or chosen/rejected"))
            clean = None
            if answer is not None:
                try:
                    clean = validate_values(task, schema, answer, rec)
                except InputError as e:
                    problems.extend(Problem(f"{where} ({rec.id}) {p.where}", p.message, p.fix) for p in e.problems)
            rows.append({"project": project, "item_id": rec.id, "seq": start + len(rows),
                         "record_json": rec.model_dump_json(), "category": rec.category,
                         "is_gold": answer is not None, "gold_json": _dumps(clean) if clean is not None else None,
                         "origin": "gold" if answer is not None else "data", "vendor": None, "created": now})

        for n, rec in enumerate(records):
            add(rec, None, f"records[{n}]")
        for n, pair in enumerate(gold):
            try:
                rec, answer = pair
            except (TypeError, ValueError):
                problems.append(Problem(f"gold[{n}]", "not a (record, answer) pair", "give (Record, dict) pairs"))
                continue
            if not isinstance(answer, dict):
                problems.append(Problem(f"gold[{n}]", "the answer is not a mapping", "give field → value"))
                continue
            add(rec, answer, f"gold[{n}]")
        if dups:
            shown = ", ".join(repr(d) for d in list(dict.fromkeys(dups))[:20])
            problems.insert(0, Problem("items", f"duplicate item id(s): {shown}",
                                       "give every record a unique id"))
        if problems:
            raise InputError(f"cannot add the items of project {project!r}", problems)
        return rows

    def add_items(self, project: str, records: Iterable[Record], *,
                  gold: Iterable[tuple[Record, dict[str, Any]]] = ()) -> int:
        p = self.get_project(project)
        with self._read() as conn:
            existing = {r[0] for r in conn.execute(select(ann_items.c.item_id).where(ann_items.c.project == project))}
        rows = self._item_rows(project, p.task, p.schema, records, gold, start=0, existing=existing)

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

    def set_policy(self, project: str, policy: Policy, policy_ref: str) -> Project:
        """Make ``policy`` the project's active version; earlier versions stay in the history."""
        self.get_project(project)
        schema = annotation_schema(policy)
        sj, now = _dumps(schema), self.now()

        def run(conn: Connection) -> None:
            conn.execute(ann_projects.update().where(ann_projects.c.name == project).values(
                policy_name=policy.name, policy_ref=str(policy_ref), policy_hash=policy.content_hash,
                policy_version=policy.version, schema_json=sj))
            key = and_(ann_policy_versions.c.project == project,
                       ann_policy_versions.c.policy_hash == policy.content_hash)
            if conn.execute(select(ann_policy_versions.c.project).where(key)).first():
                conn.execute(ann_policy_versions.update().where(key).values(activated=now, policy_ref=str(policy_ref)))
            else:
                conn.execute(ann_policy_versions.insert().values(
                    project=project, policy_hash=policy.content_hash, policy_version=policy.version,
                    policy_ref=str(policy_ref), schema_json=sj, activated=now))

        self._write(run)
        return self.get_project(project)

    def policy_versions(self, project: str) -> list[dict[str, Any]]:
        """Every policy version the project has used, oldest activation first."""
        self.get_project(project)
        with self._read() as conn:
            rows = conn.execute(select(ann_policy_versions).where(ann_policy_versions.c.project == project)
                                .order_by(ann_policy_versions.c.activated)).mappings().all()
        return [{"policy_hash": r["policy_hash"], "policy_version": r["policy_version"],
                 "policy_ref": r["policy_ref"], "activated": _utc(r["activated"])} for r in rows]

    def get_project(self, name: str) -> Project:
        with self._read() as conn:
            r = conn.execute(select(ann_projects).where(ann_projects.c.name == name)).first()
            if r is None:
                names = [x[0] for x in conn.execute(select(ann_projects.c.name))]
        if r is None:
            close = difflib.get_close_matches(str(name), names, n=1)
            raise InputError("unknown annotation project", [Problem(
                "project", f"no project {name!r}",
                f"did you mean {close[0]!r}?" if close else
                ("projects: " + ", ".join(sorted(names)) if names else "create one with `redline annotate create`"))])
        return self._project(r)

    def list_projects(self) -> list[Project]:
        with self._read() as conn:
            return [self._project(r) for r in conn.execute(select(ann_projects).order_by(ann_projects.c.name))]

    def policy(self, project: str) -> Policy:
        """The project's policy, loaded again from its ``policy_ref``; an error when that pack has
        changed since (run set-policy to move the project to the new version)."""
        from redline.policy.loader import load_policy

        p = self.get_project(project)
        pol = load_policy(p.policy_ref)
        if pol.content_hash != p.policy_hash:
            raise InputError("the project's policy has changed", [Problem(
                p.policy_ref, f"now {pol.content_hash} (version {pol.version}); the project uses "
                              f"{p.policy_hash} (version {p.policy_version})",
                f"run `redline annotate set-policy {project} --policy {p.policy_ref}` to adopt it")])
        return pol

    # -- items -------------------------------------------------------------------------------

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

    # -- assignment --------------------------------------------------------------------------

    def _assignment(self, r: Any, item: Item, *, include_gold: bool = False) -> Assignment:
        return Assignment(project=r.project, item_id=r.item_id, username=r.username, vendor=r.vendor,
                          status=r.status, assigned_at=_utc(r.assigned_at), done_at=_utc(r.done_at),
                          skip_reason=r.skip_reason, order=json.loads(r.order_json) if r.order_json else None,
                          item=item, is_gold=bool(r.is_gold) if include_gold else None)

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
        return self._assignment(row, self._item(_ItemRow(row), include_gold=False))

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
            n = len(candidates(Record.model_validate_json(rec_json)))
            order = list(range(n))
            random.Random(f"{p.name}:{item_id}:{username}").shuffle(order)
        now = self.now()
        try:
            conn.execute(a.insert().values(project=p.name, item_id=item_id, username=username, vendor=vendor,
                                           status=status, is_gold=gold,
                                           order_json=json.dumps(order) if order is not None else None,
                                           assigned_at=now, done_at=now if status != "open" else None))
        except IntegrityError:
            raise _Retry() from None  # the whole transaction runs again
        row = conn.execute(self._joined().where(a.c.project == p.name, a.c.item_id == item_id,
                                                a.c.username == username)).first()
        return row, None

    # -- labels ------------------------------------------------------------------------------

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
            res = conn.execute(ann_labels.insert().values(
                project=project, item_id=item_id, username=username, vendor=user.vendor,
                values_json=_dumps(clean), policy_hash=p.policy_hash, policy_version=p.policy_version,
                is_gold=bool(row.is_gold), duration_s=duration_s, created=now, source=source))
            conn.execute(a.update().where(key).values(status="submitted", done_at=now))
            return int(res.inserted_primary_key[0])

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
                      created=_utc(r.created), source=r.source, outdated=r.policy_hash != p.policy_hash)
                for r in rows]

    def assignments(self, project: str, *, username: str | None = None, vendor: str | None = None,
                    include_gold: bool = False) -> list[Assignment]:
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
                it = self._item(_ItemRow(r), include_gold=include_gold)
                out.append(self._assignment(r, it, include_gold=include_gold))
        return out

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

    # -- review ------------------------------------------------------------------------------

    @staticmethod
    def _adj(r: Any) -> Adjudication:
        return Adjudication(project=r.project, item_id=r.item_id, reviewer=r.reviewer,
                            values=json.loads(r.values_json), rationale=r.rationale, created=_utc(r.created),
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
        case = self._case(p, item, clean, reviewer, rationale.strip(), now, **cb_args) if promote_casebook else None

        def run(conn: Connection) -> None:
            d = ann_adjudications
            key = and_(d.c.project == project, d.c.item_id == item_id)
            old = conn.execute(self._lock(select(d).where(key))).first()
            vals = {"reviewer": reviewer, "values_json": _dumps(clean), "rationale": rationale.strip(),
                    "updated": now,
                    "promoted_casebook": bool(promote_casebook or (old is not None and old.promoted_casebook)),
                    "promoted_gold": bool(promote_gold or (old is not None and old.promoted_gold))}
            if old is None:
                try:
                    conn.execute(d.insert().values(project=project, item_id=item_id, created=now, **vals))
                except IntegrityError:  # a concurrent first adjudication won: run again, as an update
                    raise _Retry() from None
            else:
                conn.execute(d.update().where(key).values(**vals))
            if promote_gold or (old is not None and old.promoted_gold):
                # the answer follows the latest adjudication; people who labelled it never get it again
                conn.execute(ann_items.update().where(ann_items.c.project == project, ann_items.c.item_id == item_id)
                             .values(is_gold=True, gold_json=_dumps(clean),
                                     origin="promoted" if item.origin != "gold" else "gold"))
            if case is not None or (old is not None and old.promoted_casebook):
                cb = ann_casebook
                ck = and_(cb.c.project == project, cb.c.item_id == item_id)
                c = case
                if c is None:  # re-adjudicated: the case follows, keeping its node/intent unless given
                    prev = conn.execute(select(cb.c.case_json).where(ck)).first()
                    was = Case.model_validate_json(prev[0]) if prev else None
                    c = self._case(p, item, clean, reviewer, rationale.strip(), now,
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
                        raise _Retry() from None

        self._write(run)
        got = self.adjudication(project, item_id)
        assert got is not None
        return got

    def _case(self, p: Project, item: Item, values: dict[str, Any], reviewer: str, rationale: str,
              now: datetime, *, node: str | None = None, intent: str | None = None) -> Case:
        rec = item.record
        node_id = node or values.get("category") or item.category
        found = find_node(p.schema, node_id)
        if found is None:
            raise InputError("cannot promote to the casebook", [Problem(
                "casebook_node", f"{node_id!r} is not a node of the policy" if node_id
                else "no policy node: the label and the item have no category",
                "pick the policy node this case belongs to (casebook node)")])
        intents = ("harmful", "benign", "ambiguous")
        if intent is not None and intent not in intents:
            raise InputError("cannot promote to the casebook", [Problem(
                "casebook_intent", f"{intent!r} is not an intent", f"choose one of: {', '.join(intents)}")])
        meta_intent = rec.meta.get("intent")
        intent = intent or values.get("intent") or (meta_intent if meta_intent in intents else None)
        if intent is None and rec.expected is not None and str(rec.expected.value) == "comply":
            intent = "benign"
        if intent is None:
            raise InputError("cannot promote to the casebook", [Problem(
                "casebook_intent", "the request's intent is not known (no intent label, meta.intent or expected)",
                f"choose the intent of the request: {', '.join(intents)}")])
        expected = found.get("expected", {}).get(intent)
        response: str | None = None
        if p.task == "prompt-label":
            harmful = values.get("intent") == "harmful" and values.get("category") is not None
        elif p.task == "response-label":
            response, harmful = rec.response, bool(values.get("harmful"))
        elif p.task == "sft-write":
            response, harmful, expected = values.get("response"), False, values.get("behaviour") or expected
        else:  # preference: the preferred candidate is the worked example
            cands = candidates(rec)
            ch = values.get("choice")
            response = cands[int(ch)] if ch not in (None, "tie") else None
            harmful = False if response is not None else intent == "harmful"
        severity = int(values.get("severity") or 0) if harmful else 0
        if harmful and severity == 0:  # no severity field (prompt-label): the node's lowest violating level
            levels = sorted(int(s["level"]) for s in found.get("severity_levels") or [] if int(s["level"]) > 0)
            severity = levels[0] if levels else 1
        case_id = _CASE_ID_BAD.sub("_", f"{p.name}:{item.item_id}")
        if not case_id[0].isalnum():
            case_id = "c" + case_id
        return Case.model_validate({
            "id": case_id, "node": found["id"], "tag": "adjudicated", "intent": intent,
            "prompt": rec.prompt or "(empty prompt)", "response": response or None, "harmful": harmful,
            "severity": severity, "expected": expected,
            "reasoning": rationale, "adjudication": f"{reviewer}, {now.date().isoformat()}"})

    def adjudication(self, project: str, item_id: str) -> Adjudication | None:
        with self._read() as conn:
            r = conn.execute(select(ann_adjudications).where(ann_adjudications.c.project == project,
                                                             ann_adjudications.c.item_id == item_id)).first()
        return self._adj(r) if r else None

    def adjudications(self, project: str) -> list[Adjudication]:
        self.get_project(project)
        with self._read() as conn:
            return [self._adj(r) for r in conn.execute(
                select(ann_adjudications).where(ann_adjudications.c.project == project)
                .order_by(ann_adjudications.c.created, ann_adjudications.c.item_id))]

    def casebook(self, project: str) -> list[Case]:
        """The adjudicated cases promoted to the project's casebook, oldest first."""
        self.get_project(project)
        with self._read() as conn:
            rows = conn.execute(select(ann_casebook.c.case_json).where(ann_casebook.c.project == project)
                                .order_by(ann_casebook.c.id)).all()
        return [Case.model_validate_json(r[0]) for r in rows]


class _ItemRow:
    """An assignment+item joined row seen as an item row."""

    def __init__(self, r: Any):
        self.project, self.item_id, self.seq, self.record_json = r.i_project, r.item_id, r.seq, r.record_json
        self.category, self.is_gold, self.gold_json, self.origin, self.vendor = (
            r.category, r.i_gold, r.gold_json, r.origin, r.i_vendor)
