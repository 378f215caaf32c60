"""The annotator's pages: the next item, submitting a label, skipping an item.

Item ids may contain '/': the pages send them encoded (%2F), and since the path is decoded
before routing, these routes take a path segment sequence (``:path``) as the id.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from redline.errors import InputError
from redline.web.deps import PostDep, ProjectDep, SessionDep, Web, WebDep

router = APIRouter()


@router.get("/p/{project}/annotate", response_class=HTMLResponse)
def annotate(request: Request, w: WebDep, sess: SessionDep, proj: ProjectDep) -> Response:
    """The annotator's current item (or why there is none)."""
    ctx = w.views.annotate_context(proj, sess.user)
    return w.project_page(request, "annotate.html", sess, proj, ctx)


def _not_assigned(w: Web, project: str, username: str, item_id: str) -> bool:
    return w.views.open_assignment(project, username, item_id) is None


@router.post("/p/{project}/items/{item_id:path}/label")
def label(request: Request, project: str, item_id: str, w: WebDep, post: PostDep,
          proj: ProjectDep) -> Response:
    """Submit the label of an assigned item; the form again (400) with the problems when it is
    invalid, 404 when the item is not assigned to the user."""
    sess, form = post.session, post.form
    values = w.views.form_values(proj, form, item_id, sess.user.username)
    try:
        dur = float(str(form.get("duration_s") or "") or "nan")
    except ValueError:
        dur = float("nan")
    try:
        w.svc.submit(project, sess.user.username, item_id, values,
                     duration_s=None if dur != dur else max(0.0, dur), source="web")
    except InputError as e:
        if _not_assigned(w, project, sess.user.username, item_id):
            raise HTTPException(404, "This item is not assigned to you.") from None
        ctx = w.views.annotate_context(proj, sess.user, errors=e.problems, values=dict(form))
        return w.project_page(request, "annotate.html", sess, proj, ctx, 400)
    return RedirectResponse(f"/p/{quote(project, safe='')}/annotate?done=1", status_code=303)


@router.post("/p/{project}/items/{item_id:path}/skip")
def skip(request: Request, project: str, item_id: str, w: WebDep, post: PostDep,
         proj: ProjectDep) -> Response:
    """Give an assigned item back with a reason (400 without one)."""
    sess, form = post.session, post.form
    reason = str(form.get("reason") or "").strip()
    if _not_assigned(w, project, sess.user.username, item_id):
        raise HTTPException(404, "This item is not assigned to you.")
    if not reason:
        ctx = w.views.annotate_context(proj, sess.user, skip_error="Give a reason to skip.")
        return w.project_page(request, "annotate.html", sess, proj, ctx, 400)
    w.svc.skip(project, sess.user.username, item_id, reason)
    return RedirectResponse(f"/p/{quote(project, safe='')}/annotate", status_code=303)
