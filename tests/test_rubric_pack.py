"""Rubric guideline packs (``kind: rubric``): loading with file:line errors, and the same
lint / diff / render / compile / show / list tooling as harm policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.errors import InputError
from redline.policy import builtin_packs, builtin_policies, load_pack, load_policy
from redline.policy.compile import annotation_schema, grader_prompt
from redline.policy.diff import diff_rubrics, format_rubric_diff
from redline.policy.lint import lint
from redline.policy.render import render_rubric
from redline.policy.rubric import Rubric
from tests.helpers import invoke

SMALL = """\
kind: rubric
name: tiny
version: "1.0"
changelog:
  - version: "1.0"
    changes: [first]
levels:
  - {value: 0, label: bad, descriptor: Not acceptable., examples: [{response: "no"}]}
  - {value: 1, label: ok, descriptor: Acceptable., examples: [{response: "fine"}]}
  - {value: 2, label: good, descriptor: Very good., examples: [{response: "great"}]}
criteria:
  - id: accuracy
    name: Accuracy
    description: Is it right?
  - id: style
    name: Style
    description: Is it well written?
casebook:
  - id: c1
    prompt: What is 2 + 2?
    response: "4"
    scores: {accuracy: 2, style: 1}
    reasoning: Right, terse.
"""

BROKEN = """\
kind: rubric
name: broken
version: 0.1
criteria:
  - id: correctness
    name: Correctness
    description: Is it right?
    levels:
      - {value: 3, label: high, descriptor: Right.}
      - {value: 1, label: low, descriptor: Wrong., examples: [{response: x}]}
  - id: depth
    name: Depth
    description: ""
    levels:
      - {value: 1, label: shallow, descriptor: Shallow., examples: [{response: x}]}
      - {value: 3, label: deep, descriptor: "", examples: [{response: y}]}
casebook:
  - id: c1
    prompt: q
    response: a
    scores: {corectness: 2, depth: 5}
    reasoning: because
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_reasoning_quality_pack_loads_and_is_listed():
    assert "reasoning-quality" in builtin_packs() and "reasoning-quality" not in builtin_policies()
    rq = load_pack("reasoning-quality")
    assert isinstance(rq, Rubric)
    assert rq.criterion_ids == ["correctness", "completeness", "clarity"]
    assert all(rq.values_for(c) == [1, 2, 3, 4] for c in rq.criterion_ids)
    assert len(rq.casebook) >= 5 and all(rq.cases_for(c) for c in rq.criterion_ids)
    r = invoke("policy", "list", "--json")
    assert r.exit_code == 0, r.output
    rows = {x["name"]: x for x in json.loads(r.output)}
    assert rows["reasoning-quality"]["kind"] == "rubric" and rows["default"]["kind"] == "taxonomy"
    assert rows["reasoning-quality"]["criteria"] == rq.criterion_ids
    r = invoke("policy", "show", "reasoning-quality", "--json")
    shown = json.loads(r.output)
    assert shown["kind"] == "rubric" and Path(shown["data"]).name == "items.jsonl"
    rows_data = [json.loads(x) for x in Path(shown["data"]).read_text(encoding="utf-8").splitlines()]
    assert 20 <= len(rows_data) <= 40 and len({x["id"] for x in rows_data}) == len(rows_data)
    for x in rows_data:  # every item has an answer and reference scores on the pack's scale
        assert x["response"] and set(x["meta"]["reference_scores"]) == set(rq.criterion_ids)
        assert all(v in rq.values_for(c) for c, v in x["meta"]["reference_scores"].items())


def test_harm_paths_refuse_a_rubric_with_the_fix():
    with pytest.raises(InputError) as e:
        load_policy("reasoning-quality")
    p = e.value.problems[0]
    assert p.where.endswith("pack.yaml:3") and "rubric-score" in (p.fix or "")
    r = invoke("eval", "--policy", "reasoning-quality", "--target", "replay:/nonexistent.jsonl")
    assert r.exit_code == 2 and "rubric" in r.output


def test_lint_clean_builtin_and_cli():
    rep = lint("reasoning-quality")
    assert rep.loaded and rep.errors == [] and rep.warnings == []
    r = invoke("policy", "lint", "reasoning-quality")
    assert r.exit_code == 0 and "rubric, 3 criteria" in r.output


def test_lint_rubric_checks_name_file_line(tmp_path: Path):
    path = _write(tmp_path / "broken.yaml", BROKEN)
    rep = lint(path)
    got = {(f.code, f.where.rsplit(":", 1)[1]) for f in rep.findings}
    assert ("level-scale", "9") in got  # correctness: 3 then 1, not ascending
    assert ("no-description", "13") in got  # depth has an empty description
    assert ("level-scale", "15") in got  # depth: 1, 3 is not contiguous
    assert ("no-descriptor", "16") in got  # depth level 3
    assert ("level-no-examples", "9") in got  # correctness level 3
    assert ("unknown-criterion", "21") in got
    assert ("case-score", "21") in got  # depth 5 is not on its scale
    unknown = next(f for f in rep.findings if f.code == "unknown-criterion")
    assert "did you mean 'correctness'" in unknown.message
    assert [f.level for f in rep.findings][:len(rep.errors)] == ["error"] * len(rep.errors)
    r = invoke("policy", "lint", str(path), "--json")
    assert r.exit_code == 1
    assert json.loads(r.output)["policy"]["kind"] == "rubric"


@pytest.mark.parametrize(("text", "line", "what"), [
    ("kind: rubrik\nname: x\nversion: 1\ncriteria: []\n", 1, "unknown pack kind"),
    (SMALL.replace("levels:\n  - {value: 0", "levelz:\n  - {value: 0"), 8, "levelz"),
    (SMALL.replace("  - id: style", "  - id: rationale"), 15, "reserved"),
    (SMALL + "extends: default\n", 24, "cannot extend"),
    (SMALL.replace("scores: {accuracy: 2, style: 1}", "scores: {accuracy: two}"), 22, "integer"),
])
def test_schema_errors_name_file_line_and_fix(tmp_path: Path, text: str, line: int, what: str):
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(InputError) as e:
        load_pack(path)
    hit = [p for p in e.value.problems if what in (p.message + (p.fix or ""))]
    assert hit, e.value.problems
    assert hit[0].where.split(" ")[0] == f"{path}:{line}"
    assert hit[0].fix
    r = invoke("policy", "lint", str(path))
    assert r.exit_code == 2 and f"{path}:{line}" in r.output


def test_folder_pack_with_criteria_parts(tmp_path: Path):
    d = tmp_path / "pack"
    d.mkdir()
    head, crit = SMALL.split("criteria:\n")
    crit, cases = crit.split("casebook:\n")
    _write(d / "pack.yaml", head)
    _write(d / "criteria.yaml", "criteria:\n" + crit)
    _write(d / "cases.yaml", "casebook:\n" + cases.replace("{accuracy: 2", "{accuracy: 7"))
    pack = load_pack(d)
    assert isinstance(pack, Rubric) and pack.criterion_ids == ["accuracy", "style"]
    bad = [f for f in lint(d).findings if f.code == "case-score"]
    assert bad and bad[0].where == f"{d / 'cases.yaml'}:5"
    _write(d / "extra.yaml", "categories: []\n")
    with pytest.raises(InputError) as e:
        load_pack(d)
    assert "'criteria'" in (e.value.problems[0].fix or "") + e.value.problems[0].message


def test_diff_criteria_levels_scale_changelog_casebook(tmp_path: Path):
    old = _write(tmp_path / "old.yaml", SMALL)
    new_text = (SMALL.replace('version: "1.0"\nchangelog:', 'version: "1.1"\nchangelog:\n  - version: "1.1"\n'
                              '    changes: [renamed style, stricter good]')
                .replace("Very good.", "Very good and every step shown.")
                .replace("  - id: style\n    name: Style\n    description: Is it well written?",
                         "  - id: writing\n    name: Writing\n    description: Is it well written?\n"
                         "  - id: brevity\n    name: Brevity\n    description: Short?\n    levels:\n"
                         "      - {value: 1, label: long, descriptor: Long.}\n"
                         "      - {value: 2, label: short, descriptor: Short.}")
                .replace("scores: {accuracy: 2, style: 1}", "scores: {accuracy: 2, writing: 1}"))
    new = _write(tmp_path / "new.yaml", new_text)
    a, b = load_pack(old), load_pack(new)
    assert isinstance(a, Rubric) and isinstance(b, Rubric)
    d = diff_rubrics(a, b)
    assert d.added == ["brevity"] and d.renamed == {"style": "writing"} and d.removed == []
    changes = {c.field: c for c in d.changed["accuracy"].changes}
    assert "{+and every step shown+}" in (changes["levels.2"].diff or ""), changes["levels.2"].diff
    assert d.changelog[0]["version"] == "1.1" and d.cases_changed == ["c1"]
    text = format_rubric_diff(d)
    assert "+ added criterion brevity (Brevity), levels [1, 2]" in text
    assert "> renamed criterion style → writing" in text and "changelog 1.1" in text
    r = invoke("policy", "diff", str(old), str(new), "--json")
    assert r.exit_code == 0 and json.loads(r.output)["kind"] == "rubric"
    # a changed scale is called out: old scores no longer compare
    rescaled = _write(tmp_path / "rescaled.yaml", SMALL.replace(
        "  - {value: 2, label: good, descriptor: Very good., examples: [{response: \"great\"}]}\n",
        "  - {value: 2, label: good, descriptor: Very good., examples: [{response: \"great\"}]}\n"
        "  - {value: 3, label: superb, descriptor: Superb., examples: [{response: \"wow\"}]}\n"))
    b2 = load_pack(rescaled)
    assert isinstance(b2, Rubric)
    d2 = diff_rubrics(a, b2)
    assert d2.rescaled == ["accuracy", "style"] and "! scale of accuracy changed" in format_rubric_diff(d2)
    r = invoke("policy", "diff", "default", str(old))
    assert r.exit_code == 2 and "different kinds" in r.output


def test_render_escapes_and_shows_levels_examples_casebook(tmp_path: Path):
    hostile = SMALL.replace("Is it right?", "Is it <script>alert(1)</script> right?").replace(
        "What is 2 + 2?", "<img src=x onerror=alert(2)> 2 + 2?")
    pack = load_pack(_write(tmp_path / "h.yaml", hostile))
    assert isinstance(pack, Rubric)
    html = render_rubric(pack, "html")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert html.count('class="value"') == 6 and "Very good." in html and "great" in html
    md = render_rubric(pack, "md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "| 2 | good | Very good. |" in md and "accuracy 2" not in md and "Accuracy 2 (good)" in md
    r = invoke("policy", "render", "reasoning-quality", "--format", "md")
    assert r.exit_code == 0 and "## Clarity of reasoning steps (`clarity`)" in r.output


def test_compile_grader_prompt_and_annotation_schema():
    rq = load_pack("reasoning-quality")
    assert isinstance(rq, Rubric)
    prompt = grader_prompt(rq)
    assert all(f"## Criterion: {rq.criterion(c).name} (id: {c})" in prompt for c in rq.criterion_ids)
    assert '{"scores": {"correctness": <1|2|3|4>, "completeness": <1|2|3|4>, "clarity": <1|2|3|4>}' in prompt
    assert "## Worked cases" in prompt
    one = grader_prompt(rq, "clarity")
    assert "(id: correctness)" not in one and '"clarity": <1|2|3|4>}' in one
    schema = annotation_schema(rq)
    assert schema["kind"] == "rubric" and schema["policy"]["hash"] == rq.content_hash
    assert schema["fields"]["correctness"] == {"type": "integer", "level": "ordinal", "levels": [1, 2, 3, 4]}
    r = invoke("policy", "compile", "reasoning-quality", "--for", "annotation")
    assert r.exit_code == 0 and json.loads(r.output)["fields"]["clarity"]["level"] == "ordinal"
    r = invoke("policy", "compile", "reasoning-quality", "--category", "clarty")
    assert r.exit_code == 2 and "did you mean 'clarity'" in r.output
    r = invoke("policy", "data", "reasoning-quality")
    assert r.exit_code == 0 and r.output.count("\n") >= 20
