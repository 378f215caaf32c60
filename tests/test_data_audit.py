"""Regressions from the user audit of the data commands (coverage --strict, convert quarantine and
empty conversions, messages of check / coverage / standards)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from redline.data.standards import load_standard
from redline.errors import InputError
from tests.helpers import run_cli, write_policy

DATA = Path(__file__).parent / "data"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _full(cat: str, harmful: str, n: int = 0) -> list[dict]:
    return [{"id": f"{cat}-h{n}", "prompt": f"a harmful {cat} request", "category": cat, "expected": harmful,
             "language": "en"},
            {"id": f"{cat}-b{n}", "prompt": f"a benign {cat} question", "category": cat, "expected": "comply",
             "language": "en"}]


# -- 1. coverage --strict fails on empty cells without a quota ---------------------------------


def test_strict_coverage_fails_on_empty_cells_without_a_quota(tmp_path):
    pol = write_policy(tmp_path / "pol.yaml")  # two top-level categories: violent_crimes, self_harm
    # prompts only (no 'expected'), as in a prompt set: with --assume-harmful every benign cell is empty
    prompts = _jsonl(tmp_path / "prompts.jsonl", [
        {"id": "p1", "prompt": "a violent request", "category": "violent_crimes", "language": "en"},
        {"id": "p2", "prompt": "a self-harm message", "category": "self_harm", "language": "en"}])
    p = run_cli("data", "coverage", str(prompts), "--policy", str(pol), "--assume-harmful", "--strict", "--no-progress")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "2 empty and 2 thin cells" in p.stdout and "gaps: 2 empty cells" in p.stdout
    # every row lacks 'expected': all are counted (not "0 rows without 'expected'")
    assert "2 rows without 'expected' (counted as harmful: --assume-harmful)" in p.stdout
    p = run_cli("data", "coverage", str(prompts), "--policy", str(pol), "--assume-harmful", "--json", "--no-progress")
    assert p.returncode == 0  # without --strict gaps are reported, not failed
    rep = json.loads(p.stdout)
    assert rep["gaps"]["basis"] == "empty cells" and rep["gaps"]["count"] == 2
    assert {(c["category"], c["kind"]) for c in rep["gaps"]["cells"]} == {
        ("violent_crimes", "benign-contrast"), ("self_harm", "benign-contrast")}
    assert rep["without_expected"]["count"] == 2 and rep["without_expected"]["ids"] == ["p1", "p2"]

    # every top-level category × language × {harmful, benign-contrast} has a row: strict passes
    full = _jsonl(tmp_path / "full.jsonl", _full("violent_crimes", "refuse") + _full("self_harm", "safe_complete"))
    p = run_cli("data", "coverage", str(full), "--policy", str(pol), "--strict", "--no-progress")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "gaps: 0 empty cells" in p.stdout and "0 rows without 'expected'" in p.stdout

    # a second language makes its cells part of the matrix: French harmful/benign cells are empty
    fr = _jsonl(tmp_path / "fr.jsonl", [*_full("violent_crimes", "refuse"), *_full("self_harm", "safe_complete"),
                                        {"id": "f1", "prompt": "une question", "category": "self_harm",
                                         "expected": "comply", "language": "fr"}])
    p = run_cli("data", "coverage", str(fr), "--policy", str(pol), "--strict", "--json", "--no-progress")
    assert p.returncode == 1
    gaps = {(c["category"], c["language"], c["kind"]) for c in json.loads(p.stdout)["gaps"]["cells"]}
    assert gaps == {("violent_crimes", "fr", "harmful"), ("violent_crimes", "fr", "benign-contrast"),
                    ("self_harm", "fr", "harmful")}


def test_strict_coverage_with_a_quota_fails_only_under_quota(tmp_path):
    pol = write_policy(tmp_path / "pol.yaml")
    data = _jsonl(tmp_path / "d.jsonl", [
        {"id": "1", "prompt": "a violent request", "category": "violent_crimes", "expected": "refuse",
         "language": "en"},
        {"id": "2", "prompt": "another violent request", "category": "violent_crimes", "expected": "refuse",
         "language": "en"}])
    q = tmp_path / "q.yaml"
    q.write_text("categories: [violent_crimes]\ncells:\n  - {category: violent_crimes, language: en, "
                 "expected: harmful, min: 2}\n")
    # the quota asks only for violent-crime harmful prompts (met): the empty cells are not gaps
    p = run_cli("data", "coverage", str(data), "--policy", str(pol), "--quota", str(q), "--strict", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["empty_cells"] == 3 and rep["gaps"] == {"basis": "quota", "count": 0, "cells": []}
    q.write_text(q.read_text().replace("min: 2", "min: 3"))
    p = run_cli("data", "coverage", str(data), "--policy", str(pol), "--quota", str(q), "--strict", "--json")
    assert p.returncode == 1
    assert json.loads(p.stdout)["gaps"]["cells"] == [
        {"category": "violent_crimes", "language": "en", "expected": "refuse", "kind": "harmful", "have": 2,
         "quota": 3}]


# -- 2. every quarantined row carries its source line / row, the summary its reason -------------


def test_unwritable_rows_keep_their_line_and_the_summary_shows_the_reason(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [
        {"id": "a", "prompt": "hello", "response": "hi there"},
        {"id": "b", "prompt": "no answer yet"},               # line 2: no assistant turn
        {"id": "c", "prompt": "question", "response": "answer"},
        {"id": "d", "prompt": "still no answer"}])            # line 4
    (tmp_path / "in.jsonl").write_text(src.read_text() + "{broken\n")  # line 5: unreadable
    out = tmp_path / "train.jsonl"
    p = run_cli("data", "convert", str(src), str(out), "--to", "openai", "--no-progress")
    assert p.returncode == 2, p.stderr
    assert "2 × cannot be written as openai: no assistant turn" in p.stdout
    q = [json.loads(x) for x in (tmp_path / "train.jsonl.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in q] == [2, 4, 5]
    assert q[0]["where"] == f"{src}:2 (id b)" and "no assistant turn" in q[0]["reason"]
    assert len(out.read_text().splitlines()) == 2

    # CSV: the data-row number
    csv_src = tmp_path / "in.csv"
    with open(csv_src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "prompt", "response"])
        w.writerow(["1", "hello", "hi"])
        w.writerow(["2", "unanswered", ""])
    p = run_cli("data", "convert", str(csv_src), str(tmp_path / "t2.jsonl"), "--to", "openai", "--no-progress")
    assert p.returncode == 2
    q = [json.loads(x) for x in (tmp_path / "t2.jsonl.rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], r["where"]) for r in q] == [(2, f"{csv_src}:row 2 (id 2)")]


# -- 3. a conversion that writes nothing leaves no output and registers nothing ----------------


def test_conversion_that_writes_nothing_is_not_registered_and_leaves_no_file(workspace, tmp_path):
    src = _jsonl(tmp_path / "prompts.jsonl", [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"}])
    out = tmp_path / "train.jsonl"
    p = run_cli("data", "convert", str(src), str(out), "--to", "openai", "--no-progress", "--json")
    assert p.returncode == 2, p.stderr
    summary = json.loads(p.stdout)
    assert (summary["written"], summary["rejected"], summary["out"]) == (0, 2, None)
    assert not out.exists()
    assert not list(tmp_path.glob(".train.jsonl.tmp-*"))
    assert len((tmp_path / "train.jsonl.rejected.jsonl").read_text().splitlines()) == 2
    p = run_cli("data", "convert", str(src), str(out), "--to", "openai", "--no-progress")
    assert "nothing was written: no output file" in p.stdout and "not registered" in p.stdout
    p = run_cli("sql", "SELECT count(*) AS n FROM datasets", "--format", "json")
    assert json.loads(p.stdout) == [{"n": 0}]
    # a successful conversion still registers
    ok = _jsonl(tmp_path / "ok.jsonl", [{"id": "a", "prompt": "x", "response": "z"}])
    p = run_cli("data", "convert", str(ok), str(out), "--to", "openai", "--no-progress")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_cli("sql", "SELECT name, rows FROM datasets", "--format", "json")
    assert json.loads(p.stdout) == [{"name": "train.jsonl", "rows": 1}]
    # a later conversion that writes nothing leaves the existing output (and its registration) alone
    before = out.read_bytes()
    p = run_cli("data", "convert", str(src), str(out), "--to", "openai", "--no-progress")
    assert p.returncode == 2 and "the existing one was left unchanged" in p.stdout
    assert out.read_bytes() == before
    p = run_cli("sql", "SELECT name, rows FROM datasets", "--format", "json")
    assert json.loads(p.stdout) == [{"name": "train.jsonl", "rows": 1}]


# -- 5. messages --------------------------------------------------------------------------------


def test_check_messages_json_error_and_near_clusters(tmp_path):
    out = tmp_path / "rep.json"
    p = run_cli("data", "check", str(DATA / "defective_delivery.jsonl"), "--standard", str(DATA / "standard_vendor.yaml"),
            "--out", str(out), "--no-progress", "--quarantine", str(tmp_path / "rejected.jsonl"))
    assert p.returncode == 2
    assert "Invalid control character at column 39" in p.stdout and "at at" not in p.stdout
    rep = json.loads(out.read_text())
    near = next(r for r in rep["rules"] if r["rule"] == "no_duplicates:near")
    # one entry per cluster, its members joined by "+": the clusters stay visible in the table
    assert sorted(near["ids"]) == ["v001+v004", "v003+v005"] and near["count"] == 2
    assert "v001+v004, v003+v005" in p.stdout


def test_unknown_key_in_a_standard_names_key_line_and_valid_keys(tmp_path):
    std = tmp_path / "std.yaml"
    std.write_text("name: s\npolicy: default\nno_duplicate: near\nprompt_chars: {min: 1, mxa: 9}\n")
    try:
        load_standard(std)
    except InputError as e:
        probs = {p.where: p for p in e.problems}
    else:
        raise AssertionError("an unknown key must be an error")
    top = probs[f"{std}:3 (no_duplicate)"]
    assert top.message == "unknown key 'no_duplicate'"
    assert top.fix.startswith("did you mean 'no_duplicates'? valid keys: name, policy, required_fields")
    nested = probs[f"{std}:4 (prompt_chars.mxa)"]
    assert nested.fix == "did you mean 'max'? valid keys: min, max"
    p = run_cli("data", "check", str(DATA / "defective_delivery.jsonl"), "--standard", str(std), "--no-progress",
            "--quarantine", str(tmp_path / "rejected.jsonl"))
    assert p.returncode == 2 and "Extra inputs are not permitted" not in p.stderr
    assert "no_duplicate" in p.stderr and "did you mean 'no_duplicates'" in p.stderr


def test_unknown_key_in_a_quota_names_key_line_and_valid_keys(tmp_path):
    from redline.data.coverage import load_quota

    q = tmp_path / "q.yaml"
    q.write_text("languages: [en]\nmin_per_cel: 3\ncells:\n  - {category: self_harm, minn: 4}\n")
    try:
        load_quota(q)
    except InputError as e:
        probs = {p.where: p for p in e.problems}
    else:
        raise AssertionError("an unknown key must be an error")
    assert probs[f"{q}:2 (min_per_cel)"].fix.startswith("did you mean 'min_per_cell'? valid keys: languages,")
    assert probs[f"{q}:4 (cells.0.minn)"].fix == ("did you mean 'min'? valid keys: category, language, "
                                                  "expected, min")
