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

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade to this revision."""
    op.create_table('ann_assists',
    sa.Column('project', sa.String(length=128), nullable=False),
    sa.Column('item_id', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=256), nullable=False),
    sa.Column('values_json', sa.Text(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('project', 'item_id', 'kind', 'idx')
    )
    with op.batch_alter_table('ann_assists', schema=None) as batch_op:
        batch_op.create_index('ix_ann_assists_kind', ['project', 'kind'], unique=False)

    with op.batch_alter_table('ann_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_arm', sa.String(length=8), nullable=True))

    with op.batch_alter_table('ann_labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_arm', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('suggestion_json', sa.Text(), nullable=True))



def downgrade() -> None:
    """Downgrade to the previous revision."""
    with op.batch_alter_table('ann_labels', schema=None) as batch_op:
        batch_op.drop_column('suggestion_json')
        batch_op.drop_column('suggestion_arm')

    with op.batch_alter_table('ann_assignments', schema=None) as batch_op:
        batch_op.drop_column('suggestion_arm')

    with op.batch_alter_table('ann_assists', schema=None) as batch_op:
        batch_op.drop_index('ix_ann_assists_kind')

    op.drop_table('ann_assists')
