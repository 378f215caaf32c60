"""Issue 19 item 8: a full disk during `redline eval` stops the run with a clear "disk full"
message and exit code 2, leaves no temporary files and no half-written summary, keeps every
result written, and the same command resumes the run once there is space again."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eval_args, make_records, run_cli, write_policy, write_suite


def _check_after_disk_full(out: Path, stderr: str) -> None:
    assert "disk full" in stderr and "re-run the same command" in stderr, stderr
    assert "Traceback" not in stderr
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") or ".tmp-" in p.name]
    if (out / "summary.json").exists():  # an older one at most, never half-written
        json.loads((out / "summary.json").read_text())
    lines = (out / "results.jsonl").read_bytes().split(b"\n")
    for line in lines[:-1]:  # every complete line is a whole result; the last may be torn
        json.loads(line)


def _resume_and_check(args: list[str], out: Path, n: int) -> None:
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr
    ids = [json.loads(x)["sample"]["id"] for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(r["id"] for r in make_records(n))  # none lost, none twice
    assert json.loads((out / "summary.json").read_text())["manifest"]["status"] == "completed"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp") or ".tmp-" in p.name]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 KiB tmpfs (needs root and mount); skipped where it cannot be mounted."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {p.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_eval_on_a_full_disk_exits_2_cleanly_and_resumes(workspace: Path, fake_server, small_disk: Path) -> None:
    n = 300
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(n))
    out = small_disk / "run"
    args = eval_args(server, suite, policy, "--out", str(out))
    p = run_cli(*args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    _check_after_disk_full(out, p.stderr)
    done = len((out / "results.jsonl").read_bytes().split(b"\n")) - 1
    assert 0 < done < n
    # space again: the same command resumes
    assert subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)]).returncode == 0
    _resume_and_check(args, out, n)


class _FullAfter:
    """A text file whose writes fail with ENOSPC once ``budget`` bytes are written (the last
    write partly lands, as on a real disk); from then on the whole (fake) disk is full."""

    state: dict[str, Any] = {"full": False}

    def __init__(self, f: Any, budget: int):
        self._f, self._left = f, budget

    def write(self, s: str) -> int:
        if _FullAfter.state["full"] or len(s) > self._left:
            self._f.write(s[: max(0, self._left)])
            self._f.flush()
            self._left = 0
            _FullAfter.state["full"] = True
            raise OSError(errno.ENOSPC, "No space left on device")
        self._left -= len(s)
        return self._f.write(s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _FullAfter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()


def test_disk_full_simulated_in_process(workspace: Path, fake_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, where no tmpfs can be mounted: ENOSPC injected at the results file's Nth byte
    and, from then on, at every file written into the run directory (summary.json's temporary
    file is left partly written, as on a real disk)."""
    from typer.testing import CliRunner

    import redline.evals.runner as runner_mod
    from redline.cli import app

    n = 60
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(n))
    out = workspace / "run"
    args = eval_args(server, suite, policy, "--out", str(out))[:]
    _FullAfter.state["full"] = False
    real_open = open
    real_write_text = Path.write_text

    def fake_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        f = real_open(file, mode, *a, **k)
        if str(file).endswith("results.jsonl") and mode == "a":
            return _FullAfter(f, 9000)
        return f

    def fake_write_text(self: Path, data: str, *a: Any, **k: Any) -> int:
        if _FullAfter.state["full"] and out in self.parents:
            real_write_text(self, data[: len(data) // 3], *a, **k)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, data, *a, **k)

    monkeypatch.setattr(runner_mod, "open", fake_open, raising=False)
    monkeypatch.setattr(Path, "write_text", fake_write_text)
    res = CliRunner().invoke(app, args)
    assert _FullAfter.state["full"]
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    _check_after_disk_full(out, res.output)
    monkeypatch.undo()
    _resume_and_check(args, out, n)
