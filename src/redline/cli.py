"""The ``redline`` command: the app, assembled from the command modules in :mod:`redline.commands`.

Every command lives in a module of :mod:`redline.commands` that exposes ``register(app)``; this
module only creates the app (whose :class:`~redline.commands._common.CommandGroup` is the one
error boundary) and lists the modules, in the order ``redline --help`` lists their commands.

Start-up: the modules are imported on demand. ``redline eval …`` imports only
:mod:`redline.commands.evals` (:data:`COMMAND_MODULES` says which module registers which
command); ``redline --help`` and a command missing from that table import them all, so a new
module only needs its line in :data:`MODULES` to be found.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import typer

from redline.commands._common import CommandGroup

#: The command modules (in :mod:`redline.commands`), in the order ``redline --help`` lists them.
MODULES: tuple[str, ...] = ("evals", "redteam", "compare", "gate", "clusters", "judging", "calibration", "policy",
                            "data", "annotate", "plugins", "requests")

#: Which module registers each top-level command, so that running one imports only its module.
COMMAND_MODULES: dict[str, str] = {
    "eval": "evals", "runs": "evals", "suites": "evals", "policies": "evals", "redteam": "redteam",
    "compare": "compare", "gate": "gate", "plan": "gate", "review": "gate", "clusters": "clusters",
    "judge": "judging", "judges": "judging", "rejudge": "judging", "calibrate": "calibration",
    "policy": "policy", "data": "data", "sql": "data", "annotate": "annotate", "serve": "annotate",
    "plugins": "plugins", "requests": "requests", "feedback": "requests",
}


def _group(modules: tuple[str, ...]) -> Any:
    """The click group holding the commands that ``modules`` register."""
    sub = typer.Typer(cls=CommandGroup, add_completion=False)
    for name in modules:
        import_module(f"redline.commands.{name}").register(sub)
    return typer.main.get_group(sub)


class LazyCommandGroup(CommandGroup):
    """The root group: it imports a command's module when the command is looked up."""

    def _take(self, group: Any) -> None:
        for name, command in group.commands.items():
            self.commands.setdefault(name, command)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, its module imported (all modules, for an unlisted name).

        Args:
            ctx: The click context of this group.
            cmd_name: The command's name.

        Returns:
            The click command, or None when no module registers it.
        """
        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            self._take(_group((module,) if module else MODULES))
            if cmd_name not in self.commands and module:  # the table is out of date: look everywhere
                self._take(_group(MODULES))
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command's name, in the order ``redline --help`` shows them (imports every module).

        Args:
            ctx: The click context of this group.

        Returns:
            The names.
        """
        full = _group(MODULES)
        self._take(full)
        return list(full.commands)


app = typer.Typer(
    name="redline",
    help="Policy-driven safety evaluation and safety-data operations for AI models.",
    cls=LazyCommandGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Policy-driven safety evaluation and safety-data operations for AI models."""


def main() -> None:  # pragma: no cover
    """Run the ``redline`` command."""
    from redline.learn.cluster_worker import enable

    enable()  # a one-shot process: the report's clusters are made in a child (learn/cluster_worker.py)
    try:
        app(prog_name="redline")
    finally:
        # The objects left are freed when the process ends: without this the interpreter's
        # exit-time garbage collection walks them all, ~0.3 s after a 1,000-sample `redline eval`
        # (bench_eval_throughput.py: 0.29-0.48 s from the command's end to the process's, 0.02-0.05
        # s with it). Objects still alive are not collected; files are closed where they are used.
        import gc

        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
