"""Where Redline keeps its state: runs, the response cache and the workspace database.

``REDLINE_HOME`` (default ``./.redline``) holds ``cache.sqlite`` and, unless
``REDLINE_DB`` gives another SQLAlchemy URL, ``redline.db``. Run directories go
under ``REDLINE_RUNS`` (default ``./runs``). ``REDLINE_HOST`` names this machine in the
workspace database (default: its host name; see docs/deploy.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redline.store.db import WorkspaceDB


@dataclass
class Workspace:
    """Where one Redline workspace keeps its state.

    Attributes:
        home: The state directory (``REDLINE_HOME``, default ``./.redline``).
        runs_dir: Where run directories go (``REDLINE_RUNS``, default ``./runs``).
        db_url: The SQLAlchemy URL of the workspace database.
    """

    home: Path
    runs_dir: Path
    db_url: str

    @classmethod
    def default(cls, db_url: str | None = None) -> Workspace:
        """The workspace the environment describes (see the module docstring).

        Args:
            db_url: A database URL that wins over ``REDLINE_DB`` and the default
                ``sqlite:///HOME/redline.db``.

        Returns:
            The workspace; nothing is created on disk yet.
        """
        home = Path(os.environ.get("REDLINE_HOME", ".redline"))
        runs = Path(os.environ.get("REDLINE_RUNS", "runs"))
        url = db_url or os.environ.get("REDLINE_DB") or f"sqlite:///{home / 'redline.db'}"
        return cls(home=home, runs_dir=runs, db_url=url)

    @property
    def cache_path(self) -> Path:
        """The response cache's SQLite file, ``HOME/cache.sqlite``."""
        return self.home / "cache.sqlite"

    @cached_property
    def db(self) -> WorkspaceDB:
        """The workspace database, opened on first use (creating ``HOME`` for the default URL)."""
        from redline.store.db import WorkspaceDB  # SQLAlchemy is imported only when needed

        if self.db_url == f"sqlite:///{self.home / 'redline.db'}":
            self.home.mkdir(parents=True, exist_ok=True)  # only the default location is created
        return WorkspaceDB(self.db_url)
