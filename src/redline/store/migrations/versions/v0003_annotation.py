"""the annotation tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Projects, users, vendors, sessions, items, assignments, labels, adjudications and the
casebook of `redline annotate` (commit 6ba8baa). A database made before migrations existed
may have them already (``create_all`` made them all at once): then nothing is done.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.store.migrations import has_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ('ann_vendors', 'ann_users', 'ann_sessions', 'ann_projects', 'ann_policy_versions', 'ann_items', 'ann_assignments', 'ann_labels', 'ann_adjudications', 'ann_casebook')


def upgrade() -> None:
    """Create the annotation tables a database does not have yet."""
    if not has_table("ann_vendors"):
        op.create_table(
            "ann_vendors",
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        )
    if not has_table("ann_users"):
        op.create_table(
            "ann_users",
            sa.Column("username", sa.String(128), primary_key=True),
            sa.Column("password_hash", sa.String(256), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("vendor", sa.String(128), sa.ForeignKey("ann_vendors.name")),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("paused_reason", sa.Text),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        )
    if not has_table("ann_sessions"):
        op.create_table(
            "ann_sessions",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("username", sa.String(128), sa.ForeignKey("ann_users.username"), nullable=False),
            sa.Column("csrf_token", sa.String(128), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
            sa.Column("idle_s", sa.Integer, nullable=False),
        )
        op.create_index("ix_ann_sessions_username", "ann_sessions", ["username"])
    if not has_table("ann_projects"):
        op.create_table(
            "ann_projects",
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("task", sa.String(32), nullable=False),
            sa.Column("policy_name", sa.String(128), nullable=False),
            sa.Column("policy_ref", sa.String(1024), nullable=False),
            sa.Column("policy_hash", sa.String(64), nullable=False),
            sa.Column("policy_version", sa.String(64), nullable=False),
            sa.Column("schema_json", sa.Text, nullable=False),
            sa.Column("overlap", sa.Integer, nullable=False),
            sa.Column("gold_rate_json", sa.Text, nullable=False),
            sa.Column("settings_json", sa.Text, nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
        )
    if not has_table("ann_policy_versions"):
        op.create_table(
            "ann_policy_versions",
            sa.Column("project", sa.String(128), sa.ForeignKey("ann_projects.name"), primary_key=True),
            sa.Column("policy_hash", sa.String(64), primary_key=True),
            sa.Column("policy_version", sa.String(64), nullable=False),
            sa.Column("policy_ref", sa.String(1024)),
            sa.Column("schema_json", sa.Text, nullable=False),
            sa.Column("activated", sa.DateTime(timezone=True), nullable=False),
        )
    if not has_table("ann_items"):
        op.create_table(
            "ann_items",
            sa.Column("project", sa.String(128), sa.ForeignKey("ann_projects.name"), primary_key=True),
            sa.Column("item_id", sa.String(512), primary_key=True),
            sa.Column("seq", sa.Integer, nullable=False),
            sa.Column("record_json", sa.Text, nullable=False),
            sa.Column("category", sa.String(128)),
            sa.Column("is_gold", sa.Boolean, nullable=False),
            sa.Column("gold_json", sa.Text),
            sa.Column("origin", sa.String(16), nullable=False),
            sa.Column("vendor", sa.String(128)),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_ann_items_project_seq", "ann_items", ["project", "seq"])
    if not has_table("ann_assignments"):
        op.create_table(
            "ann_assignments",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("project", sa.String(128), nullable=False),
            sa.Column("item_id", sa.String(512), nullable=False),
            sa.Column("username", sa.String(128), nullable=False),
            sa.Column("vendor", sa.String(128)),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("is_gold", sa.Boolean, nullable=False),
            sa.Column("skip_reason", sa.Text),
            sa.Column("order_json", sa.Text),
            sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("done_at", sa.DateTime(timezone=True)),
            sa.UniqueConstraint("project", "item_id", "username", name="uq_ann_assignment"),
        )
        op.create_index("ix_ann_assign_user", "ann_assignments", ["project", "username", "status"])
        op.create_index("ix_ann_assign_item", "ann_assignments", ["project", "item_id"])
    if not has_table("ann_labels"):
        op.create_table(
            "ann_labels",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("project", sa.String(128), nullable=False),
            sa.Column("item_id", sa.String(512), nullable=False),
            sa.Column("username", sa.String(128), nullable=False),
            sa.Column("vendor", sa.String(128)),
            sa.Column("values_json", sa.Text, nullable=False),
            sa.Column("policy_hash", sa.String(64), nullable=False),
            sa.Column("policy_version", sa.String(64), nullable=False),
            sa.Column("is_gold", sa.Boolean, nullable=False),
            sa.Column("duration_s", sa.Float),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("source", sa.String(256), nullable=False),
            sa.UniqueConstraint("project", "item_id", "username", name="uq_ann_label"),
        )
        op.create_index("ix_ann_labels_project", "ann_labels", ["project", "item_id"])
    if not has_table("ann_adjudications"):
        op.create_table(
            "ann_adjudications",
            sa.Column("project", sa.String(128), primary_key=True),
            sa.Column("item_id", sa.String(512), primary_key=True),
            sa.Column("reviewer", sa.String(128), nullable=False),
            sa.Column("values_json", sa.Text, nullable=False),
            sa.Column("rationale", sa.Text, nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
            sa.Column("promoted_casebook", sa.Boolean, nullable=False),
            sa.Column("promoted_gold", sa.Boolean, nullable=False),
        )
    if not has_table("ann_casebook"):
        op.create_table(
            "ann_casebook",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("project", sa.String(128), nullable=False),
            sa.Column("node", sa.String(128), nullable=False),
            sa.Column("case_json", sa.Text, nullable=False),
            sa.Column("item_id", sa.String(512), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint("project", "item_id", name="uq_ann_casebook_item"),
        )
        op.create_index("ix_ann_casebook_project", "ann_casebook", ["project"])


def downgrade() -> None:
    """Drop the annotation tables."""
    for name in reversed(TABLES):
        op.drop_table(name)
