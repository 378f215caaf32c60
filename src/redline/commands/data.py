"""``redline data …`` (convert, check, profile, coverage) and ``redline sql``."""

from __future__ import annotations

import typer

data_app = typer.Typer(
    name="data", no_args_is_help=True,
    help="Convert, check, profile and cover safety data sets.",
)


def register(app: typer.Typer) -> None:
    if data_app.registered_commands:
        app.add_typer(data_app, name="data")
