"""Login and logout: a double-submit CSRF cookie on the login form, a rate limit per username
and client IP, and the session cookie (HttpOnly, SameSite=Strict, ``Secure`` when asked)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from redline.web.deps import COOKIE, LOGIN_CSRF_COOKIE, Web, WebDep, check_csrf

router = APIRouter()


class LoginLimiter:
    """At most ``attempts`` failed logins per (username, client IP) within ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0,
                 now: Callable[[], float] = time.monotonic):
        self.attempts, self.window_s, self._now = attempts, window_s, now
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        cutoff = self._now() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked_for(self, username: str, ip: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            q = self._recent((username.lower(), ip))
            if len(q) < self.attempts:
                return 0.0
            return max(1.0, q[0] + self.window_s - self._now())

    def failed(self, username: str, ip: str) -> None:
        """Count a failed login of ``username`` from ``ip``."""
        with self._lock:
            self._recent((username.lower(), ip)).append(self._now())

    def succeeded(self, username: str, ip: str) -> None:
        """Forget the failed logins of ``username`` from ``ip``."""
        with self._lock:
            self._fails.pop((username.lower(), ip), None)


def safe_next(url: str | None) -> str:
    """Only local paths (no scheme, no //host) are followed after login.

    Args:
        url: The ``next`` parameter.

    Returns:
        ``url`` when it is a local path, else "".
    """
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return ""
    return url


def _login_page(w: Web, request: Request, error: str | None = None, status: int = 200,
                username: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    resp = w.render(request, "login.html", status=status, login_csrf=token, error=error,
                    username=username, next=safe_next(request.query_params.get("next")))
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                    secure=w.secure_cookies, path="/login")
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_get(request: Request, w: WebDep) -> Response:
    """The login form."""
    return _login_page(w, request)


@router.post("/login")
async def login_post(request: Request, w: WebDep) -> Response:
    """Log in: a new session cookie and a redirect to ``next`` (a local path) or ``/``."""
    form = await request.form()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    got = str(form.get("csrf") or "")
    if not cookie or not got or not secrets.compare_digest(cookie, got):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the login page.")
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    ip = request.client.host if request.client else "?"
    wait = w.limiter.blocked_for(username, ip)
    if wait:
        return _login_page(w, request, f"Too many failed logins. Try again in {int(wait) + 1} s.",
                           429, username)
    user = await run_in_threadpool(w.svc.authenticate, username, password) if username else None
    if user is None:
        w.limiter.failed(username, ip)
        return _login_page(w, request, "Wrong username or password.", 401, username)
    w.limiter.succeeded(username, ip)
    token, _ = await run_in_threadpool(w.svc.create_session, user.username, w.session_ttl,
                                       w.session_idle)
    resp = RedirectResponse(safe_next(str(form.get("next") or "")) or "/", status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=w.secure_cookies,
                    path="/", max_age=int(w.session_ttl.total_seconds()))
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request, w: WebDep) -> Response:
    """Log out (CSRF-checked when there is a session) and go to the login page."""
    form = await request.form()
    token = request.cookies.get(COOKIE)
    sess = await run_in_threadpool(w.svc.get_session, token) if token else None
    if sess is not None:
        check_csrf(sess, form)
        await run_in_threadpool(w.svc.delete_session, token or "")
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
