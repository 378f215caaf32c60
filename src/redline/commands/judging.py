"""Judging commands: ``judge``, ``judges``, ``rejudge``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import (
    DbOption,
    JsonOption,
    JsonSummaryOption,
    JudgeNameOption,
    NoVerdictCacheOption,
    ProgressOption,
    exit_on_interrupt,
    print_json,
)
from redline.commands.evals import (
    ExecutorOption,
    ExecutorOptionsOption,
    RayAddressOption,
    executor_options,
    show_run,
)
from redline.errors import RedlineError

_OPTION_HELP = ("Judge option KEY=VALUE (repeatable; NAME.KEY scopes it to one judge), e.g. "
                "model=openai:gpt-4o-mini, base_url=…, members=harm,policy-llm. API keys come from "
                "environment variables: api_key_env=VAR (default REDLINE_JUDGE_API_KEY, then OPENAI_API_KEY).")
_JudgeOptions = Annotated[list[str] | None, typer.Option("--option", help=_OPTION_HELP)]


def judge_cmd(
    input: Annotated[Path, typer.Option("--input", help="JSONL with id, prompt or messages, response.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the judged JSONL.")],
    judge: JudgeNameOption = "refusal",
    option: _JudgeOptions = None,
    policy: Annotated[str, typer.Option(help="Policy the harm judges grade against (name or YAML).")] = "default",
    concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Responses graded at once by network-bound judges.")] = 16,
    no_cache: NoVerdictCacheOption = False,
    progress: ProgressOption = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    executor_option: ExecutorOptionsOption = None,
) -> None:
    """Judge responses in a JSONL file; writes each record with the judge's fields added.

    Records may carry `category` (a policy node id): policy-llm then grades against that
    category's policy text, otherwise against the whole policy.
    """
    from redline.judges.base import parse_options
    from redline.judges.batch import judge_file

    exec_options = executor_options(executor, ray_address, executor_option)
    with exit_on_interrupt(f"interrupted: {output} was not written"
                           + ("" if no_cache else "; verdicts already given are in the verdict "
                              "cache, so re-running the same command asks only for the rest")):
        stats = judge_file(judge, input, output, progress=progress and sys.stderr.isatty(),
                           options=parse_options(option), policy=policy, concurrency=concurrency,
                           use_cache=not no_cache, executor=executor, executor_options=exec_options)
    from redline.data.io import RowCounts

    sys.stderr.write(f"judged {stats['judged']} record(s), {stats['unassessable']} unassessable, "
                     f"{stats['rejected']} rejected → {output}\n")
    if stats["rejected"]:
        sys.stderr.write(f"rejected rows with reasons: {stats['quarantine']}\n")
    if ex := stats.get("executor"):  # every lost shard was graded again: say so
        sys.stderr.write(f"{ex['name']}: {ex['shards']} shard(s), {ex['shards_resent']} re-sent, "
                         f"{ex['workers_lost']} worker(s) lost\n")
    # every non-blank line is judged (written, with the verdict or why it is unassessable) or rejected
    sys.stderr.write(RowCounts(read=stats["judged"] + stats["rejected"], written=stats["judged"],
                               rejected=stats["rejected"], verb="judged").line() + "\n")
    if stats["rejected"]:
        raise typer.Exit(2)

def judges_cmd(
    option: _JudgeOptions = None,
    as_json: JsonOption = False,
) -> None:
    """List the available judges and their versions (with these options, where they need any)."""
    from redline.judges.base import create_judge, judge_names, parse_options

    opts = parse_options(option)
    examples = {"guard:": "guard:llama-guard-3", "ensemble:": "ensemble:majority"}
    rows: list[dict[str, Any]] = []
    for n in judge_names():
        name = examples.get(n, n)
        try:
            j = create_judge(name, **opts)
            rows.append({"name": name if n not in examples else n + "…", "version": j.version})
        except RedlineError as e:
            rows.append({"name": n + ("…" if n in examples else ""), "version": None,
                         "needs": str(e).splitlines()[-1].strip()})
        except Exception as e:  # e.g. the local model is not installed
            rows.append({"name": n, "version": None, "unavailable": f"{type(e).__name__}: {e}"})
    if as_json:
        print_json(rows)
        return
    for r in rows:
        shown = r["version"] or (f"(needs options: {r['needs']})" if "needs" in r
                                 else f"(unavailable: {r['unavailable']})")
        typer.echo(f"{r['name']:<14} {shown}")

def rejudge_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `redline eval`.")],
    judge: Annotated[list[str], typer.Option("--judge", help="Judge(s) to grade with (repeatable); refusal is added for over-refusal.")],
    option: _JudgeOptions = None,
    out: Annotated[Path | None, typer.Option(help="New run directory; re-running with the same --out resumes.")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy (name or YAML) (default: the source run's).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Responses graded at once.")] = 16,
    no_cache: NoVerdictCacheOption = False,
    db: DbOption = None,
    as_json: JsonSummaryOption = False,
    progress: ProgressOption = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    executor_option: ExecutorOptionsOption = None,
) -> None:
    """Grade an existing run's responses with another judge into a NEW run directory.

    The target is never called. Writes results.jsonl, summary.json (its manifest names the
    source run) and report.html, and records the run in the workspace database.
    """
    from redline.evals.rejudge import RejudgeConfig, run_rejudge
    from redline.judges.base import parse_options
    from redline.workspace import Workspace

    exec_options = executor_options(executor, ray_address, executor_option)
    cfg = RejudgeConfig(source=run_dir, judges=judge, judge_options=parse_options(option),
                        policy=policy, out=out, concurrency=concurrency, use_cache=not no_cache,
                        progress=progress, executor=executor, executor_options=exec_options)
    with exit_on_interrupt("interrupted"):
        result = run_rejudge(cfg, Workspace.default(db))
    show_run(result, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("judge")(judge_cmd)
    app.command("judges")(judges_cmd)
    app.command("rejudge")(rejudge_cmd)
