"""The ``compare`` command: two or more runs, each against a baseline, per category and overall."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import JsonOption, print_json, writing
from redline.errors import InputError, Problem


def _baseline_index(baseline: str | None, runs: list[str]) -> int:
    """``--baseline``: a 0-based number, or a run's argument or directory name."""
    if baseline is None:
        return 0
    if baseline.isdigit():
        return int(baseline)
    for i, spec in enumerate(runs):
        if baseline in (spec, Path(spec).name, Path(spec).name.rstrip("/")):
            return i
    raise InputError("no such baseline", [Problem(
        "--baseline", f"{baseline!r} is none of the runs given",
        "give the run's position (0 = the first) or its name as given on the command line")])


def compare_cmd(
    runs: Annotated[list[str], typer.Argument(help="Run directories (or names under the runs folder): the baseline and the runs compared with it.", show_default=False)],
    baseline: Annotated[str | None, typer.Option(help="The baseline run: its position (0 = first, the default) or its name.", show_default=False)] = None,
    correction: Annotated[str, typer.Option(help="Adjustment across categories: holm (family-wise) or bh (Benjamini–Hochberg, false discovery rate).")] = "holm",
    allow_judge_mismatch: Annotated[bool, typer.Option("--allow-judge-mismatch", help="Compare runs graded by different judges (better: `redline rejudge` one of them first).")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML page (forest plots, table, warnings).", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare runs sample by sample: is a model better or worse than the baseline, per category?

    Harmful-response and over-refusal rates with 95% intervals, a paired test (exact McNemar, or a
    paired bootstrap where unassessable samples differ; unpaired Newcombe for different suites),
    adjusted across categories, a verdict and the smallest detectable difference per row.
    """
    from redline.learn.compare import compare_runs

    if correction not in ("holm", "bh"):
        raise InputError("unknown correction", [Problem("--correction", repr(correction), "use holm or bh")])
    result = compare_runs(list(runs), baseline=_baseline_index(baseline, list(runs)),
                          correction=correction,  # type: ignore[arg-type]
                          allow_judge_mismatch=allow_judge_mismatch)
    if html is not None:
        from redline.files import write_atomic
        from redline.report.compare import render_comparison

        with writing(html, "choose a path in a writable folder (--html)"):
            write_atomic(html, render_comparison(result))
    if as_json:
        print_json(result)
    else:
        _print(result, html)


def _print(result: dict[str, Any], html: Path | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from redline.report.compare import fmt_kn, fmt_p, fmt_pp

    short = {"harmful_rate": "harmful", "over_refusal_rate": "over-refusal"}
    tests = {"mcnemar_exact": "McNemar", "paired_bootstrap": "bootstrap", "newcombe": "Newcombe"}

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=160)
    for w in result["warnings"]:
        con.print(f"[bold yellow]warning:[/] {escape(w)}")
    runs = result["runs"]
    for cmp in result["comparisons"]:
        a, b = runs[cmp["a"]], runs[cmp["b"]]
        how = (f"paired on {cmp['n_paired']} samples" if cmp["paired"]
               else f"NOT paired (only {cmp['n_paired']} shared samples): independent-sample intervals")
        t = Table(title=escape(f"{b['name']} ({b['target']}) vs baseline {a['name']} ({a['target']}) · {how}"),
                  title_justify="left", caption=escape(
                      f"diff = {b['name']} − baseline, percentage points; {int(round(100 * cmp['confidence']))}% CI; "
                      f"p adjusted across categories ({'Holm' if cmp['correction'] == 'holm' else 'Benjamini–Hochberg'}); "
                      "MDE = smallest difference detectable with 80% power"), caption_justify="left")
        for col, just in (("metric", "left"), ("category", "left"), ("baseline", "right"), ("compared", "right"),
                          ("diff", "right"), ("95% CI", "right"), ("test", "left"), ("p adj.", "right"),
                          ("verdict", "left"), ("MDE", "right")):
            t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
        last_metric = None
        for r in cmp["rows"]:
            if last_metric is not None and r["metric"] != last_metric:
                t.add_section()
            last_metric = r["metric"]
            style = {"worse": "bold red", "better": "bold green"}.get(r["verdict"], "dim")
            ci = f"{fmt_pp(r['ci95'][0])} to {fmt_pp(r['ci95'][1])}" if r["ci95"] else "–"
            cat = "[bold]overall[/]" if r["category"] is None else escape(r["category"])
            t.add_row(short[r["metric"]], cat, fmt_kn(r["a"]), fmt_kn(r["b"]), fmt_pp(r["diff"]), ci,
                      tests.get(r["test"], r["test"]), fmt_p(r["p_adjusted"]), f"[{style}]{r['verdict']}[/]",
                      fmt_pp(r["mde"], sign=False))
        con.print(t)
    if html is not None:
        con.print(f"html: {html}", markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("compare")(compare_cmd)
