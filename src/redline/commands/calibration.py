"""``redline calibrate``: measure a judge against human labels."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
