"""Tables of annotation projects (SQLAlchemy Core on the workspace ``metadata``).

The same tables serve SQLite (default) and PostgreSQL. Times are timezone-aware UTC; JSON is
stored as text. See docs/annotation.md for the data model; the service in
:mod:`redline.annotate.service` is the only writer.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from redline.store.tables import metadata

ann_vendors = Table(
    "ann_vendors", metadata,
    Column("name", String(128), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
)

ann_users = Table(
    "ann_users", metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # admin | reviewer | annotator
    Column("vendor", String(128), ForeignKey("ann_vendors.name")),  # NULL: in-house
    Column("active", Boolean, nullable=False, default=True),
    Column("paused_reason", Text),
    Column("created", DateTime(timezone=True), nullable=False),
)

ann_sessions = Table(
    "ann_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the cookie token
    Column("username", String(128), ForeignKey("ann_users.username"), nullable=False, index=True),
    Column("csrf_token", String(128), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
    Column("idle_s", Integer, nullable=False),  # idle expiry in seconds
)

ann_projects = Table(
    "ann_projects", metadata,
    Column("name", String(128), primary_key=True),
    Column("task", String(32), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("policy_ref", String(1024), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("schema_json", Text, nullable=False),
    Column("overlap", Integer, nullable=False),
    Column("gold_rate_json", Text, nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
)

ann_policy_versions = Table(
    "ann_policy_versions", metadata,
    Column("project", String(128), ForeignKey("ann_projects.name"), primary_key=True),
    Column("policy_hash", String(64), primary_key=True),
    Column("policy_version", String(64), nullable=False),
    Column("policy_ref", String(1024)),
    Column("schema_json", Text, nullable=False),
    Column("activated", DateTime(timezone=True), nullable=False),
)

ann_items = Table(
    "ann_items", metadata,
    Column("project", String(128), ForeignKey("ann_projects.name"), primary_key=True),
    Column("item_id", String(512), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("record_json", Text, nullable=False),
    Column("category", String(128)),
    Column("is_gold", Boolean, nullable=False, default=False),
    Column("gold_json", Text),
    Column("origin", String(16), nullable=False, default="data"),  # data | gold | promoted
    Column("vendor", String(128)),  # NULL: any vendor may get it
    Column("created", DateTime(timezone=True), nullable=False),
    Index("ix_ann_items_project_seq", "project", "seq"),
)

ann_assignments = Table(
    "ann_assignments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), nullable=False),
    Column("item_id", String(512), nullable=False),
    Column("username", String(128), nullable=False),
    Column("vendor", String(128)),
    Column("status", String(16), nullable=False),  # open | submitted | skipped
    Column("is_gold", Boolean, nullable=False, default=False),
    Column("skip_reason", Text),
    Column("order_json", Text),  # presented order of preference candidates
    Column("suggestion_arm", String(8)),  # shown | hidden (anchoring experiment); NULL: no suggestion
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    UniqueConstraint("project", "item_id", "username", name="uq_ann_assignment"),
    Index("ix_ann_assign_user", "project", "username", "status"),
    Index("ix_ann_assign_item", "project", "item_id"),
)

ann_labels = Table(
    "ann_labels", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), nullable=False),
    Column("item_id", String(512), nullable=False),
    Column("username", String(128), nullable=False),
    Column("vendor", String(128)),
    Column("values_json", Text, nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("is_gold", Boolean, nullable=False, default=False),
    Column("duration_s", Float),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("source", String(256), nullable=False, default="web"),
    Column("suggestion_arm", String(8)),  # the assignment's arm: shown | hidden; NULL: no suggestion
    Column("suggestion_json", Text),  # the suggestion the annotator saw (NULL unless shown)
    UniqueConstraint("project", "item_id", "username", name="uq_ann_label"),
    Index("ix_ann_labels_project", "project", "item_id"),
)

ann_adjudications = Table(
    "ann_adjudications", metadata,
    Column("project", String(128), primary_key=True),
    Column("item_id", String(512), primary_key=True),
    Column("reviewer", String(128), nullable=False),
    Column("values_json", Text, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("promoted_casebook", Boolean, nullable=False, default=False),
    Column("promoted_gold", Boolean, nullable=False, default=False),
)

ann_casebook = Table(
    "ann_casebook", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), nullable=False, index=True),
    Column("node", String(128), nullable=False),
    Column("case_json", Text, nullable=False),
    Column("item_id", String(512), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project", "item_id", name="uq_ann_casebook_item"),
)

#: model output attached to items: suggestions (pre-labels), drafts and critique flags
ann_assists = Table(
    "ann_assists", metadata,
    Column("project", String(128), primary_key=True),
    Column("item_id", String(512), primary_key=True),
    Column("kind", String(16), primary_key=True),  # suggestion | draft | critique
    Column("idx", Integer, primary_key=True),  # drafts: 0, 1, …; otherwise 0
    Column("source", String(256), nullable=False),  # judge:harm, openai:M, meta, …
    Column("values_json", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Index("ix_ann_assists_kind", "project", "kind"),
)

ANNOTATION_TABLES = ("ann_vendors", "ann_users", "ann_sessions", "ann_projects", "ann_policy_versions",
                     "ann_items", "ann_assignments", "ann_labels", "ann_adjudications", "ann_casebook", "ann_assists")
