"""the first release's tables: runs, datasets, labels, results

Revision ID: 0001
Revises:
Create Date: 2026-11-29

The schema before ``policy_hash`` reached labels and results (the tables as commit fae239c^
created them). A database made before migrations existed already has some of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from redline.store.migrations import has_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables a database does not have yet."""
    if not has_table("runs"):
        op.create_table(
            "runs",
            sa.Column("run_id", sa.String(512), primary_key=True),
            sa.Column("started", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished", sa.DateTime(timezone=True)),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("suite", sa.String(256), nullable=False),
            sa.Column("suite_hash", sa.String(64)),
            sa.Column("target", sa.String(256), nullable=False),
            sa.Column("policy", sa.String(128), nullable=False),
            sa.Column("policy_hash", sa.String(64), nullable=False),
            sa.Column("judges", sa.Text),
            sa.Column("samples", sa.Integer),
            sa.Column("harmful_rate", sa.Float),
            sa.Column("over_refusal_rate", sa.Float),
            sa.Column("unassessable_rate", sa.Float),
            sa.Column("redline_version", sa.String(32)),
            sa.Column("summary", sa.Text),
        )
    if not has_table("datasets"):
        op.create_table(
            "datasets",
            sa.Column("path", sa.String(1024), primary_key=True),
            sa.Column("name", sa.String(256), nullable=False),
            sa.Column("format", sa.String(32), nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("rejected", sa.Integer, nullable=False),
            sa.Column("content_hash", sa.String(80), nullable=False),
            sa.Column("registered", sa.DateTime(timezone=True), nullable=False),
        )
    if not has_table("labels"):
        op.create_table(
            "labels",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("dataset", sa.String(1024), nullable=False),
            sa.Column("record_id", sa.String(512), nullable=False),
            sa.Column("name", sa.String(128), nullable=False),
            sa.Column("value", sa.Text),
            sa.Column("annotator", sa.String(256)),
        )
        op.create_index("ix_labels_dataset", "labels", ["dataset"])
    if not has_table("results"):
        op.create_table(
            "results",
            sa.Column("run_id", sa.String(512), primary_key=True),
            sa.Column("sample_id", sa.String(512), primary_key=True),
            sa.Column("category", sa.String(128)),
            sa.Column("expected", sa.String(32)),
            sa.Column("language", sa.String(32)),
            sa.Column("target", sa.String(256)),
            sa.Column("outcome", sa.String(32)),
            sa.Column("over_refusal", sa.Boolean),
            sa.Column("error", sa.Text),
            sa.Column("latency_s", sa.Float),
            sa.Column("cached", sa.Boolean),
            sa.Column("judgments", sa.Text),
            sa.Column("prompt", sa.Text),
            sa.Column("response", sa.Text),
        )
    if not has_table("results_loaded"):
        op.create_table(
            "results_loaded",
            sa.Column("run_id", sa.String(512), primary_key=True),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("mtime_ns", sa.String(32), nullable=False),
        )


def downgrade() -> None:
    """Drop every table."""
    for name in ("results_loaded", "results", "labels", "datasets", "runs"):
        op.drop_table(name)
