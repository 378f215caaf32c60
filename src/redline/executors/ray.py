"""The Ray executor: work in shards over a pool of Ray actors (``--executor ray``).

One pool loop (:meth:`RayExecutor.run_units`) serves ``eval``, ``rejudge``, ``judge`` and
``redteam``; each command says what an actor builds once and what the driver does with what
comes back.

- **Driver.** This process keeps the output: for the run commands (``eval``, ``rejudge``,
  ``redteam``) the normal :class:`~redline.evals.runner.Runner` reads what is done, the pending
  samples are split into shards of ``shard_size``, and each returned record is appended to
  ``results.jsonl`` as its shard comes back (through
  :func:`redline.executors.base.write_record`, which never writes an id twice). The progress
  bar, summary and report are the local run's. ``redline judge`` keeps its input order: shards
  are numbered and written in order (see :func:`redline.judges.batch.judge_file`).
- **Workers.** ``workers`` Ray actors, each building its work **once** (the target and the
  judges; a local model or a neural judge is loaded once per actor, not per sample), then
  running shards with the runner's own per-sample code at ``--concurrency`` requests in flight
  per actor. Two shards per actor are in flight so that an actor never waits for the driver.
  Red-team attacker runs send one goal per shard, ``--concurrency`` goals at once per actor.
- **Lost work.** A shard whose actor died (killed, out of memory, node lost) is asked again on a
  fresh actor, minus the samples already written; a record that arrives twice is dropped and
  counted. A killed driver takes its actors with it; re-running the same command resumes from
  ``results.jsonl`` like a local run.
- **Caches, on the driver.** The response cache and the judge-verdict cache live in the
  driver's workspace (a worker on another machine cannot reach them). Before a shard is sent,
  the driver looks up each sample's cached response (and the cached verdicts of responses it
  already knows: a cached response, a rejudged run's responses, ``redline judge``'s input) and
  ships them with the shard, so the actor neither asks the target nor the judge for them; each
  new response and verdict an actor returns is stored in the caches before its record is
  written. A resumed or repeated Ray run therefore asks the target only for samples never
  answered, as a local run does.

Every node of the cluster needs Redline (the same version) installed; the policy is shipped
from the driver, the samples travel in the shards, and the target's options (an API key
included) travel to the actors through Ray's object store, never through logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import InputError, Problem
from redline.executors.shards import ShippedResponses, ShippedVerdicts, drain, shards, verdicts_for
from redline.plugins import plugin

if TYPE_CHECKING:
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


def worker_runner(r: Runner, policy: Any, detect_all_languages: bool, caches: tuple[bool, bool],
                  suite_path: str, target: Any = None) -> Runner:
    """Set up a runner built on an actor: judges and target built once, no workspace, stand-in caches.

    Args:
        r: The runner object (its ``cfg`` set; no workspace: workers write nothing).
        policy: The loaded policy (shipped from the driver).
        detect_all_languages: Whether every response's language is recorded.
        caches: Whether the driver uses the response cache and the verdict cache.
        suite_path: The suite file (image parts' relative paths resolve beside it).
        target: The target (None: built from ``r.cfg``).

    Returns:
        ``r``, ready to run ``_process``.
    """
    from redline.evals.metrics import MetricsAggregator
    from redline.evals.runner import build_judges
    from redline.targets import create_target

    cfg = r.cfg
    r.suite_path = Path(suite_path)
    r.policy = policy
    r.policy_hash = policy.content_hash
    r.judges = build_judges(cfg.judges, cfg.judge_options, policy, cfg.concurrency)
    r.detect_all_languages = detect_all_languages
    r._setup_judging()
    if target is None:
        opts = dict(cfg.target_options)
        opts.setdefault("concurrency", cfg.concurrency)
        target = create_target(cfg.target, **opts)
    r.target = target
    r.cache = ShippedResponses() if caches[0] else None  # type: ignore[assignment]
    if caches[1]:
        from redline.judges.cache import with_cache

        r.verdict_cache = ShippedVerdicts()  # type: ignore[assignment]
        r.judges = [with_cache(j, r.verdict_cache) for j in r.judges]
    r.agg = MetricsAggregator()  # type: ignore[assignment]  # the driver samples failures, not workers
    r.new_requests = 0
    r.retries = 0
    return r


def eval_worker(cfg: EvalConfig, policy: Any, detect_all_languages: bool,
                caches: tuple[bool, bool], suite_path: str) -> Runner:
    """The runner an actor builds for ``redline eval`` (and converter-only red-team runs).

    Args:
        cfg: The run's configuration (as the driver has it).
        policy: The loaded policy.
        detect_all_languages: Whether every response's language is recorded.
        caches: Whether the driver uses the response and verdict caches.
        suite_path: The suite file.

    Returns:
        The runner.
    """
    from redline.evals.runner import Runner

    return worker_runner(Runner(cfg, None), policy, detect_all_languages, caches, suite_path)  # type: ignore[arg-type]


@dataclass
class RayWork:
    """What a runner's actors build, and how its work is cut (a runner's ``ray_work()``).

    Attributes:
        make: A module-level function building the actor's runner from ``args``.
        args: Its arguments (shipped once through Ray's object store).
        unit_size: Samples per shard (None: the executor's ``shard_size``).
        per_actor: Shards running at once on one actor.
        context: Entered by the driver around the run (e.g. the attack journal's file).
        ship: Extra data shipped with a sample (e.g. its journalled attack steps), or None.
    """

    make: Callable[..., Any]
    args: tuple[Any, ...]
    unit_size: int | None = None
    per_actor: int = 1
    context: Any = field(default_factory=contextlib.nullcontext)
    ship: Callable[[Any], Any] | None = None


def default_ray_work(runner: Runner) -> RayWork:
    """The :class:`RayWork` of a plain ``redline eval`` runner.

    Args:
        runner: The prepared driver.

    Returns:
        Its work description.
    """
    return RayWork(eval_worker, (runner.cfg, runner.policy, runner.detect_all_languages, driver_caches(runner),
                                 str(runner.suite_path)))


def driver_caches(runner: Runner) -> tuple[bool, bool]:
    """Whether the driver uses the response cache and the verdict cache (actors mirror it).

    Args:
        runner: The prepared driver.

    Returns:
        ``(response cache, verdict cache)``.
    """
    return runner.cache is not None, getattr(runner, "verdict_cache", None) is not None


def item_id(item: Any) -> str:
    """The sample id of a shard item: a :class:`Sample`, or a result record (``rejudge``).

    Args:
        item: The item.

    Returns:
        Its id.
    """
    return str(item["sample"]["id"]) if isinstance(item, dict) else str(item.id)


class RunnerWork:
    """An actor's work for the run commands: a runner built once, then shards of samples."""

    def __init__(self, make: Callable[..., Any], *args: Any) -> None:
        """Build the runner (once per actor).

        Args:
            make: Builds the runner (:func:`eval_worker`, or a subclass's own).
            *args: Its arguments.
        """
        self.runner = make(*args)
        self.conc = max(1, self.runner.cfg.concurrency)
        if self.runner.target.max_concurrency:
            self.conc = min(self.conc, self.runner.target.max_concurrency)

    async def run_shard(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one shard: each item asked (unless its response was shipped), judged and recorded.

        Args:
            payload: ``{"items", "responses", "verdicts", "extra"}`` (see :meth:`RayExecutor.run`).

        Returns:
            ``{"lines", "responses", "verdicts", "steps", "counters", "pid"}``; ``counters`` are
            this actor's totals so far.
        """
        from redline.data.images import image_access
        from redline.targets import FatalTargetError

        r = self.runner
        items = payload["items"]
        if r.cache is not None:
            r.cache.shipped.update(payload.get("responses") or {})
        vc = getattr(r, "verdict_cache", None)
        if vc is not None:
            vc.shipped.update(payload.get("verdicts") or {})
        journal = getattr(r, "journal", None)
        if journal is not None:
            journal.update(payload.get("extra") or {})
        sink = _Lines()
        it = iter(items)

        async def worker() -> None:
            for item in it:
                await r._process(item, sink)

        try:
            with image_access(r.suite_path, r.cfg.image_roots):
                async with asyncio.TaskGroup() as tg:
                    for _ in range(min(self.conc, len(items))):
                        tg.create_task(worker())
        except BaseExceptionGroup as eg:  # the first real error (a fatal one first), as the runner does
            first = (eg.subgroup(FatalTargetError) or eg).exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        finally:  # what this shard shipped is not kept for the next one
            for store, shipped in ((r.cache, payload.get("responses")), (vc, payload.get("verdicts"))):
                for k in shipped or {}:
                    store.shipped.pop(k, None)  # type: ignore[union-attr]  # shipped only with a store
            for k in payload.get("extra") or {}:
                journal.pop(k, None)  # type: ignore[union-attr]  # shipped only to attack runners
        steps = getattr(r, "steps_out", None)
        return {"lines": sink.lines, "responses": drain(r.cache), "verdicts": drain(vc),
                "steps": [steps.pop(item_id(i), []) for i in items] if steps is not None else [],
                "counters": {"new_requests": r.new_requests, "retries": r.retries,
                             "replayed_steps": getattr(r, "replayed_steps", 0)},
                "pid": os.getpid()}


class ShardWorker:
    """One Ray actor: its work (:class:`RunnerWork`, or ``redline judge``'s) built once, then shards."""

    def __init__(self, build: Callable[..., Any], *args: Any) -> None:
        """Build the work object (once per actor).

        Args:
            build: The work's class or factory (module level, so Ray ships it by reference).
            *args: Its arguments.
        """
        self.work = build(*args)

    def pid(self) -> int:
        """This actor's process id (tests kill it)."""
        return os.getpid()

    async def run_shard(self, payload: Any) -> Any:
        """Run one shard with the work object.

        Args:
            payload: What the driver built for the shard.

        Returns:
            What the work returns for it.
        """
        return await self.work.run_shard(payload)


class RayExecutor:
    """Runs work in shards on a pool of Ray actors; the driver writes the output."""

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
        """Run a run command's pending samples on the cluster and append their records.

        The runner's ``ray_work()`` (when it has one; else :func:`default_ray_work`) says what
        an actor builds. Per shard the driver ships the cached responses and verdicts it has
        (see the module doc); per returned shard it stores the new responses and verdicts in
        its caches, journals returned attack steps (``runner.write_step``), then writes the
        records.

        Args:
            runner: The prepared driver.
            done: Sample ids already written; grows as records are written.
            progress: Advanced once per record written.

        Raises:
            FatalTargetError: A worker's target (or judge) can answer no request.
            RuntimeError: More actors died than ``max_worker_restarts``, or a worker failed.
        """
        from redline.evals.cache import cache_key
        from redline.executors.base import write_record

        def connected() -> None:
            if not getattr(runner, "_recorded", True):  # `redline runs` shows it running from now on
                runner._record_start_now()

        work = runner.ray_work() if hasattr(runner, "ray_work") else default_ray_work(runner)
        cache = runner.cache
        vcache = getattr(runner, "verdict_cache", None)
        ident = runner.target.cache_identity
        stats = {"records": 0, "duplicates_dropped": 0}

        def payload(items: list[Any]) -> dict[str, Any]:
            from redline.data.schema import Sample

            responses: dict[str, Any] = {}
            verdicts: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for item in items:
                sample = item if isinstance(item, Sample) else None
                response: str | None = None
                if isinstance(item, dict):  # a result record to rejudge: its response travels in it
                    response = item.get("response")
                    if vcache is not None and response is not None:
                        sample = Sample.model_validate(item["sample"])
                elif cache is not None:
                    key = cache_key(ident, runner.cfg.params, item.messages)
                    gen = cache.get(key)
                    if gen is not None:
                        responses[key] = gen
                        response = gen.text
                if sample is not None and response is not None:
                    verdicts.update(verdicts_for(runner.judges, vcache, sample, sample.judge_prompt, response))
                if work.ship is not None and (x := work.ship(item)):
                    extra[item_id(item)] = x
            return {"items": items, "responses": responses, "verdicts": verdicts, "extra": extra}

        def on_result(seq: int, items: list[Any], out: dict[str, Any], gained: dict[str, int]) -> None:
            runner.new_requests += gained.get("new_requests", 0)
            runner.retries += gained.get("retries", 0)
            if hasattr(runner, "replayed_steps"):
                runner.replayed_steps += gained.get("replayed_steps", 0)
            if cache is not None:  # committed to the cache before the record is written, as locally
                for key, identity, gen in out["responses"]:
                    cache.put(key, identity, gen)
            if vcache is not None:
                for key, j in out["verdicts"]:
                    vcache.put(key, j)
            for item, steps in zip(items, out["steps"], strict=False):
                if item_id(item) in done:
                    continue  # a goal written already (a resent shard): its steps are journalled
                for step in steps:
                    runner.write_step(step)  # type: ignore[attr-defined]
            for line in out["lines"]:
                if write_record(runner, sink, line, done, progress):
                    stats["records"] += 1
                else:
                    stats["duplicates_dropped"] += 1

        with work.context, open(runner.out_dir / "results.jsonl", "a", encoding="utf-8") as sink:
            self.run_units(RunnerWork, (work.make, *work.args),
                           shards(runner._samples(done), work.unit_size or self.shard_size),
                           payload=payload, on_result=on_result, is_done=lambda x: item_id(x) in done,
                           per_actor=work.per_actor, out_dir=runner.out_dir, on_connect=connected,
                           extra_stats=stats)

    def run_units(self, build: Callable[..., Any], args: tuple[Any, ...], units: Iterator[list[Any]], *,
                  payload: Callable[[list[Any]], Any], on_result: Callable[[int, list[Any], Any, dict[str, int]], None],
                  is_done: Callable[[Any], bool] | None = None, hold: Callable[[], bool] | None = None,
                  per_actor: int = 1, out_dir: Path | None = None, on_connect: Callable[[], None] | None = None,
                  extra_stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """The pool loop every command shares: shards to actors, results back, lost shards re-sent.

        Args:
            build: What each actor builds once (``build(*args)``): it has ``run_shard(payload)``.
            args: Its arguments (put in Ray's object store once).
            units: The shards (lists of items), drawn lazily.
            payload: Builds what is sent for a shard (called at each send, re-sends included).
            on_result: Called in the driver with ``(shard number, items, result, counters gained)``
                for each shard that came back; ``result["counters"]``, an actor's running totals,
                become per-shard gains.
            is_done: Whether an item of a re-sent shard is done already (it is not sent again).
            hold: While it returns True no new shard is drawn (re-sends still go out).
            per_actor: Shards running at once on one actor (one more is queued).
            out_dir: Where ``executor.json`` (the pool's counts) is written, if anywhere.
            on_connect: Called once connected, before the first shard is sent.
            extra_stats: Counts of the caller, written into ``executor.json`` too.

        Returns:
            The pool's counts (also in :attr:`stats`).

        Raises:
            FatalTargetError: A worker's target (or judge) can answer no request.
            InputError: A worker raised one.
            RuntimeError: More actors died than ``max_worker_restarts``, or a worker failed.
        """
        # Ray prints its workers' deaths ("(raylet) A worker died …") to stdout: to stderr with
        # them, so that stdout stays the command's own (`--json` output stays JSON)
        with contextlib.redirect_stdout(sys.stderr):
            return self._run_units(build, args, units, payload, on_result, is_done, hold, per_actor,
                                   out_dir, on_connect, extra_stats if extra_stats is not None else {})

    def _run_units(self, build: Callable[..., Any], args: tuple[Any, ...], units: Iterator[list[Any]],
                   payload: Callable[[list[Any]], Any],
                   on_result: Callable[[int, list[Any], Any, dict[str, int]], None],
                   is_done: Callable[[Any], bool] | None, hold: Callable[[], bool] | None, per_actor: int,
                   out_dir: Path | None, on_connect: Callable[[], None] | None,
                   extra: dict[str, Any]) -> dict[str, Any]:
        from redline.files import write_atomic
        from redline.targets import FatalTargetError

        t0 = time.perf_counter()
        numbered: Iterator[tuple[int, list[Any]]] = enumerate(units)
        first = next(numbered, None)
        if first is None:  # nothing pending (a finished run re-run): no cluster needed
            self.stats = {"workers": 0, "shards": 0, **extra}
            return self.stats
        numbered = itertools.chain([first], numbered)
        ray = import_ray()
        connected_here = self._connect(ray)
        if on_connect is not None:
            on_connect()
        actor_cls = ray.remote(ShardWorker).options(num_cpus=self.cpus_per_worker,
                                                    max_concurrency=max(1, per_actor), max_restarts=0)
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // max(self.cpus_per_worker, 1e-3)))
        arg_refs = [ray.put(a) for a in args]
        make = lambda: actor_cls.remote(build, *arg_refs)  # noqa: E731
        actors = [make() for _ in range(n)]
        every_actor = list(actors)  # kept alive, so the counters' baselines keyed by id() stay unique
        baseline: dict[int, dict[str, int]] = {}
        stats: dict[str, Any] = {"workers": n, "shard_size": self.shard_size, "shards": 0, "shards_resent": 0,
                                 "workers_lost": 0}
        again: deque[tuple[int, list[Any]]] = deque()
        inflight: dict[Any, tuple[int, Any, int, list[Any]]] = {}
        load = [0] * n  # shards in flight per actor

        def submit(i: int) -> bool:
            while again:
                seq, shard = again.popleft()
                shard = [s for s in shard if not (is_done and is_done(s))]
                if shard:
                    break
            else:
                if hold is not None and hold():
                    return False
                seq, shard = next(numbered, (-1, []))
                if not shard:
                    return False
            stats["shards"] += 1
            inflight[actors[i].run_shard.remote(payload(shard))] = (i, actors[i], seq, shard)
            load[i] += 1
            return True

        def fill() -> None:
            for i in range(n):
                while load[i] < per_actor + 1 and submit(i):
                    pass

        try:
            fill()
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                i, actor, seq, shard = inflight.pop(ready[0])
                if actors[i] is actor:
                    load[i] -= 1
                try:
                    out = ray.get(ready[0])
                except ray.exceptions.RayActorError:
                    stats["shards_resent"] += 1
                    if actors[i] is actor:  # its other shards fail too: replace it once
                        stats["workers_lost"] += 1
                        if stats["workers_lost"] > self.max_worker_restarts:
                            raise RuntimeError(
                                f"{stats['workers_lost']} Ray workers died (more than "
                                f"max_worker_restarts={self.max_worker_restarts}); results so "
                                "far are kept: re-run the same command to resume") from None
                        actors[i] = make()
                        every_actor.append(actors[i])
                        load[i] = 0
                    again.append((seq, shard))
                    fill()
                    continue
                except ray.exceptions.RayTaskError as e:
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, FatalTargetError):
                        raise FatalTargetError(str(cause)) from None
                    if isinstance(cause, InputError):
                        raise cause from None
                    raise RuntimeError(f"a Ray worker failed: {cause or e}") from None
                gained: dict[str, int] = {}
                if isinstance(out, dict) and "counters" in out:  # running totals → this shard's gain
                    seen = baseline.setdefault(id(actor), {})
                    for k, v in out["counters"].items():
                        gained[k] = max(0, v - seen.get(k, 0))
                        seen[k] = max(v, seen.get(k, 0))
                on_result(seq, shard, out, gained)
                fill()
        finally:
            for a in every_actor:
                try:
                    ray.kill(a)
                except Exception:  # already dead
                    pass
            if connected_here:
                ray.shutdown()
            stats.update(extra)
            stats["seconds"] = round(time.perf_counter() - t0, 3)
            self.stats = stats
            if out_dir is not None:
                try:
                    write_atomic(out_dir / "executor.json", json.dumps({"executor": "ray", **stats}, indent=2))
                except OSError:
                    pass
        return stats


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
