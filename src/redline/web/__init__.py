"""The annotation web UI (FastAPI, server-rendered jinja2 pages): ``create_app(db_url)``."""

from redline.web.app import create_app

__all__ = ["create_app"]
