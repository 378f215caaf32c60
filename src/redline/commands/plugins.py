"""``redline plugins``: every installed plug-in (targets, judges, formats, …) and its origin."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from redline.commands._common import fail as _fail
from redline.commands._common import print_json as _print_json
from redline.errors import InputError, Problem


def plugin_rows(kind: str | None = None) -> list[dict[str, Any]]:
    """One row per plug-in (built-ins first, then entry points), then one per entry point that
    could not be used (with ``error``): kind, name, spec, source, distribution, version, module,
    summary."""
    from redline.plugins import all_plugins, problems

    rows: list[dict[str, Any]] = [
        {"kind": p.kind, "name": p.name, "spec": p.spec, "source": p.source,
         "distribution": p.origin.distribution, "version": p.origin.version,
         "entry_point": p.origin.entry_point, "module": p.module, "summary": p.summary}
        for p in all_plugins(kind)]
    for k, broken in problems(kind).items():
        rows += [{"kind": k, "name": name, "error": why} for name, why in sorted(broken.items())]
    return rows


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` command to ``app``."""

    @app.command("plugins")
    def plugins_cmd(
        kind: Annotated[str | None, typer.Option(help="Only this kind: target, judge, format, converter, attacker, executor.", show_default=False)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """List the installed plug-ins: kind, name, where each comes from (package and version,
        built-in or entry point), its module and what it does."""
        from redline.plugins import KINDS

        if kind is not None and kind not in KINDS:
            _fail(InputError(f"unknown plug-in kind {kind!r}", [Problem(
                "--kind", f"not a kind: {kind!r}", f"use one of: {', '.join(KINDS)}")]))
        rows = plugin_rows(kind)
        if as_json:
            _print_json(rows)
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        con = Console(highlight=False)
        if not con.is_terminal:
            con = Console(highlight=False, width=160)
        t = Table(title="plug-ins (`--target`, `--judge`, … take these names)", title_justify="left")
        for col in ("kind", "name", "source", "module", "what it does"):
            t.add_column(col, overflow="fold")
        for r in rows:
            if "error" in r:
                t.add_row(r["kind"], escape(r["name"]), "[red]not loaded[/]", "", escape(r["error"]))
            else:
                t.add_row(r["kind"], escape(r["spec"]), escape(r["source"]), escape(r["module"]),
                          escape(r["summary"]))
        con.print(t)
