"""The reviewer's pages: the review queue, one item's labels, adjudication."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from redline.errors import InputError, Problem
from redline.web.deps import ProjectDep, ReviewerDep, ReviewerPostDep, WebDep

router = APIRouter()


@router.get("/p/{project}/queue", response_class=HTMLResponse)
def queue(request: Request, w: WebDep, sess: ReviewerDep, proj: ProjectDep) -> Response:
    """The items to review, most in need first (``?incomplete=1``: items still being labelled too)."""
    incomplete = request.query_params.get("incomplete") in ("1", "on", "true")
    ctx = w.views.queue_context(proj, sess.user, include_incomplete=incomplete)
    return w.project_page(request, "queue.html", sess, proj, ctx)


@router.get("/p/{project}/review/{item_id:path}", response_class=HTMLResponse)
def review(request: Request, item_id: str, w: WebDep, sess: ReviewerDep,
           proj: ProjectDep) -> Response:
    """One item's labels (404 for an item the viewer may not see) and the adjudication form."""
    ctx = w.views.review_context(proj, sess.user, item_id)
    if ctx is None:
        raise HTTPException(404, "No such item.")
    return w.project_page(request, "review.html", sess, proj, ctx)


@router.post("/p/{project}/review/{item_id:path}")
def adjudicate(request: Request, project: str, item_id: str, w: WebDep,
               post: ReviewerPostDep, proj: ProjectDep) -> Response:
    """Adjudicate an item (in-house reviewers and admins); the form again (400) with the problems."""
    sess, form = post.session, post.form
    if w.views.review_context(proj, sess.user, item_id) is None:
        raise HTTPException(404, "No such item.")
    if sess.user.vendor is not None:
        raise HTTPException(403, "Vendor managers review their vendor's labels; "
                                 "adjudication is done by in-house reviewers.")
    values = w.views.form_values(proj, form, item_id, None)
    rationale = str(form.get("rationale") or "").strip()
    problems: list[Any] = []
    if not rationale:
        problems.append(Problem("rationale", "is empty", "say why this is the right label"))
    if not problems:
        try:
            w.svc.adjudicate(project, item_id, sess.user.username, values, rationale,
                             promote_casebook=form.get("promote_casebook") == "on",
                             promote_gold=form.get("promote_gold") == "on",
                             casebook_node=str(form.get("casebook_node") or "") or None,
                             casebook_intent=str(form.get("casebook_intent") or "") or None)
        except InputError as e:
            problems = list(e.problems)
    if problems:
        ctx = w.views.review_context(proj, sess.user, item_id, errors=problems,
                                     values=dict(form))
        return w.project_page(request, "review.html", sess, proj, ctx or {}, 400)
    return RedirectResponse(f"/p/{quote(project, safe='')}/review/{quote(item_id, safe='')}"
                            "?saved=1", status_code=303)
