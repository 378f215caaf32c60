"""The annotation service: users, sessions, projects, assignment, labels, review.

One class, :class:`Annotations`, over the workspace database (SQLite by default, PostgreSQL for
teams; the same SQLAlchemy Core code). The web app, the CLI and the quality pipeline all go
through it. It is composed of one part per job, each in its own module:

============================  =========================================================
:mod:`~redline.annotate.base`          engine, clock, write transactions with retries
:mod:`~redline.annotate.users`         vendors and user accounts
:mod:`~redline.annotate.sessions`      web sessions
:mod:`~redline.annotate.projects`      projects, settings, policy versions
:mod:`~redline.annotate.intake`        records and gold answers → item rows
:mod:`~redline.annotate.items`         items, blind views, vendor reservations
:mod:`~redline.annotate.suggestions`   model suggestions, drafts, critique flags; anchoring arms
:mod:`~redline.annotate.assignment`    ``next_item``: overlap, gold injection, exposure budget
:mod:`~redline.annotate.labels`        submit, skip, read labels
:mod:`~redline.annotate.progress`      progress counts
:mod:`~redline.annotate.adjudication`  adjudication, promotion to gold and casebook
:mod:`~redline.annotate.casebook`      adjudicated items as policy cases
============================  =========================================================

Writes run in short transactions that take the write lock up front (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL row locks ``FOR UPDATE`` on the user and the item), and are retried when
the database is busy, so concurrent annotators never push an item past k and lose no label.
"""

from __future__ import annotations

from redline.annotate.adjudication import Review
from redline.annotate.base import NAME_PATTERN
from redline.annotate.labels import Labelling
from redline.annotate.progress import ProgressCounts
from redline.annotate.sessions import Sessions

__all__ = ["NAME_PATTERN", "Annotations"]


class Annotations(Labelling, Review, ProgressCounts, Sessions):
    """Users, sessions, projects, assignment, labels and review over a :class:`WorkspaceDB`.

    Args:
        db: The workspace database.
        clock: Returns the current time (tests pass a fixed clock); default: now, UTC.
    """
