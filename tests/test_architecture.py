"""Architecture rules checked on the source tree.

* No import cycles between modules of ``redline`` (any import that runs counts, including
  ``from redline.x import y`` inside a function; imports under ``if TYPE_CHECKING:`` never run
  and are left out).
* Start-up: importing ``redline.cli`` and building the ``eval`` command imports none of the
  heavy libraries, so ``redline eval --help`` and the command's start stay fast.
* Docstring ratchet: the number of public functions, classes and methods without a docstring
  may only go down. When you document some, lower ``MAX_UNDOCUMENTED`` to the new count.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "redline"

HEAVY = ("numpy", "scipy", "sklearn", "pyarrow", "sqlalchemy", "matplotlib")

# Public functions, classes and methods in src/redline without a docstring (see
# ``undocumented_public``). Only ever lower this number.
MAX_UNDOCUMENTED = 0  # every public function, class and method has a docstring; keep it so


# --------------------------------------------------------------------------- import cycles


def _graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(SRC))
    try:
        return grimp.build_graph(PACKAGE, cache_dir=None, exclude_type_checking_imports=True)
    finally:
        sys.path.remove(str(SRC))


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm (iterative) over module-to-module imports; components of size > 1."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, sorted(graph.find_modules_directly_imported_by(root))))
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def _line(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = sorted({d["line_number"] for d in details})
    return f"{importer}:{','.join(map(str, lines))}"


def _cycles(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """One shortest cycle through every import edge inside ``component``, as readable chains."""
    members = set(component)
    seen: set[tuple[str, ...]] = set()
    chains: list[str] = []
    for importer in component:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is None:  # pragma: no cover - the component guarantees a way back
                continue
            cycle = (importer, *back)  # importer -> imported -> ... -> importer
            ring = cycle[:-1]
            start = ring.index(min(ring))
            key = ring[start:] + ring[:start]
            if key in seen:
                continue
            seen.add(key)
            hops = [_line(graph, a, b) for a, b in pairwise(cycle)]
            chains.append(" -> ".join([*hops, cycle[-1]]))
    return chains


def test_no_import_cycles() -> None:
    graph = _graph()
    components = _strongly_connected(graph)
    report = []
    for component in components:
        report.append(f"cycle among {', '.join(component)}:")
        report += [f"    {chain}" for chain in _cycles(graph, component)]
    assert not components, "import cycles (module:line of each import):\n" + "\n".join(report)


# --------------------------------------------------------------------------- start-up imports

_STARTUP_PROBE = """
import json, sys
import click, typer
import redline.cli
group = typer.main.get_command(redline.cli.app)
ctx = click.Context(group, info_name="redline")
command = group.get_command(ctx, "eval")
assert command is not None, "no eval command"
assert command.get_params(click.Context(command, info_name="eval", parent=ctx))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_building_eval_command_imports_no_heavy_library() -> None:
    probe = _STARTUP_PROBE % (HEAVY,)
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not loaded, (
        f"importing redline.cli and building `eval` imported {sorted({m.split('.')[0] for m in loaded})}; "
        "import heavy libraries inside the functions that use them "
        "(find the chain with `python -X importtime -c 'import redline.cli'`)")


# --------------------------------------------------------------------------- docstring ratchet


def _is_skipped(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in node.decorator_list:
        name = ast.unparse(dec)
        if name in ("overload", "typing.overload") or name.endswith((".setter", ".deleter")):
            return True
    return False


def undocumented_public(src: Path = SRC / PACKAGE) -> list[str]:
    """List public functions, classes and methods without a docstring.

    Public means the name does not start with an underscore; methods count when their class
    is public. Functions nested inside functions, ``@overload`` stubs and property setters
    are left out.

    Args:
        src: The package directory to scan.

    Returns:
        ``path:line name`` for every undocumented definition, sorted.
    """
    missing: list[str] = []
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(src.parent)

        def visit(body: list[ast.stmt], prefix: str, rel: Path = rel) -> None:
            for node in body:
                if not isinstance(node, defs) or node.name.startswith("_"):
                    continue
                if not isinstance(node, ast.ClassDef) and _is_skipped(node):
                    continue
                if ast.get_docstring(node) is None:
                    missing.append(f"{rel}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

        visit(tree.body, "")
    return missing


def test_docstring_ratchet() -> None:
    missing = undocumented_public()
    assert len(missing) <= MAX_UNDOCUMENTED, (
        f"{len(missing)} public functions/classes/methods lack a docstring (allowed: "
        f"{MAX_UNDOCUMENTED}); document new code (Google style). First ones:\n"
        + "\n".join(missing[:40]))
    if len(missing) < MAX_UNDOCUMENTED:
        print(f"docstring ratchet: {len(missing)} undocumented; lower MAX_UNDOCUMENTED to it")
