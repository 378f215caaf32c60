"""Judging commands: ``judge``, ``judges`` (``rejudge`` and ``calibrate`` to come with issue 3)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from redline.commands._common import fail as _fail
from redline.errors import RedlineError


def register(app: typer.Typer) -> None:
    @app.command("judge")
    def judge_cmd(
        input: Annotated[Path, typer.Option("--input", help="JSONL with id, prompt or messages, response.")],
        output: Annotated[Path, typer.Option("--output", help="Where to write the judged JSONL.")],
        judge: Annotated[str, typer.Option("--judge", help="Judge name (see `redline judges`).")] = "refusal",
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Judge responses in a JSONL file; writes each record with the judge's fields added."""
        from redline.judges.batch import judge_file

        try:
            stats = judge_file(judge, input, output, progress=progress and sys.stderr.isatty())
        except RedlineError as e:
            _fail(e)
            return
        sys.stderr.write(f"judged {stats['judged']} record(s), {stats['unassessable']} unassessable, "
                         f"{stats['rejected']} rejected → {output}\n")
        if stats["rejected"]:
            sys.stderr.write(f"rejected rows with reasons: {stats['quarantine']}\n")
            raise typer.Exit(2)

    @app.command("judges")
    def judges_cmd() -> None:
        """List the available judges."""
        from redline.judges.base import create_judge, judge_names

        for n in judge_names():
            j = create_judge(n)
            typer.echo(f"{n:<12} {j.version}")
