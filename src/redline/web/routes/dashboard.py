"""The project dashboard, and pausing or resuming annotators from it."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from redline.web.deps import ProjectDep, ReviewerDep, ReviewerPostDep, WebDep

router = APIRouter()


@router.get("/p/{project}/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, w: WebDep, sess: ReviewerDep, proj: ProjectDep) -> Response:
    """Progress, agreement and annotator quality of a project (a vendor's manager: its vendor's)."""
    ctx = w.views.dashboard_context(proj, sess.user)
    return w.project_page(request, "dashboard.html", sess, proj, ctx)


@router.post("/p/{project}/annotators/{username}/{action}")
def pause_resume(project: str, username: str, action: str, w: WebDep,
                 post: ReviewerPostDep, proj: ProjectDep) -> Response:
    """Pause or resume an annotator: admins anyone, a vendor's manager its own annotators only."""
    sess, form = post.session, post.form
    target = w.svc.get_user(username)
    if action not in ("pause", "resume") or target is None:
        raise HTTPException(404, "No such annotator or action.")
    if sess.user.role != "admin":
        if sess.user.vendor is None or target.vendor != sess.user.vendor:
            raise HTTPException(403, "Only an admin, or the manager of the annotator's vendor, "
                                     "can pause or resume this annotator.")
        if target.role != "annotator":
            raise HTTPException(403, "Vendor managers pause and resume their annotators only.")
    if action == "pause":
        w.svc.pause(username, str(form.get("reason") or "").strip() or
                    f"paused by {sess.user.username} from the dashboard")
    else:
        w.svc.resume(username)
    return RedirectResponse(f"/p/{quote(project, safe='')}/dashboard", status_code=303)
