"""redline.files (atomic writes, content hashes, the directory lock) and redline.progress."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from redline.files import (
    DirectoryLock,
    atomic_path,
    file_hash,
    file_sha256,
    is_disk_full,
    temp_path,
    write_atomic,
)
from redline.progress import ProgressBar


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    p.write_text("old", encoding="utf-8")
    write_atomic(p, "new ✓\n")
    assert p.read_text(encoding="utf-8") == "new ✓\n"
    assert [x.name for x in tmp_path.iterdir()] == ["a.json"]  # no temporary file left


def test_atomic_path_failure_keeps_old_file_and_removes_temporary(tmp_path: Path) -> None:
    p = tmp_path / "out.jsonl"
    p.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        assert tmp == temp_path(p) and tmp.name.startswith(".out.jsonl.tmp-")
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full, say")
    assert p.read_text(encoding="utf-8") == "old\n"
    assert [x.name for x in tmp_path.iterdir()] == ["out.jsonl"]
    # a writer that makes a folder (e.g. a sharded data set) is cleaned up too
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "ds") as tmp:
        tmp.mkdir()
        (tmp / "part-0").write_text("x", encoding="utf-8")
        raise KeyboardInterrupt
    assert [x.name for x in tmp_path.iterdir()] == ["out.jsonl"]


def test_file_hashes(tmp_path: Path) -> None:
    p = tmp_path / "big.bin"
    data = bytes(range(256)) * 20_000  # several read chunks
    p.write_bytes(data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()
    assert file_hash(p) == "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def test_is_disk_full() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(RuntimeError("(sqlite3.OperationalError) database or disk is full"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_directory_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from redline.files import DirectoryLock
        lock = DirectoryLock(Path({str(tmp_path)!r}))
        assert lock.acquire()
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes stdin
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = DirectoryLock(tmp_path)
        assert lock.held_elsewhere()
        assert not lock.acquire()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    # the holder is gone: its lock went with it (no stale lock), and the file stays
    lock = DirectoryLock(tmp_path)
    assert not lock.held_elsewhere()
    assert lock.acquire()
    assert DirectoryLock(tmp_path).held_elsewhere()  # a second holder, even in this process
    lock.release()
    lock.release()  # a no-op
    assert (tmp_path / ".lock").exists()
    (tmp_path / "fresh").mkdir()
    assert not DirectoryLock(tmp_path / "fresh").held_elsewhere()  # no lock file: nobody holds it
    assert not (tmp_path / "fresh" / ".lock").exists()  # and asking creates none


def test_progress_bar_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # stderr is captured (not a terminal): plain log lines when asked for, else nothing
    with ProgressBar(True, 10, "suite → target", done=2, log_every=0.0) as bar:
        bar.advance()
        bar.advance(3)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("suite → target: 3/10 (30%)") and lines[1].startswith("suite → target: 6/10 (60%)")
    with ProgressBar(True, 10, "quiet", log_every=None) as bar, ProgressBar(False, 10, "off", log_every=0.0) as off:
        bar.advance()
        off.advance()
    assert capsys.readouterr() == ("", "")
