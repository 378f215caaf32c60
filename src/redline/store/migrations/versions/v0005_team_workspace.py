"""runs record their host; results hold the whole record

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

For several machines writing one workspace (PostgreSQL): ``runs.host`` names the machine whose
disk holds the run directory; ``results.record`` holds each result record as written to
``results.jsonl`` (and ``results.seq`` its place there), so that `redline runs`, `redline
compare` and the run pages of `redline serve` work on machines that cannot see that directory.
Rows from before are ``NULL`` (their records are only on disk).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.store.migrations import has_column

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``runs.host``, ``results.seq`` and ``results.record``."""
    if not has_column("runs", "host"):
        with op.batch_alter_table("runs") as batch:
            batch.add_column(sa.Column("host", sa.String(length=256), nullable=True))
    for col, typ in (("seq", sa.Integer()), ("record", sa.Text())):
        if not has_column("results", col):
            with op.batch_alter_table("results") as batch:
                batch.add_column(sa.Column(col, typ, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("results") as batch:
        batch.drop_column("record")
        batch.drop_column("seq")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("host")
