"""The local executor: today's asyncio runner in this process (the default)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from redline.plugins import plugin

if TYPE_CHECKING:
    from redline.evals.runner import Runner
    from redline.progress import ProgressBar


class LocalExecutor:
    """Runs the samples in this process with bounded asyncio concurrency (``--concurrency``)."""

    name = "local"

    def run(self, runner: Runner, done: set[str], progress: ProgressBar) -> None:
        """Run the pending samples with the runner's own asyncio loop.

        Args:
            runner: The prepared driver.
            done: Sample ids already written.
            progress: The progress bar.
        """
        asyncio.run(runner._run_async(done, progress))


@plugin("executor", "local")
def local() -> LocalExecutor:
    """This process, asyncio with bounded concurrency (the default)."""
    return LocalExecutor()
