"""Evaluation commands: ``eval``, ``runs``, ``suites``, ``policies``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import (
    DbOption,
    JsonOption,
    JsonSummaryOption,
    ProgressOption,
    exit_on_interrupt,
    print_json,
)

# The options `eval` shares with other run commands (`redteam`): one definition each.
TargetOption = Annotated[str, typer.Option(help="local | local:PATH.gguf | openai:MODEL | replay:FILE.jsonl")]
PolicyOption = Annotated[str, typer.Option(help="Built-in policy name or a policy YAML file.")]
JudgeOption = Annotated[list[str] | None, typer.Option("--judge", help="Judge(s) to run (repeatable) (default: refusal + harm: harm decides harmful prompts, refusal over-refusal); the first harm judge decides harmful prompts.", show_default=False)]
JudgeOptionsOption = Annotated[list[str] | None, typer.Option("--option", help="Judge option KEY=VALUE (repeatable; NAME.KEY scopes it to one judge). API keys are read from env vars only: api_key_env=VAR.")]
OutOption = Annotated[Path | None, typer.Option(help="Run directory; re-running with the same --out resumes.")]
ConcurrencyOption = Annotated[int, typer.Option(min=1, max=4096, help="Requests in flight at once.")]
BaseUrlOption = Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (or OPENAI_BASE_URL).")]
ApiKeyOption = Annotated[str | None, typer.Option(help="API key (prefer the OPENAI_API_KEY variable).", show_default=False)]
MaxTokensOption = Annotated[int | None, typer.Option(min=1, help="Maximum tokens per response (default: 96 for local models, 512 otherwise).", show_default=False)]
TemperatureOption = Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")]
SeedOption = Annotated[int | None, typer.Option(help="Sampling seed, where the target supports one.")]
TimeoutOption = Annotated[float, typer.Option(min=0.1, help="Per-request timeout in seconds.")]
MaxRetriesOption = Annotated[int, typer.Option(min=0, max=20, help="Retries per request (hard cap).")]
RetryBaseOption = Annotated[float, typer.Option(min=0.0, help="First backoff delay in seconds (doubles, capped).")]
RetryMaxOption = Annotated[float, typer.Option(min=0.0, help="Backoff cap in seconds.")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="Only the first N samples of the suite.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Ask the target again even for cached prompts.")]
RetryErrorsOption = Annotated[bool, typer.Option("--retry-errors", help="When resuming, ask again for samples whose request failed.")]
ExecutorOption = Annotated[str, typer.Option("--executor", help="Where the work runs: local (this process) or ray (a Ray cluster; pip install redline[ray]; docs/deploy.md).")]
RayAddressOption = Annotated[str | None, typer.Option("--ray-address", help="--executor ray: the cluster's HOST:PORT (default: RAY_ADDRESS, else a local cluster).", show_default=False)]
ExecutorOptionsOption = Annotated[list[str] | None, typer.Option("--executor-option", help="Executor option KEY=VALUE (repeatable; ray: workers, shard_size, cpus_per_worker, max_worker_restarts).", show_default=False)]


def executor_options(executor: str, ray_address: str | None, executor_option: list[str] | None) -> dict[str, Any]:
    """The executor's options from ``--ray-address`` and ``--executor-option``, checked at once
    (a bad executor fails before a run directory is claimed or an output is written).

    Args:
        executor: ``--executor``.
        ray_address: ``--ray-address``.
        executor_option: ``--executor-option`` values.

    Returns:
        The options.

    Raises:
        InputError: An unknown executor or option, or Ray not installed.
    """
    from redline.judges.base import parse_options

    options = {**parse_options(executor_option), **({"address": ray_address} if ray_address else {})}
    if executor != "local" or options:
        from redline.executors import check_executor

        check_executor(executor, options)
    return options

#: The default ``--max-tokens`` of local (CPU) models. Measured on the demo (SmolLM2-135M, 85
#: prompts, greedy): 72 of 85 responses ran to the old 200-token cap; at 96 the demo generates
#: 7,971 tokens instead of 16,115 (~57 tokens/s on 2 cores: ~2.5 min instead of 4.7), and 6 of
#: 85 outcomes differ from 200 tokens' (responses cut before a late refusal or compliance).
LOCAL_MAX_TOKENS = 96


def eval_cmd(
    suite: Annotated[str | None, typer.Option(help="Built-in suite name (see `redline suites`) or a JSONL file (default: the policy's own suite; `demo` for the default policy).", show_default=False)] = None,
    target: TargetOption = "local",
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
    limit: LimitOption = None,
    no_cache: NoCacheOption = False,
    retry_errors: RetryErrorsOption = False,
    db: DbOption = None,
    as_json: JsonSummaryOption = False,
    progress: ProgressOption = True,
    allow_image_root: Annotated[list[Path] | None, typer.Option("--allow-image-root", exists=True, file_okay=False, help="A folder besides the suite's own from which image parts' local files may be read (repeatable).")] = None,
    max_image_side: Annotated[int | None, typer.Option("--max-image-side", help="openai target: downscale images to this many pixels on their longest side before sending.", show_default=False)] = None,
    max_image_mb: Annotated[float | None, typer.Option("--max-image-mb", help="openai target: fail a sample (naming it) whose image is larger than this once encoded.", show_default=False)] = None,
    gate: Annotated[Path | None, typer.Option("--gate", help="Gate the finished run against this budgets file (docs/learn/gate.md): exit 1 when it fails.", show_default=False)] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    executor_option: ExecutorOptionsOption = None,
) -> None:
    """Run a target over a safety suite, judge the responses and write a report.

    With no arguments: the built-in `demo` suite, the built-in local model and the offline judges.
    """
    from redline.evals.runner import run_eval
    from redline.judges.base import parse_options
    from redline.workspace import Workspace

    judge_options = parse_options(option)
    exec_options = executor_options(executor, ray_address, executor_option)
    budgets = None
    if gate is not None:  # a bad budgets file fails before any request is made
        from redline.learn.gate import check_budgets_policy, load_budgets

        budgets = load_budgets(gate)
        check_budgets_policy(budgets, policy)
    if suite is None:
        from redline.policy.loader import load_policy

        suite = load_policy(policy).suite or "demo"
    cfg = eval_config(
        suite=suite, target=target, policy=policy, judge=judge, judge_options=judge_options, out=out,
        concurrency=concurrency, base_url=base_url, api_key=api_key, max_tokens=max_tokens,
        temperature=temperature, seed=seed, timeout=timeout, max_retries=max_retries,
        retry_base=retry_base, retry_max=retry_max, limit=limit, no_cache=no_cache,
        retry_errors=retry_errors, progress=progress, allow_image_root=allow_image_root,
        max_image_side=max_image_side, max_image_mb=max_image_mb,
        executor=executor, executor_options=exec_options,
    )
    ws = Workspace.default(db)
    with exit_on_interrupt("interrupted"):  # before the run started: nothing to resume yet
        result = run_eval(cfg, ws)
    verdict = None
    if budgets is not None and result.status == "completed":
        from redline.learn.gate import gate_run

        verdict = gate_run(result.out_dir, budgets, ws=ws)
    show_run(result, as_json, verdict)
    if verdict is not None and not verdict["passed"]:
        raise typer.Exit(1)


def eval_config(*, suite: str, target: str, policy: str, judge: list[str] | None,
                judge_options: dict[str, str], out: Path | None, concurrency: int,
                base_url: str | None, api_key: str | None, max_tokens: int | None, temperature: float,
                seed: int | None, timeout: float, max_retries: int, retry_base: float, retry_max: float,
                limit: int | None, no_cache: bool, retry_errors: bool, progress: bool,
                allow_image_root: list[Path] | None = None, max_image_side: int | None = None,
                max_image_mb: float | None = None, executor: str = "local",
                executor_options: dict[str, Any] | None = None) -> Any:
    """The :class:`~redline.evals.runner.EvalConfig` of a run command's options (``eval``,
    ``redteam``): the same defaults (judges, max tokens per target kind) everywhere.

    Args:
        suite: The suite (a built-in name or a JSONL path).
        target: The target spec.
        policy: The policy.
        judge: ``--judge`` (None: the default judges).
        judge_options: The parsed ``--option`` values.
        out: ``--out``.
        concurrency: ``--concurrency``.
        base_url: ``--base-url``.
        api_key: ``--api-key``.
        max_tokens: ``--max-tokens`` (None: 96 for local models, 512 otherwise).
        temperature: ``--temperature``.
        seed: ``--seed``.
        timeout: ``--timeout``.
        max_retries: ``--max-retries``.
        retry_base: ``--retry-base``.
        retry_max: ``--retry-max``.
        limit: ``--limit``.
        no_cache: ``--no-cache``.
        retry_errors: ``--retry-errors``.
        progress: ``--progress/--no-progress``.
        allow_image_root: ``--allow-image-root``.
        max_image_side: ``--max-image-side`` (openai target: downscale images).
        max_image_mb: ``--max-image-mb`` (openai target: the largest image sent).
        executor: ``--executor`` (``local``, ``ray``).
        executor_options: ``--ray-address`` and ``--executor-option`` values.
    """
    from redline.evals.runner import DEFAULT_JUDGES, EvalConfig, RetryPolicy
    from redline.targets.base import GenParams

    return EvalConfig(
        suite=suite, target=target, policy=policy, judges=judge or list(DEFAULT_JUDGES), out=out,
        judge_options=judge_options, concurrency=concurrency,
        target_options={"base_url": base_url, "api_key": api_key, "timeout": timeout,
                        **{k: v for k, v in (("max_image_side", max_image_side),
                                             ("max_image_mb", max_image_mb)) if v is not None}},
        params=GenParams(max_tokens=max_tokens or (LOCAL_MAX_TOKENS if target.split(":")[0] == "local" else 512),
                         temperature=temperature, seed=seed),
        retry=RetryPolicy(max_retries=max_retries, base_delay=retry_base, max_delay=retry_max),
        use_cache=not no_cache, progress=progress, limit=limit, retry_errors=retry_errors,
        image_roots=list(allow_image_root or []),
        executor=executor, executor_options=dict(executor_options or {}),
    )


def show_run(result: Any, as_json: bool, gate: dict[str, Any] | None = None) -> None:
    """Print a finished (or interrupted) run: its summary as JSON or as a table.

    Args:
        result: What :func:`redline.evals.runner.run_eval` (or ``run_rejudge``) returned.
        as_json: Print the summary as JSON instead of the table.
        gate: The run's gate verdict (:func:`redline.learn.gate.gate_run`), if it was gated.

    Raises:
        typer.Exit: With code 130 when the run was interrupted (re-running resumes it).
    """
    if as_json:
        print_json({"out_dir": str(result.out_dir), "status": result.status, **result.summary,
                    "row_counts": sample_counts(result.summary["manifest"]).to_json(),
                    **({"gate": gate} if gate is not None else {})})
    else:
        _print_summary(result)
        if gate is not None:
            from redline.commands.gate import print_gate

            print_gate(gate)
    if result.status == "interrupted":
        raise typer.Exit(130)


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=110)
    m = result.summary["metrics"]
    man = result.summary["manifest"]

    def k_n(r: dict[str, Any]) -> str:
        return "–" if r["rate"] is None else f"{100 * r['rate']:.1f}% {r['k']}/{r['n']}"

    def ci(r: dict[str, Any]) -> str:
        return "" if r["rate"] is None else f"{100 * r['ci95'][0]:.0f}–{100 * r['ci95'][1]:.0f}"

    t = Table(title=escape(f"{man['suite']['name']} → {man['target']['name']} · policy "
                           f"{man['policy']['name']} ({man['policy']['hash']})"), title_justify="left",
              caption="95% CI: Wilson interval, %",
              caption_justify="left")
    t.add_column("category", no_wrap=True)
    t.add_column("harmful", justify="right", no_wrap=True)
    t.add_column("95% CI", justify="right", no_wrap=True, style="dim")
    t.add_column("over-refusal", justify="right", no_wrap=True)
    t.add_column("95% CI", justify="right", no_wrap=True, style="dim")
    t.add_column("unassessable", justify="right", no_wrap=True)
    for cid, c in m["by_category"].items():
        t.add_row(escape(cid), k_n(c["harmful_rate"]), ci(c["harmful_rate"]), k_n(c["over_refusal_rate"]),
                  ci(c["over_refusal_rate"]), k_n(c["unassessable_rate"]))
    o = m["overall"]
    t.add_row("[bold]overall", f"[bold]{k_n(o['harmful_rate'])}", ci(o["harmful_rate"]),
              f"[bold]{k_n(o['over_refusal_rate'])}", ci(o["over_refusal_rate"]),
              f"[bold]{k_n(o['unassessable_rate'])}", end_section=True)
    con.print(t)
    if result.summary.get("modality_gap"):
        print_modality_gap(con, result.summary["modality_gap"])
    if result.summary.get("language_gap"):
        _print_language_gap(con, result.summary["language_gap"])
    tm = man["timings"]
    con.print(f"status: {result.status} · {tm['completed']} samples · {tm['new_requests']} new requests · "
              f"{tm['resumed_from_previous']} resumed · {tm['this_invocation_s']:.1f}s", markup=False)
    reasons = m.get("unassessable_reasons") or {}
    if reasons:  # say why, so a run that graded nothing is not read as a clean result
        n_un = sum(reasons.values())
        con.print(f"[yellow]unassessable: {n_un} of {tm['completed']} samples[/] — "
                  + escape(", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))))
    con.print(f"results: {result.out_dir / 'results.jsonl'}", markup=False)
    if (result.out_dir / "report.html").exists():
        con.print(f"report:  {result.out_dir / 'report.html'}", markup=False)
    if result.status != "completed":
        con.print("[yellow]run not complete: re-run the same command to resume[/]")
    con.print(sample_counts(man).line(), markup=False, soft_wrap=True)


def print_modality_gap(con: Any, gap: dict[str, Any]) -> None:
    """Print a run's modality gap: per category, the text and image-borne rates and the paired
    difference image − text with its 95% interval and Holm-adjusted McNemar p-value.

    Args:
        con: A rich console.
        gap: ``summary["modality_gap"]`` (:func:`redline.evals.modality.modality_gap`).
    """
    from rich.markup import escape
    from rich.table import Table

    def cells(levels: dict[str, Any], level: str, metric: str, overall: bool) -> list[str]:
        blk = levels.get(level) or {}
        g = blk.get("gap_vs_reference", {}).get(metric, {}).get("paired") or {}
        if not g.get("pairs"):
            return ["–", "", ""]
        lo, hi = g["ci95"] or (0.0, 0.0)
        p = g.get("p_value") if overall else g.get("p_holm", g.get("p_value"))
        return [f"{100 * g['reference_rate']:.0f}→{100 * g['level_rate']:.0f}% ({g['pairs']})",
                f"{100 * g['diff']:+.0f} [{100 * lo:+.0f},{100 * hi:+.0f}]",
                "" if p is None else "<1e-4" if p == 0 else f"{p:.2g}"]

    for level in gap["levels"][1:]:
        t = Table(title=f"modality gap: {escape(level)} vs text, same requests paired",
                  title_justify="left", caption=f"text→{level} rate (pairs); gap in percentage points "
                  f"({level} − text) with its 95% CI (Newcombe, paired); p: exact McNemar, Holm across "
                  "categories", caption_justify="left")
        for col in ("category", "harmful", "gap", "p", "over-refusal", "gap", "p"):
            t.add_column(col, no_wrap=True, justify="left" if col == "category" else "right")
        rows = [(c, levels, False) for c, levels in gap["by_category"].items() if level in levels]
        rows.append(("[bold]overall", gap["overall"], True))
        for cat, levels, overall in rows:
            t.add_row(cat if overall else escape(cat), *cells(levels, level, "harmful_rate", overall),
                      *cells(levels, level, "over_refusal_rate", overall))
        con.print(t)


def _print_language_gap(con: Any, gap: dict[str, Any]) -> None:
    """The language-gap table of a multilingual run, then its judge-coverage warnings."""
    from rich.markup import escape
    from rich.table import Table

    if gap.get("error"):
        con.print(f"[yellow]language gap not computed: {escape(gap['error'])}[/]")
        return

    def pct(r: dict[str, Any]) -> str:
        return "–" if r.get("rate") is None else f"{100 * r['rate']:.1f}% {r['k']}/{r['n']}"

    def diff(p: dict[str, Any]) -> str:
        if p.get("diff") is None:
            return "–"
        lo, hi = p["ci95"]
        return f"{100 * p['diff']:+.1f} [{100 * lo:+.0f}, {100 * hi:+.0f}] n={p['pairs']}"

    ref = gap["reference"]
    t = Table(title=f"language gap vs {ref} (paired on the same requests)", title_justify="left",
              caption="gap: rate − reference rate on the pairs, points; [95% CI: Newcombe paired]; "
                      "mismatch: responses in another language", caption_justify="left")
    for col in ("language", "harmful", "gap", "over-refusal", "gap", "mismatch", "judges"):
        t.add_column(col, justify="left" if col in ("language", "judges") else "right", no_wrap=col != "judges")
    cov = gap.get("judge_coverage") or {}
    langs = gap.get("response_language") or {}
    for lang in gap["levels"]:
        o = gap["overall"][lang]
        g = o.get("gap_vs_reference") or {}
        mm = langs.get(lang)
        c = cov.get(lang) or {}
        status = {"ok": "ok", "low": "[yellow]low[/]", "not_measured": "[yellow]not measured[/]"}.get(
            c.get("status", ""), "–")
        t.add_row(escape(lang), pct(o["harmful_rate"]),
                  diff(g["harmful_rate"]["paired"]) if g else "reference",
                  pct(o["over_refusal_rate"]),
                  diff(g["over_refusal_rate"]["paired"]) if g else "reference",
                  f"{mm['mismatched']}/{mm['responses']}" if mm else "–", status)
    con.print(t)
    for w in cov.get("warnings") or []:
        con.print(f"[yellow]warning:[/] {escape(w)}")


def sample_counts(manifest: dict[str, Any]) -> Any:
    """A run's samples as :class:`~redline.data.io.RowCounts`: every sample of the suite is run,
    or skipped (past ``--limit``; not run yet in an unfinished run; for ``rejudge``, a repeated
    result of a sample in the source run and a torn last line). A suite with a bad line is not run at
    all (the error lists every bad line), so nothing is rejected.

    Args:
        manifest: The run's ``summary.json`` manifest.
    """
    from redline.data.io import RowCounts

    suite, done = manifest["suite"], manifest["timings"]["completed"]
    rows = suite.get("rows", suite["samples"])  # runs recorded before the total was kept
    rc = RowCounts(read=rows, written=done, verb="run", unit="samples")
    for why, n in (suite.get("skipped_by_reason") or {"past --limit": rows - suite["samples"]}).items():
        rc.skip(why, n)
    rc.skip(f"not run ({manifest['status']}; re-run to resume)", suite["samples"] - done)
    return rc


def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List recorded runs (newest first)."""
    from redline.evals.runner import recorded_runs

    rows = recorded_runs(db, limit)
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table()
    for col in ("started", "status", "suite", "target", "policy", "judges", "samples", "harmful", "over-refusal",
                "run"):
        t.add_column(col)
    for r in rows:
        def p(v: float | None) -> str:
            return "–" if v is None else f"{100 * v:.1f}%"
        t.add_row(str(r["started"])[:19], r["status"], escape(r["suite"]), escape(r["target"]),
                  escape(r["policy"]),
                  escape(",".join(r["judges"]) if isinstance(r["judges"], dict) else str(r["judges"])),
                  str(r["samples"] or 0), p(r["harmful_rate"]),
                  p(r["over_refusal_rate"]), escape(r["run_id"]))
    con = Console()
    if not con.is_terminal:
        con = Console(width=200)
    con.print(t)


def suites_cmd(
    as_json: JsonOption = False,
    build_images: Annotated[bool, typer.Option("--build-images", help="Draw the image suites into the workspace now (else on first use).")] = False,
) -> None:
    """List the built-in suites (the image suites are drawn on first use, or with --build-images)."""
    import collections

    from redline.data.image_suites import IMAGE_SUITES, ensure_built
    from redline.data.jsonl import iter_samples
    from redline.data.suites import builtin_suites

    if build_images:
        built = ensure_built(IMAGE_SUITES)
        for name, info in built.suites.items():
            skipped = "; ".join(f"{k}: {v}" for k, v in info["skipped"].items())
            typer.echo(f"{name}: {info['samples']} samples, {info['images']} images "
                       f"({info['image_bytes'] / 1e6:.1f} MB, largest side {info['max_side']} px)"
                       f"{' · skipped ' + skipped if skipped else ''} → {info['path_obj']}")
        typer.echo(f"image suites ready in {built.seconds:.1f} s")
    out: list[dict[str, Any]] = []
    paths = dict(builtin_suites())
    for name in IMAGE_SUITES:  # listed once built; `--suite NAME` builds it
        if name not in paths:
            from redline.data.image_suites import find_fonts, suite_key, suites_home

            p = suites_home() / f"{name}-{suite_key(name, find_fonts())}" / "suite.jsonl"
            if p.is_file():
                paths[name] = p
            else:
                out.append({"name": name, "samples": None, "categories": None, "by_expected": {},
                            "path": None, "note": "image suite, drawn on first use"})
    for name, path in paths.items():
        cnt: collections.Counter[str] = collections.Counter()
        cats = set()
        for s in iter_samples(path):
            cnt[s.expected.value] += 1
            cats.add(s.category)
        out.append({"name": name, "samples": sum(cnt.values()), "categories": len(cats),
                    "by_expected": dict(cnt), "path": str(path)})
    if as_json:
        print_json(out)
        return
    for row in out:
        if row["samples"] is None:
            typer.echo(f"{row['name']:<8}     – ({row['note']})")
            continue
        exp = ", ".join(f"{k} {v}" for k, v in sorted(row["by_expected"].items()))
        typer.echo(f"{row['name']:<8} {row['samples']:>5} samples · {row['categories']} categories · {exp}")


def policies_cmd(as_json: JsonOption = False) -> None:
    """List the built-in policy packs."""
    from redline.policy.loader import builtin_policies, load_policy

    out: list[dict[str, Any]] = []
    for name in builtin_policies():
        p = load_policy(name)
        out.append({"name": p.name, "version": p.version, "hash": p.content_hash,
                    "categories": [{"id": c.id, "name": c.name, "harmful": c.expected.harmful,
                                    "benign": c.expected.benign} for c in p.categories]})
    if as_json:
        print_json(out)
        return
    for row in out:
        typer.echo(f"{row['name']} {row['version']} ({row['hash']}) — {len(row['categories'])} categories")
        for c in row["categories"]:
            typer.echo(f"  {c['id']:<28} harmful→{c['harmful']:<14} benign→{c['benign']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("eval")(eval_cmd)
    app.command("runs")(runs_cmd)
    app.command("suites")(suites_cmd)
    app.command("policies")(policies_cmd)
