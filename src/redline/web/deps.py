"""What every route shares: the app's state, rendering, and the FastAPI dependencies for the
current session, the required role, CSRF-checked form posts and the project of the URL.

The order of the checks is part of the app's behaviour: a POST reads its form, then needs a
session (else a redirect to the login page), then a matching CSRF token (403), then an active
account (403); routes that need a role check it next (403), then the project (404).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from redline.annotate.rows import Project, Session
from redline.errors import InputError
from redline.web import _views

if TYPE_CHECKING:
    from redline.annotate.service import Annotations
    from redline.web.routes.auth import LoginLimiter

COOKIE = "redline_session"
LOGIN_CSRF_COOKIE = "redline_login_csrf"


class LoginRequired(Exception):
    """No live session: the app answers with a redirect to the login page, back to ``next_url``."""

    def __init__(self, next_url: str = "/"):
        self.next_url = next_url


@dataclass(frozen=True)
class Web:
    """The app's shared state (``app.state.web``): the service, page views, templates, settings."""

    svc: Annotations
    views: _views.Views
    env: Environment
    limiter: LoginLimiter
    secure_cookies: bool
    session_ttl: timedelta
    session_idle: timedelta

    def render(self, request: Request, name: str, status: int = 200, session: Session | None = None,
               **ctx: Any) -> HTMLResponse:
        """A page from template ``name``, with the session's user and CSRF token in its context.

        Args:
            request: The request being answered.
            name: The template's file name.
            status: The HTTP status.
            session: The viewer's session (None: not logged in).
            **ctx: The template's other variables.

        Returns:
            The HTML response.
        """
        html = self.env.get_template(name).render(
            request=request, session=session, user=session.user if session else None,
            csrf=session.csrf_token if session else None, **ctx)
        return HTMLResponse(html, status_code=status)


    def project_page(self, request: Request, name: str, sess: Session, proj: Project,
                     ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        """A page of one project (template ``name``) for the session's user.

        Args:
            request: The request being answered.
            name: The template's file name.
            sess: The viewer's session.
            proj: The project.
            ctx: The template's other variables (from :class:`redline.web._views.Views`).
            status: The HTTP status.

        Returns:
            The HTML response.
        """
        return self.render(request, name, status=status, session=sess, project=proj, **ctx)


def templates() -> Environment:
    """The jinja2 environment of the pages: autoescape everywhere, the formatting filters."""
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


def web(request: Request) -> Web:
    """Dependency: the app's shared state."""
    state: Web = request.app.state.web
    return state


WebDep = Annotated[Web, Depends(web)]


def current_session(request: Request, w: WebDep) -> Session:
    """Dependency: the live session of the request's cookie.

    Raises:
        LoginRequired: When there is none (answered with a redirect to the login page).
    """
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired(request.url.path)
    sess = w.svc.get_session(token)
    if sess is None:
        raise LoginRequired(request.url.path)
    return sess


def check_csrf(sess: Session, form: FormData) -> None:
    """Compare the form's ``csrf`` field with the session's token (constant time).

    Raises:
        HTTPException: 403 when it is missing or wrong.
    """
    got = str(form.get("csrf") or "")
    if not got or not secrets.compare_digest(got, sess.csrf_token):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")


@dataclass(frozen=True)
class Posted:
    """A CSRF-checked form post of a logged-in, active user."""

    session: Session
    form: FormData


async def posted(request: Request, w: WebDep) -> Posted:
    """Dependency: the session (login required) and the form of a POST, CSRF-checked; a paused
    user writes nothing (the service checks the pause again inside each write's transaction).

    Raises:
        LoginRequired: When there is no live session.
        HTTPException: 403 for a missing or wrong CSRF token, or a paused account.
    """
    form = await request.form()
    sess = await run_in_threadpool(current_session, request, w)
    check_csrf(sess, form)
    if not sess.user.active:
        raise HTTPException(403, "Your account is paused"
                            + (f" ({sess.user.paused_reason})" if sess.user.paused_reason else "")
                            + ": nothing was saved.")
    return Posted(sess, form)


def need_role(sess: Session, *roles: str) -> None:
    """Check that the session's user has one of ``roles``.

    Raises:
        HTTPException: 403 when the user has none of them.
    """
    if sess.user.role not in roles:
        raise HTTPException(403, "Your role may not open this page.")


def reviewer_session(sess: Annotated[Session, Depends(current_session)]) -> Session:
    """Dependency: the session of an admin or reviewer (in-house or a vendor's manager)."""
    need_role(sess, "admin", "reviewer")
    return sess


def reviewer_post(post: Annotated[Posted, Depends(posted)]) -> Posted:
    """Dependency: a CSRF-checked post of an admin or reviewer."""
    need_role(post.session, "admin", "reviewer")
    return post


def project_of(project: str, w: WebDep) -> Project:
    """Dependency: the project named in the URL.

    Raises:
        HTTPException: 404 when there is none.
    """
    try:
        return w.svc.get_project(project)
    except InputError:
        raise HTTPException(404, "No such project.") from None


SessionDep = Annotated[Session, Depends(current_session)]
ReviewerDep = Annotated[Session, Depends(reviewer_session)]
PostDep = Annotated[Posted, Depends(posted)]
ReviewerPostDep = Annotated[Posted, Depends(reviewer_post)]
ProjectDep = Annotated[Project, Depends(project_of)]
