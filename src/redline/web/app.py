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

Layout: :mod:`redline.web.deps` holds the shared state and the FastAPI dependencies (session,
role, CSRF-checked post, project); :mod:`redline.web.routes` one ``APIRouter`` per job (auth,
projects, annotate, review, dashboard); :mod:`redline.web._views` builds the pages' contexts.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from redline.web import _views
from redline.web.deps import COOKIE, LOGIN_CSRF_COOKIE, LoginRequired, Web, templates
from redline.web.routes import ROUTERS
from redline.web.routes.auth import LoginLimiter

__all__ = ["COOKIE", "LOGIN_CSRF_COOKIE", "LoginLimiter", "create_app"]

_STATIC = Path(__file__).parent / "static"
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(db_url: str | None = None, *, secure_cookies: bool = False,
               session_ttl: timedelta = timedelta(hours=12),
               session_idle: timedelta = timedelta(minutes=60),
               login_attempts: int = 5, login_window_s: float = 300.0) -> FastAPI:
    """The web app over a workspace database.

    Args:
        db_url: The database (default: the workspace's, see :class:`redline.workspace.Workspace`).
        secure_cookies: Mark the session cookie ``Secure`` (serve over HTTPS then).
        session_ttl: A session's absolute lifetime.
        session_idle: A session ends after this long without a request.
        login_attempts: Failed logins allowed per username and client IP within ``login_window_s``.
        login_window_s: The window of the login rate limit, in seconds.

    Returns:
        The FastAPI app: security headers on every answer, the routers of
        :mod:`redline.web.routes`, ``/static`` files.
    """
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    svc = Annotations(Workspace.default(db_url).db)
    env = templates()
    limiter = LoginLimiter(login_attempts, login_window_s)
    app = FastAPI(title="Redline annotation", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = Web(svc=svc, views=_views.Views(svc), env=env, limiter=limiter,
                        secure_cookies=secure_cookies, session_ttl=session_ttl,
                        session_idle=session_idle)
    app.state.svc = svc
    app.state.limiter = limiter
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

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

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        html = env.get_template("error.html").render(
            request=request, session=None, user=None, csrf=None, status=exc.status_code,
            detail=exc.detail)
        return HTMLResponse(html, status_code=exc.status_code)

    for router in ROUTERS:
        app.include_router(router)
    return app
