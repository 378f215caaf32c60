from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SERVER = Path(__file__).with_name("fake_openai_server.py")

# A test run started in the background by a non-interactive shell inherits SIGINT as *ignored*,
# and an ignored signal stays ignored across exec: the Ctrl-C tests' child processes would never
# see it. Restore Python's handler here, so children start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


#: Argon2id at its smallest cost for the users that tests create and log in (production: RFC 9106's
#: t=3, m=64 MiB, p=4, ~0.2-0.8 s a hash on the 2-core CI machine, and the web tests create and log in
#: hundreds of users; tests/_web.py gives its server processes the same). Hashes stay real Argon2id
#: PHC strings; the production parameters and rehash-on-login are checked by the tests marked
#: ``production_argon2``.
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("production_argon2") is not None:
        return
    if "redline.annotate" not in sys.modules:  # the test module does not use annotation at all
        return
    from argon2 import PasswordHasher

    from redline.annotate import auth

    hasher = PasswordHasher(**FAST_ARGON2)
    monkeypatch.setattr(auth, "_HASHER", hasher)
    monkeypatch.setattr(auth, "_DUMMY_HASH", hasher.hash("redline-dummy-password"))


@pytest.fixture(autouse=True)
def _one_local_model_at_a_time(request: pytest.FixtureRequest,
                               tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests marked ``slow`` (the local llama.cpp model) run one at a time across xdist workers.

    llama.cpp takes every core and its threads wait on each other by spinning: two models
    generating at once on the 2-core CI machine each run several times slower than one after the
    other (and fail their per-sample timeouts on a loaded machine).
    """
    if request.node.get_closest_marker("slow") is None:
        yield
        return
    import fcntl

    base = tmp_path_factory.getbasetemp()  # under xdist: one folder per worker, in the run's own
    lock = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "local-model.lock"
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class FakeServer:
    url: str
    log: Path
    proc: subprocess.Popen

    def requests(self) -> list[dict]:
        import json

        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def start_server(tmp: Path, *extra: str) -> FakeServer:
    log = tmp / f"requests-{os.getpid()}-{len(list(tmp.glob('requests-*')))}.jsonl"
    proc = subprocess.Popen([sys.executable, str(SERVER), "--log", str(log), *extra],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), f"server did not start: {line!r}"
    port = int(line.split()[1])
    return FakeServer(url=f"http://127.0.0.1:{port}/v1", log=log, proc=proc)


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator:
    servers: list[FakeServer] = []

    def factory(*extra: str) -> FakeServer:
        s = start_server(tmp_path, *extra)
        servers.append(s)
        return s

    yield factory
    for s in servers:
        s.proc.terminate()
        try:
            s.proc.wait(5)
        except subprocess.TimeoutExpired:
            s.proc.kill()


@pytest.fixture
def judge_server(tmp_path: Path) -> Iterator[Any]:
    """A factory of fake judge servers (tests/fake_judge_server.py; its arguments are the
    server's options), each stopped after the test."""
    from tests import fake_judge_server

    servers = []

    def factory(*extra: str) -> Any:
        s = fake_judge_server.start(tmp_path, *extra)
        servers.append(s)
        return s

    yield factory
    for s in servers:
        fake_judge_server.stop(s)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for one test module (skips with the reason when none can start)."""
    from tests._pg import start_postgres

    url, stop = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield url
    finally:
        stop()


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real local Ray cluster (head on 127.0.0.1, 2 CPUs) for one test module; skips without Ray."""
    from tests._ray import start_ray_cluster

    address, stop = start_ray_cluster(tmp_path_factory.mktemp("ray"))
    try:
        yield address
    finally:
        stop()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated workspace (cache, database, runs) under tmp_path."""
    monkeypatch.setenv("REDLINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDLINE_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("REDLINE_DB", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def redline_cmd() -> list[str]:
    return [sys.executable, "-m", "redline"]


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (it sits beside the project in CI)")
    return SHARED
