"""``redline requests …`` (data requests from runs: from-run, list, merge) and ``redline feedback import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import JsonOption, print_json, writing

requests_app = typer.Typer(
    name="requests", no_args_is_help=True,
    help="Data requests: what to collect, from runs, comparisons, coverage and user feedback.",
)
feedback_app = typer.Typer(
    name="feedback", no_args_is_help=True,
    help="User feedback (thumbs-down, reports) as evidence: classify, cluster, request data.",
)

OutOption = Annotated[Path, typer.Option("--out", help="Write the data requests (JSONL) here.")]


def _table(records: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=160)
    t = Table(title=title, title_justify="left")
    for col in ("id", "source", "need", "kind", "category", "language", "persona", "evidence"):
        t.add_column(col, overflow="fold", justify="right" if col == "need" else "left")
    for r in records:
        ev = r.get("evidence") or []
        first = ev[0] if ev else {}
        bits = []
        if first.get("rate") is not None:
            bits.append(f"{first.get('metric', 'rate')} {first['rate']:.1%} ({first.get('k')}/{first.get('n')})")
        if first.get("clusters"):
            bits.append("clusters " + ", ".join(map(str, first["clusters"][:3])))
        if len(ev) > 1:
            bits.append(f"+{len(ev) - 1} more")
        t.add_row(escape(str(r["id"])), escape(",".join(r.get("sources") or [r.get("source") or ""])),
                  str(r["need"]), escape(str(r["kind"])), escape(str(r.get("category_name") or r.get("category"))),
                  escape(str(r.get("language_name") or r.get("language") or "any")),
                  escape(str(r.get("persona") or "")), escape("; ".join(bits)))
    con.print(t)


@requests_app.command("from-run")
def from_run_cmd(
    run: Annotated[str, typer.Argument(help="Run directory (or run name under the runs folder).")],
    out: OutOption,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="Compare against this run; its 'worse' rows become requests too.")] = None,
    budgets: Annotated[Path | None, typer.Option(
        "--budgets", help="Budgets YAML (see docs/learn.md); default: harmful 5%, over-refusal 10%.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Data requests for a run's weak cells (category × language × persona × expected behaviour)."""
    from redline.learn.requests import load_budgets_file, requests_from_run, write_requests

    b = load_budgets_file(budgets) if budgets is not None else None
    comparison = None
    if baseline is not None:
        from redline.learn.compare import compare_runs

        comparison = compare_runs([baseline, run], baseline=0)
    clusters = None
    cpath = Path(run) / "clusters.json"
    if cpath.is_file():
        from redline.data.limits import loads_json_document, read_config_text

        clusters = loads_json_document(read_config_text(cpath, "clusters file"))
    recs = requests_from_run(run, comparison=comparison, clusters=clusters, budgets=b)
    with writing(out):
        write_requests(out, recs)
    if as_json:
        print_json(recs)
        return
    _table(recs, f"{len(recs)} data request(s) from {run}")
    typer.echo(f"data requests: {out}")


@requests_app.command("list")
def list_cmd(
    files: Annotated[list[Path], typer.Argument(help="Request files (JSONL).")],
    as_json: JsonOption = False,
) -> None:
    """List the data requests of one or more files (coverage, run and feedback requests alike)."""
    from redline.learn.requests import read_requests

    recs = read_requests(files)
    if as_json:
        print_json(recs)
        return
    _table(recs, f"{len(recs)} data request(s)")


@requests_app.command("merge")
def merge_cmd(
    files: Annotated[list[Path], typer.Argument(help="Request files (JSONL) to merge.")],
    out: OutOption,
    as_json: JsonOption = False,
) -> None:
    """Merge request files: one request per cell id, the largest need kept, evidence unioned."""
    from redline.learn.requests import merge_requests, read_requests, write_requests

    recs = read_requests(files)
    merged, dup = merge_requests(recs)
    with writing(out):
        write_requests(out, merged)
    if as_json:
        print_json({"read": len(recs), "merged": dup, "written": len(merged), "out": str(out)})
        return
    typer.echo(f"read {len(recs)} request(s) from {len(files)} file(s); merged {dup} duplicate(s); "
               f"wrote {len(merged)} to {out}")


def register(app: typer.Typer) -> None:
    """Add ``redline requests …`` and ``redline feedback …`` to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.add_typer(requests_app, name="requests")
    if feedback_app.registered_commands:
        app.add_typer(feedback_app, name="feedback")
