"""``redline calibrate``: measure a judge against human labels."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import JudgeNameOption, ProgressOption, exit_on_interrupt, print_json
from redline.errors import InputError, Problem


def _fmt(p: dict[str, Any] | None) -> str:
    if not p or p.get("value") is None:
        return "–"
    lo, hi = p["ci95"]
    return f"{p['value']:.3f} [{lo:.2f}, {hi:.2f}]"


def _print_human(res: dict[str, Any], saved: Path | None, rejected: int, quarantine: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False, soft_wrap=True, width=max(Console().width, 140))
    j = res["judge"]
    pol = res.get("policy") or {}
    # names, versions and category ids come from the user's files: escaped, never rich markup
    con.print(f"[bold]{escape(j['name'])}[/] {escape(j['version'])} · policy {escape(str(pol.get('name', '-')))} "
              f"{escape(str(pol.get('hash', '')))} · "
              f"{res['labels']['rows']} labelled rows · {res['unassessable']['n']} unassessable",
              markup=True, emoji=False)
    harm = res.get("harm")
    if harm:
        t = Table(title=escape(f"harmful (judge rule: {harm['rule']}; 95% Wilson intervals)"))
        for col in ("scope", "n", "pos", "accuracy", "kappa", "sensitivity", "specificity", "precision"):
            t.add_column(col, justify="left" if col == "scope" else "right")

        def row(name: str, m: dict[str, Any]) -> None:
            t.add_row(escape(name), str(m["n"]), str(m["positives"]), _fmt(m["accuracy"]),
                      "–" if m["kappa"] is None else f"{m['kappa']:.3f}", _fmt(m["sensitivity"]),
                      _fmt(m["specificity"]), _fmt(m["precision"]))

        row("overall", harm["overall"])
        for c, m in harm["by_category"].items():
            row(c, m)
        con.print(t)
        c = harm["overall"]["confusion"]
        con.print(f"confusion (human × judge): harmful→harmful {c['tp']}, harmful→safe {c['fn']}, "
                  f"safe→harmful {c['fp']}, safe→safe {c['tn']}; unassessable {harm['unassessable']}",
                  markup=False)
        hp = harm.get("harmful_prompts", {}).get("overall")
        if hp is not None and hp["n"] != harm["overall"]["n"]:
            con.print(f"on the {hp['n']} responses to harmful prompts (the figures that correct run rates): "
                      f"sensitivity {_fmt(hp['sensitivity'])}, specificity {_fmt(hp['specificity'])}",
                      markup=False)
    ref = res.get("refusal")
    if ref:
        o = ref["overall"]
        t = Table(title=f"refusal (3 classes): accuracy {_fmt(o['accuracy'])}, kappa {o['kappa']}, "
                        f"macro-F1 {o['macro_f1']}")
        t.add_column("human \\ judge")
        for lab in o["confusion"]["labels"]:
            t.add_column(lab, justify="right")
        t.add_column("precision", justify="right")
        t.add_column("recall", justify="right")
        for lab, cells in zip(o["confusion"]["labels"], o["confusion"]["rows_human_cols_judge"], strict=True):
            pc = o["per_class"][lab]
            t.add_row(escape(lab), *map(str, cells), _fmt(pc["precision"]), _fmt(pc["recall"]))
        con.print(t)
    if saved is not None:
        con.print(f"saved: {saved}", markup=False)
        if not harm:
            con.print("no 'harmful' labels: this calibration cannot correct harmful rates in reports",
                      markup=False)
    if rejected:
        con.print(f"{rejected} row(s) rejected, with reasons: {quarantine}", markup=False)
    con.print(_label_counts(res, rejected).line(), markup=False)


def _benchmark_names() -> list[str]:
    from redline.judges.benchmarks import BENCHMARKS

    return [n + (" (bundled)" if b.bundled else "") for n, b in BENCHMARKS.items()]


def _pct(m: dict[str, Any] | None, key: str = "accuracy") -> str:
    if not m:
        return "–"
    v = m.get(key)
    if isinstance(v, dict):
        v = v.get("value")
    return "–" if v is None else f"{v:.3f}"


def _benchmark(judge: str, names: list[str], data_dir: Path | None, policy: str,
               option: list[str] | None, concurrency: int, progress: bool, json_out: bool) -> None:
    """``calibrate --benchmark``: run the judge and the baseline over labelled public sets."""
    from redline.judges.base import parse_options
    from redline.judges.benchmarks import run_benchmarks
    from redline.policy import load_policy

    res = run_benchmarks(judge, names, data_dir=data_dir, policy=load_policy(policy),
                         judge_options=parse_options(option), concurrency=concurrency,
                         progress=progress and sys.stderr.isatty())
    if json_out:
        print_json(res)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False, soft_wrap=True, width=max(Console().width, 140))
    j = res["judge"]
    con.print(f"[bold]{escape(j['name'])}[/] {escape(j['version'])} beside the {res['baseline']} baseline "
              "(never trained on these rows: see docs/judges.md)")
    for name, b in res["benchmarks"].items():
        t = Table(title=escape(f"{name}: {b['rows']} rows, {b['labels']} — {b['origin']} ({b['licence']})"))
        for col in ("group", "n", "harm acc", "κ", "sens", "spec", "baseline acc",
                    "refusal: binary", "3-class", "macro-F1", "baseline binary"):
            t.add_column(col, justify="left" if col == "group" else "right")
        base = (b.get("baseline") or {}).get("groups", {})
        for g, m in b["judge"]["groups"].items():
            h, r = m.get("harm"), m.get("refusal")
            bh, br = (base.get(g) or {}).get("harm"), (base.get(g) or {}).get("refusal")
            n = (h or {}).get("n") or (r or {}).get("n") or m.get("rows")
            t.add_row(escape(g), str(n), _pct(h), "–" if not h or h["kappa"] is None else f"{h['kappa']:.3f}",
                      _pct(h, "sensitivity"), _pct(h, "specificity"), _pct(bh),
                      _pct((r or {}).get("any_refusal")), _pct(r), "–" if not r or r["macro_f1"] is None else f"{r['macro_f1']:.3f}",
                      _pct((br or {}).get("any_refusal")))
        con.print(t)
    if any("harm" in (b["judge"]["groups"].get("all") or {}) for b in res["benchmarks"].values()):
        con.print("published anchors (harm agreement with humans, on HarmBench's validation set — same kind "
                  "of data, other rows): " + ", ".join(f"{k} {v:.2f}" for k, v in res["anchors"].items()),
                  markup=False)
    for name, why in res["skipped"].items():
        con.print(f"skipped {name}: {why}", markup=False)


def calibrate_cmd(
    judge: JudgeNameOption,
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="JSONL: prompt (or messages), response, and human labels harmful "
                         "(true/false) and/or refusal (full_compliance|full_refusal|partial_refusal); "
                         "optional category, prompt_harmful.", show_default=False)] = None,
    project: Annotated[str | None, typer.Option(
        "--project", help="Instead of --labels: the consensus labels of a response-label annotation "
                          "project (`redline annotate`), with its policy.", show_default=False)] = None,
    method: Annotated[str, typer.Option(help="With --project: majority | dawid-skene | model.")] = "dawid-skene",
    db: Annotated[str | None, typer.Option(help="With --project: workspace database URL (or REDLINE_DB).")] = None,
    policy: Annotated[str, typer.Option(help="Policy (name or YAML): category ids, and the hash "
                                             "the calibration is stored under.")] = "default",
    option: Annotated[list[str] | None, typer.Option(
        "--option", help="Judge option KEY=VALUE (repeatable), as for `redline judge`.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    save: Annotated[bool | None, typer.Option(
        "--save/--no-save", help="Store the result in the workspace ($REDLINE_HOME/calibrations), where "
                                 "every later eval and report uses it. Default: save with --labels; with "
                                 "--project only measure (pass --save to store it).",
        show_default=False)] = None,
    quarantine: Annotated[Path | None, typer.Option(
        help="Where rejected rows go (default: LABELS.rejected.jsonl).")] = None,
    allow_rejected: Annotated[bool, typer.Option(
        "--allow-rejected", help="Save even when some label rows were rejected "
                                 "(by default a calibration is saved only from a clean file).")] = False,
    concurrency: Annotated[int, typer.Option(help="Parallel requests for network judges.")] = 8,
    progress: ProgressOption = True,
    benchmark: Annotated[list[str] | None, typer.Option(
        "--benchmark", help="Instead of --labels: a bundled or public human-labelled set (repeatable; "
                            "`all` for every one available): " + ", ".join(_benchmark_names()) +
                            ". Prints figures per source and model family beside the string-match "
                            "baseline and published anchors; saves nothing.", show_default=False)] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="With --benchmark: the local copy of the public files (default "
                           "$REDLINE_JUDGE_DATA or ~/.cache/redline/judge-data).", show_default=False)] = None,
) -> None:
    """Measure a judge against human labels: accuracy, Cohen's kappa, sensitivity/specificity and
    precision with 95% intervals, overall and per category, and confusion matrices.

    Bad rows go to a quarantine file with their line and reason (exit code 2).
    """
    from redline.data.io import quarantine_path
    from redline.judges.base import parse_options
    from redline.judges.calibration import calibrate, load_labels, save_calibration
    from redline.judges.calibration.storage import harm_rows, superseded_calibration
    from redline.policy import load_policy

    if benchmark:
        if labels is not None or project is not None:
            raise InputError("--benchmark replaces --labels and --project", [Problem(
                "--benchmark", "given together with --labels or --project", "pass one of them")])
        _benchmark(judge, benchmark, data_dir, policy, option, concurrency, progress, json_out)
        return
    if (labels is None) == (project is None):
        raise InputError("give either --labels FILE or --project NAME", [Problem(
            "--labels / --project", "both given" if labels is not None else "neither given",
            "pass --labels FILE (a labels file) or --project NAME (an annotation project), not both")])
    if project is not None:  # the project's decided labels, through the same row checks
        from redline.annotate.project_files import project_labels_file

        labels, policy = project_labels_file(project, method, db, policy)
    assert labels is not None
    q = quarantine or quarantine_path(labels)
    with exit_on_interrupt("interrupted: nothing was saved; run the same command again"):
        pol = load_policy(policy)
        rows, rejected = load_labels(labels, pol.category_ids)
        res = calibrate(judge, rows, policy=pol, judge_options=parse_options(option),
                        progress=progress and sys.stderr.isatty(), labels_path=str(labels),
                        concurrency=concurrency)
    res["labels"]["rejected"] = len(rejected)
    res["labels"]["row_counts"] = _label_counts(res, len(rejected)).to_json()
    if not rejected and q.is_file():
        q.unlink()  # a quarantine file left from an earlier run of these labels is stale
    if rejected:
        with open(q, "w", encoding="utf-8") as f:
            for r in rejected:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        res["labels"]["quarantine"] = str(q)
    saved = None
    if save is None:  # a project is measured, not made the workspace calibration, unless asked
        save = project is None
        if not save:
            res["not_saved"] = (f"measured against project {project!r} only: pass --save to store it as "
                                "the calibration later evals and reports use")
    if save and rejected and not allow_rejected:
        # A partial file must not silently replace a good (e.g. the shipped) calibration.
        res["not_saved"] = (f"{len(rejected)} label row(s) rejected: fix them and re-run, "
                            "or pass --allow-rejected to save this calibration anyway")
    elif save:
        prev = superseded_calibration(res)
        if prev is not None:
            res["supersedes"] = prev
        saved = save_calibration(res)
        res["saved"] = str(saved)
    if json_out:
        print_json(res)
    else:
        _print_human(res, saved, len(rejected), q)
        if "not_saved" in res:
            sys.stderr.write(f"not saved: {res['not_saved']}\n")
        prev = res.get("supersedes")
        if prev and prev["rows"] > harm_rows(res):
            sys.stderr.write(
                f"warning: this calibration ({harm_rows(res)} harmful-labelled rows) "
                f"now takes precedence over {prev['source']} ({prev['rows']} rows) for "
                f"{res['judge']['id']} {res['judge']['version']}\n")
    if rejected:
        raise typer.Exit(2)


def _label_counts(res: dict[str, Any], rejected: int) -> Any:
    """The labels file's rows: used for the calibration, or rejected (to the quarantine file)."""
    from redline.data.io import RowCounts

    used = int(res["labels"]["rows"])
    return RowCounts(read=used + rejected, written=used, rejected=rejected, verb="used")


def register(app: typer.Typer) -> None:
    """Add ``redline calibrate`` to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.command("calibrate")(calibrate_cmd)
