"""Evaluation commands: ``eval``, ``runs``, ``suites``, ``policies``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import (
    DbOption,
    JsonOption,
    JsonSummaryOption,
    ProgressOption,
    exit_on_interrupt,
    print_json,
)

#: The default ``--max-tokens`` of local (CPU) models. Measured on the demo (SmolLM2-135M, 85
#: prompts, greedy): 72 of 85 responses ran to the old 200-token cap; at 96 the demo generates
#: 7,971 tokens instead of 16,115 (~57 tokens/s on 2 cores: ~2.5 min instead of 4.7), and 6 of
#: 85 outcomes differ from 200 tokens' (responses cut before a late refusal or compliance).
LOCAL_MAX_TOKENS = 96


def eval_cmd(
    suite: Annotated[str | None, typer.Option(help="Built-in suite name (see `redline suites`) or a JSONL file (default: the policy's own suite; `demo` for the default policy).", show_default=False)] = None,
    target: Annotated[str, typer.Option(help="local | local:PATH.gguf | openai:MODEL | replay:FILE.jsonl")] = "local",
    policy: Annotated[str, typer.Option(help="Built-in policy name or a policy YAML file.")] = "default",
    judge: Annotated[list[str] | None, typer.Option("--judge", help="Judge(s) to run (repeatable) (default: refusal + harm: harm decides harmful prompts, refusal over-refusal); the first harm judge decides harmful prompts.", show_default=False)] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Judge option KEY=VALUE (repeatable; NAME.KEY scopes it to one judge). API keys are read from env vars only: api_key_env=VAR.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory; re-running with the same --out resumes.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Requests in flight at once.")] = 8,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (or OPENAI_BASE_URL).")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (prefer the OPENAI_API_KEY variable).", show_default=False)] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Maximum tokens per response (default: 96 for local models, 512 otherwise).", show_default=False)] = None,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed, where the target supports one.")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, help="Per-request timeout in seconds.")] = 60.0,
    max_retries: Annotated[int, typer.Option(min=0, max=20, help="Retries per request (hard cap).")] = 4,
    retry_base: Annotated[float, typer.Option(min=0.0, help="First backoff delay in seconds (doubles, capped).")] = 0.5,
    retry_max: Annotated[float, typer.Option(min=0.0, help="Backoff cap in seconds.")] = 20.0,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N samples of the suite.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the target again even for cached prompts.")] = False,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="When resuming, ask again for samples whose request failed.")] = False,
    db: DbOption = None,
    as_json: JsonSummaryOption = False,
    progress: ProgressOption = True,
    allow_image_root: Annotated[list[Path] | None, typer.Option("--allow-image-root", exists=True, file_okay=False, help="A folder besides the suite's own from which image parts' local files may be read (repeatable).")] = None,
    gate: Annotated[Path | None, typer.Option("--gate", help="Gate the finished run against this budgets file (docs/learn/gate.md): exit 1 when it fails.", show_default=False)] = None,
) -> None:
    """Run a target over a safety suite, judge the responses and write a report.

    With no arguments: the built-in `demo` suite, the built-in local model and the offline judges.
    """
    from redline.evals.runner import DEFAULT_JUDGES, EvalConfig, RetryPolicy, run_eval
    from redline.judges.base import parse_options
    from redline.targets.base import GenParams
    from redline.workspace import Workspace

    judge_options = parse_options(option)
    budgets = None
    if gate is not None:  # a bad budgets file fails before any request is made
        from redline.learn.gate import check_budgets_policy, load_budgets

        budgets = load_budgets(gate)
        check_budgets_policy(budgets, policy)
    if suite is None:
        from redline.policy.loader import load_policy

        suite = load_policy(policy).suite or "demo"
    cfg = EvalConfig(
        suite=suite, target=target, policy=policy, judges=judge or list(DEFAULT_JUDGES), out=out,
        judge_options=judge_options, concurrency=concurrency,
        target_options={"base_url": base_url, "api_key": api_key, "timeout": timeout},
        params=GenParams(max_tokens=max_tokens or (LOCAL_MAX_TOKENS if target.split(":")[0] == "local" else 512),
                         temperature=temperature, seed=seed),
        retry=RetryPolicy(max_retries=max_retries, base_delay=retry_base, max_delay=retry_max),
        use_cache=not no_cache, progress=progress, limit=limit, retry_errors=retry_errors,
        image_roots=list(allow_image_root or []),
    )
    ws = Workspace.default(db)
    with exit_on_interrupt("interrupted"):  # before the run started: nothing to resume yet
        result = run_eval(cfg, ws)
    verdict = None
    if budgets is not None and result.status == "completed":
        from redline.learn.gate import gate_run

        verdict = gate_run(result.out_dir, budgets, ws=ws)
    show_run(result, as_json, verdict)
    if verdict is not None and not verdict["passed"]:
        raise typer.Exit(1)


def show_run(result: Any, as_json: bool, gate: dict[str, Any] | None = None) -> None:
    """Print a finished (or interrupted) run: its summary as JSON or as a table.

    Args:
        result: What :func:`redline.evals.runner.run_eval` (or ``run_rejudge``) returned.
        as_json: Print the summary as JSON instead of the table.
        gate: The run's gate verdict (:func:`redline.learn.gate.gate_run`), if it was gated.

    Raises:
        typer.Exit: With code 130 when the run was interrupted (re-running resumes it).
    """
    if as_json:
        print_json({"out_dir": str(result.out_dir), "status": result.status, **result.summary,
                    "row_counts": sample_counts(result.summary["manifest"]).to_json(),
                    **({"gate": gate} if gate is not None else {})})
    else:
        _print_summary(result)
        if gate is not None:
            from redline.commands.gate import print_gate

            print_gate(gate)
    if result.status == "interrupted":
        raise typer.Exit(130)


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=110)
    m = result.summary["metrics"]
    man = result.summary["manifest"]

    def k_n(r: dict[str, Any]) -> str:
        return "–" if r["rate"] is None else f"{100 * r['rate']:.1f}% {r['k']}/{r['n']}"

    def ci(r: dict[str, Any]) -> str:
        return "" if r["rate"] is None else f"{100 * r['ci95'][0]:.0f}–{100 * r['ci95'][1]:.0f}"

    t = Table(title=escape(f"{man['suite']['name']} → {man['target']['name']} · policy "
                           f"{man['policy']['name']} ({man['policy']['hash']})"), title_justify="left",
              caption="95% CI: Wilson interval, %",
              caption_justify="left")
    t.add_column("category", no_wrap=True)
    t.add_column("harmful", justify="right", no_wrap=True)
    t.add_column("95% CI", justify="right", no_wrap=True, style="dim")
    t.add_column("over-refusal", justify="right", no_wrap=True)
    t.add_column("95% CI", justify="right", no_wrap=True, style="dim")
    t.add_column("unassessable", justify="right", no_wrap=True)
    for cid, c in m["by_category"].items():
        t.add_row(escape(cid), k_n(c["harmful_rate"]), ci(c["harmful_rate"]), k_n(c["over_refusal_rate"]),
                  ci(c["over_refusal_rate"]), k_n(c["unassessable_rate"]))
    o = m["overall"]
    t.add_row("[bold]overall", f"[bold]{k_n(o['harmful_rate'])}", ci(o["harmful_rate"]),
              f"[bold]{k_n(o['over_refusal_rate'])}", ci(o["over_refusal_rate"]),
              f"[bold]{k_n(o['unassessable_rate'])}", end_section=True)
    con.print(t)
    tm = man["timings"]
    con.print(f"status: {result.status} · {tm['completed']} samples · {tm['new_requests']} new requests · "
              f"{tm['resumed_from_previous']} resumed · {tm['this_invocation_s']:.1f}s", markup=False)
    reasons = m.get("unassessable_reasons") or {}
    if reasons:  # say why, so a run that graded nothing is not read as a clean result
        n_un = sum(reasons.values())
        con.print(f"[yellow]unassessable: {n_un} of {tm['completed']} samples[/] — "
                  + escape(", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))))
    con.print(f"results: {result.out_dir / 'results.jsonl'}", markup=False)
    if (result.out_dir / "report.html").exists():
        con.print(f"report:  {result.out_dir / 'report.html'}", markup=False)
    if result.status != "completed":
        con.print("[yellow]run not complete: re-run the same command to resume[/]")
    con.print(sample_counts(man).line(), markup=False, soft_wrap=True)


def sample_counts(manifest: dict[str, Any]) -> Any:
    """A run's samples as :class:`~redline.data.io.RowCounts`: every sample of the suite is run,
    or skipped (past ``--limit``; not run yet in an unfinished run; for ``rejudge``, a repeated
    result of a sample in the source run and a torn last line). A suite with a bad line is not run at
    all (the error lists every bad line), so nothing is rejected.

    Args:
        manifest: The run's ``summary.json`` manifest.
    """
    from redline.data.io import RowCounts

    suite, done = manifest["suite"], manifest["timings"]["completed"]
    rows = suite.get("rows", suite["samples"])  # runs recorded before the total was kept
    rc = RowCounts(read=rows, written=done, verb="run", unit="samples")
    for why, n in (suite.get("skipped_by_reason") or {"past --limit": rows - suite["samples"]}).items():
        rc.skip(why, n)
    rc.skip(f"not run ({manifest['status']}; re-run to resume)", suite["samples"] - done)
    return rc


def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List recorded runs (newest first)."""
    from redline.evals.runner import recorded_runs

    rows = recorded_runs(db, limit)
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table()
    for col in ("started", "status", "suite", "target", "policy", "judges", "samples", "harmful", "over-refusal",
                "run"):
        t.add_column(col)
    for r in rows:
        def p(v: float | None) -> str:
            return "–" if v is None else f"{100 * v:.1f}%"
        t.add_row(str(r["started"])[:19], r["status"], escape(r["suite"]), escape(r["target"]),
                  escape(r["policy"]),
                  escape(",".join(r["judges"]) if isinstance(r["judges"], dict) else str(r["judges"])),
                  str(r["samples"] or 0), p(r["harmful_rate"]),
                  p(r["over_refusal_rate"]), escape(r["run_id"]))
    con = Console()
    if not con.is_terminal:
        con = Console(width=200)
    con.print(t)


def suites_cmd(as_json: JsonOption = False) -> None:
    """List the built-in suites."""
    import collections

    from redline.data.jsonl import iter_samples
    from redline.data.suites import builtin_suites

    out: list[dict[str, Any]] = []
    for name, path in builtin_suites().items():
        cnt: collections.Counter[str] = collections.Counter()
        cats = set()
        for s in iter_samples(path):
            cnt[s.expected.value] += 1
            cats.add(s.category)
        out.append({"name": name, "samples": sum(cnt.values()), "categories": len(cats),
                    "by_expected": dict(cnt), "path": str(path)})
    if as_json:
        print_json(out)
        return
    for row in out:
        exp = ", ".join(f"{k} {v}" for k, v in sorted(row["by_expected"].items()))
        typer.echo(f"{row['name']:<8} {row['samples']:>5} samples · {row['categories']} categories · {exp}")


def policies_cmd(as_json: JsonOption = False) -> None:
    """List the built-in policy packs."""
    from redline.policy.loader import builtin_policies, load_policy

    out: list[dict[str, Any]] = []
    for name in builtin_policies():
        p = load_policy(name)
        out.append({"name": p.name, "version": p.version, "hash": p.content_hash,
                    "categories": [{"id": c.id, "name": c.name, "harmful": c.expected.harmful,
                                    "benign": c.expected.benign} for c in p.categories]})
    if as_json:
        print_json(out)
        return
    for row in out:
        typer.echo(f"{row['name']} {row['version']} ({row['hash']}) — {len(row['categories'])} categories")
        for c in row["categories"]:
            typer.echo(f"  {c['id']:<28} harmful→{c['harmful']:<14} benign→{c['benign']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("eval")(eval_cmd)
    app.command("runs")(runs_cmd)
    app.command("suites")(suites_cmd)
    app.command("policies")(policies_cmd)
