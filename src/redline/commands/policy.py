"""``redline policy …``: author, lint, diff, render, compile and import guideline packs.

Every command takes either kind of pack: a harm taxonomy (a policy) or a rubric
(``kind: rubric``: criteria with scoring levels).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from redline.commands._common import JsonOption, print_json, writing
from redline.errors import InputError, Problem

policy_app = typer.Typer(
    name="policy", no_args_is_help=True,
    help="Author, lint, diff, render, compile and import guideline packs (harm policies and rubrics).",
)

_PACK_HELP = "A built-in pack name (`redline policy list`), a pack YAML file or a pack folder."


def _write(text: str, output: Path | None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    with writing(output, "choose a writable path"):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {output}\n")


@policy_app.command("lint")
def lint_cmd(
    pack: Annotated[str, typer.Argument(help=_PACK_HELP)],
    as_json: JsonOption = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
) -> None:
    """Check a pack: schema errors with file:line, and a policy reviewer's quality checks.

    Quality checks: definitions, examples, overlapping definitions, conflicting examples,
    severity criteria, mappings, casebook references. For a rubric: levels ascending and
    contiguous, descriptors, examples per level, casebook criteria and scores.

    Exit 0 when clean (warnings allowed), 1 when quality errors are found (or warnings with
    --strict), 2 when the pack does not load.
    """
    from redline.policy.lint import lint

    report = lint(pack)
    if as_json:
        print_json(report.to_dict())
    else:
        from redline.policy.rubric import Rubric

        p = report.policy
        if isinstance(p, Rubric):
            head = f"{p.name} {p.version} ({p.content_hash}): rubric, {len(p.criteria)} criteria, {len(p.casebook)} cases"
        else:
            head = (f"{p.name} {p.version} ({p.content_hash}): {len(p.category_ids)} nodes, "
                    f"{len(p.casebook)} cases" if p else f"{pack}: does not load")
        lines = [head]
        lines += [f"  {f}" for f in report.findings]
        lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
        sys.stdout.write("\n".join(lines) + "\n")
    if not report.loaded:
        raise typer.Exit(2)
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


@policy_app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="The old pack. " + _PACK_HELP)],
    new: Annotated[str, typer.Argument(help="The new pack. " + _PACK_HELP)],
    impact: Annotated[Path | None, typer.Option(
        "--impact", help="A run directory (results.jsonl) or a labels JSONL: list the records the "
                         "change affects, with counts.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show what changes between two packs, and with --impact which results or labels it affects.

    Nodes added/removed/renamed/moved, word-level definition and behaviour changes, severity
    and mapping changes, casebook changes. For rubrics: criteria added/removed/renamed, level
    and descriptor changes, changed scales, new changelog entries, casebook changes.
    """
    from redline.policy.diff import (
        diff_policies,
        diff_rubrics,
        format_diff,
        format_impact,
        format_rubric_diff,
    )
    from redline.policy.diff import impact as impact_of
    from redline.policy.loader import load_pack
    from redline.policy.model import Policy
    from redline.policy.rubric import Rubric

    a, b = load_pack(old), load_pack(new)
    if isinstance(a, Rubric) or isinstance(b, Rubric):
        if not (isinstance(a, Rubric) and isinstance(b, Rubric)):
            raise InputError("cannot diff a rubric against a harm policy", [Problem(
                old if isinstance(b, Rubric) else new, "the two packs are of different kinds",
                "diff two rubrics or two harm policies")])
        if impact is not None:
            raise InputError("--impact applies to harm policies only", [Problem(
                "--impact", "rubric scores are not affected record by record",
                "drop --impact; the diff's `rescaled` list names criteria whose scores no longer compare")])
        rd = diff_rubrics(a, b)
        if as_json:
            print_json(rd.to_dict())
        else:
            sys.stdout.write(format_rubric_diff(rd) + "\n")
        return
    assert isinstance(a, Policy) and isinstance(b, Policy)
    d = diff_policies(a, b)
    imp = impact_of(d, impact) if impact is not None else None
    if as_json:
        out = d.to_dict()
        if imp is not None:
            out["impact"] = imp
        print_json(out)
        return
    text = format_diff(d)
    if imp is not None:
        text += "\n" + format_impact(imp)
    sys.stdout.write(text + "\n")


@policy_app.command("render")
def render_cmd(
    pack: Annotated[str, typer.Argument(help=_PACK_HELP)],
    fmt: Annotated[str, typer.Option("--format", help="html or md.")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Render annotator guidelines (HTML or Markdown) from a pack.

    The tree, definitions, severity rubric, expected behaviours and the casebook per node, with
    content warnings on sensitive sections. For a rubric: each criterion's level table with
    descriptors and example answers, and the casebook with scores.
    """
    from redline.policy.loader import load_pack
    from redline.policy.render import render_guidelines, render_rubric
    from redline.policy.rubric import Rubric

    if fmt not in ("html", "md"):
        raise InputError(f"unknown format {fmt!r}", [Problem("--format", f"{fmt!r}", "use html or md")])
    policy = load_pack(pack)
    if isinstance(policy, Rubric):
        _write(render_rubric(policy, fmt), output)  # type: ignore[arg-type]
        return
    _write(render_guidelines(policy, fmt), output)  # type: ignore[arg-type]


@policy_app.command("compile")
def compile_cmd(
    pack: Annotated[str, typer.Argument(help=_PACK_HELP)],
    target: Annotated[str, typer.Option("--for", help="judge (the LLM-judge/grader system prompt) or "
                                                      "annotation (the label schema, JSON).")] = "judge",
    category: Annotated[str | None, typer.Option(
        "--category", help="For --for judge: the node to grade against (default: all top-level "
                           "categories, short form); for a rubric, one criterion (default: all).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Compile a pack into the judge prompt for a category, or the annotation label schema.

    For a rubric pack: the LLM-grader prompt (scores per criterion as JSON), or the rubric-score
    label schema (one ordinal field per criterion).
    """
    import json

    from redline.policy.compile import annotation_schema, grader_prompt, judge_prompt
    from redline.policy.loader import load_pack
    from redline.policy.rubric import Rubric

    if target not in ("judge", "annotation"):
        raise InputError(f"unknown target {target!r}", [Problem("--for", f"{target!r}", "use judge or annotation")])
    if target == "annotation" and category is not None:
        raise InputError("--category applies to --for judge only", [Problem(
            "--category", "the annotation schema always covers the whole tree",
            "drop --category, or use --for judge")])
    policy = load_pack(pack)
    if isinstance(policy, Rubric):
        if category is not None and category not in policy.criterion_ids:
            import difflib

            close = difflib.get_close_matches(category, policy.criterion_ids, n=1)
            raise InputError(f"unknown criterion {category!r}", [Problem(
                "--category", f"{category!r} is not a criterion of {policy.name}",
                f"did you mean {close[0]!r}?" if close else f"use one of {policy.criterion_ids}")])
        text = (grader_prompt(policy, category) if target == "judge"
                else json.dumps(annotation_schema(policy), indent=2, ensure_ascii=False))
        _write(text, output)
        return
    if target == "judge":
        if category is not None and category not in policy.category_ids:
            import difflib

            close = difflib.get_close_matches(category, policy.category_ids, n=1)
            raise InputError(f"unknown category {category!r}", [Problem(
                "--category", f"{category!r} is not a node of {policy.name}",
                f"did you mean {close[0]!r}?" if close else f"use one of {policy.category_ids}")])
        text = judge_prompt(policy, category)
    else:
        text = json.dumps(annotation_schema(policy), indent=2, ensure_ascii=False)
    _write(text, output)


@policy_app.command("import")
def import_cmd(
    source: Annotated[str, typer.Option("--from", help="ailuminate, llama-guard3 or csv.")],
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", help="For --from csv: a CSV with columns id,name,definition,parent.")] = None,
    name: Annotated[str | None, typer.Option(help="The new pack's name.")] = None,
    version: Annotated[str, typer.Option(help="The new pack's version.")] = "0.1.0",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the YAML here instead of stdout.")] = None,
) -> None:
    """Build a pack skeleton from AILuminate's hazard list, Llama Guard 3's categories, or a CSV."""
    from redline.policy.importers import dump_pack, import_pack

    if csv_path is not None and source != "csv":
        raise InputError(f"--csv is only read with --from csv, not --from {source}", [Problem(
            "--csv", f"{csv_path} would be ignored", "use --from csv, or drop --csv")])
    pack = import_pack(source, csv_path=csv_path, name=name, version=version)
    _write(dump_pack(pack), output)
    if csv_path is not None:
        from redline.data.io import RowCounts

        # all or nothing: a CSV with a bad row raises, listing every problem, and nothing is written
        def nodes(cats: list[dict[str, Any]]) -> int:
            return sum(1 + nodes(c.get("subcategories") or []) for c in cats)

        n = nodes(pack["categories"])
        sys.stderr.write(RowCounts(read=n, written=n, verb="written as categories").line() + "\n")


@policy_app.command("show")
def show_cmd(
    pack: Annotated[str, typer.Argument(help=_PACK_HELP)],
    as_json: JsonOption = False,
) -> None:
    """Print a pack's tree with expected behaviours and case counts (a rubric: its criteria and scales)."""
    from redline.policy.loader import load_pack, pack_data_path
    from redline.policy.rubric import Rubric

    p = load_pack(pack)
    if isinstance(p, Rubric):
        data = pack_data_path(pack)
        crit: list[dict[str, Any]] = [{"id": c.id, "name": c.name, "levels": p.values_for(c.id),
                 "labels": [lv.label for lv in sorted(p.levels_for(c.id), key=lambda x: x.value)],
                 "cases": len(p.cases_for(c.id))} for c in p.criteria]
        if as_json:
            print_json({"kind": "rubric", "name": p.name, "version": p.version, "hash": p.content_hash,
                        "data": str(data) if data else None, "criteria": crit})
            return
        lines = [f"{p.name} {p.version} ({p.content_hash}) · rubric" + (f" · data {data}" if data else "")]
        for r in crit:
            lines.append(f"  {r['id']:<20} {r['levels'][0]}..{r['levels'][-1]} ({' / '.join(r['labels'])})  "
                         f"cases {r['cases']}")
        sys.stdout.write("\n".join(lines) + "\n")
        return
    rows: list[dict[str, Any]] = []
    for depth, n in p.walk():
        exp = n.expected
        rows.append({"id": n.id, "name": n.name, "depth": depth, "parent": next(iter(p.path(n.id)[-2:-1]), None),
                     "harmful": exp.harmful if exp else None, "benign": exp.benign if exp else None,
                     "ambiguous": exp.for_intent("ambiguous") if exp else None,
                     "cases": len(p.cases_for(n.id))})
    if as_json:
        print_json({"name": p.name, "version": p.version, "hash": p.content_hash, "extends": p.extends,
                     "suite": p.suite, "nodes": rows})
        return
    lines = [f"{p.name} {p.version} ({p.content_hash})" + (f" extends {p.extends}" if p.extends else "")
             + (f" · suite {p.suite}" if p.suite else "")]
    for r in rows:
        label = "  " * r["depth"] + r["id"]
        lines.append(f"  {label:<34} harmful→{r['harmful']:<14} ambiguous→{r['ambiguous']:<14} "
                     f"cases {r['cases']}")
    sys.stdout.write("\n".join(lines) + "\n")


@policy_app.command("data")
def data_cmd(
    pack: Annotated[str, typer.Argument(help=_PACK_HELP)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write a copy here instead of stdout.")] = None,
) -> None:
    """Print (or copy) the data file a rubric pack ships with (its ``data`` field)."""
    from redline.policy.loader import pack_data_path

    path = pack_data_path(pack)
    if path is None:
        raise InputError(f"{pack} ships no data file", [Problem(
            pack, "the pack has no `data` field (or the file it names is missing)",
            "give the items to label with `redline annotate create --data FILE`")])
    _write(path.read_text(encoding="utf-8"), output)


@policy_app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """List the built-in guideline packs of both kinds: harm policies and rubrics."""
    from redline.policy.loader import builtin_packs, load_pack
    from redline.policy.rubric import Rubric

    out: list[dict[str, Any]] = []
    for name in builtin_packs():
        p = load_pack(name)
        if isinstance(p, Rubric):
            out.append({"name": p.name, "kind": "rubric", "version": p.version, "hash": p.content_hash,
                        "criteria": p.criterion_ids, "cases": len(p.casebook)})
        else:
            out.append({"name": p.name, "kind": "taxonomy", "version": p.version, "hash": p.content_hash,
                        "categories": p.top_level_ids, "cases": len(p.casebook)})
    if as_json:
        print_json(out)
        return
    for r in out:
        what = (f"{len(r['criteria'])} criteria ({', '.join(r['criteria'])})" if r["kind"] == "rubric"
                else f"{len(r['categories'])} categories")
        sys.stdout.write(f"{r['name']:<20} {r['kind']:<9} {r['version']:<8} {r['hash']}  {what}, "
                         f"{r['cases']} cases\n")


def register(app: typer.Typer) -> None:
    """Add ``redline policy …`` to the ``redline`` app.

    Args:
        app: The root app.
    """
    if policy_app.registered_commands:
        app.add_typer(policy_app, name="policy")
