"""The workspace database."""

from redline.store.db import WorkspaceDB
from redline.store.tables import SQL_TABLES, datasets, labels, results, runs

__all__ = ["SQL_TABLES", "WorkspaceDB", "datasets", "labels", "results", "runs"]
