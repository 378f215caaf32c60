"""Streaming JSONL reading with every bad line reported (never silently dropped)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from redline.data.limits import BadLine, iter_json_lines
from redline.data.schema import Sample
from redline.errors import InputError, Problem

T = TypeVar("T")


def _describe(e: ValidationError) -> tuple[str, str | None]:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or "(record)"
    fix = None
    if err["type"] == "missing":
        fix = f"add the field '{err['loc'][-1]}'"
    elif err["type"] in ("enum", "literal_error"):
        fix = f"use one of {err.get('ctx', {}).get('expected', '')}"
    elif err["type"] == "extra_forbidden":
        fix = "remove the field or put it under 'meta'"
    more = f" (+{len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
    return f"field '{loc}': {err['msg']}{more}", fix


def iter_jsonl(path: Path, parse: Callable[[dict], T]) -> Iterator[tuple[int, T | Problem]]:
    """Yield ``(line_no, parsed | Problem)`` for every non-blank line of a JSONL file.

    Reads with :func:`redline.data.limits.iter_json_lines` (the one JSONL loop): an encoding error
    names its own line and the lines after it are still checked; a UTF-8 byte-order mark on the
    first line is accepted; nesting, integer size, lone surrogates and line size are limited.
    """
    for lineno, obj in iter_json_lines(path):
        if isinstance(obj, BadLine):
            yield lineno, Problem(f"{path}:{lineno}", obj.reason, obj.fix)
            continue
        if not isinstance(obj, dict):
            yield lineno, Problem(f"{path}:{lineno}", "a line must be a JSON object",
                                  'write {"id": ..., "prompt": ..., "category": ..., "expected": ...}')
            continue
        try:
            yield lineno, parse(obj)
        except ValidationError as e:
            msg, fix = _describe(e)
            yield lineno, Problem(f"{path}:{lineno}", msg, fix)
        except ValueError as e:
            yield lineno, Problem(f"{path}:{lineno}", str(e), None)


def validate_samples(path: Path, categories: set[str] | None = None) -> int:
    """Check a whole sample file up front; raise one InputError listing every bad line.

    Returns the number of samples. Streams: memory holds only the ids.
    """
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    n = 0
    for lineno, item in iter_jsonl(path, Sample.model_validate):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        if item.id in seen:
            problems.append(Problem(f"{path}:{lineno}", f"duplicate id {item.id!r} (first on line {seen[item.id]})",
                                    "give every sample a unique id"))
            continue
        seen[item.id] = lineno
        if categories is not None and item.category not in categories:
            problems.append(Problem(f"{path}:{lineno}", f"field 'category': unknown category {item.category!r}",
                                    f"use a category of the policy: {', '.join(sorted(categories))}"))
            continue
        n += 1
    if problems:
        raise InputError(f"{path}: {len(problems)} bad line(s); nothing was run", problems)
    if n == 0:
        raise InputError(f"{path}: no samples", [Problem(str(path), "the file has no records",
                                                         "add one JSON object per line")])
    return n


def iter_samples(path: Path) -> Iterator[Sample]:
    """Yield the samples of an already validated file."""
    for _, item in iter_jsonl(path, Sample.model_validate):
        if isinstance(item, Sample):
            yield item
