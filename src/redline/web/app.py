"""The annotation web UI: FastAPI + server-rendered jinja2 pages + one small vanilla JS file.

Why server-rendered: there is no front-end build step (the package ships plain templates and
one JS/CSS file), every piece of item content is escaped by jinja2's autoescape (the item text
is untrusted test data that may contain ``<script>``), pages work offline (no CDN; nothing is
fetched from outside) and every form works without JavaScript — the JS only adds keyboard
shortcuts, the guidelines panel toggle, blur reveal and the break timer.

Security: sessions from :class:`redline.annotate.service.Annotations` (token in an HttpOnly,
SameSite=Strict cookie, ``Secure`` with ``secure_cookies``; absolute and idle expiry); a CSRF
token in every form (the session's token; a double-submit cookie on the login form); a login
rate limit per username + client IP; a strict Content-Security-Policy (scripts and styles only
from this app). Vendor isolation: a vendor's annotators and manager see only their vendor's
items, labels and stats; another vendor's item is answered 404 (the same as a missing one) and
gold flags/answers are never shown to vendor users.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from redline.errors import InputError
from redline.web import _views

COOKIE = "redline_session"
LOGIN_CSRF_COOKIE = "redline_login_csrf"
_STATIC = Path(__file__).parent / "static"
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class _LoginRequired(Exception):
    def __init__(self, next_url: str = "/"):
        self.next_url = next_url


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
        with self._lock:
            self._recent((username.lower(), ip)).append(self._now())

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._fails.pop((username.lower(), ip), None)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("redline.web", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"),
                                                   default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _views.fmt_time
    env.filters["pct"] = _views.fmt_pct
    env.filters["num"] = _views.fmt_num
    env.filters["value"] = _views.fmt_value
    env.globals["urlq"] = lambda s: quote(str(s), safe="")
    return env


def create_app(db_url: str | None = None, *, secure_cookies: bool = False,
               session_ttl: timedelta = timedelta(hours=12),
               session_idle: timedelta = timedelta(minutes=60),
               login_attempts: int = 5, login_window_s: float = 300.0) -> FastAPI:
    """The web app over the workspace database ``db_url`` (default: the workspace's, see
    :class:`redline.workspace.Workspace`). ``secure_cookies`` marks the session cookie
    ``Secure`` (serve over HTTPS then)."""
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    db = Workspace.default(db_url).db
    svc = Annotations(db)
    env = _env()
    limiter = LoginLimiter(login_attempts, login_window_s)
    views = _views.Views(svc)
    app = FastAPI(title="Redline annotation", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.svc = svc
    app.state.limiter = limiter
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    # -- plumbing ------------------------------------------------------------------------------

    def render(request: Request, name: str, status: int = 200, session: Any = None,
               **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(
            request=request, session=session, user=session.user if session else None,
            csrf=session.csrf_token if session else None, **ctx)
        return HTMLResponse(html, status_code=status)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        resp: Response = await call_next(request)
        resp.headers["Content-Security-Policy"] = _CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        html = env.get_template("error.html").render(
            request=request, session=None, user=None, csrf=None, status=exc.status_code,
            detail=exc.detail)
        return HTMLResponse(html, status_code=exc.status_code)

    def session_of(request: Request) -> Any:
        token = request.cookies.get(COOKIE)
        if not token:
            raise _LoginRequired(request.url.path)
        sess = svc.get_session(token)
        if sess is None:
            raise _LoginRequired(request.url.path)
        return sess

    def check_csrf(sess: Any, form: Any) -> None:
        got = str(form.get("csrf") or "")
        if not got or not secrets.compare_digest(got, sess.csrf_token):
            raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")

    def need_role(sess: Any, *roles: str) -> None:
        if sess.user.role not in roles:
            raise HTTPException(403, "Your role may not open this page.")

    def project_or_404(name: str) -> Any:
        try:
            return svc.get_project(name)
        except InputError:
            raise HTTPException(404, "No such project.") from None

    async def post(request: Request) -> tuple[Any, Any]:
        """The session (login required) and the form of a POST, CSRF-checked; a paused user
        writes nothing (the service checks the pause again inside each write's transaction)."""
        form = await request.form()
        sess = await run_in_threadpool(session_of, request)
        check_csrf(sess, form)
        if not sess.user.active:
            raise HTTPException(403, "Your account is paused"
                                + (f" ({sess.user.paused_reason})" if sess.user.paused_reason else "")
                                + ": nothing was saved.")
        return sess, form

    # -- login / logout ------------------------------------------------------------------------

    def login_page(request: Request, error: str | None = None, status: int = 200,
                   username: str = "") -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html", status=status, login_csrf=token, error=error,
                      username=username, next=_safe_next(request.query_params.get("next")))
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookies, path="/login")
        return resp

    @app.get("/login", response_class=HTMLResponse)
    def login_get(request: Request) -> Response:
        return login_page(request)

    @app.post("/login")
    async def login_post(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        got = str(form.get("csrf") or "")
        if not cookie or not got or not secrets.compare_digest(cookie, got):
            raise HTTPException(403, "Missing or wrong CSRF token: reload the login page.")
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        ip = request.client.host if request.client else "?"
        wait = limiter.blocked_for(username, ip)
        if wait:
            return login_page(request, f"Too many failed logins. Try again in {int(wait) + 1} s.",
                              429, username)
        user = await run_in_threadpool(svc.authenticate, username, password) if username else None
        if user is None:
            limiter.failed(username, ip)
            return login_page(request, "Wrong username or password.", 401, username)
        limiter.succeeded(username, ip)
        token, _ = await run_in_threadpool(svc.create_session, user.username, session_ttl, session_idle)
        resp = RedirectResponse(_safe_next(str(form.get("next") or "")) or "/", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies,
                        path="/", max_age=int(session_ttl.total_seconds()))
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(COOKIE)
        sess = await run_in_threadpool(svc.get_session, token) if token else None
        if sess is not None:
            check_csrf(sess, form)
            await run_in_threadpool(svc.delete_session, token)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # -- projects ------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        sess = session_of(request)
        projects = svc.list_projects()
        progress = {}
        # in-house admins/reviewers: labels on data items only (gold labels counted apart);
        # annotators (in-house or vendor) get the blind view, where gold moves every counter as data does
        sees_gold = sess.user.vendor is None and sess.user.role in ("admin", "reviewer")
        for p in projects:
            pr = svc.progress(p.name, vendor=sess.user.vendor, include_gold=sees_gold)
            progress[p.name] = {"items": pr.items, "target_labels": pr.target_labels,
                                "done_items": pr.done_items,
                                "labels": pr.labels}
        mine = {p.name: svc.progress(p.name, username=sess.user.username).labels for p in projects}
        return render(request, "projects.html", session=sess, projects=projects,
                      progress=progress, mine=mine)

    # -- annotator -------------------------------------------------------------------------------

    @app.get("/p/{project}/annotate", response_class=HTMLResponse)
    def annotate(request: Request, project: str) -> Response:
        sess = session_of(request)
        proj = project_or_404(project)
        ctx = views.annotate_context(proj, sess.user)
        return render(request, "annotate.html", session=sess, project=proj, **ctx)

    # item ids may contain '/': the pages send them encoded (%2F), and since the path is decoded
    # before routing, these routes take a path segment sequence (``:path``) as the id
    @app.post("/p/{project}/items/{item_id:path}/label")
    async def label(request: Request, project: str, item_id: str) -> Response:
        sess, form = await post(request)

        def work() -> Response:
            proj = project_or_404(project)
            values = views.form_values(proj, form, item_id, sess.user.username)
            try:
                dur = float(str(form.get("duration_s") or "") or "nan")
            except ValueError:
                dur = float("nan")
            try:
                svc.submit(project, sess.user.username, item_id, values,
                           duration_s=None if dur != dur else max(0.0, dur), source="web")
            except InputError as e:
                if views.open_assignment(project, sess.user.username, item_id) is None:
                    raise HTTPException(404, "This item is not assigned to you.") from None
                ctx = views.annotate_context(proj, sess.user, errors=e.problems, values=dict(form))
                return render(request, "annotate.html", status=400, session=sess, project=proj, **ctx)
            return RedirectResponse(f"/p/{quote(project, safe='')}/annotate?done=1", status_code=303)

        return await run_in_threadpool(work)

    @app.post("/p/{project}/items/{item_id:path}/skip")
    async def skip(request: Request, project: str, item_id: str) -> Response:
        sess, form = await post(request)

        def work() -> Response:
            proj = project_or_404(project)
            reason = str(form.get("reason") or "").strip()
            if views.open_assignment(project, sess.user.username, item_id) is None:
                raise HTTPException(404, "This item is not assigned to you.")
            if not reason:
                ctx = views.annotate_context(proj, sess.user, skip_error="Give a reason to skip.")
                return render(request, "annotate.html", status=400, session=sess, project=proj, **ctx)
            svc.skip(project, sess.user.username, item_id, reason)
            return RedirectResponse(f"/p/{quote(project, safe='')}/annotate", status_code=303)

        return await run_in_threadpool(work)

    # -- reviewer --------------------------------------------------------------------------------

    @app.get("/p/{project}/queue", response_class=HTMLResponse)
    def queue(request: Request, project: str) -> Response:
        sess = session_of(request)
        need_role(sess, "admin", "reviewer")
        proj = project_or_404(project)
        incomplete = request.query_params.get("incomplete") in ("1", "on", "true")
        ctx = views.queue_context(proj, sess.user, include_incomplete=incomplete)
        return render(request, "queue.html", session=sess, project=proj, **ctx)

    @app.get("/p/{project}/review/{item_id:path}", response_class=HTMLResponse)
    def review(request: Request, project: str, item_id: str) -> Response:
        sess = session_of(request)
        need_role(sess, "admin", "reviewer")
        proj = project_or_404(project)
        ctx = views.review_context(proj, sess.user, item_id)
        if ctx is None:
            raise HTTPException(404, "No such item.")
        return render(request, "review.html", session=sess, project=proj, **ctx)

    @app.post("/p/{project}/review/{item_id:path}")
    async def adjudicate(request: Request, project: str, item_id: str) -> Response:
        sess, form = await post(request)

        def work() -> Response:
            need_role(sess, "admin", "reviewer")
            proj = project_or_404(project)
            if views.review_context(proj, sess.user, item_id) is None:
                raise HTTPException(404, "No such item.")
            if sess.user.vendor is not None:
                raise HTTPException(403, "Vendor managers review their vendor's labels; "
                                         "adjudication is done by in-house reviewers.")
            values = views.form_values(proj, form, item_id, None)
            rationale = str(form.get("rationale") or "").strip()
            problems: list[Any] = []
            if not rationale:
                from redline.errors import Problem
                problems.append(Problem("rationale", "is empty", "say why this is the right label"))
            if not problems:
                try:
                    svc.adjudicate(project, item_id, sess.user.username, values, rationale,
                                   promote_casebook=form.get("promote_casebook") == "on",
                                   promote_gold=form.get("promote_gold") == "on",
                                   casebook_node=str(form.get("casebook_node") or "") or None,
                                   casebook_intent=str(form.get("casebook_intent") or "") or None)
                except InputError as e:
                    problems = list(e.problems)
            if problems:
                ctx = views.review_context(proj, sess.user, item_id, errors=problems,
                                           values=dict(form))
                return render(request, "review.html", status=400, session=sess, project=proj,
                              **(ctx or {}))
            return RedirectResponse(f"/p/{quote(project, safe='')}/review/{quote(item_id, safe='')}"
                                    "?saved=1", status_code=303)

        return await run_in_threadpool(work)

    # -- dashboard -------------------------------------------------------------------------------

    @app.get("/p/{project}/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, project: str) -> Response:
        sess = session_of(request)
        need_role(sess, "admin", "reviewer")
        proj = project_or_404(project)
        ctx = views.dashboard_context(proj, sess.user)
        return render(request, "dashboard.html", session=sess, project=proj, **ctx)

    @app.post("/p/{project}/annotators/{username}/{action}")
    async def pause_resume(request: Request, project: str, username: str, action: str) -> Response:
        sess, form = await post(request)

        def work() -> Response:
            # admins pause anyone; a vendor's manager pauses/resumes its own annotators only
            need_role(sess, "admin", "reviewer")
            project_or_404(project)
            target = svc.get_user(username)
            if action not in ("pause", "resume") or target is None:
                raise HTTPException(404, "No such annotator or action.")
            if sess.user.role != "admin":
                if sess.user.vendor is None or target.vendor != sess.user.vendor:
                    raise HTTPException(403, "Only an admin, or the manager of the annotator's vendor, "
                                             "can pause or resume this annotator.")
                if target.role != "annotator":
                    raise HTTPException(403, "Vendor managers pause and resume their annotators only.")
            if action == "pause":
                svc.pause(username, str(form.get("reason") or "").strip() or
                          f"paused by {sess.user.username} from the dashboard")
            else:
                svc.resume(username)
            return RedirectResponse(f"/p/{quote(project, safe='')}/dashboard", status_code=303)

        return await run_in_threadpool(work)

    return app


def _safe_next(url: str | None) -> str:
    """Only local paths (no scheme, no //host) are followed after login."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return ""
    return url
