"""Issue 19 item 9: `redline sql` stops a runaway statement at --timeout (SQLite: a progress
handler; PostgreSQL: statement_timeout) and Ctrl-C stops it at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import cli, run_cli

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_unbounded_recursive_query_stops_at_the_timeout(workspace: Path) -> None:
    assert run_cli("sql", "SELECT 1").returncode == 0  # creates the workspace database
    p = cli("sql", "--no-sync", RUNAWAY, "--timeout", "1", timeout=90)
    assert p.returncode == 2, p.stderr
    assert "query stopped after 1 s" in p.stderr and "LIMIT" in p.stderr and "Traceback" not in p.stderr
    # rows streamed out of a runaway query are stopped the same way (fetching counts)
    p = cli("sql", "--no-sync", RUNAWAY.replace("count(*)", "x"), "--timeout", "0.5", "--format", "csv",
            timeout=90)
    assert p.returncode == 2 and "query stopped" in p.stderr
    # an ordinary query is unaffected, and an ordinary error is still an SQL error
    p = run_cli("sql", "--no-sync", "SELECT 41 + 1 AS n", "--format", "csv", "--timeout", "1")
    assert p.returncode == 0 and p.stdout.splitlines() == ["n", "42"]
    p = run_cli("sql", "--no-sync", "SELECT nope FROM runs", "--timeout", "1")
    assert p.returncode == 2 and "SQL error" in p.stderr


def test_query_readonly_timeout_in_the_library(workspace: Path) -> None:
    from redline.errors import InputError
    from redline.workspace import Workspace

    db = Workspace.default().db
    with pytest.raises(InputError, match="query stopped after 0.3 s"):
        db.query_readonly(RUNAWAY, timeout=0.3)
    assert db.query_readonly("SELECT 2", timeout=0.3) == (["2"], [(2,)])


def test_ctrl_c_stops_a_running_query(workspace: Path) -> None:
    assert run_cli("sql", "SELECT 1").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "redline", "sql", "--no-sync", RUNAWAY, "--timeout", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    # wait until the query itself is running: the process has used CPU beyond its start-up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            cpu = 0.0
        if cpu > 3.0 or not Path("/proc").is_dir():
            break
        time.sleep(0.2)
    if not Path("/proc").is_dir():
        time.sleep(5)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("Ctrl-C did not stop the query")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_postgres_statement_timeout(workspace: Path) -> None:
    from tests._pg import start_postgres

    url, stop = start_postgres()
    try:
        assert run_cli("sql", "--db", url, "SELECT 1").returncode == 0
        p = cli("sql", "--db", url, "--no-sync", RUNAWAY, "--timeout", "1", timeout=90)
        assert p.returncode == 2, p.stderr
        assert "query stopped after 1 s" in p.stderr and "Traceback" not in p.stderr
        p = run_cli("sql", "--db", url, "--no-sync", "SELECT 41 + 1 AS n", "--format", "csv", "--timeout", "1")
        assert p.returncode == 0 and p.stdout.splitlines() == ["n", "42"]
    finally:
        stop()
