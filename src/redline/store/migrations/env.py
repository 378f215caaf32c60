"""Alembic's environment for the workspace database (see :mod:`redline.store.migrate`).

Runs on the connection the caller put in ``config.attributes["connection"]`` (inside its
transaction, which holds the migration lock), or else on ``sqlalchemy.url`` from the config.
Batch mode everywhere, so that the same revision's ``ALTER``\\ s run on SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from redline.store.annotation import ANNOTATION_TABLES  # noqa: F401  (its tables on metadata)
from redline.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the pending migrations on the given connection or URL."""
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("redline's migrations run on a live database (no --sql mode)")
run_migrations_online()
