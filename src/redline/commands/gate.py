"""Release-gate commands: ``gate`` (a run against budgets), ``plan`` (sample sizes) and ``review``
(the launch review page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import DbOption, JsonOption, print_json, writing

BudgetsOption = Annotated[Path, typer.Option("--budgets", help="Budgets YAML file (docs/learn/gate.md).")]


def print_gate(result: dict[str, Any]) -> None:
    """Print a gate verdict as a table (failures first) and a last line saying pass or fail.

    Args:
        result: What :func:`redline.learn.gate.gate_run` returned.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from redline.learn.gate import pct

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=140)
    t = Table(title=escape(f"gate: {result['run']} ({result.get('target')})"), title_justify="left",
              caption=f"a budget passes when the one-sided {result.get('confidence', 0.95):.0%} upper bound is "
                      "within it (exact Clopper-Pearson)", caption_justify="left")
    for col in ("", "category", "rule", "rate", "upper", "budget", "details"):
        t.add_column(col, overflow="fold", no_wrap=col not in ("details",))
    for c in sorted(result["checks"], key=lambda x: x["passed"]):
        rule = c["rule"] if c["rule"] != "regression" else f"regression ({c['metric']})"
        rate = "n/a" if c["rate"] is None else f"{pct(c['rate'])} {c['k']}/{c['n']}"
        t.add_row("[green]pass[/]" if c["passed"] else "[bold red]FAIL[/]", escape(c["category"] or "overall"),
                  escape(rule), rate, "" if c["upper95"] is None else pct(c["upper95"]),
                  "" if c["budget"] is None else pct(c["budget"]), escape(c["message"]))
    con.print(t)
    for w in result.get("warnings") or []:
        con.print(f"[yellow]warning:[/] {escape(w)}")
    n = result["counts"]
    if result["passed"]:
        con.print(f"[bold green]gate passed[/] ({n['checks']} checks) · {escape(str(Path(result['dir']) / 'gate.json'))}")
    else:
        con.print(f"[bold red]gate failed[/]: {n['failed']} of {n['checks']} checks · "
                  f"{escape(str(Path(result['dir']) / 'gate.json'))}")


def gate_cmd(
    run: Annotated[str, typer.Argument(help="Run directory (or its name under the runs folder).")],
    budgets: BudgetsOption,
    baseline: Annotated[str | None, typer.Option(help="Baseline run for the regression rule (overrides the budgets file's).")] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML here (one test case per category × rule).")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Also write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Gate a finished run against budgets: exit 0 when it passes, 1 when it fails, 2 on bad input.

    A budget passes only when the rate's one-sided 95% upper bound is within it; a failing check
    says by how much the rate exceeds it, or how many samples would let it pass. Writes
    <run>/gate.json.
    """
    from redline.files import write_atomic
    from redline.learn.gate import gate_run, load_budgets, render_junit, render_markdown
    from redline.workspace import Workspace

    b = load_budgets(budgets)
    result = gate_run(run, b, baseline=baseline, ws=Workspace.default(db))
    for path, render in ((junit, render_junit), (markdown, render_markdown)):
        if path is not None:
            with writing(path, "choose a path in a writable folder"):
                write_atomic(path, render(result))
    if as_json:
        print_json(result)
    else:
        print_gate(result)
    if not result["passed"]:
        raise typer.Exit(1)


def _n(v: int | None) -> str:
    return "never (rate ≥ budget)" if v is None else f"{v:,}"


def plan_cmd(
    rate: Annotated[float | None, typer.Option(help="Expected failure rate (e.g. 0.02); with --run, used where the run has no samples.")] = None,
    budget: Annotated[float | None, typer.Option(help="The budget to pass (e.g. 0.05).")] = None,
    diff: Annotated[float | None, typer.Option(help="A difference between two runs to detect (e.g. 0.03: from RATE to RATE + 0.03).")] = None,
    power: Annotated[float, typer.Option(help="Probability of passing / detecting to plan for.")] = 0.8,
    confidence: Annotated[float, typer.Option(help="One-sided confidence of the gate's upper bound.")] = 0.95,
    budgets: Annotated[Path | None, typer.Option("--budgets", help="Plan every budget of this budgets file.")] = None,
    run: Annotated[str | None, typer.Option(help="With --budgets: plan at this run's observed rates.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Samples needed for a gate to be passable, and for a comparison to detect a difference.

    `redline plan --rate 0.02 --budget 0.05 --diff 0.03` answers for one rate; with
    --budgets F (and --run RUN for its observed rates) for each category's budgets.
    """
    from redline.errors import InputError, Problem
    from redline.learn.gate import load_budgets, pct, plan_budgets, plan_sizes

    if budgets is not None:
        from redline.workspace import Workspace

        rows = plan_budgets(load_budgets(budgets), run=run, rate=rate, diff=diff, power=power,
                            ws=Workspace.default(db) if run else None)
        if as_json:
            print_json(rows)
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=f"samples per category (power {power:.0%})", title_justify="left")
        for col in ("category", "metric", "budget", "rate", "have", "to pass at rate", f"to pass, {power:.0%}",
                    *(["to detect +" + pct(diff) + " (per run / pairs)"] if diff else [])):
            t.add_column(col)
        for r in rows:
            obs = r["observed"]
            g = r["gate"]
            t.add_row(escape(str(r["category"] or "overall")), r["metric"], pct(r["budget"]),
                      pct(r["rate"]) + (f" ({obs['k']}/{obs['n']})" if obs else ""),
                      "" if obs is None else f"{obs['n']:,}", _n(g["at_expected"]), _n(g["with_power"]),
                      *([f"{r['compare']['per_run']:,} / {r['compare']['pairs']:,}"] if r.get("compare") else
                        ([""] if diff else [])))
        Console(highlight=False, width=160).print(t)
        return
    if rate is None or (budget is None and diff is None):
        raise InputError("nothing to plan", [Problem(
            "--rate", "give --rate with --budget (gate) and/or --diff (comparison), or --budgets FILE",
            "e.g. `redline plan --rate 0.02 --budget 0.05 --diff 0.03`")])
    res = plan_sizes(rate, budget, diff=diff, power=power, confidence=confidence)
    if as_json:
        print_json(res)
        return
    g, c = res["gate"], res["compare"]
    if g is not None:
        typer.echo(f"gate: a run whose true rate is {pct(rate)} passes a {pct(budget)} budget "
                   f"(one-sided {confidence:.0%} upper bound) with")
        typer.echo(f"  {_n(g['at_expected'])} samples when it shows exactly its expected count")
        typer.echo(f"  {_n(g['with_power'])} samples to pass with probability {power:.0%}")
    if c is not None:
        typer.echo(f"compare: detecting {pct(c['p1'])} → {pct(c['p2'])} (two-sided 5%, power {power:.0%}) takes")
        typer.echo(f"  {c['per_run']:,} samples per run (different samples), or")
        typer.echo(f"  {c['pairs']:,} paired samples (same suite; assumes the runs fail independently, "
                   "fewer when their failures overlap)")


def review_cmd(
    candidate: Annotated[str, typer.Argument(help="The candidate run (directory or name under the runs folder).")],
    baseline: Annotated[str, typer.Option(help="The baseline run to compare against.")],
    budget: Annotated[Path, typer.Option("--budget", "--budgets", help="Budgets YAML file (docs/learn/gate.md).")],
    out: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("review.html"),
    allow_judge_mismatch: Annotated[bool, typer.Option("--allow-judge-mismatch", help="Compare runs graded by different judges (better: `redline rejudge` one of them).")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the launch review: gates, significant changes, failure clusters, data requests, calibration.

    One self-contained HTML page for a launch meeting. Exit code 0 when the page is written
    (whatever the decision), 2 on bad input.
    """
    from redline.files import write_atomic
    from redline.learn.gate import load_budgets
    from redline.learn.review import build_review, render_review
    from redline.workspace import Workspace

    b = load_budgets(budget)
    review = build_review(candidate, baseline, b, ws=Workspace.default(db), allow_judge_mismatch=allow_judge_mismatch)
    with writing(out):
        write_atomic(out, render_review(review))
    if as_json:
        print_json({"out": str(out), **review})
        return
    d = review["decision"]
    typer.echo(f"{d['headline']}" + (f": {'; '.join(d['reasons'])}" if d["reasons"] else ""))
    typer.echo(f"{d['worse']} significant regressions, {d['better']} improvements · "
               f"{review['requests_total']} data requests · {len(review['caveats'])} caveats")
    typer.echo(f"review: {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("gate")(gate_cmd)
    app.command("plan")(plan_cmd)
    app.command("review")(review_cmd)
