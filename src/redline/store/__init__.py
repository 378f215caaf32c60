"""The workspace database."""

from redline.store.db import WorkspaceDB, runs

__all__ = ["WorkspaceDB", "runs"]
