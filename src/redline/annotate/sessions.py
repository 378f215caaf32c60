"""Login sessions: only sha256(token) is stored; expiry and idle timeout are enforced on read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from redline.annotate import auth
from redline.annotate.base import utc
from redline.annotate.rows import Session
from redline.annotate.users import Users
from redline.store.annotation import ann_sessions, ann_users

_TOUCH_EVERY = timedelta(seconds=30)  # a session's last_seen is written at most this often


class Sessions(Users):
    """Sessions of the web app (cookie token → user)."""

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
        last = utc(r.last_seen) or now
        expires = utc(r.expires) or now
        if now >= expires or now - last > timedelta(seconds=r.idle_s):
            self.delete_session(token)
            return None
        if now - last >= _TOUCH_EVERY:
            self._write(lambda c: c.execute(ann_sessions.update().where(ann_sessions.c.token_hash == th)
                                            .values(last_seen=now)))
        return Session(username=r.username, csrf_token=r.csrf_token, expires=expires, user=self._user(r))

    def delete_session(self, token: str) -> None:
        """End the session of ``token`` (log out); nothing happens when there is none."""
        th = auth.token_hash(token or "")
        self._write(lambda c: c.execute(ann_sessions.delete().where(ann_sessions.c.token_hash == th)))
