"""labels and results carry the policy hash

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Commit fae239c added the column to the tables, but ``create_all`` never adds a column to an
existing table: workspaces made before it broke on their first label import or result sync.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.store.migrations import has_column

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``policy_hash`` (NULL for the rows already there: their policy is not known)."""
    for table in ("labels", "results"):
        if not has_column(table, "policy_hash"):
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column("policy_hash", sa.String(64)))


def downgrade() -> None:
    """Drop ``policy_hash``."""
    for table in ("results", "labels"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("policy_hash")
