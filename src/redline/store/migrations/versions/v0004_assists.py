"""anchoring experiment, drafts and critique flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Model assistance in annotation projects: ``ann_assists`` holds suggestions (pre-labels), drafts
and critique flags per item; assignments and labels record the anchoring experiment's arm
(suggestion shown / hidden) and the suggestion a label was made with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.store.migrations import has_column, has_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``ann_assists`` and the arm columns (what a database made by ``create_all`` already
    has is left as it is)."""
    if not has_table("ann_assists"):
        op.create_table(
            "ann_assists",
            sa.Column("project", sa.String(length=128), nullable=False),
            sa.Column("item_id", sa.String(length=512), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("idx", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(length=256), nullable=False),
            sa.Column("values_json", sa.Text(), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("project", "item_id", "kind", "idx"),
        )
        op.create_index("ix_ann_assists_kind", "ann_assists", ["project", "kind"], unique=False)
    if not has_column("ann_assignments", "suggestion_arm"):
        with op.batch_alter_table("ann_assignments", schema=None) as batch_op:
            batch_op.add_column(sa.Column("suggestion_arm", sa.String(length=8), nullable=True))
    for col, typ in (("suggestion_arm", sa.String(length=8)), ("suggestion_json", sa.Text())):
        if not has_column("ann_labels", col):
            with op.batch_alter_table("ann_labels", schema=None) as batch_op:
                batch_op.add_column(sa.Column(col, typ, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("ann_labels", schema=None) as batch_op:
        batch_op.drop_column("suggestion_json")
        batch_op.drop_column("suggestion_arm")
    with op.batch_alter_table("ann_assignments", schema=None) as batch_op:
        batch_op.drop_column("suggestion_arm")
    op.drop_index("ix_ann_assists_kind", table_name="ann_assists")
    op.drop_table("ann_assists")
