"""A real local Ray cluster for the executor tests (issue 15): one per test module.

:func:`start_ray_cluster` starts ``ray start --head`` on 127.0.0.1 with 2 CPUs (a pool of 2
actor worker processes); conftest's module-scoped ``ray_cluster`` fixture stops its whole process
group after the module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT

HAVE_RAY = True
try:
    import ray  # noqa: F401
except ImportError:
    HAVE_RAY = False

needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed (pip install redline[ray])")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_env() -> dict[str, str]:
    """The environment of a `redline` subprocess that joins the test cluster."""
    return {**os.environ, "RAY_AUTH_MODE": "disabled",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


def start_ray_cluster(tmp: Path) -> tuple[str, Callable[[], None]]:
    """Start a head node on 127.0.0.1 with 2 CPUs; returns its address and a stop function.

    Skips the test when Ray is not installed.
    """
    if not HAVE_RAY:
        pytest.skip("ray is not installed (pip install redline[ray])")
    port = free_port()
    env = {**ray_env(), "RAY_USAGE_STATS_ENABLED": "0"}
    log = open(tmp / "ray-start.log", "w")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--num-cpus", "2",
         "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard=false",
         "--disable-usage-stats"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        try:  # the head and its raylet, GCS and workers: our own process group (SIGTERM is slow)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
        log.close()
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"  # left by the killed head
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                stop()
                pytest.fail(f"ray start exited: {(tmp / 'ray-start.log').read_text()[-2000:]}")
            time.sleep(0.2)
    os.environ["RAY_AUTH_MODE"] = "disabled"
    return f"127.0.0.1:{port}", stop


def shard_workers() -> list[int]:
    """Process ids of the Ray actor processes running a ShardWorker (their title names it)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"ray::ShardWorker"):
                pids.append(int(d.name))
    return pids
