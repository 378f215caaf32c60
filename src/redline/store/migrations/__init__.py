"""Alembic migrations of the workspace database (run by :mod:`redline.store.migrate`).

Revisions in ``versions/`` are frozen copies of the tables as they were: never import the
current tables into one. A database made before migrations existed (``create_all`` only) is
upgraded from the start, so each revision skips what such a database already has: use
:func:`has_table` and :func:`has_column`.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect


def has_table(name: str) -> bool:
    """Whether the database being migrated has the table ``name``."""
    return inspect(op.get_bind()).has_table(name)


def has_column(table: str, column: str) -> bool:
    """Whether the database being migrated has ``table.column``."""
    return any(c["name"] == column for c in inspect(op.get_bind()).get_columns(table))
