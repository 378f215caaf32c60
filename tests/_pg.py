"""A throw-away local PostgreSQL server for tests (Debian's package, on a Unix socket).

``start_postgres(tmp) -> (url, stop)`` or ``pytest.skip`` with the reason it cannot start.
Modelled on ``test_sql_read_only_on_postgres`` in tests/test_data_sql.py.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def start_postgres(tmp: Path | None = None) -> tuple[str, Callable[[], None]]:
    """Start a fresh cluster; returns a SQLAlchemy URL (psycopg) and a function that stops it
    and removes its files. ``tmp`` is unused for the cluster itself: Unix socket paths must be
    short, so the cluster lives in a short mkdtemp folder."""
    pytest.importorskip("psycopg", reason="psycopg (PostgreSQL driver) is not installed")
    pg = pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin; apt install postgresql)")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
        as_pg = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="redline-pg-"))
    data = base / "data"

    def cleanup() -> None:
        shutil.rmtree(base, ignore_errors=True)

    try:
        os.chmod(base, 0o755)
        if as_pg:
            shutil.chown(base, "postgres")
        p = subprocess.run([*as_pg, str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "redline"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            cleanup()
            pytest.skip(f"initdb failed: {(p.stderr or p.stdout).strip().splitlines()[-1:]}")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(base / "log"),
                            "-o", f"-p {port} -k {base} -c listen_addresses='' -c max_connections=100", "start"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else p.stderr
            cleanup()
            pytest.skip(f"PostgreSQL did not start: {log.strip().splitlines()[-1:] if log else p.returncode}")
    except (OSError, KeyError) as e:  # KeyError: no 'postgres' user
        cleanup()
        pytest.skip(f"cannot start PostgreSQL: {e}")

    def stop() -> None:
        subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        cleanup()

    return f"postgresql+psycopg://redline@/postgres?host={base}&port={port}", stop


_made = 0


def new_database(server: str, prefix: str = "t", script: str | None = None) -> str:
    """A fresh database on a running server (``server``: its SQLAlchemy URL), optionally filled
    by the SQL text ``script``; returns the new database's URL."""
    import psycopg

    global _made
    _made += 1
    name = f"{prefix}{_made}"
    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = server.replace("/postgres?", f"/{name}?")
    if script:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
            c.execute(script)
    return url
