"""What the command modules share: the one error boundary, JSON output, Ctrl-C handling and the
options that several commands take."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from redline.errors import InputError, Problem, RedlineError

# -- options used by several commands (one definition each) ------------------------------------

DbOption = Annotated[str | None, typer.Option(help="Workspace database URL (or REDLINE_DB).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
JsonSummaryOption = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
JsonReportOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
ProgressOption = Annotated[bool, typer.Option(help="Show a progress bar.")]
NoVerdictCacheOption = Annotated[bool, typer.Option("--no-cache", help="Do not use the judge-verdict cache.")]
JudgeNameOption = Annotated[str, typer.Option("--judge", help="Judge name (see `redline judges`).")]


# -- the error boundary --------------------------------------------------------------------------


def fail(e: RedlineError) -> NoReturn:
    """Print ``error: …`` on stderr and exit with the error's code.

    The message is user text and is never parsed as rich markup.

    Args:
        e: The error to report.

    Raises:
        typer.Exit: Always, with ``e.exit_code``.
    """
    from rich.console import Console
    from rich.text import Text

    msg = Text("error: ", style="bold red")
    msg.append(str(e))
    Console(stderr=True, highlight=False, soft_wrap=True).print(msg, emoji=False)
    raise typer.Exit(e.exit_code)


class CommandGroup(TyperGroup):
    """The ``redline`` command group, and the one error boundary of every command below it.

    A :class:`~redline.errors.RedlineError` (or subclass) that escapes a command is printed as
    ``error: …`` on stderr and ends the command with the error's exit code; commands raise, they
    do not catch.
    """

    def invoke(self, ctx: Any) -> Any:
        """Run the chosen command, turning a RedlineError into its message and exit code.

        Args:
            ctx: The click context of this group.

        Returns:
            What the command returned.
        """
        try:
            return super().invoke(ctx)
        except RedlineError as e:
            fail(e)


def cannot_write(path: Path | None, e: OSError, fix: str = "choose a writable path") -> InputError:
    """The InputError (exit 2) for an output file that could not be written.

    Args:
        path: The file being written (None: named from the OSError).
        e: The error writing it raised.
        fix: What the user can do about it.

    Returns:
        The error to raise.
    """
    where = str(path) if path is not None else (e.filename or "output")
    return InputError(f"cannot write {path}", [Problem(where, e.strerror or str(e), fix)])


@contextmanager
def writing(path: Path | None, fix: str = "choose a path in a writable folder (--out)") -> Iterator[None]:
    """Turn an OSError raised inside the block into :func:`cannot_write` naming ``path``.

    Args:
        path: The output the block writes; None leaves an OSError as it is.
        fix: What the user can do about it.

    Yields:
        Nothing.

    Raises:
        InputError: When the block raised an OSError and ``path`` is given.
    """
    try:
        yield
    except OSError as e:
        if path is None:
            raise
        raise cannot_write(path, e, fix) from None


@contextmanager
def exit_on_interrupt(message: str) -> Iterator[None]:
    """Turn Ctrl-C inside the block into ``message`` on stderr and exit code 130.

    Args:
        message: One line saying what was (not) done and how to go on.

    Yields:
        Nothing.

    Raises:
        typer.Exit: With code 130, after a KeyboardInterrupt.
    """
    try:
        yield
    except KeyboardInterrupt:
        sys.stderr.write(message + "\n")
        raise typer.Exit(130) from None


def print_json(obj: Any) -> None:
    """Write ``obj`` to stdout as indented JSON (non-JSON values as their ``str``).

    Args:
        obj: The data to print.
    """
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")
