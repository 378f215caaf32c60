"""Helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from redline.errors import RedlineError


def fail(e: RedlineError) -> NoReturn:
    """Print ``error: …`` (user text never parsed as rich markup) and exit with the error's code."""
    from rich.console import Console
    from rich.text import Text

    msg = Text("error: ", style="bold red")
    msg.append(str(e))
    Console(stderr=True, highlight=False, soft_wrap=True).print(msg, emoji=False)
    raise typer.Exit(e.exit_code)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")
