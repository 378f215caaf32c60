"""The workspace database."""

from redline.store.db import SQL_TABLES, WorkspaceDB, datasets, labels, results, runs

__all__ = ["SQL_TABLES", "WorkspaceDB", "datasets", "labels", "results", "runs"]
