"""Pydantic errors of a YAML settings file (standards, quota) as :class:`Problem`\\ s that name the
key, its ``file:line`` and the fix (for an unknown key: a did-you-mean and the valid keys)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redline.errors import Problem


def yaml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key (or list item) at ``loc`` in a YAML document, else the deepest
    line found on the way (None when the document cannot be composed)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def yaml_problem(path: Path, text: str, err: Any, fields_at: Callable[[tuple[Any, ...]], list[str] | None],
                 docs: str) -> Problem:
    """One pydantic error (``err`` of ``ValidationError.errors()``) as a Problem.
    ``fields_at(loc)``: the keys allowed in the mapping that holds ``loc[-1]`` (None: unknown)."""
    loc = tuple(err["loc"])
    key = ".".join(str(x) for x in loc) or "(top level)"
    line = yaml_line(text, loc) if loc else None
    where = f"{path}:{line} ({key})" if line else f"{path} ({key})"
    if err["type"] == "extra_forbidden" and (valid := fields_at(loc)) is not None:
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        fix = (f"did you mean {close[0]!r}? " if close else "") + f"valid keys: {', '.join(valid)}"
        return Problem(where, f"unknown key {str(loc[-1])!r}", fix)
    return Problem(where, err["msg"].removeprefix("Value error, "), f"see {docs}")
