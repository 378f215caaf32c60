"""The one progress display of long-running library work (``redline eval``, ``judge``, ``calibrate``).

On a terminal it is a ``rich`` bar on stderr; without one (CI logs, pipes) it is, if asked for,
a plain line on stderr every few seconds; disabled, it does nothing. ``rich`` is imported only
when a bar is shown (start-up rule).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Literal

__all__ = ["ProgressBar"]


class ProgressBar:
    """A progress display for ``total`` units of work; a context manager.

    Args:
        enabled: False makes every method a no-op.
        total: Units of work in all (items, or bytes with ``unit="bytes"``).
        label: What is being done (the bar's description, the log line's prefix).
        done: Units already done (a resumed run).
        unit: ``"items"`` shows done/total, items per second and the ETA; ``"bytes"`` shows sizes
            and a transfer speed.
        transient: Remove the bar from the terminal when it stops.
        log_every: Without a terminal, write a plain progress line to stderr every this many
            seconds; None writes nothing.
    """

    def __init__(self, enabled: bool, total: int, label: str, *, done: int = 0,
                 unit: Literal["items", "bytes"] = "items", transient: bool = False,
                 log_every: float | None = 10.0):
        self._p: Any = None
        self._log = False
        if not enabled:
            return
        if not sys.stderr.isatty():
            if log_every is not None:
                self._log = True
                self._total, self._done, self._label = total, done, label
                self._start_done = done
                self._t0 = self._last = time.monotonic()
                self._every = log_every
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        class _Rate(TextColumn):
            def render(self, task):
                from rich.text import Text

                speed = task.finished_speed or task.speed
                return Text(f"{speed:.1f}/s" if speed else "–/s")

        counts: list[ProgressColumn] = ([DownloadColumn(), TransferSpeedColumn()] if unit == "bytes"
                                        else [MofNCompleteColumn(), TaskProgressColumn(), _Rate("")])
        self._p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), *counts,
                           TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                           console=Console(stderr=True), refresh_per_second=4, transient=transient)
        self._task = self._p.add_task(label, total=total, completed=done)

    def __enter__(self) -> ProgressBar:
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.stop()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done (and, without a terminal, log when a line is due).

        Args:
            n: Units just finished.
        """
        if self._p is not None:
            self._p.advance(self._task, n)
        elif self._log:
            self._done += n
            now = time.monotonic()
            if now - self._last >= self._every:
                self._last = now
                rate = (self._done - self._start_done) / max(now - self._t0, 1e-9)
                eta = (self._total - self._done) / rate if rate > 0 else float("inf")
                sys.stderr.write(f"{self._label}: {self._done}/{self._total} "
                                 f"({100 * self._done / max(self._total, 1):.0f}%) {rate:.1f}/s "
                                 f"eta {eta:.0f}s\n")
                sys.stderr.flush()
