"""The home page: the projects, with progress in the viewer's view."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redline.web.deps import SessionDep, WebDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, w: WebDep, sess: SessionDep) -> Response:
    """Every project with its progress and the viewer's own label count."""
    svc = w.svc
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
    return w.render(request, "projects.html", session=sess, projects=projects,
                    progress=progress, mine=mine)
