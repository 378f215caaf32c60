"""``redline policy …``: author, lint, diff, render, compile and import policy packs."""

from __future__ import annotations

import typer

policy_app = typer.Typer(
    name="policy", no_args_is_help=True,
    help="Author, lint, diff, render, compile and import policy packs.",
)


def register(app: typer.Typer) -> None:
    if policy_app.registered_commands:
        app.add_typer(policy_app, name="policy")
