"""The ``redteam`` command: converters and attacker strategies over a suite's goals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import (
    DbOption,
    JsonSummaryOption,
    ProgressOption,
    exit_on_interrupt,
    print_json,
)
from redline.commands.evals import (
    ApiKeyOption,
    BaseUrlOption,
    ConcurrencyOption,
    ExecutorOption,
    ExecutorOptionsOption,
    JudgeOption,
    JudgeOptionsOption,
    MaxRetriesOption,
    MaxTokensOption,
    NoCacheOption,
    OutOption,
    PolicyOption,
    RayAddressOption,
    RetryBaseOption,
    RetryErrorsOption,
    RetryMaxOption,
    SeedOption,
    TargetOption,
    TemperatureOption,
    TimeoutOption,
    eval_config,
    executor_options,
    sample_counts,
    show_run,
)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def redteam_cmd(
    suite: Annotated[str, typer.Option(help="Goals: a built-in suite (see `redline suites`) or a JSONL file; its harmful prompts are attacked, its benign ones measure over-refusal under the same converters.")] = "core",
    target: TargetOption = "local",
    converter: Annotated[list[str] | None, typer.Option("--converter", help="Converter chains (repeatable; ',' separates chains, '+' composes: base64,hex+roleplay). `none` (the plain prompt) is always included. `redline plugins` lists the converters.", show_default=False)] = None,
    converter_option: Annotated[list[str] | None, typer.Option("--converter-option", help="Converter option NAME.KEY=VALUE (repeatable), e.g. caesar.shift=5, translate.target=openai:MODEL.", show_default=False)] = None,
    strategy: Annotated[list[str] | None, typer.Option("--strategy", help="Strategies (repeatable, comma-separated): direct (send once, as converted; always included), pair, tap, crescendo.", show_default=False)] = None,
    attacker: Annotated[str | None, typer.Option(help="The attacker model's target spec for attacker strategies (default: the target attacks itself).", show_default=False)] = None,
    attacker_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the attacker model.", show_default=False)] = None,
    budget: Annotated[int, typer.Option(min=1, help="Target queries per goal, at most (attacker strategies).")] = 20,
    max_depth: Annotated[int, typer.Option(min=1, help="PAIR iterations / TAP tree depth, at most.")] = 5,
    width: Annotated[int, typer.Option(min=1, help="TAP branches kept per level; PAIR parallel streams.")] = 3,
    branching: Annotated[int, typer.Option(min=1, help="TAP children per kept node.")] = 2,
    max_turns: Annotated[int, typer.Option(min=1, help="Crescendo turns, at most.")] = 5,
    max_backtracks: Annotated[int, typer.Option(min=0, help="Crescendo: refused turns rolled back, at most.")] = 3,
    success_score: Annotated[int, typer.Option(min=1, max=10, help="The attack judge's score (1-10) that counts as a jailbreak.")] = 10,
    attack_option: Annotated[list[str] | None, typer.Option("--attack-option", help="Attack option KEY=VALUE (repeatable): judge=llm|offline (who scores attempts: the attacker model 1-10, or the run's offline harm judge), attacker_max_tokens=N, judge_max_tokens=N, fsync_journal=true, or a strategy's own option (see docs/redteam/strategies.md).", show_default=False)] = None,
    export_successes: Annotated[Path | None, typer.Option("--export-successes", help="Write the successful attacks to this file as a suite (`redline eval --suite FILE` replays them).", show_default=False)] = None,
    policy: PolicyOption = "default",
    judge: JudgeOption = None,
    option: JudgeOptionsOption = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = 8,
    base_url: BaseUrlOption = None,
    api_key: ApiKeyOption = None,
    max_tokens: MaxTokensOption = None,
    temperature: TemperatureOption = 0.0,
    seed: SeedOption = 0,
    timeout: TimeoutOption = 60.0,
    max_retries: MaxRetriesOption = 4,
    retry_base: RetryBaseOption = 0.5,
    retry_max: RetryMaxOption = 20.0,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N goals of the suite (each becomes several work items).")] = None,
    no_cache: NoCacheOption = False,
    retry_errors: RetryErrorsOption = False,
    db: DbOption = None,
    as_json: JsonSummaryOption = False,
    progress: ProgressOption = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    executor_option: ExecutorOptionsOption = None,
) -> None:
    """Attack a target: converters (base64, role-play, ...) and attacker strategies over a suite's goals.

    Writes a run like `eval` (results.jsonl, summary.json, report.html; re-running the same
    command resumes it) plus redteam.json: attack success per strategy × converters × category
    and over-refusal under attack, with Wilson 95% intervals.
    """
    from redline.judges.base import parse_options
    from redline.redteam.converters import parse_chains, parse_converter_options
    from redline.redteam.options import AttackOptions
    from redline.redteam.run import RedteamPlan, run_redteam
    from redline.workspace import Workspace

    exec_options = executor_options(executor, ray_address, executor_option)
    strategies = _split(strategy)
    attack = AttackOptions(attacker=attacker,
                           attacker_options={"base_url": attacker_base_url} if attacker_base_url else {},
                           budget=budget, max_depth=max_depth, width=width, branching=branching,
                           max_turns=max_turns, max_backtracks=max_backtracks,
                           success_score=success_score, seed=seed or 0,
                           extra=parse_options(attack_option))
    plan = RedteamPlan(suite=suite, chains=parse_chains(converter),
                       converter_options=parse_converter_options(converter_option),
                       strategies=strategies, attack=attack, limit=limit, seed=seed or 0)
    cfg = eval_config(
        suite=suite, target=target, policy=policy, judge=judge, judge_options=parse_options(option), out=out,
        concurrency=concurrency, base_url=base_url, api_key=api_key, max_tokens=max_tokens,
        temperature=temperature, seed=seed, timeout=timeout, max_retries=max_retries,
        retry_base=retry_base, retry_max=retry_max, limit=None, no_cache=no_cache,
        retry_errors=retry_errors, progress=progress, executor=executor, executor_options=exec_options,
    )
    ws = Workspace.default(db)
    with exit_on_interrupt("interrupted"):
        done = run_redteam(cfg, plan, ws)
    exported = None
    if export_successes is not None:
        from redline.commands._common import writing
        from redline.redteam.export import export_successes as export

        with writing(export_successes, "choose a writable --export-successes path"):
            exported = export(done.result.out_dir / "results.jsonl", export_successes)
    result = done.result
    if as_json:
        print_json({"out_dir": str(result.out_dir), "status": result.status, **result.summary,
                    "row_counts": sample_counts(result.summary["manifest"]).to_json(),
                    "redteam": done.metrics,
                    **({"exported": {"path": str(export_successes), "samples": exported}}
                       if exported is not None else {})})
        if result.status == "interrupted":
            raise typer.Exit(130)
        return
    print_redteam(done.metrics)
    if exported is not None:
        typer.echo(f"exported {exported} successful attack(s) as a suite: {export_successes}")
    show_run(result, False)


def print_redteam(m: dict[str, Any]) -> None:
    """Print the red-team measures: ASR per strategy × converters, attackers, over-refusal.

    Args:
        m: What :func:`redline.redteam.metrics.compute` returned.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=110)

    def k_n(r: dict[str, Any] | None) -> str:
        return "–" if not r or r["rate"] is None else f"{100 * r['rate']:.1f}% {r['k']}/{r['n']}"

    def ci(r: dict[str, Any] | None) -> str:
        return "" if not r or r["rate"] is None else f"{100 * r['ci95'][0]:.0f}–{100 * r['ci95'][1]:.0f}"

    t = Table(title="attack success rate (harmful goals)", title_justify="left",
              caption="95% CI: Wilson interval, %", caption_justify="left")
    for col, just in (("strategy", "left"), ("converters", "left"), ("ASR", "right"), ("95% CI", "right"),
                      ("unassessable", "right")):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for r in m["asr"]["by_strategy_chain"]:
        t.add_row(escape(r["strategy"]), escape(r["chain"]), k_n(r), ci(r), str(r["unassessable"]))
    con.print(t)
    if m["attackers"]:
        a = Table(title="attacker strategies", title_justify="left")
        for col in ("strategy", "goals", "success", "95% CI", "within budget", "median queries to success"):
            a.add_column(col, no_wrap=True)
        for s, r in m["attackers"].items():
            med = r["queries_to_success"]["median"]
            a.add_row(escape(s), str(r["goals"]), k_n(r["success"]), ci(r["success"]),
                      k_n(r["success_within_budget"]), "–" if med is None else f"{med:g}")
        con.print(a)
    if m["over_refusal"]["by_chain"]:
        o = Table(title="over-refusal under attack (benign goals)", title_justify="left")
        for col in ("converters", "over-refusal", "95% CI", "unassessable"):
            o.add_column(col, no_wrap=True)
        for chain, r in m["over_refusal"]["by_chain"].items():
            o.add_row(escape(chain), k_n(r), ci(r), str(r["unassessable"]))
        con.print(o)


def register(app: typer.Typer) -> None:
    """Add the ``redteam`` command to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("redteam")(redteam_cmd)
