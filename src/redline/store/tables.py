"""The workspace database's tables: one ``metadata`` that every table is defined on.

A leaf module (it imports only SQLAlchemy), so that :mod:`redline.store.db`, the annotation
tables in :mod:`redline.store.annotation` and the migrations in ``store/migrations`` all
share it without import cycles. A change to a table here ships a migration
(``python -m redline.store.migrate new "what changed"``; see docs/store.md).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(512), primary_key=True),  # absolute path of the run directory
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(32), nullable=False),
    Column("suite", String(256), nullable=False),
    Column("suite_hash", String(64)),
    Column("target", String(256), nullable=False),
    Column("policy", String(128), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("judges", Text),
    Column("samples", Integer),
    Column("harmful_rate", Float),
    Column("over_refusal_rate", Float),
    Column("unassessable_rate", Float),
    Column("redline_version", String(32)),
    Column("summary", Text),
    Column("host", String(256)),  # the machine that last wrote the run (its directory is on that disk)
)

datasets = Table(
    "datasets",
    metadata,
    Column("path", String(1024), primary_key=True),  # absolute path of the data file / folder
    Column("name", String(256), nullable=False),
    Column("format", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("content_hash", String(80), nullable=False),  # sha256 of the canonical records
    Column("registered", DateTime(timezone=True), nullable=False),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(1024), nullable=False, index=True),  # datasets.path
    Column("record_id", String(512), nullable=False),
    Column("name", String(128), nullable=False),
    Column("value", Text),
    Column("annotator", String(256)),
    Column("policy_hash", String(64)),  # the policy the label was made under, when the record says
)

results = Table(
    "results",
    metadata,
    Column("run_id", String(512), primary_key=True),  # runs.run_id
    Column("sample_id", String(512), primary_key=True),
    Column("category", String(128)),
    Column("expected", String(32)),
    Column("language", String(32)),
    Column("target", String(256)),
    Column("outcome", String(32)),
    Column("over_refusal", Boolean),
    Column("error", Text),
    Column("latency_s", Float),
    Column("cached", Boolean),
    Column("judgments", Text),  # JSON list of {judge, version, label, score, error}
    Column("prompt", Text),
    Column("response", Text),
    Column("policy_hash", String(64)),  # the policy the run judged against
    Column("seq", Integer),  # the record's place in results.jsonl (its first line)
    Column("record", Text),  # the whole result record as JSON (server databases; NULL: only on disk)
)

results_loaded = Table(
    "results_loaded",
    metadata,
    Column("run_id", String(512), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("mtime_ns", String(32), nullable=False),
)

SQL_TABLES = ("runs", "results", "datasets", "labels")
