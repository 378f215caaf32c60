"""The web app's routes, one :class:`fastapi.APIRouter` per job; :func:`redline.web.app.create_app`
includes them all."""

from redline.web.routes import annotate, auth, dashboard, projects, review, runs

ROUTERS = (auth.router, projects.router, annotate.router, review.router, dashboard.router, runs.router)

__all__ = ["ROUTERS"]
