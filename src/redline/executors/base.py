"""The executor contract: what an executor is given and what it must guarantee.

An executor's :meth:`Executor.run` receives the prepared driver (a
:class:`~redline.evals.runner.Runner` whose run directory is claimed and whose ``results.jsonl``
has been read), the ids already done, and the progress bar. It must hand every pending sample
to the per-sample work exactly once *as far as results.jsonl is concerned*: a record is written
only by the driver, through :func:`write_record`, which drops (and counts) a second record for an
id already written. Work lost with a dead worker is simply asked again; nothing written is ever
re-sent. A killed driver leaves ``results.jsonl`` as the local runner does (whole lines, at most
one torn last line), so re-running the same command resumes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from redline.plugins import create, lookup

if TYPE_CHECKING:
    from redline.evals.runner import Runner
    from redline.progress import ProgressBar


class Executor(Protocol):
    """Runs a prepared evaluation's pending samples somewhere and streams their records back."""

    name: str

    def run(self, runner: Runner, done: set[str], progress: ProgressBar) -> None:
        """Process every sample of ``runner`` not in ``done``; ``done`` grows as records are written.

        Args:
            runner: The prepared driver (target, judges, policy, ``out_dir``, ``agg``).
            done: Sample ids whose record is in ``results.jsonl``; updated in place.
            progress: Advanced once per record written.
        """
        ...


def create_executor(spec: str, options: dict[str, Any] | None = None) -> Executor:
    """Build executor ``spec`` (``local``, ``ray``) with its options (checked, typed).

    Args:
        spec: The executor's name (``--executor``).
        options: Its options (``--executor-option KEY=VALUE``, ``--ray-address``).

    Returns:
        The executor.

    Raises:
        InputError: An unknown executor or option, or one whose package is not installed.
    """
    executor: Executor = create("executor", spec, options or {}, where="--executor-option {key}={value}")
    return executor


def check_executor(spec: str, options: dict[str, Any] | None = None) -> None:
    """Fail early (before a run directory is claimed) on a bad ``--executor`` or its options.

    Args:
        spec: The executor's name.
        options: Its options.

    Raises:
        InputError: As :func:`create_executor`.
    """
    lookup("executor", spec)
    create_executor(spec, options)


def write_record(runner: Runner, sink: Any, line: str, done: set[str], progress: ProgressBar) -> bool:
    """Append one result line to ``results.jsonl`` unless its sample is already written.

    Args:
        runner: The driver (its metrics aggregator counts the record).
        sink: ``results.jsonl``, open for appending.
        line: The record as one JSONL line (ending in a newline).
        done: Ids already written; the record's id is added.
        progress: Advanced by one for a written record.

    Returns:
        True when written, False for a duplicate (already written: dropped).
    """
    rec = json.loads(line)
    sid = rec["sample"]["id"]
    if sid in done:
        return False
    sink.write(line)
    sink.flush()
    done.add(sid)
    runner.agg.add(rec)
    progress.advance()
    return True
