"""The ``redline`` command: the app, assembled from the command modules in :mod:`redline.commands`.

Every command lives in a module of :mod:`redline.commands` that exposes ``register(app)``; this
module only creates the app (whose :class:`~redline.commands._common.CommandGroup` is the one
error boundary) and registers them, in the order ``redline --help`` lists them.
"""

from __future__ import annotations

import typer

from redline.commands import (
    annotate,
    calibration,
    clusters,
    compare,
    data,
    evals,
    gate,
    judging,
    plugins,
    policy,
    redteam,
    requests,
)
from redline.commands._common import CommandGroup

app = typer.Typer(
    name="redline",
    help="Policy-driven safety evaluation and safety-data operations for AI models.",
    cls=CommandGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

evals.register(app)
redteam.register(app)
compare.register(app)
gate.register(app)
clusters.register(app)
judging.register(app)
calibration.register(app)
policy.register(app)
data.register(app)
annotate.register(app)
plugins.register(app)
requests.register(app)


def main() -> None:  # pragma: no cover
    """Run the ``redline`` command."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
