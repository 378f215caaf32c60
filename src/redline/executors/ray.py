"""The Ray executor: the suite in shards over a pool of Ray actors (``--executor ray``).

- **Driver.** This process (the normal :class:`~redline.evals.runner.Runner`) keeps the run
  directory: it reads what is done, splits the pending samples into shards of ``shard_size``,
  and appends each returned record to ``results.jsonl`` as its shard comes back (through
  :func:`redline.executors.base.write_record`, which never writes an id twice). The progress
  bar, summary and report are the local run's.
- **Workers.** ``workers`` Ray actors, each building the target and the judges **once** (a
  local model or a neural judge is loaded once per actor, not per sample), then running a shard
  with the runner's own per-sample code (ask with retries, judge, build the record) at
  ``--concurrency`` requests in flight per actor. Two shards per actor are in flight so that an
  actor never waits for the driver.
- **Lost work.** A shard whose actor died (killed, out of memory, node lost) is asked again on a
  fresh actor, minus the samples already written; a record that arrives twice is dropped and
  counted. A killed driver takes its actors with it; re-running the same command resumes from
  ``results.jsonl`` like a local run.
- **Not shared with workers:** the response cache and the judge-verdict cache (they live in
  the driver's workspace; a worker on another machine cannot reach them), so a resumed Ray run
  asks the target again for samples that had no record yet.

Every node of the cluster needs Redline (the same version) installed; the policy is shipped
from the driver, the suite's samples travel in the shards, and the target's options (an API key
included) travel to the actors through Ray's object store, never through logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redline.errors import InputError, Problem
from redline.plugins import plugin

if TYPE_CHECKING:
    from redline.data.schema import Sample
    from redline.evals.runner import EvalConfig, Runner
    from redline.progress import ProgressBar

INSTALL_HINT = "pip install redline[ray]"


def import_ray() -> Any:
    """Import Ray, or fail with the install command.

    Returns:
        The ``ray`` module.

    Raises:
        InputError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray, which is not installed", [Problem(
            "--executor ray", "the 'ray' package cannot be imported",
            f"install it with `{INSTALL_HINT}` (on every machine of the cluster), or drop "
            "--executor ray to run locally")]) from None
    return ray


class _Lines:
    """A sink for the runner's per-sample code that keeps the lines instead of writing them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        pass


class ShardWorker:
    """One Ray actor's state: the target and judges, built once, and the per-sample code."""

    def __init__(self, cfg: EvalConfig, policy: Any, detect_all_languages: bool, suite_path: str):
        """Build the target and the judges (once per actor).

        Args:
            cfg: The run's configuration (as the driver has it).
            policy: The loaded policy (shipped from the driver).
            detect_all_languages: Whether every response's language is recorded.
            suite_path: The suite file (image parts' relative paths resolve beside it).
        """
        from redline.evals.metrics import MetricsAggregator
        from redline.evals.runner import Runner, build_judges
        from redline.targets import create_target

        r = Runner(cfg, None)  # type: ignore[arg-type]  # no workspace: workers write nothing
        r.policy = policy
        r.policy_hash = policy.content_hash
        r.judges = build_judges(cfg.judges, cfg.judge_options, policy, cfg.concurrency)
        r.detect_all_languages = detect_all_languages
        r._setup_judging()
        opts = dict(cfg.target_options)
        opts.setdefault("concurrency", cfg.concurrency)
        r.target = create_target(cfg.target, **opts)
        r.cache = None
        r.agg = MetricsAggregator()  # type: ignore[assignment]  # the driver samples failures, not workers
        r.new_requests = 0
        r.retries = 0
        self.runner = r
        self.suite_path = suite_path
        self.conc = max(1, cfg.concurrency)
        if r.target.max_concurrency:
            self.conc = min(self.conc, r.target.max_concurrency)

    def pid(self) -> int:
        """This actor's process id (tests kill it)."""
        return os.getpid()

    async def run_shard(self, samples: list[Sample]) -> dict[str, Any]:
        """Run one shard: each sample asked, judged and turned into its result line.

        Args:
            samples: The shard's samples.

        Returns:
            ``{"lines": [...], "new_requests": n, "retries": n, "pid": pid}``.
        """
        from redline.data.images import image_access

        r = self.runner
        sink = _Lines()
        new0, retries0 = r.new_requests, r.retries
        it = iter(samples)

        async def worker() -> None:
            for sample in it:
                await r._process(sample, sink)

        from redline.targets import FatalTargetError

        with image_access(self.suite_path, r.cfg.image_roots):
            try:
                async with asyncio.TaskGroup() as tg:
                    for _ in range(min(self.conc, len(samples))):
                        tg.create_task(worker())
            except BaseExceptionGroup as eg:  # the first real error (a fatal one first), as the runner does
                first = (eg.subgroup(FatalTargetError) or eg).exceptions[0]
                while isinstance(first, BaseExceptionGroup):
                    first = first.exceptions[0]
                raise first from None
        return {"lines": sink.lines, "new_requests": r.new_requests - new0,
                "retries": r.retries - retries0, "pid": os.getpid()}


def _shards(samples: Iterator[Sample], size: int) -> Iterator[list[Sample]]:
    """The samples in lists of ``size`` (the last one shorter)."""
    shard: list[Sample] = []
    for s in samples:
        shard.append(s)
        if len(shard) >= size:
            yield shard
            shard = []
    if shard:
        yield shard


class RayExecutor:
    """Runs the pending samples in shards on a pool of Ray actors; the driver writes the results."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 0, shard_size: int = 64,
                 cpus_per_worker: float = 1.0, max_worker_restarts: int = 16):
        """Keep the settings (Ray is imported to check that it is installed).

        Args:
            address: The cluster (``HOST:PORT`` or ``auto``); None starts a local one (or joins
                ``RAY_ADDRESS``), or uses the one this process is connected to.
            workers: Actors in the pool; 0 means one per ``cpus_per_worker`` CPUs of the cluster.
            shard_size: Samples per shard.
            cpus_per_worker: CPUs each actor reserves.
            max_worker_restarts: Actors that may die before the run gives up.
        """
        import_ray()
        self.address = address
        self.workers = workers
        self.shard_size = shard_size
        self.cpus_per_worker = cpus_per_worker
        self.max_worker_restarts = max_worker_restarts
        self.stats: dict[str, Any] = {}

    def _connect(self, ray: Any) -> bool:
        """Connect to (or start) the cluster; True when this call connected (so it disconnects)."""
        if ray.is_initialized():
            return False
        address = self.address or ""
        host, colon, port = address.rpartition(":")
        if colon and port.isdigit() and "://" not in address:  # fail fast: Ray retries for a minute
            import socket

            try:
                socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
            except OSError as e:
                raise InputError("cannot reach the Ray cluster", [Problem(
                    "--ray-address", f"{self.address}: {e}",
                    "start it (`ray start --head`) and pass its HOST:PORT, or leave --ray-address "
                    "out to start a local one")]) from None
        # no address: RAY_ADDRESS, else a new local cluster ("local"), never the one a stale
        # /tmp/ray/ray_current_cluster names (Ray's own default, which hangs when that one is dead)
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError("cannot reach the Ray cluster", [Problem(
                "--ray-address", f"{self.address or 'a local cluster'}: {e}",
                "start it (`ray start --head`) and pass its HOST:PORT, or leave --ray-address "
                "out to start a local one")]) from None
        return True

    def run(self, runner: Runner, done: set[str], progress: ProgressBar) -> None:
        """Run the pending samples on the cluster and append their records (see the module doc).

        Args:
            runner: The prepared driver.
            done: Sample ids already written; grows as records are written.
            progress: Advanced once per record written.

        Raises:
            FatalTargetError: A worker's target (or judge) can answer no request.
            RuntimeError: More actors died than ``max_worker_restarts``, or a worker failed.
        """
        # Ray prints its workers' deaths ("(raylet) A worker died …") to stdout: to stderr with
        # them, so that stdout stays the command's own (`--json` output stays JSON)
        with contextlib.redirect_stdout(sys.stderr):
            self._run(runner, done, progress)

    def _run(self, runner: Runner, done: set[str], progress: ProgressBar) -> None:
        from redline.executors.base import write_record
        from redline.files import write_atomic
        from redline.targets import FatalTargetError

        ray = import_ray()
        t0 = time.perf_counter()
        connected_here = self._connect(ray)
        if not getattr(runner, "_recorded", True):  # `redline runs` shows it running from now on
            runner._record_start_now()
        actor_cls = ray.remote(ShardWorker).options(num_cpus=self.cpus_per_worker, max_concurrency=1,
                                                    max_restarts=0)
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // max(self.cpus_per_worker, 1e-3)))
        cfg_ref = ray.put(runner.cfg)
        policy_ref = ray.put(runner.policy)
        make = lambda: actor_cls.remote(cfg_ref, policy_ref, runner.detect_all_languages,  # noqa: E731
                                         str(runner.suite_path))
        actors = [make() for _ in range(n)]
        stats: dict[str, Any] = {"workers": n, "shard_size": self.shard_size, "shards": 0, "shards_resent": 0,
                 "workers_lost": 0, "duplicates_dropped": 0, "records": 0}
        pending = _shards(runner._samples(done), self.shard_size)
        again: deque[list[Sample]] = deque()
        inflight: dict[Any, tuple[int, Any, list[Sample]]] = {}

        def submit(i: int) -> None:
            while again:
                shard = [s for s in again.popleft() if s.id not in done]
                if shard:
                    break
            else:
                shard = next(pending, [])
                if not shard:
                    return
            stats["shards"] += 1
            inflight[actors[i].run_shard.remote(shard)] = (i, actors[i], shard)

        try:
            with open(runner.out_dir / "results.jsonl", "a", encoding="utf-8") as sink:
                for _ in range(2):  # two shards per actor in flight
                    for i in range(n):
                        submit(i)
                while inflight:
                    ready, _ = ray.wait(list(inflight), num_returns=1)
                    i, actor, shard = inflight.pop(ready[0])
                    try:
                        out = ray.get(ready[0])
                    except ray.exceptions.RayActorError:
                        stats["shards_resent"] += 1
                        if actors[i] is actor:  # its other shard fails too: replace it once
                            stats["workers_lost"] += 1
                            if stats["workers_lost"] > self.max_worker_restarts:
                                raise RuntimeError(
                                    f"{stats['workers_lost']} Ray workers died (more than "
                                    f"max_worker_restarts={self.max_worker_restarts}); results so "
                                    "far are kept: re-run the same command to resume") from None
                            actors[i] = make()
                        again.append(shard)
                        submit(i)
                        continue
                    except ray.exceptions.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        if isinstance(cause, FatalTargetError):
                            raise FatalTargetError(str(cause)) from None
                        if isinstance(cause, InputError):
                            raise cause from None
                        raise RuntimeError(f"a Ray worker failed: {cause or e}") from None
                    runner.new_requests += out["new_requests"]
                    runner.retries += out["retries"]
                    for line in out["lines"]:
                        if write_record(runner, sink, line, done, progress):
                            stats["records"] += 1
                        else:
                            stats["duplicates_dropped"] += 1
                    submit(i)
        finally:
            for a in actors:
                try:
                    ray.kill(a)
                except Exception:  # already dead
                    pass
            if connected_here:
                ray.shutdown()
            stats["seconds"] = round(time.perf_counter() - t0, 3)
            self.stats = stats
            try:
                write_atomic(runner.out_dir / "executor.json", json.dumps({"executor": "ray", **stats}, indent=2))
            except OSError:
                pass


@plugin("executor", "ray")
def ray_executor(address: str | None = None, workers: int = 0, shard_size: int = 64,
                 cpus_per_worker: float = 1.0, max_worker_restarts: int = 16) -> RayExecutor:
    """A Ray cluster: shards over a pool of actors (`pip install redline[ray]`)."""
    problems = [Problem(f"--executor-option {k}={v}", "must be at least 1" if k != "workers" else
                        "must be 0 (one per CPU) or more", f"e.g. {k}={d}")
                for k, v, lo, d in (("workers", workers, 0, 0), ("shard_size", shard_size, 1, 64))
                if v < lo]
    if cpus_per_worker < 0:
        problems.append(Problem(f"--executor-option cpus_per_worker={cpus_per_worker}",
                                "must be 0 or more", "e.g. cpus_per_worker=1"))
    if problems:
        raise InputError("bad ray executor option", problems)
    return RayExecutor(address, workers, shard_size, cpus_per_worker, max_worker_restarts)

