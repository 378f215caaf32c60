"""Load policy packs from YAML, reporting every error with file and line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from redline.errors import InputError, Problem
from redline.policy.model import Policy

BUILTIN_DIR = "packs/policies"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it


def builtin_policies() -> dict[str, Path]:
    """Names of the built-in policy packs → their files."""
    root = resources.files("redline").joinpath(BUILTIN_DIR)
    out: dict[str, Path] = {}
    for entry in root.iterdir():
        if entry.name.endswith((".yaml", ".yml")):
            out[entry.name.rsplit(".", 1)[0]] = Path(str(entry))
    return dict(sorted(out.items()))


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Follow a pydantic error location through the YAML node tree (best effort)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    nxt = v
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in policy by name, or a YAML file by path.

    Raises :class:`InputError` listing every problem with ``file:line (field)``.
    """
    builtins = builtin_policies()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        path = builtins[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise InputError(
                f"policy {str(name_or_path)!r} not found",
                [Problem(str(name_or_path), "no such built-in policy or file",
                         f"use one of {sorted(builtins)} or a path to a policy YAML file")],
            )
    if not path.is_file():
        raise InputError(f"policy {path} is not a file", [Problem(
            str(path), "a directory or special file", "give the path of a policy YAML file")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"policy {path} is not UTF-8", [Problem(
            f"{path}:{line}", f"not UTF-8 ({e.reason})", "re-encode the file as UTF-8")]) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"policy {path} is not valid YAML",
                         [Problem(where, str(getattr(e, "problem", e)), "fix the YAML syntax")]) from None
    if not isinstance(data, dict):
        raise InputError(f"policy {path} is invalid",
                         [Problem(f"{path}:1", "the file must be a YAML mapping with 'name', "
                                  "'version' and 'categories'", None)])
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        root = yaml.compose(text, Loader=_Loader)  # node tree with line marks, only when needed
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            node = _node_at(root, loc)
            line = node.start_mark.line + 1
            field = _fmt_loc(loc)
            msg = err["msg"]
            fix = None
            if err["type"] == "literal_error":
                fix = f"use one of {err.get('ctx', {}).get('expected', '')}"
            elif err["type"] == "missing":
                fix = f"add the field '{loc[-1]}'"
            elif err["type"] == "extra_forbidden":
                fix = f"remove or rename '{loc[-1]}'"
            problems.append(Problem(f"{path}:{line} ({field})" if field else f"{path}:{line}",
                                    msg, fix))
        raise InputError(f"policy {path} has {len(problems)} error(s)", problems) from None
