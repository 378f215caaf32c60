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
        if first.get("cluster"):
            bits.append(f"feedback cluster {first['cluster']} ({first.get('size')}, {first.get('share', 0):.0%}): "
                        f"{first.get('label', '')}")
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
    from redline.learn.requests import _as_run, load_budgets_file, requests_from_run, write_requests

    b = load_budgets_file(budgets) if budgets is not None else None
    r = _as_run(run)
    comparison = None
    if baseline is not None:
        from redline.learn.compare import compare_runs

        comparison = compare_runs([baseline, r.dir], baseline=0)
    clusters = None
    cpath = Path(r.dir) / "clusters.json"  # written by the failure clustering, when it ran
    if cpath.is_file():
        from redline.data.limits import loads_json_document, read_config_text

        clusters = loads_json_document(read_config_text(cpath, "clusters file"))
    recs = requests_from_run(r, comparison=comparison, clusters=clusters, budgets=b)
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


@feedback_app.command("import")
def feedback_import_cmd(
    path: Annotated[Path, typer.Argument(help="Feedback file (thumbs-down / report records), any supported format.")],
    out: OutOption,
    frm: Annotated[str | None, typer.Option("--from", help="Input format (default: by extension).")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Built-in policy name or policy YAML.")] = "default",
    as_json: JsonOption = False,
) -> None:
    """Judge, categorise and cluster user feedback; significant clusters become data requests."""
    from redline.learn.feedback import import_feedback
    from redline.learn.requests import write_requests

    rep = import_feedback(path, fmt=frm, policy=policy)
    with writing(out):
        write_requests(out, rep["requests"])
    if as_json:
        print_json({**rep, "out": str(out)})
        return
    fails = ", ".join(f"{k} {v}" for k, v in sorted(rep["failures"].items()))
    typer.echo(f"{rep['records']} feedback record(s) ({fails}); {rep['skipped_positive']} positive skipped")
    for c in rep["clusters"]:
        mark = "*" if c["significant"] else " "
        typer.echo(f" {mark} {c['id']:4s} {c['failure']:12s} {str(c['category']):24s} {c['size']:4d} "
                   f"share {c['share']:.0%} (95% CI {c['share_ci95'][0]:.0%}–{c['share_ci95'][1]:.0%})  {c['label']}")
    typer.echo(f"significant (*): at least {rep['significance']['min_size']} records and a share whose 95% lower "
               f"bound is at least {rep['significance']['min_share_lower95']:.0%}")
    if rep["requests"]:
        _table(rep["requests"], f"{len(rep['requests'])} data request(s)")
    typer.echo(f"data requests: {out}")


def register(app: typer.Typer) -> None:
    """Add ``redline requests …`` and ``redline feedback …`` to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.add_typer(requests_app, name="requests")
    if feedback_app.registered_commands:
        app.add_typer(feedback_app, name="feedback")
