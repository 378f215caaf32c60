"""Vendors and users: accounts, roles, passwords (Argon2id) and pausing."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import Connection, select

from redline.annotate import auth
from redline.annotate.base import ServiceBase, name_problem
from redline.annotate.rows import ROLES, User
from redline.errors import InputError, Problem
from redline.store.annotation import ann_sessions, ann_users, ann_vendors


class Users(ServiceBase):
    """Vendors and user accounts."""

    def add_vendor(self, name: str) -> None:
        """Register a vendor (nothing happens when it exists).

        Args:
            name: The vendor's name (letters, digits and ``_ . @ -``).

        Raises:
            InputError: When the name is not valid.
        """
        p = name_problem("vendor", name)
        if p:
            raise InputError("bad vendor name", [p])

        def run(conn: Connection) -> None:
            if conn.execute(select(ann_vendors.c.name).where(ann_vendors.c.name == name)).first() is None:
                conn.execute(ann_vendors.insert().values(name=name, created=self.now()))

        self._write(run)

    def list_vendors(self) -> list[str]:
        """The vendors' names, sorted."""
        with self._read() as conn:
            return [r[0] for r in conn.execute(select(ann_vendors.c.name).order_by(ann_vendors.c.name))]

    def add_user(self, username: str, password: str, role: str, vendor: str | None = None) -> User:
        """Create an active user account (the password is stored as an Argon2id hash).

        Args:
            username: The login name.
            password: At least :data:`redline.annotate.auth.MIN_PASSWORD` characters.
            role: One of :data:`redline.annotate.rows.ROLES`.
            vendor: The user's vendor (registered when new); None for in-house users.

        Returns:
            The new user.

        Raises:
            InputError: Naming each bad field, or when the user exists.
        """
        problems = [p for p in (name_problem("username", username),) if p]
        if role not in ROLES:
            problems.append(Problem("role", f"{role!r} is not a role", f"use one of {', '.join(ROLES)}"))
        if vendor is not None and (p := name_problem("vendor", vendor)):
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
        """The user named ``username``; None when there is none."""
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
        """Users sorted by name; only ``vendor``'s when given."""
        q = select(ann_users).order_by(ann_users.c.username)
        if vendor is not None:
            q = q.where(ann_users.c.vendor == vendor)
        with self._read() as conn:
            return [self._user(r) for r in conn.execute(q)]

    def set_password(self, username: str, password: str) -> None:
        """Change a user's password and end all of the user's sessions.

        Raises:
            InputError: When the user is unknown or the password too short.
        """
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
        """Pause a user: nothing more is assigned to or saved for them until :meth:`resume`.

        Raises:
            InputError: When the user is unknown or ``reason`` is empty.
        """
        self._need_user(username)
        if not (reason or "").strip():
            raise InputError("a reason is needed", [Problem("reason", "empty", "say why the user is paused")])
        self._write(lambda c: c.execute(ann_users.update().where(ann_users.c.username == username)
                                        .values(active=False, paused_reason=reason.strip())))

    def resume(self, username: str) -> None:
        """Make a paused user active again."""
        self._need_user(username)
        self._write(lambda c: c.execute(ann_users.update().where(ann_users.c.username == username)
                                        .values(active=True, paused_reason=None)))
