"""Judging commands: ``judge``, ``judges``, ``rejudge``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from redline.commands._common import fail as _fail
from redline.commands._common import print_json as _print_json
from redline.errors import RedlineError

_OPTION_HELP = ("Judge option KEY=VALUE (repeatable; NAME.KEY scopes it to one judge), e.g. "
                "model=openai:gpt-4o-mini, base_url=…, members=harm,policy-llm. API keys come from "
                "environment variables: api_key_env=VAR (default REDLINE_JUDGE_API_KEY, then OPENAI_API_KEY).")


def register(app: typer.Typer) -> None:
    @app.command("judge")
    def judge_cmd(
        input: Annotated[Path, typer.Option("--input", help="JSONL with id, prompt or messages, response.")],
        output: Annotated[Path, typer.Option("--output", help="Where to write the judged JSONL.")],
        judge: Annotated[str, typer.Option("--judge", help="Judge name (see `redline judges`).")] = "refusal",
        option: Annotated[list[str] | None, typer.Option("--option", help=_OPTION_HELP)] = None,
        policy: Annotated[str, typer.Option(help="Policy the harm judges grade against (name or YAML).")] = "default",
        concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Responses graded at once by network-bound judges.")] = 16,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the judge-verdict cache.")] = False,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Judge responses in a JSONL file; writes each record with the judge's fields added.

        Records may carry `category` (a policy node id): policy-llm then grades against that
        category's policy text, otherwise against the whole policy.
        """
        from redline.judges.base import parse_options
        from redline.judges.batch import judge_file

        try:
            stats = judge_file(judge, input, output, progress=progress and sys.stderr.isatty(),
                               options=parse_options(option), policy=policy, concurrency=concurrency,
                               use_cache=not no_cache)
        except RedlineError as e:
            _fail(e)
            return
        except KeyboardInterrupt:
            sys.stderr.write(f"interrupted: {output} was not written"
                             + ("\n" if no_cache else "; verdicts already given are in the verdict "
                                "cache, so re-running the same command asks only for the rest\n"))
            raise typer.Exit(130) from None
        sys.stderr.write(f"judged {stats['judged']} record(s), {stats['unassessable']} unassessable, "
                         f"{stats['rejected']} rejected → {output}\n")
        if stats["rejected"]:
            sys.stderr.write(f"rejected rows with reasons: {stats['quarantine']}\n")
            raise typer.Exit(2)

    @app.command("judges")
    def judges_cmd(
        option: Annotated[list[str] | None, typer.Option("--option", help=_OPTION_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """List the available judges and their versions (with these options, where they need any)."""
        from redline.judges.base import create_judge, judge_names, parse_options

        try:
            opts = parse_options(option)
        except RedlineError as e:
            _fail(e)
            return
        examples = {"guard:": "guard:llama-guard-3", "ensemble:": "ensemble:majority"}
        rows = []
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
            _print_json(rows)
            return
        for r in rows:
            shown = r["version"] or (f"(needs options: {r['needs']})" if "needs" in r
                                     else f"(unavailable: {r['unavailable']})")
            typer.echo(f"{r['name']:<14} {shown}")

    @app.command("rejudge")
    def rejudge_cmd(
        run_dir: Annotated[Path, typer.Argument(help="A run directory written by `redline eval`.")],
        judge: Annotated[list[str], typer.Option("--judge", help="Judge(s) to grade with (repeatable); refusal is added for over-refusal.")],
        option: Annotated[list[str] | None, typer.Option("--option", help=_OPTION_HELP)] = None,
        out: Annotated[Path | None, typer.Option(help="New run directory; re-running with the same --out resumes.")] = None,
        policy: Annotated[str | None, typer.Option(help="Policy (name or YAML) (default: the source run's).", show_default=False)] = None,
        concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Responses graded at once.")] = 16,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the judge-verdict cache.")] = False,
        db: Annotated[str | None, typer.Option(help="Workspace database URL (or REDLINE_DB).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Grade an existing run's responses with another judge into a NEW run directory.

        The target is never called. Writes results.jsonl, summary.json (its manifest names the
        source run) and report.html, and records the run in the workspace database.
        """
        from redline.evals.rejudge import RejudgeConfig, run_rejudge
        from redline.judges.base import parse_options
        from redline.workspace import Workspace

        try:
            cfg = RejudgeConfig(source=run_dir, judges=judge, judge_options=parse_options(option),
                                policy=policy, out=out, concurrency=concurrency, use_cache=not no_cache,
                                progress=progress)
            result = run_rejudge(cfg, Workspace.default(db))
        except RedlineError as e:
            _fail(e)
            return
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            raise typer.Exit(130) from None
        if as_json:
            _print_json({"out_dir": str(result.out_dir), "status": result.status, **result.summary})
        else:
            from redline.cli import _print_summary

            _print_summary(result)
        if result.status == "interrupted":
            raise typer.Exit(130)
