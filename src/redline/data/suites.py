"""Evaluation suites: built-in names or JSONL files of samples."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from redline.errors import InputError, Problem

BUILTIN_DIR = "packs/suites"


def builtin_suites() -> dict[str, Path]:
    """The suites shipped with Redline (``packs/suites/*.jsonl``), by name (the file stem), sorted."""
    root = resources.files("redline").joinpath(BUILTIN_DIR)
    out = {}
    for entry in root.iterdir():
        if entry.name.endswith(".jsonl"):
            out[entry.name[: -len(".jsonl")]] = Path(str(entry))
    return dict(sorted(out.items()))


def data_path(path: str | Path) -> Path:
    """A data command's input: the path itself, or the file of a built-in suite named by it.

    ``redline data convert smoke out.csv`` reads the built-in ``smoke`` suite (an image suite is
    drawn first when it is not built yet); a file or folder that exists always wins over a suite
    of the same name.

    Args:
        path: What the user typed: a path, or a built-in suite's name (see ``redline suites``).

    Returns:
        The path to read (unchanged when it exists or names no built-in suite).
    """
    p = Path(path)
    if p.exists():
        return p
    found = builtin_suites().get(str(path))
    if found is not None:
        return found
    from redline.data.image_suites import IMAGE_SUITES, built_path

    return built_path(str(path)) if str(path) in IMAGE_SUITES else p


def resolve_suite(name_or_path: str) -> tuple[str, Path]:
    """Return ``(suite_name, path)`` for a built-in name or a JSONL path."""
    builtins = builtin_suites()
    if name_or_path in builtins:
        return name_or_path, builtins[name_or_path]
    from redline.data.image_suites import IMAGE_SUITES, built_path

    if name_or_path in IMAGE_SUITES and not Path(name_or_path).exists():
        return name_or_path, built_path(name_or_path)  # drawn into the workspace on first use
    p = Path(name_or_path)
    if p.is_file():
        return p.stem, p
    raise InputError(f"suite {name_or_path!r} not found", [Problem(
        name_or_path, "no such built-in suite or file",
        f"use one of {', '.join([*builtins, *IMAGE_SUITES])} or a path to a JSONL file")])
