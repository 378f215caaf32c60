"""File-system helpers used across Redline: atomic writes, JSON Lines lines that are always
valid UTF-8, content hashes, a directory lock, and recognising a full disk.

Atomic writes go through a temporary sibling named ``.<name>.tmp-<pid>`` (hidden, and distinct
per process) that replaces the target with :func:`os.replace`, so that a reader (or a run killed
mid-write) sees the old file or the new one, never half of one; on any failure the temporary
file is removed.

Standard library only: this module is on ``redline eval``'s import path.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = [
    "DirectoryLock",
    "atomic_path",
    "file_hash",
    "file_sha256",
    "is_disk_full",
    "jsonl_line",
    "temp_path",
    "write_atomic",
]


def temp_path(path: Path) -> Path:
    """The temporary sibling an atomic write of ``path`` goes through.

    Args:
        path: The file that will be written.

    Returns:
        ``<folder>/.<name>.tmp-<pid>``: hidden, and distinct for each process.
    """
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Write ``path`` whole or not at all: yields a temporary path to write to.

    When the block ends normally the temporary file (or folder) replaces ``path``; when it
    raises (a full disk, an invalid record, ``KeyboardInterrupt``) the temporary file is
    removed and ``path`` is left as it was. Close any file opened on the temporary path inside
    the block.

    Args:
        path: The file to write; its folder must exist.

    Yields:
        The temporary path (see :func:`temp_path`).
    """
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def write_atomic(path: Path, text: str, *, encoding: str = "utf-8", newline: str | None = None) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`).

    Args:
        path: The file to write; its folder must exist.
        text: The whole content.
        encoding: Text encoding.
        newline: As for :func:`open` (None translates ``\\n`` to the platform's line ending).
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline=newline) as f:
            f.write(text)


def jsonl_line(obj: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """One JSON Lines line that is always valid UTF-8.

    Text is written as is (``ensure_ascii=False``), except when the object holds a lone
    surrogate (e.g. a server's ``\\ud83d`` escape of an emoji cut at ``max_tokens``), which no
    UTF-8 writer accepts: then the whole line is written with ``\\u`` escapes, so that it still
    reads back to the same object.

    Args:
        obj: A JSON-serialisable object.
        default: As for :func:`json.dumps` (e.g. ``str`` for dates).

    Returns:
        The JSON text and a final ``\\n``.
    """
    line = json.dumps(obj, ensure_ascii=False, default=default)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = json.dumps(obj, default=default)
    return line + "\n"


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file's bytes, read in chunks (any size).

    Args:
        path: The file.

    Returns:
        64 lowercase hex digits.
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_hash(path: Path) -> str:
    """A file's content id as run manifests record it: ``sha256:`` and the first 16 hex digits.

    Args:
        path: The file.

    Returns:
        ``"sha256:<16 hex digits>"``.
    """
    return "sha256:" + file_sha256(path)[:16]


def is_disk_full(e: BaseException) -> bool:
    """Whether an error says the disk (or the quota) is full.

    Args:
        e: Any exception.

    Returns:
        True for ``ENOSPC``/``EDQUOT``, or SQLite's "database or disk is full" (also inside a
        SQLAlchemy error).
    """
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    text = f"{e} {getattr(e, 'orig', '')}".lower()
    return "database or disk is full" in text or "no space left on device" in text


class DirectoryLock:
    """An exclusive, non-blocking advisory lock (``flock``) on ``<directory>/<name>``.

    The lock file is created and kept; the lock itself is dropped when the holder releases it
    or its process ends (a killed holder never leaves a stale lock). Used for "one writer per
    run directory".

    Args:
        directory: The folder to lock; it must exist.
        name: The lock file's name inside it.
    """

    def __init__(self, directory: Path, name: str = ".lock"):
        self.path = directory / name
        self._f: IO[Any] | None = None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it.

        Returns:
            True when this object now holds the lock; False when another holder has it.
        """
        import fcntl

        f = open(self.path, "a")  # noqa: SIM115 - closed in release
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._f = f
        return True

    def release(self) -> None:
        """Drop the lock (a no-op when it is not held)."""
        if self._f is not None:
            self._f.close()  # closing drops the lock
            self._f = None

    def held_elsewhere(self) -> bool:
        """Whether another holder (another process, or another lock object) has the lock now.

        Returns:
            False when there is no lock file or the lock is free.
        """
        if not self.path.exists():
            return False
        if self.acquire():
            self.release()
            return False
        return True


def this_host() -> str:
    """The name this machine records its runs under: ``REDLINE_HOST``, else the host name.

    Set ``REDLINE_HOST`` where host names say nothing (containers get a random one each).

    Returns:
        The name (``runs.host`` in the workspace database).
    """
    import socket

    return os.environ.get("REDLINE_HOST") or socket.gethostname()
