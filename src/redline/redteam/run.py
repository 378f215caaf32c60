"""Running a red-team: plan the work items into the run directory, run them, measure.

:func:`run_redteam` writes the planned items into the run directory as the run's suite file
(``<suite>.redteam.jsonl``), then hands that suite to the evaluation runner (converter-only
runs) or to the attack runner (when an attacker strategy is asked for), so that caching,
resume after a kill, progress, ``summary.json`` and ``report.html`` all come from the runner.
When the runner stops, the red-team measures are written to ``redteam.json`` and added to
the report as a section.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.errors import InputError, Problem
from redline.redteam.options import DIRECT, AttackOptions

SUITE_SUFFIX = ".redteam.jsonl"


@dataclass
class RedteamPlan:
    """What a red-team run plans, besides the evaluation settings.

    Attributes:
        suite: The goals' suite (a built-in name or a JSONL file): harmful and benign prompts.
        chains: Converter chains as lists of names (``[]`` is ``none``).
        converter_options: Options per converter name.
        strategies: Strategies besides ``direct`` (``pair``, ``tap``, ``crescendo``, ...).
        attack: How attacker strategies run.
        limit: Only the suite's first ``limit`` goals.
        seed: The seed of every converter's randomness.
    """

    suite: str = "core"
    chains: list[list[str]] = field(default_factory=list)
    converter_options: dict[str, dict[str, str]] = field(default_factory=dict)
    strategies: list[str] = field(default_factory=list)
    attack: AttackOptions = field(default_factory=AttackOptions)
    limit: int | None = None
    seed: int = 0


@dataclass
class RedteamOutcome:
    """A finished (or interrupted) red-team run.

    Attributes:
        result: The runner's :class:`~redline.evals.runner.EvalOutcome`.
        plan: The plan's counts (:meth:`redline.redteam.plan.PlanCounts.to_json`).
        metrics: The red-team measures (:func:`redline.redteam.metrics.compute`).
    """

    result: Any
    plan: dict[str, Any]
    metrics: dict[str, Any]


def attack_runner_class() -> Any:
    """The attack runner class (:mod:`redline.redteam.attack_runner`), or None when absent."""
    try:
        from redline.redteam.attack_runner import AttackRunner
    except ImportError:
        return None
    return AttackRunner


def _run_dir(cfg: Any, plan: RedteamPlan, ws: Any, suite_name: str, suite_hash: str) -> Path:
    """``--out``, or a directory named after the plan's identity (the same command resumes it)."""
    if cfg.out is not None:
        return Path(cfg.out)
    from redline.evals.runner import _slug

    ident = {"suite": suite_name, "suite_hash": suite_hash, "target": cfg.target,
             "target_options": {k: v for k, v in cfg.target_options.items() if k != "api_key"},
             "params": cfg.params.as_dict(), "policy": str(cfg.policy), "judges": cfg.judges,
             "judge_options": cfg.judge_options, "chains": plan.chains,
             "converter_options": plan.converter_options, "strategies": plan.strategies,
             "attack": {k: v for k, v in vars(plan.attack).items()}, "limit": plan.limit,
             "seed": plan.seed}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return Path(ws.runs_dir) / f"redteam-{_slug(suite_name)}-{_slug(cfg.target)}-{digest}"


def write_plan(cfg: Any, plan: RedteamPlan, ws: Any) -> tuple[Path, dict[str, Any]]:
    """Plan the work items and write them into the run directory as its suite file.

    Args:
        cfg: The run's :class:`~redline.evals.runner.EvalConfig` (its ``suite`` is the goals).
        plan: What to plan.
        ws: The workspace (the translate converter's response cache, the default run folder).

    Returns:
        The suite file written, and the plan's counts.

    Raises:
        InputError: A bad suite, converter or option; a run directory that holds another plan.
    """
    from redline.data.jsonl import iter_samples, validate_samples
    from redline.data.suites import resolve_suite
    from redline.files import file_hash, jsonl_line, write_atomic
    from redline.policy.loader import load_policy
    from redline.redteam.converters import build_chains
    from redline.redteam.plan import PlanCounts, expand

    policy = load_policy(cfg.policy)
    name, path = resolve_suite(plan.suite)
    validate_samples(path, set(policy.category_ids))
    chains = build_chains(plan.chains, plan.converter_options, workspace=ws)
    counts = PlanCounts()
    try:
        goals = (s for i, s in enumerate(iter_samples(path)) if plan.limit is None or i < plan.limit)
        text = "".join(jsonl_line(s.model_dump(mode="json", exclude_none=True))
                       for s in expand(goals, chains, plan.strategies, seed=plan.seed, counts=counts))
    finally:
        for c in chains:
            c.close()
    out = _run_dir(cfg, plan, ws, name, file_hash(path))
    suite_file = out / f"{name}{SUITE_SUFFIX}"
    if (out / "run.json").exists() and suite_file.exists() and suite_file.read_text(encoding="utf-8") != text:
        raise InputError(f"{out} holds a different red-team plan", [Problem(
            str(suite_file), "the converters, strategies, suite, --limit or --seed differ from that run's",
            "re-run with the same options to resume it, or choose another --out")])
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(suite_file, text)
    cfg.out = out
    return suite_file, counts.to_json()


def run_redteam(cfg: Any, plan: RedteamPlan, ws: Any) -> RedteamOutcome:
    """Plan, run (or resume) and measure a red-team run.

    Args:
        cfg: The evaluation settings (target, judges, concurrency, ...); ``cfg.suite`` and
            ``cfg.limit`` are replaced by the planned suite.
        plan: The goals, converter chains and strategies.
        ws: The workspace.

    Returns:
        The runner's outcome, the plan's counts and the red-team measures.

    Raises:
        InputError: Bad input, an attacker strategy without the attack runner, a run directory
            in use, or a full disk.
    """
    from redline.evals.runner import Runner, disk_full_error
    from redline.files import is_disk_full

    attackers = [s for s in plan.strategies if s != DIRECT]
    runner_cls = attack_runner_class() if attackers else None
    if attackers and runner_cls is None:
        raise InputError("attacker strategies are not available in this installation", [Problem(
            "--strategy", f"{', '.join(attackers)} need(s) redline.redteam.attack_runner, which is missing",
            "run converters only (--strategy direct), or install a Redline with the attack runner")])
    suite_file, counts = write_plan(cfg, plan, ws)
    cfg.suite = str(suite_file)
    cfg.limit = None
    runner = runner_cls(cfg, ws, plan.attack) if runner_cls is not None else Runner(cfg, ws)
    try:
        runner.prepare()
        result = runner.run()
    except InputError:
        raise
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(cfg.out) from None
        raise
    metrics = finish(result.out_dir, counts)
    return RedteamOutcome(result, counts, metrics)


def finish(out_dir: Path, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure a run, write ``redteam.json`` and add the red-team section to ``report.html``.

    Args:
        out_dir: The run directory.
        counts: The plan's counts, recorded beside the measures.

    Returns:
        The measures.
    """
    from redline.files import write_atomic
    from redline.redteam.export import dumps
    from redline.redteam.metrics import REDTEAM_JSON, compute

    metrics = compute(out_dir / "results.jsonl")
    if counts is not None:
        metrics = {"plan": counts, **metrics}
    write_atomic(out_dir / REDTEAM_JSON, dumps(metrics))
    report = out_dir / "report.html"
    if report.exists():
        from redline.report.redteam import add_section

        write_atomic(report, add_section(report.read_text(encoding="utf-8"), metrics))
    return metrics
