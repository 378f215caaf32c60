"""``redline rejudge``: grade an existing run's responses with other judges, into a NEW run
directory, without ever calling the target.

The new run is a run like any other (results.jsonl, summary.json, report.html, a workspace
database row) whose manifest says which run it was rejudged from. It reuses the eval runner —
resume, the run lock, metrics, the summary and the report — with the source run's recorded
responses standing in for the target. Verdicts of network-bound judges go through the judge
verdict cache, so rejudging twice (or after a kill) asks the judge again only for what is new.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redline.data.schema import Message, Sample
from redline.errors import InputError, Problem
from redline.evals.outcome import decide
from redline.evals.runner import (
    EvalConfig,
    EvalOutcome,
    Runner,
    _slug,
    build_judges,
)
from redline.files import file_hash
from redline.policy.loader import load_policy
from redline.targets.base import Generation, GenParams
from redline.workspace import Workspace


class _RecordedTarget:
    """The source run's target, as recorded: never asked (rejudging re-reads responses)."""

    cacheable = False
    max_concurrency: int | None = None

    def __init__(self, manifest: dict[str, Any], identity: str):
        self._manifest = {k: v for k, v in manifest.items() if k != "name"}
        self.name = manifest.get("name", "unknown")
        self.cache_identity = identity

    def manifest(self) -> dict[str, Any]:
        return {**self._manifest, "asked": False}

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation:
        raise RuntimeError("rejudge never calls the target")

    async def aclose(self) -> None:
        return None


@dataclass
class RejudgeConfig:
    """What ``redline rejudge`` regrades, and how.

    Attributes:
        source: The run directory whose recorded responses are judged again.
        judges: Judges to run, in order (the refusal judge is added first if missing).
        judge_options: Judge options (``NAME.key`` scopes one to a judge).
        policy: The policy; None loads the source run's policy by name.
        out: The new run directory; None picks a deterministic one in the workspace.
        concurrency: Samples judged at once.
        use_cache: Whether to use the judge-verdict cache.
        progress: Whether to show a progress bar.
        executor: Where the responses are judged (``local``, ``ray``).
        executor_options: The executor's options (``--ray-address``, ``--executor-option``).
    """

    source: Path
    judges: list[str]
    judge_options: dict[str, str] = field(default_factory=dict)
    policy: str | None = None  # default: the source run's policy (by name)
    out: Path | None = None
    concurrency: int = 16
    use_cache: bool = True
    progress: bool = True
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path.parent} is not a run directory", [Problem(
            str(path), "missing", "give a directory written by `redline eval` (or `redline rejudge`)")]) from None
    except ValueError:
        raise InputError(f"{path} is unreadable", [Problem(str(path), "not valid JSON",
                                                           "re-run the source eval to rewrite it")]) from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is unreadable", [Problem(str(path), "not a JSON object", "re-run the eval")])
    return data


class Rejudger(Runner):
    """A :class:`Runner` whose responses come from a source run's ``results.jsonl`` instead of a
    target, written as a new run that records which run it was rejudged from."""

    def __init__(self, rcfg: RejudgeConfig, workspace: Workspace):
        judges = list(rcfg.judges)
        if "refusal" not in judges:
            judges.insert(0, "refusal")  # over-refusal on benign prompts is the refusal judge's call
        cfg = EvalConfig(judges=judges, judge_options=rcfg.judge_options, out=rcfg.out,
                         concurrency=rcfg.concurrency, use_cache=rcfg.use_cache, progress=rcfg.progress,
                         executor=rcfg.executor, executor_options=dict(rcfg.executor_options))
        super().__init__(cfg, workspace)
        self.rcfg = rcfg

    def prepare(self) -> None:
        """Read the source run (its identity, manifest and policy) and claim the new run directory.

        Raises:
            InputError: The source is not a run directory with results, its ``run.json`` or
                ``summary.json`` is unreadable or its ``results.jsonl`` damaged, its policy cannot be loaded (give ``policy``),
                a judge is bad, ``out`` is the source run itself, or ``out`` holds a different
                run.
        """
        src = self.rcfg.source
        if not src.is_dir():
            raise InputError(f"run directory {src} not found", [Problem(
                str(src), "no such directory", "give a run directory (see `redline runs`)")])
        self.source_results = src / "results.jsonl"
        if not self.source_results.is_file():
            raise InputError(f"{src} has no results", [Problem(
                str(self.source_results), "missing", "give a run directory written by `redline eval`")])
        run = _read_json(src / "run.json")
        summary = _read_json(src / "summary.json")
        ident = run.get("identity") or {}
        man = summary.get("manifest") or {}
        self.source_manifest = man
        policy_name = (self.rcfg.policy or (man.get("policy") or {}).get("source")
                       or ident.get("policy") or "default")
        try:
            self.policy = load_policy(policy_name)
        except InputError as e:
            if self.rcfg.policy:
                raise
            raise InputError(f"cannot load the source run's policy {policy_name!r}", [Problem(
                "--policy", str(e).splitlines()[0],
                "give the policy file the run used: --policy PATH.yaml")]) from None
        self.cfg.policy = self.rcfg.policy or policy_name
        self.policy_hash = self.policy.content_hash
        self.suite_name = (man.get("suite") or {}).get("name") or ident.get("suite") or "unknown"
        self.suite_path = Path((man.get("suite") or {}).get("path") or "")
        self.n_samples = self._count_samples()
        self.cfg.params = GenParams(**{k: v for k, v in (ident.get("params") or {}).items()
                                       if k in ("max_tokens", "temperature", "seed")})
        self.judges = build_judges(self.cfg.judges, self.cfg.judge_options, self.policy,
                                   self.cfg.concurrency)
        self._setup_judging()
        self.target = _RecordedTarget(man.get("target") or {"name": ident.get("target", "unknown")},
                                      ident.get("target_identity", ""))
        self.started = datetime.now(UTC)
        self.identity = {
            "rejudged_from": str(src.resolve()),
            "source_results_hash": file_hash(self.source_results),
            "suite": self.suite_name,
            "suite_hash": ident.get("suite_hash"),
            "target": self.target.name,
            "target_identity": self.target.cache_identity,
            "params": self.cfg.params.as_dict(),
            "policy": self.policy.name,
            "policy_hash": self.policy_hash,
            "judges": {j.id: j.version for j in self.judges},
        }
        if self.cfg.out is not None and self.cfg.out.resolve() == src.resolve():
            raise InputError("--out is the source run", [Problem(
                str(self.cfg.out), "rejudging writes a new run directory", "choose another --out")])
        self._init_out_dir(f"{_slug(src.resolve().name)}-rejudge")

    def _count_samples(self) -> int:
        seen: set[str] = set()
        lines = 0
        self._torn = 0
        for rec in self._source_records():
            lines += 1
            seen.add(rec["sample"]["id"])
        # every source line is rejudged or skipped with its reason (summary manifest, `suite`)
        self.n_rows = lines + self._torn
        self.skipped_rows = {k: n for k, n in (
            ("a repeated result of a sample (the first is rejudged)", lines - len(seen)),
            ("a torn last line (the source run was killed)", self._torn)) if n}
        return len(seen)

    def _source_records(self) -> Iterator[dict[str, Any]]:
        with open(self.source_results, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.endswith(b"\n"):
                    self._torn = 1  # counted: a torn last line of a killed run, that sample has no result
                    return
                try:
                    rec = json.loads(line)
                    rec["sample"]["id"]  # noqa: B018 - validates the shape
                except (ValueError, KeyError, TypeError):
                    raise InputError(f"{self.source_results} is damaged", [Problem(
                        f"{self.source_results}:{lineno}", "not a result record written by Redline",
                        "repair or delete that line")]) from None
                yield rec

    def _samples(self, done: set[str]) -> Iterator[Any]:
        seen: set[str] = set()
        for rec in self._source_records():
            sid = rec["sample"]["id"]
            if sid in done or sid in seen:
                continue
            seen.add(sid)
            yield rec

    async def _process(self, src: Any, sink: Any) -> None:
        sample = Sample.model_validate(src["sample"])
        response = src.get("response")
        error = src.get("error")
        if sample.category not in self._category_ids:
            error = error or f"category {sample.category!r} is not in policy {self.policy.name!r}"
        if self.async_judging:
            judgments = await self._ajudge(sample, response)
        else:
            judgments = self._judge(sample, response)
        outcome, over = decide(sample.expected.value, response, error, judgments,
                               self.harm_judge, self.refusal_judge or "refusal")
        rec = dict(src)
        rec.update({
            "error": error,
            "judgments": [j.model_dump(exclude_none=True, exclude_defaults=True) for j in judgments],
            "outcome": outcome.value,
            "over_refusal": over,
            "policy_hash": self.policy_hash,
            "rejudged_from": self.identity["rejudged_from"],
        })
        sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
        sink.flush()
        self.agg.add(rec)

    def ray_work(self) -> Any:
        """What ``--executor ray`` runs: shards of the source run's records (each response travels
        in its record) on actors that build the judges once.

        Returns:
            The :class:`~redline.executors.ray.RayWork`.
        """
        from redline.executors.ray import RayWork, driver_caches

        return RayWork(rejudge_worker, (self.rcfg, self.cfg, self.policy, self.identity["rejudged_from"],
                                        driver_caches(self), str(self.suite_path)))

    def run(self) -> EvalOutcome:
        """Judge the source run's responses again (or resume doing so); call :meth:`prepare` first.

        A sample whose category is not in the policy is recorded with an error (unassessable).

        Returns:
            The new run directory, summary, status and counts (``new_requests`` stays 0).

        Raises:
            InputError: As :meth:`Runner.run`, or when the source ``results.jsonl`` is damaged.
            FatalTargetError: A judge cannot answer at all.
        """
        self._category_ids = set(self.policy.category_ids)
        return super().run()

    def _summary(self, status: str, elapsed: float, resumed: int) -> dict[str, Any]:
        summary = super()._summary(status, elapsed, resumed)
        man = summary["manifest"]
        src = self.source_manifest
        man["rejudged_from"] = {
            "run": self.identity["rejudged_from"],
            "results_hash": self.identity["source_results_hash"],
            "status": src.get("status"),
            "judges": src.get("judges"),
            "deciding_judge": src.get("deciding_judge"),
            "policy": src.get("policy"),
        }
        man["suite"]["hash"] = self.identity["suite_hash"]
        man["suite"]["skipped_by_reason"] = dict(getattr(self, "skipped_rows", {}))
        return summary


def rejudge_worker(rcfg: RejudgeConfig, cfg: EvalConfig, policy: Any, rejudged_from: str,
                   caches: tuple[bool, bool], suite_path: str) -> Rejudger:
    """The rejudger an actor builds (``--executor ray``): the judges, no source run, no target.

    Args:
        rcfg: The rejudge configuration.
        cfg: The driver's evaluation configuration (judges, options, params).
        policy: The loaded policy (shipped from the driver).
        rejudged_from: The source run's path, as recorded in each record.
        caches: Whether the driver uses the response and verdict caches.
        suite_path: The source run's suite file.

    Returns:
        The rejudger, ready to grade shipped records.
    """
    from redline.executors.ray import worker_runner

    r = Rejudger(rcfg, None)  # type: ignore[arg-type]  # no workspace: actors write nothing
    r.cfg = cfg
    worker_runner(r, policy, False, caches, suite_path, target=_RecordedTarget({}, ""))
    r._category_ids = set(policy.category_ids)
    r.identity = {"rejudged_from": rejudged_from}
    return r


def run_rejudge(rcfg: RejudgeConfig, workspace: Workspace | None = None) -> EvalOutcome:
    """Rejudge a run into a new run directory, never calling the target.

    Args:
        rcfg: The source run and the judges to grade it with.
        workspace: The workspace (default: the current one).

    Returns:
        The new run directory, summary, status and counts.

    Raises:
        InputError: Bad input, a run directory in use, or a full disk.
    """
    r = Rejudger(rcfg, workspace or Workspace.default())
    r.prepare()
    return r.run()


__all__ = ["RejudgeConfig", "Rejudger", "run_rejudge"]
