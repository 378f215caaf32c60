"""Print the module map of a source tree as Markdown.

For every package under the source root the script lists its modules with
their line counts and the first line of their docstring, then a table of total
lines per package. It reads files with ``ast`` only and never imports them.

Usage::

    python scripts/module_map.py [SRC_ROOT] [--package redline]

``SRC_ROOT`` defaults to ``src`` next to this script's parent directory.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path


def first_docstring_line(path: Path) -> str:
    """Return the first non-blank line of a module's docstring.

    Args:
        path: The Python source file to read.

    Returns:
        The first line of the module docstring, or an empty string when the
        module has none or cannot be parsed.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return ""
    doc = ast.get_docstring(tree)
    if not doc:
        return ""
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return ""


def module_map(src_root: Path, package: str) -> dict[str, list[tuple[str, int, str]]]:
    """Collect modules of ``package`` grouped by their containing package.

    Args:
        src_root: Directory that holds the top-level package directory.
        package: Name of the top-level package, for example ``redline``.

    Returns:
        A mapping from dotted package name to a sorted list of
        ``(module name, line count, first docstring line)`` tuples.
    """
    groups: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for path in sorted((src_root / package).rglob("*.py")):
        rel = path.relative_to(src_root).with_suffix("")
        parts = list(rel.parts)
        pkg = ".".join(parts[:-1])
        lines = len(path.read_text(encoding="utf-8").splitlines())
        groups[pkg].append((".".join(parts), lines, first_docstring_line(path)))
    return dict(sorted(groups.items()))


def render(groups: dict[str, list[tuple[str, int, str]]]) -> str:
    """Render a module map as Markdown.

    Args:
        groups: The mapping returned by :func:`module_map`.

    Returns:
        Markdown text with one section per package and a totals table.
    """
    out: list[str] = ["# Module map", ""]
    for pkg, modules in groups.items():
        total = sum(lines for _, lines, _ in modules)
        out += [f"## {pkg} ({total} lines)", "", "| module | lines | purpose |", "|---|---:|---|"]
        for name, lines, doc in modules:
            purpose = doc.replace("|", "\\|")
            out.append(f"| `{name}` | {lines} | {purpose} |")
        out.append("")
    out += ["## Lines per package", "", "| package | modules | lines |", "|---|---:|---:|"]
    grand = 0
    for pkg, modules in groups.items():
        total = sum(lines for _, lines, _ in modules)
        grand += total
        out.append(f"| `{pkg}` | {len(modules)} | {total} |")
    out.append(f"| **total** | {sum(len(m) for m in groups.values())} | {grand} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments to parse instead of ``sys.argv[1:]``.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src_root", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent.parent / "src")
    parser.add_argument("--package", default="redline")
    args = parser.parse_args(argv)
    print(render(module_map(args.src_root, args.package)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
