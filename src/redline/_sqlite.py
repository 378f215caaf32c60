"""SQLite helpers shared by the response cache and the workspace database."""

from __future__ import annotations

import sqlite3
import time


def enable_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL once; switching needs an exclusive lock that SQLite does not wait for,
    so retry briefly when another process has the file open at that moment."""
    for attempt in range(50):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            time.sleep(0.02 * (attempt + 1))
    db.execute("PRAGMA journal_mode=WAL")
