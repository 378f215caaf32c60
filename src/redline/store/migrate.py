"""Schema migrations of the workspace database (alembic, configured in code: no alembic.ini).

Opening a workspace (:class:`redline.store.db.WorkspaceDB`) calls :func:`ensure_schema`:

- a database at the newest revision (the usual case) costs one read of ``alembic_version``;
- an empty database gets today's tables (``create_all``) and is stamped at the head revision:
  one pass of DDL instead of replaying every migration, and the test
  ``test_migrations_match_the_tables`` proves that replaying them gives the same schema;
- an older database (a revision, or no ``alembic_version`` at all: made before migrations
  existed) is upgraded to the head, with one line on stderr saying from which revision to which;
- a database stamped with a revision this code does not know (made by a newer redline) is an
  :class:`~redline.errors.InputError` that says to upgrade redline.

Concurrent opens are serialised: SQLite with ``BEGIN IMMEDIATE`` (the write lock, waited for
through the busy timeout), PostgreSQL with a transaction-scoped advisory lock; the state is
read again once the lock is held, so only the first opener migrates.

For developers, ``python -m redline.store.migrate new "what changed"`` writes a new revision
under ``store/migrations/versions`` by comparing the tables in :mod:`redline.store.tables`
and :mod:`redline.store.annotation` with a scratch database upgraded to the current head.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import InputError, Problem

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: key of the PostgreSQL advisory lock held while a workspace database is migrated
_PG_LOCK_KEY = 0x7265646C  # "redl"


@dataclass(frozen=True)
class _Scripts:
    config: Config
    script: ScriptDirectory
    head: str
    known: frozenset[str]


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for the packaged migrations, built in code.

    Args:
        connection: when given, ``migrations/env.py`` runs the migrations on it (inside the
            caller's transaction) instead of opening its own.

    Returns:
        The configuration (``script_location`` is ``redline/store/migrations``).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> _Scripts:
    from alembic.script import ScriptDirectory

    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    assert head is not None, "redline/store/migrations/versions holds no revision"
    return _Scripts(cfg, script, head, frozenset(r.revision for r in script.walk_revisions()))


def head_revision() -> str:
    """The newest schema revision this version of redline knows."""
    return _scripts().head


def current_revision(connection: Connection) -> str | None:
    """The revision a database is stamped with (``None``: empty, or made before migrations)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def file_head() -> str:
    """The head revision read from the revision files' names (``v<NNNN>_<slug>.py``).

    Opening an up-to-date workspace compares this with the stamped revision instead of loading
    alembic's script directory (alembic's import alone costs ~0.2 s of every command's
    start-up); a test checks that it equals :func:`head_revision`.
    """
    nums = [int(p.name[1:5]) for p in (MIGRATIONS_DIR / "versions").glob("v[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(nums):04d}" if nums else ""


def _stamped_revision(connection: Connection) -> str | None:
    """``alembic_version``'s row read with plain SQL (None: no such table, or no row)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    except DBAPIError:
        connection.rollback()
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def _describe(rev: str | None) -> str:
    if rev is None:
        return "an unversioned schema (made before redline tracked schema revisions)"
    doc = _scripts().script.get_revision(rev)
    return f"revision {rev} ({doc.doc.strip().rstrip('.')})" if doc is not None and doc.doc else f"revision {rev}"


def _lock(conn: Connection) -> None:
    """Begin a transaction that holds the database's migration lock until commit/rollback."""
    name = conn.dialect.name
    if name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite begins nothing before DDL by itself
    elif name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def ensure_schema(engine: Engine, shown_url: str) -> str | None:
    """Bring the workspace database to the head revision (see the module docstring).

    Args:
        engine: the workspace database.
        shown_url: the URL as messages show it (password masked).

    Returns:
        The revision the database was upgraded from (``"<unversioned>"`` for a database made
        before migrations), or ``None`` when nothing was migrated (current or new).

    Raises:
        InputError: the database was made by a newer redline (a revision this code does not
            know).
    """
    with engine.connect() as conn:
        if _stamped_revision(conn) == file_head():
            return None  # the usual case, without importing alembic (~0.2 s per process)
    scripts = _scripts()
    from alembic import command
    from sqlalchemy import inspect

    from redline.store.annotation import ANNOTATION_TABLES  # noqa: F401  (its tables on metadata)
    from redline.store.tables import metadata

    with engine.connect() as conn:
        _lock(conn)
        current = current_revision(conn)  # again, under the lock: another opener may have migrated
        if current == scripts.head:
            conn.commit()
            return None
        if current is not None and current not in scripts.known:
            conn.rollback()
            from redline import __version__

            raise InputError("the workspace database was made by a newer redline", [Problem(
                shown_url, f"its schema revision {current!r} is unknown to redline {__version__} "
                f"(which knows up to {scripts.head})",
                "upgrade redline (pip install -U redline), or point --db / REDLINE_DB at another database")])
        if current is None and not set(inspect(conn).get_table_names()) & set(metadata.tables):
            metadata.create_all(conn)
            from alembic.runtime.migration import MigrationContext

            MigrationContext.configure(conn).stamp(scripts.script, scripts.head)
            conn.commit()
            return None
        sys.stderr.write(f"redline: upgrading the workspace database {shown_url} from {_describe(current)} "
                         f"to {_describe(scripts.head)}\n")
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
    return current or "<unversioned>"


def new_revision(message: str) -> list[Path]:
    """Autogenerate a revision from the difference between the tables and the current head.

    Upgrades a scratch SQLite database to the head, compares it with the tables'
    ``metadata`` and writes ``migrations/versions/v<NNNN>_<slug>.py`` (batch mode, so that
    its ``ALTER``\\ s run on SQLite too). Review it, then run the tests.

    Args:
        message: what changed, e.g. ``"labels carry a confidence"``.

    Returns:
        The files written (none when the tables match the head).
    """
    import tempfile

    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from redline.store.annotation import ANNOTATION_TABLES  # noqa: F401
    from redline.store.tables import metadata

    scripts = _scripts()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
            with engine.connect() as conn:
                if not compare_metadata(MigrationContext.configure(conn), metadata):
                    return []
                rev_id = f"{max(int(r) for r in scripts.known if r.isdigit()) + 1:04d}"
                made: Any = command.revision(alembic_config(conn), message=message, autogenerate=True,
                                             rev_id=rev_id)
        finally:
            engine.dispose()
    _scripts.cache_clear()
    made = made if isinstance(made, list) else [made]
    return [Path(m.path) for m in made if m is not None]


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "new" or not argv[1].strip():
        sys.stderr.write('usage: python -m redline.store.migrate new "what changed in the tables"\n')
        return 2
    written = new_revision(argv[1])
    if not written:
        print("the tables match the newest migration: nothing to write")
    for p in written:
        print(f"wrote {p}: review it (and its downgrade), then run the tests")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
