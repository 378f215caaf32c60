"""The evaluation runner: asyncio, bounded concurrency, retries, cache, resume.

Results stream to ``results.jsonl`` one line per sample as they finish; a
response is committed to the response cache before its line is written, so a
run killed at any point (``kill -9`` included) and re-run with the same command
requests no completed sample again and loses or duplicates none.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline import __version__
from redline.data.images import image_access
from redline.data.jsonl import iter_samples, validate_samples
from redline.data.schema import Judgment, Message, Sample
from redline.data.suites import resolve_suite
from redline.errors import InputError, Problem
from redline.evals.cache import ResponseCache, cache_key
from redline.evals.gaps import modality_of
from redline.evals.languages import detect_response_language, language_block, suite_is_multilingual
from redline.evals.metrics import MetricsAggregator
from redline.evals.outcome import DEFAULT_JUDGES as OUTCOME_DEFAULT_JUDGES
from redline.evals.outcome import RULE_HARM, RULE_REFUSAL, decide, deciding_judges
from redline.files import (
    DirectoryLock,
    file_hash,
    is_disk_full,
    jsonl_line,
    temp_path,
    write_atomic,
)
from redline.judges.base import (
    Judge,
    aclose_judge,
    ajudge_any,
    check_options,
    create_judge,
    is_async,
)
from redline.judges.calibration import calibration_block_for_run
from redline.learn.cluster_worker import ClusterWorker
from redline.learn.clusters import REPORT_MAX_FAILURES, FailureSampler
from redline.policy.loader import load_policy
from redline.progress import ProgressBar
from redline.redact import redact
from redline.targets import FatalTargetError, SampleError, Target, TransientError, create_target
from redline.targets.base import Generation, GenParams, backoff_delay
from redline.workspace import Workspace

if TYPE_CHECKING:
    from redline.judges.cache import VerdictCache


@dataclass
class RetryPolicy:
    """How a sample's target request is retried after a transient error.

    Attributes:
        max_retries: Retries at most, so at most ``1 + max_retries`` attempts per sample.
        base_delay: Seconds before the first retry; doubled for each further one.
        max_delay: The longest backoff, in seconds.
        max_retry_after: The longest server ``Retry-After`` honoured, in seconds.
    """

    max_retries: int = 4  # hard cap: at most 1 + max_retries attempts per sample
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before a retry (exponential backoff with jitter).

        Args:
            attempt: The failed attempt's number, from 0.
            retry_after: The server's ``Retry-After`` in seconds, if it sent one.

        Returns:
            The backoff, at least ``retry_after`` (capped at ``max_retry_after``).
        """
        return backoff_delay(attempt, retry_after, base=self.base_delay, cap=self.max_delay,
                             max_retry_after=self.max_retry_after)


#: The judges `redline eval` runs when none are given (both orders work; the first harm judge
#: decides harmful prompts, the refusal judge decides over-refusal).
DEFAULT_JUDGES: tuple[str, ...] = OUTCOME_DEFAULT_JUDGES  # ("refusal", "harm"): see evals.outcome


@dataclass
class EvalConfig:
    """What ``redline eval`` runs, and how.

    Attributes:
        suite: The suite (a built-in name or a JSONL path).
        target: The target spec, e.g. ``"openai:gpt-4o"`` or ``"local"``.
        target_options: The target's own options (``base_url``, ...).
        policy: The policy (a built-in name, or a pack's YAML file or folder).
        judges: Judges to run, in order; the first harm judge (if any) decides harmful prompts.
        judge_options: Judge options (``NAME.key`` scopes one to a judge); no secrets.
        out: The run directory; None picks a deterministic one in the workspace, so the same
            command resumes the same run.
        concurrency: Samples in flight at once (a target may cap it lower).
        params: Generation parameters sent to the target.
        retry: How failed requests are retried.
        use_cache: Whether to use the response and judge-verdict caches.
        progress: Whether to show a progress bar.
        limit: Only the suite's first ``limit`` samples.
        retry_errors: Ask again the samples whose target request failed in an earlier run.
        image_roots: Folders besides the suite's own from which image files may be read.
        executor: Where the samples run (``local``, ``ray``); the runner still writes the results.
        executor_options: The executor's options.
    """

    suite: str = "demo"
    target: str = "local"
    target_options: dict[str, Any] = field(default_factory=dict)
    policy: str = "default"
    #: judges to run, in order; the first harm judge (if any) decides harmful prompts
    judges: list[str] = field(default_factory=lambda: list(DEFAULT_JUDGES))
    #: judge options (``--option key=value``; ``NAME.key`` scopes one to a judge); no secrets
    judge_options: dict[str, str] = field(default_factory=dict)
    out: Path | None = None
    concurrency: int = 8
    params: GenParams = field(default_factory=GenParams)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    use_cache: bool = True
    progress: bool = True
    limit: int | None = None
    retry_errors: bool = False
    #: folders besides the suite's own from which image parts' local files may be read
    image_roots: list[Path] = field(default_factory=list)
    #: where the samples run: ``local`` (this process) or ``ray`` (see redline.executors)
    executor: str = "local"
    #: the executor's options (``--ray-address``, ``--executor-option``)
    executor_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalOutcome:
    """What a finished (or interrupted) run produced.

    Attributes:
        out_dir: The run directory.
        summary: The run's summary (manifest, metrics, calibrated block), as in ``summary.json``.
        status: ``"completed"`` or ``"interrupted"``.
        new_requests: Target requests made by this invocation (not from the cache).
        resumed: Samples already complete from an earlier invocation.
    """

    out_dir: Path
    summary: dict[str, Any]
    status: str
    new_requests: int
    resumed: int


#: the longest the workspace database write of a run's start waits for its first sample (seconds
#: after the first request left): long enough that a loaded machine's first request (aiohttp's
#: import, the connection) is out before SQLAlchemy is imported, short enough for slow targets
RECORD_START_WAIT_S = 2.0


def disk_full_error(where: Path) -> InputError:
    """The error of a run stopped by a full disk (``redline eval`` exits 2 with it).

    Args:
        where: The run directory (or the folder the run would have written to).

    Returns:
        An ``InputError`` saying that results are kept and how to resume.
    """
    return InputError("disk full: the run stopped because there is no space left on the device", [Problem(
        str(where), "no space left on device (results written so far are kept; the last, partly "
                    "written line, if any, is dropped when the run resumes)",
        "free some space (or choose another --out), then re-run the same command to resume")])


@contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    """One writer per run directory: a second `redline eval` into it is refused."""
    lock = DirectoryLock(out_dir)
    if not lock.acquire():
        raise InputError(f"{out_dir} is in use", [Problem(
            str(out_dir), "another `redline eval` is writing to this run directory",
            "wait for it to finish, or choose another --out")])
    try:
        yield
    finally:
        lock.release()


def run_in_progress(out_dir: Path) -> bool:
    """Whether a `redline eval` process is writing to ``out_dir`` right now.

    Args:
        out_dir: A run directory.

    Returns:
        True when another process holds the run directory's lock.
    """
    return DirectoryLock(out_dir).held_elsewhere()


def recorded_runs(db: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The runs recorded in the workspace, newest first, with their live status.

    A run recorded as ``running`` that no process is writing any more was killed: it is
    ``incomplete`` (re-running the same command resumes it). ``judges`` is given as data
    (``{id: version}``), not as the JSON text stored.

    Args:
        db: Workspace database URL (None: the default workspace).
        limit: How many runs at most.

    Returns:
        One dict per run (the ``runs`` table's columns without the summary).
    """
    from redline.files import this_host
    from redline.workspace import Workspace

    rows = Workspace.default(db).db.list_runs(limit)
    for r in rows:  # another machine's run (runs.host): its lock is on that machine
        if r["status"] == "running" and r.get("host") in (None, this_host()) and not run_in_progress(Path(r["run_id"])):
            r["status"] = "incomplete"
        try:
            r["judges"] = json.loads(r["judges"]) if r.get("judges") else {}
        except ValueError:
            pass
    return rows


#: Runs with at least this many samples to do start the cluster worker (the report's failure
#: clusters, in a child process: learn/cluster_worker.py) as soon as the first requests are out;
#: shorter ones at their first failure. A run that ends without failures stops it unused.
CLUSTER_WORKER_EARLY_FROM = 200


class _SamplingAggregator(MetricsAggregator):
    """The run's metrics, also feeding each record to the sample of failures the report clusters
    (and starting the cluster worker at the first failure, so that it imports its libraries on
    another core while the run goes on)."""

    def __init__(self, failures: FailureSampler, worker: ClusterWorker | None = None):
        super().__init__()
        self.failures = failures
        self.worker = worker
        self.saw_image = False  # a text-only run has no modality gap to compute

    def add(self, rec: dict[str, Any]) -> None:
        """Count one result record and offer it to the failure sample.

        Args:
            rec: One record of ``results.jsonl``.
        """
        super().add(rec)
        self.failures.add(rec)
        if self.worker is not None and not self.worker.started and (
                rec.get("outcome") == "harmful" or rec.get("over_refusal") is True):
            self.worker.start()
        if not self.saw_image and modality_of(rec) != "text":
            self.saw_image = True


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)[:60].strip("-")


def _scan_existing(results: Path, agg: MetricsAggregator, retry_errors: bool = False) -> set[str]:
    """Read completed results (truncating a partial last line left by a kill).

    With ``retry_errors``, results whose target request failed are removed from the file
    (rewritten atomically) so that those samples are asked again.
    """
    done: set[str] = set()
    if not results.exists():
        return done
    dropped = 0
    tmp = temp_path(results)
    out = open(tmp, "wb") if retry_errors else None  # noqa: SIM115 - closed below
    ok = False
    try:
        with open(results, "rb+") as f:
            good_end = 0
            lineno = 0
            for line in iter(f.readline, b""):
                lineno += 1
                if not line.endswith(b"\n"):
                    break  # torn write at the end: dropped, the sample is redone (from cache)
                try:
                    rec = json.loads(line)
                    sid = rec["sample"]["id"]
                except (ValueError, KeyError, TypeError):
                    raise InputError(f"{results} is damaged", [Problem(
                        f"{results}:{lineno}", "not a result record written by Redline",
                        "delete that line (its sample will be redone) or choose another --out")]) from None
                good_end = f.tell()
                if sid in done:
                    continue
                if retry_errors and rec.get("error"):
                    dropped += 1
                    continue
                done.add(sid)
                agg.add(rec)
                if out is not None:
                    out.write(line)
            f.truncate(good_end)
        ok = True
    finally:
        if out is not None:
            try:
                out.close()
            except BaseException:
                ok = False
                raise
            finally:  # a copy that could not be written whole (a full disk) never replaces results
                if ok and dropped:
                    os.replace(tmp, results)
                else:
                    tmp.unlink(missing_ok=True)
    return done


async def generate_with_retries(target: Any, messages: list[Any], params: GenParams, sample_id: str,
                                retry: RetryPolicy, on_retry: Any = None) -> Generation:
    """Ask a target once, retrying transient errors with backoff (the runner's one retry loop).

    Args:
        target: The target.
        messages: The conversation.
        params: The generation parameters.
        sample_id: The request's id (a replay target looks the answer up by it).
        retry: How often and how long to retry.
        on_retry: Called (no arguments) before each retry.

    Returns:
        The generation.

    Raises:
        SampleError: This request failed (retries exhausted, a 4xx, or the target raised).
        FatalTargetError: The target cannot serve any request (unreachable after every retry).
    """
    attempt = 0
    while True:
        try:
            return await target.generate(messages, params, sample_id)
        except TransientError as e:
            if attempt >= retry.max_retries:
                if e.unreachable:
                    raise FatalTargetError(
                        f"{e} (after {attempt + 1} attempts)\nfix: check that the server is "
                        "running and --base-url / OPENAI_BASE_URL is right; re-run the same "
                        "command to resume") from None
                raise SampleError(f"{e} (gave up after {attempt + 1} attempts)") from None
            if on_retry is not None:
                on_retry()
            await asyncio.sleep(retry.delay(attempt, e.retry_after))
            attempt += 1
        except (SampleError, FatalTargetError, asyncio.CancelledError):
            raise
        except Exception as e:  # a target bug fails this request, visibly, not the run
            raise SampleError(f"target raised {type(e).__name__}: {e}") from None


class Runner:
    """Runs one evaluation: :meth:`prepare` checks the input and claims the run directory,
    :meth:`run` asks the target, judges the responses and writes the results."""

    def __init__(self, cfg: EvalConfig, workspace: Workspace):
        self.cfg = cfg
        self.ws = workspace

    def prepare(self) -> None:
        """Load the policy, suite, judges and target, and claim the run directory.

        An existing run directory must hold the same run, which is then resumed.

        Raises:
            InputError: Bad input (policy, suite, judges, target options), a run directory
                holding a different run or an unreadable one, or a ``limit`` below the
                existing run's.
        """
        cfg = self.cfg
        self.policy = load_policy(cfg.policy)
        self.policy_hash = self.policy.content_hash
        self.suite_name, self.suite_path = resolve_suite(cfg.suite)
        self.n_samples = validate_samples(self.suite_path, set(self.policy.category_ids))
        self.n_rows = self.n_samples  # every sample of the suite (before --limit)
        if cfg.limit is not None:
            self.n_samples = min(self.n_samples, cfg.limit)
        self.judges: list[Judge] = build_judges(cfg.judges, cfg.judge_options, self.policy,
                                                cfg.concurrency)
        # a suite with other languages than English: every response's language is recorded
        self.detect_all_languages = suite_is_multilingual(self.suite_path)
        self._setup_judging()
        opts = dict(cfg.target_options)
        opts.setdefault("concurrency", cfg.concurrency)
        self.target: Target = create_target(cfg.target, **opts)
        self.started = datetime.now(UTC)
        self.identity: dict[str, Any] = {
            "suite": self.suite_name,
            "suite_hash": file_hash(self.suite_path),
            "target": self.target.name,
            "target_identity": self.target.cache_identity,
            "params": cfg.params.as_dict(),
            "policy": self.policy.name,
            "policy_hash": self.policy_hash,
            "judges": {j.id: j.version for j in self.judges},
        }
        self._init_out_dir(f"{_slug(self.suite_name)}-{_slug(self.target.name)}")

    def _init_out_dir(self, prefix: str) -> None:
        """Choose (``--out`` or a deterministic default) and claim the run directory; an existing
        one must hold the same run (same identity), which is then resumed."""
        cfg = self.cfg
        if cfg.out is None:
            # Deterministic: the same command maps to the same directory, so re-running it
            # after a kill (or after it finished) resumes instead of starting over.
            digest = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()[:10]
            out = self.ws.runs_dir / f"{prefix}-{digest}"
        else:
            out = cfg.out
        self.out_dir = out
        ident_file = out / "run.json"
        if ident_file.exists():
            try:
                old = json.loads(ident_file.read_text(encoding="utf-8"))
                old_ident = old["identity"]
                old_started = datetime.fromisoformat(old["started"])
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{ident_file} is unreadable", [Problem(
                    str(ident_file), "not a run identity written by Redline",
                    "delete the run directory or choose another --out")]) from None
            diff = [k for k in self.identity if old_ident.get(k) != self.identity[k]]
            if diff:
                raise InputError(f"{out} holds a different run", [Problem(
                    str(ident_file), f"it differs in {', '.join(diff)}",
                    "re-run with the same options to resume it, or choose another --out")])
            old_limit = old.get("limit")
            if cfg.limit is not None and (old_limit is None or cfg.limit < old_limit):
                before = "all" if old_limit is None else f"the first {old_limit}"
                raise InputError(f"{out} already holds {before} samples", [Problem(
                    "--limit", f"--limit {cfg.limit} would shrink a run that asked for {before} samples",
                    "resume with the same or a larger --limit (or none), or choose another --out")])
            self.started = old_started
        else:
            out.mkdir(parents=True, exist_ok=True)
        write_atomic(ident_file, json.dumps({"identity": self.identity, "limit": cfg.limit,
                                              "started": self.started.isoformat()}, indent=2))

    def _policy_source(self) -> str:
        """How the policy was given: a built-in name, or the file's absolute path."""
        given = str(self.cfg.policy)
        p = Path(given)
        return str(p.resolve()) if p.suffix in (".yaml", ".yml") or p.exists() else given

    def _setup_judging(self) -> None:
        self.harm_judge, self.refusal_judge = deciding_judges(self.judges)
        self.async_judging = any(is_async(j) for j in self.judges)
        self.verdict_cache: VerdictCache | None = None

    def _open_verdict_cache(self) -> None:
        """Cacheable (network-bound) judges get the judge-verdict cache; offline ones never
        touch it, so an offline-only run has no per-sample overhead from it."""
        self.verdict_cache = None
        if self.cfg.use_cache and any(getattr(j, "cache_verdicts", False) for j in self.judges):
            from redline.judges.cache import VerdictCache, with_cache

            self.verdict_cache = VerdictCache(self.ws.home / "verdicts.sqlite")
            self.judges = [with_cache(j, self.verdict_cache) for j in self.judges]

    def _deciding_manifest(self) -> dict[str, Any]:
        by_id = {j.id: j for j in self.judges}
        harm = by_id.get(self.harm_judge) if self.harm_judge else None
        ref = by_id.get(self.refusal_judge) if self.refusal_judge else None
        return {
            "harmful_prompts": ({"id": harm.id, "version": harm.version, "rule": "harm"} if harm
                                else {"id": ref.id, "version": ref.version, "rule": "refusal"}
                                if ref else None),
            "over_refusal": {"id": ref.id, "version": ref.version} if ref else None,
            # the judge whose calibration applies to the harmful rate
            "id": deciding.id if (deciding := harm or ref) else None,
            "version": deciding.version if deciding else None,
        }

    def _samples(self, done: set[str]) -> Iterator[Sample]:
        for i, s in enumerate(iter_samples(self.suite_path)):
            if self.cfg.limit is not None and i >= self.cfg.limit:
                return
            if s.id not in done:
                yield s

    async def _generate(self, sample: Sample, target: Target | None = None,
                        messages: list[Message] | None = None,
                        params: GenParams | None = None) -> Generation:
        """Ask ``target`` (default: the run's) to answer ``messages`` (default: the sample's),
        retrying transient errors with capped backoff (``cfg.retry``); retries are counted."""
        def count() -> None:
            self.retries += 1

        return await generate_with_retries(target or self.target, messages or sample.messages,
                                           params or self.cfg.params, sample.id, self.cfg.retry,
                                           on_retry=count)

    async def _ajudge(self, sample: Sample, response: str | None) -> list[Judgment]:
        if response is None:
            return []
        prompt = sample.judge_prompt  # an image's drawn text included (meta.rendered_text)
        return list(await asyncio.gather(*(ajudge_any(j, sample, prompt, response) for j in self.judges)))

    def _judge(self, sample: Sample, response: str | None) -> list[Judgment]:
        if response is None:
            return []
        prompt = sample.judge_prompt  # an image's drawn text included (meta.rendered_text)
        out = []
        for j in self.judges:
            try:
                out.append(j.judge(sample, prompt, response))
            except FatalTargetError:
                raise  # the judge can give no verdict at all: stop the run (as for the target)
            except Exception as e:  # never let a judge crash turn into "safe"
                out.append(Judgment(judge=j.id, version=j.version, label=None,
                                    error=f"{type(e).__name__}: {e}"))
        return out

    async def _process(self, sample: Sample, sink: Any) -> None:
        t0 = time.perf_counter()
        gen: Generation | None = None
        error: str | None = None
        cached = False
        key = None
        if self.cache is not None:
            key = cache_key(self.target.cache_identity, self.cfg.params, sample.messages)
            gen = self.cache.get(key)
            cached = gen is not None
        if gen is None:
            try:
                gen = await self._generate(sample)
                if not gen.text.isascii():
                    gen.text = _valid_text(gen.text)
                self.new_requests += 1
                if self.cache is not None and key is not None:
                    self.cache.put(key, self.target.cache_identity, gen)
            except SampleError as e:
                error = redact(str(e))  # targets redact their own secrets; this masks the rest
        latency = None if cached else round(time.perf_counter() - t0, 4)
        response = gen.text if gen is not None else None
        if self.async_judging:
            judgments = await self._ajudge(sample, response)
        else:
            judgments = self._judge(sample, response)
        for j in judgments:  # judges redact their answers; errors are masked here once more
            if j.error:
                j.error = redact(j.error)
        outcome, over = decide(sample.expected.value, response, error, judgments,
                               self.harm_judge, self.refusal_judge or "refusal")
        rec = {
            "sample": sample.model_dump(mode="json", exclude_none=True),
            "target": self.target.name,
            "response": response,
            "error": error,
            "latency_s": latency,
            "usage": gen.usage if gen is not None else None,
            "cached": cached,
            "judgments": [j.model_dump(exclude_none=True, exclude_defaults=True) for j in judgments],
            "outcome": outcome.value,
            "over_refusal": over,
            "policy_hash": self.policy_hash,
            "schema_version": "1",
        }
        response_language = detect_response_language(response, self.detect_all_languages)
        if response_language is not None:
            rec["response_language"] = response_language
        sink.write(jsonl_line(rec))
        sink.flush()
        self.agg.add(rec)

    async def _run_async(self, done: set[str], progress: ProgressBar) -> None:
        conc = max(1, self.cfg.concurrency)
        if self.target.max_concurrency:
            conc = min(conc, self.target.max_concurrency)
        it = self._samples(done)
        results_path = self.out_dir / "results.jsonl"
        with open(results_path, "a", encoding="utf-8") as sink:

            self._first_done = asyncio.Event()  # a sample is done, or there is none to do
            self._first_started = asyncio.Event()  # a sample's request is under way, or none is left
            self._workers_left = conc

            async def worker() -> None:
                try:
                    for sample in it:
                        self._first_started.set()
                        await self._process(sample, sink)
                        progress.advance()
                        self._first_done.set()
                finally:
                    self._workers_left -= 1
                    if not self._workers_left:  # the last worker: no sample is left to wait for
                        self._first_started.set()
                        self._first_done.set()

            try:
                async with asyncio.TaskGroup() as tg:
                    if not self._recorded:
                        tg.create_task(self._record_start())
                    tg.create_task(self._warm_judges())
                    if self.n_samples - len(done) >= CLUSTER_WORKER_EARLY_FROM:
                        tg.create_task(self._start_cluster_worker())
                    for _ in range(conc):
                        tg.create_task(worker())
            except BaseExceptionGroup as eg:
                # surface the first real error (a fatal target error first) instead of a group
                fatal = eg.subgroup(FatalTargetError)
                first = (fatal or eg).exceptions[0]
                while isinstance(first, BaseExceptionGroup):
                    first = first.exceptions[0]
                raise first from None
            finally:
                await self.target.aclose()
                for j in self.judges:
                    await aclose_judge(j)

    async def _warm_judges(self) -> None:
        """Load the judges' models in a thread once the first requests are out (offline judges
        load them on first use otherwise); a model that fails to load fails its judgments."""
        await asyncio.sleep(0)  # the workers send their first requests first
        for j in self.judges:
            warm = getattr(j, "warm", None)
            if callable(warm):
                try:
                    await asyncio.to_thread(warm)
                except Exception:  # noqa: S112 - the judge reports it on each judgment
                    continue

    async def _start_cluster_worker(self) -> None:
        """Start the cluster worker once the first requests are out (long runs: their report
        will almost surely have failures to cluster, and the child's imports then overlap the run)."""
        await self._first_started.wait()
        self.cluster_worker.start()

    async def _record_start(self) -> None:
        """Record the run's start in the workspace database, in a thread beside the first requests.

        Opening the database imports SQLAlchemy and alembic (~0.4 s) and may migrate it; done
        here, that overlaps the target's first latencies instead of delaying the first request.
        A database that cannot be opened stops the run (the samples finished so far are kept).
        """
        # once the first request is under way, and after the first sample is done or
        # RECORD_START_WAIT_S, so it never delays the first request (a slow first answer, e.g. a
        # local model's, does not keep the run out of the database for long)
        await self._first_started.wait()
        try:
            await asyncio.wait_for(self._first_done.wait(), RECORD_START_WAIT_S)
        except TimeoutError:
            pass
        try:
            await asyncio.to_thread(self._record_start_now)
        except BaseException:
            self._record_failed = not self._recorded
            raise

    def _record_start_now(self) -> None:
        self.ws.db.record_start(self.out_dir, self.identity, self.started)
        self._recorded = True  # set by the thread itself: true even when the run was cancelled meanwhile

    def run(self) -> EvalOutcome:
        """Run (or resume) the prepared evaluation; call :meth:`prepare` first.

        Results stream to ``results.jsonl``. Once the samples are under way, ``summary.json`` is
        written and the workspace records the run however it ends; the HTML report is written
        only when the run completed.

        Returns:
            The run directory, summary, status and request counts (a Ctrl-C gives status
            ``"interrupted"``).

        Raises:
            InputError: The run directory is in use by another process, its results file is
                damaged, or the disk is full (results written so far are kept).
            FatalTargetError: The target (or a judge) cannot answer at all; the run is
                recorded as ``"aborted"``.
        """
        # image parts' local files are read only inside the suite's folder (and --allow-image-root)
        with _run_lock(self.out_dir), image_access(self.suite_path, self.cfg.image_roots):
            return self._run_locked()

    def _run_locked(self) -> EvalOutcome:
        self.failures = FailureSampler(REPORT_MAX_FAILURES)  # the report's clusters: never read back
        self.cluster_worker = ClusterWorker()  # started at the first failure; see learn/cluster_worker.py
        self.agg = _SamplingAggregator(self.failures, self.cluster_worker)
        try:
            return self._run_sampled()
        finally:
            self.cluster_worker.close()

    def _run_sampled(self) -> EvalOutcome:
        done = _scan_existing(self.out_dir / "results.jsonl", self.agg, self.cfg.retry_errors)
        resumed = len(done)
        self.cache = (ResponseCache(self.ws.cache_path)
                      if (self.cfg.use_cache and self.target.cacheable) else None)
        self._open_verdict_cache()
        self.new_requests = 0
        self.retries = 0
        self._recorded = False  # the workspace database records the start beside the first requests
        self._record_failed = False
        status = "failed"  # until the loop ends normally
        full: BaseException | None = None  # a full disk: the run stops, exit 2, resumable

        def finish(step: Any) -> None:
            """One step of the wrap-up; a full disk does not stop the others (or hide the cause)."""
            nonlocal full
            try:
                step()
            except Exception as e:
                if not is_disk_full(e):
                    raise
                full = full or e

        t0 = time.perf_counter()
        progress = ProgressBar(self.cfg.progress, self.n_samples, f"{self.suite_name} → {self.target.name}",
                               done=min(resumed, self.n_samples))
        try:
            with progress:
                if self.cfg.executor == "local":
                    asyncio.run(self._run_async(done, progress))
                else:  # issue 15: another executor does the per-sample work; records are written here
                    from redline.executors import create_executor

                    create_executor(self.cfg.executor, self.cfg.executor_options).run(self, done, progress)
            status = "completed"
        except KeyboardInterrupt:
            status = "interrupted"
        except FatalTargetError:
            status = "aborted"
            raise
        except Exception as e:
            if not is_disk_full(e):
                raise
            full = e
        finally:
            if self.cache is not None:
                finish(self.cache.close)
            if self.verdict_cache is not None:
                finish(self.verdict_cache.close)
            elapsed = time.perf_counter() - t0
            if status == "completed" and full is None:  # the worker clusters while the summary is made
                self.cluster_worker.submit(self.out_dir, self.failures)
            summary = self._summary(status, elapsed, resumed)
            finish(lambda: write_atomic(self.out_dir / "summary.json",
                                         json.dumps(summary, indent=2, ensure_ascii=False)))
            if status == "completed" and full is None:
                from redline.learn.clusters import clusters_for_report  # sklearn only from here on
                from redline.report.html import render_report

                finish(lambda: write_atomic(self.out_dir / "report.html", render_report(
                    summary, self.agg.worst(), self.policy,
                    clusters_for_report(self.out_dir, summary["metrics"], failures=self.failures,
                                        worker=self.cluster_worker))))
            if not self._recorded and not self._record_failed:  # the run ended before it was made
                finish(self._record_start_now)
            if self._recorded:
                finish(lambda: self.ws.db.record_end(self.out_dir, status, summary))
        if full is not None:
            raise disk_full_error(self.out_dir) from None
        return EvalOutcome(self.out_dir, summary, status, self.new_requests, resumed)

    def _language_block(self) -> dict[str, Any] | None:
        if not getattr(self, "detect_all_languages", True):  # an English-only suite: nothing to pair
            return None
        return _language_block_safe(self.out_dir / "results.jsonl", {j.id: j.version for j in self.judges},
                                    self.harm_judge, self.refusal_judge)

    def _summary(self, status: str, elapsed: float, resumed: int) -> dict[str, Any]:
        m = self.agg.summary()
        completed = self.agg.overall.total
        rows = getattr(self, "n_rows", self.n_samples)  # every sample of the suite, before --limit
        manifest = {
            "redline_version": __version__,
            "status": status,
            "started": self.started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "suite": {"name": self.suite_name, "path": str(self.suite_path),
                      "hash": self.identity["suite_hash"], "samples": self.n_samples,
                      "rows": rows, "skipped_by_reason": {"past --limit": rows - self.n_samples}
                      if rows > self.n_samples else {}},
            "target": {"name": self.target.name, **self.target.manifest()},
            "params": self.cfg.params.as_dict(),
            "policy": {"name": self.policy.name, "version": self.policy.version,
                       "hash": self.policy.content_hash, "source": self._policy_source()},
            "judges": [_judge_manifest(j) for j in self.judges],
            # Who decides (part of the identity of every rate; calibrations are looked up by it):
            # the harm judge for harmful prompts when there is one, else the refusal rule.
            "deciding_judge": self._deciding_manifest(),
            "outcome_rule": (RULE_HARM.format(judge=self.harm_judge) if self.harm_judge
                             else RULE_REFUSAL),
            "timings": {"this_invocation_s": round(elapsed, 3), "new_requests": self.new_requests,
                        "retries": self.retries, "resumed_from_previous": resumed,
                        "completed": completed},
            "cache": ({"path": str(self.ws.cache_path), "errors": self.cache.errors}
                      if self.cache is not None else None),
            "verdict_cache": self.verdict_cache.stats() if self.verdict_cache is not None else None,
            "host": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
        }
        summary: dict[str, Any] = {"manifest": manifest, "metrics": m}
        # text vs image-borne twins of the same requests, paired (a text-only run has none)
        if status == "completed" and (not isinstance(self.agg, _SamplingAggregator) or self.agg.saw_image):
            from redline.evals.modality import modality_gap_for_run

            if (gap := modality_gap_for_run(self.out_dir / "results.jsonl")) is not None:
                summary["modality_gap"] = gap
        summary["calibrated"] = calibration_block_for_run(summary, self.ws.home)  # issue 3 part A
        languages = self._language_block()  # issue 14: the language gap (runs with >1 language)
        if languages is not None:
            summary["language_gap"] = languages
        return summary


def _language_block_safe(results: Path, versions: dict[str, str], harm_judge: str | None,
                         refusal_judge: str | None) -> dict[str, Any] | None:
    """:func:`redline.evals.languages.language_block`, never raising (the summary is always written)."""
    try:
        return language_block(results, versions, harm_judge=harm_judge, refusal_judge=refusal_judge)
    except Exception as e:  # reported in the summary, never hides the run's own results
        return {"error": f"{type(e).__name__}: {e}"}


def _valid_text(text: str) -> str:
    """``text`` with lone surrogates (a server's ``\\ud83d`` escape of an emoji cut at
    max_tokens) replaced by U+FFFD: they are not Unicode and would crash every UTF-8 writer
    (results.jsonl, the caches)."""
    import re

    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def build_judges(names: list[str], options: dict[str, str], policy: Any,
                 concurrency: int | None = None) -> list[Judge]:
    """Create the run's judges (with their options and the policy).

    The refusal judge is required, since over-refusal on benign prompts is its call.

    Args:
        names: The judges, in order.
        options: Judge options (``--option``; ``NAME.key`` scopes one to a judge).
        policy: The loaded policy.
        concurrency: Network-bound judges cap their requests in flight at this, unless
            ``--option concurrency=N`` says otherwise.

    Returns:
        The judges, in the order named.

    Raises:
        InputError: A judge listed twice, an unknown option, or no refusal judge.
    """
    if len(set(names)) != len(names):
        raise InputError("a judge is listed twice", [Problem(
            "--judge", ", ".join(names), "list each judge once")])
    check_options(names, options)
    base = {"concurrency": str(concurrency)} if concurrency else {}
    judges = [create_judge(n, **{**base, **options, "policy": policy}) for n in names]
    if not any(j.id == "refusal" for j in judges):
        raise InputError("the refusal judge is required", [Problem(
            "--judge", "the outcome rule needs the 'refusal' judge (it decides over-refusal on "
            "benign prompts)", "add --judge refusal")])
    return judges


def _judge_manifest(j: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": j.id, "version": j.version}
    man = getattr(j, "manifest", None)
    if callable(man):
        out["manifest"] = man()  # judges never put secrets here (api_key_set at most)
    return out


def run_eval(cfg: EvalConfig, workspace: Workspace | None = None) -> EvalOutcome:
    """Prepare and run an evaluation (or resume it in the same run directory).

    Args:
        cfg: What to run.
        workspace: The workspace (default: the current one).

    Returns:
        The run directory, summary, status and request counts.

    Raises:
        InputError: Bad input, a run directory in use, or a full disk (exit 2 in the CLI).
    """
    runner = Runner(cfg, workspace or Workspace.default())
    try:
        runner.prepare()
        return runner.run()
    except InputError:
        raise
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(getattr(runner, "out_dir", None) or cfg.out or runner.ws.runs_dir) from None
        raise
