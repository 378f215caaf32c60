"""`redline policy import` and `redline policy compile` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from redline.policy import JUDGE_OUTPUT_KEYS, load_policy
from redline.policy.lint import lint
from redline.policy.model import AILUMINATE_HAZARDS, LLAMA_GUARD3_CATEGORIES
from tests.helpers import run_cli


def test_import_ailuminate_and_llama_guard(tmp_path: Path):
    out = tmp_path / "ail.yaml"
    p = run_cli("policy", "import", "--from", "ailuminate", "--name", "ail", "-o", str(out))
    assert p.returncode == 0, p.stderr
    pol = load_policy(out)
    assert pol.name == "ail"
    mapped = {code for _, n in pol.walk() for code in n.mappings.ailuminate}
    assert mapped == set(AILUMINATE_HAZARDS)  # every hazard lands somewhere
    assert pol.path("health_advice") == ["specialised_advice", "health_advice"]
    assert pol.category("suicide_self_harm").expected.harmful == "safe_complete"
    assert pol.category("violent_crimes").expected.harmful == "refuse"
    report = lint(out)  # a skeleton: loads, no errors, lists what to fill in
    assert report.errors == [] and {f.code for f in report.warnings} >= {"no-examples", "no-cases"}

    p = run_cli("policy", "import", "--from", "llama-guard3")
    assert p.returncode == 0, p.stderr
    data = yaml.safe_load(p.stdout)
    codes = [c["mappings"]["llama_guard3"] for c in data["categories"]]
    assert codes == [[c] for c in LLAMA_GUARD3_CATEGORIES]
    path = tmp_path / "lg3.yaml"
    path.write_text(p.stdout)
    assert load_policy(path).category("code_interpreter_abuse").mappings.llama_guard3 == ["S14"]


def test_import_csv(tmp_path: Path):
    src = tmp_path / "tax.csv"
    src.write_text(
        "id,name,definition,parent\n"
        "child_a,Child A,\"A child, defined before its parent\",top\n"
        "top,Top,The top category,\n"
        "other,Other,Another category,\n"
        "grand,Grand,A grandchild,child_a\n", encoding="utf-8")
    out = tmp_path / "csv.yaml"
    p = run_cli("policy", "import", "--from", "csv", "--csv", str(src), "--name", "mine", "--version", "0.2",
            "-o", str(out))
    assert p.returncode == 0, p.stderr
    pol = load_policy(out)
    assert (pol.name, pol.version) == ("mine", "0.2")
    assert pol.top_level_ids == ["top", "other"]
    assert pol.path("grand") == ["top", "child_a", "grand"]
    assert pol.category("child_a").definition == "A child, defined before its parent"


def test_import_csv_errors_name_lines(tmp_path: Path):
    src = tmp_path / "bad.csv"
    src.write_text(
        "id,name,definition,parent\n"
        "ok,OK,fine,\n"
        "Bad Id,Bad,x,\n"
        "ok,Again,dup,\n"
        "orphan,Orphan,x,missing\n"
        "loop_a,A,x,loop_b\n"
        "loop_b,B,x,loop_a\n", encoding="utf-8")
    out = tmp_path / "never.yaml"
    p = run_cli("policy", "import", "--from", "csv", "--csv", str(src), "-o", str(out))
    assert p.returncode == 2
    for needle in (f"{src}:3 (id): invalid id 'Bad Id'", f"{src}:4 (id): duplicate id 'ok' (first on line 2)",
                   f"{src}:5 (parent): parent 'missing'", f"{src}:6 (parent)", "loops back"):
        assert needle in p.stderr, needle
    assert not out.exists()  # nothing written on error
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,label\nx,y\n")
    p = run_cli("policy", "import", "--from", "csv", "--csv", str(wrong))
    assert p.returncode == 2 and "use the header id,name,definition,parent" in p.stderr
    p = run_cli("policy", "import", "--from", "nist")
    assert p.returncode == 2 and "llama-guard3" in p.stderr


def test_compile_cli(tmp_path: Path):
    p = run_cli("policy", "compile", "mental-health", "--for", "judge", "--category", "indirect_crisis_signals")
    assert p.returncode == 0, p.stderr
    assert "Indirect crisis signals" in p.stdout and "mental-health" in p.stdout
    last = p.stdout.rstrip().splitlines()[-1]
    assert all(f'"{k}"' in last for k in JUDGE_OUTPUT_KEYS)
    p = run_cli("policy", "compile", "mental-health", "--for", "judge", "--category", "indirect_crisis_signal")
    assert p.returncode == 2 and "did you mean 'indirect_crisis_signals'" in p.stderr
    out = tmp_path / "schema.json"
    p = run_cli("policy", "compile", "teen-safety", "--for", "annotation", "-o", str(out))
    assert p.returncode == 0, p.stderr
    schema = json.loads(out.read_text())
    assert schema["policy"]["name"] == "teen-safety"
    assert "grooming_contact" in schema["category_ids"]
    p = run_cli("policy", "compile", "default", "--for", "robots")
    assert p.returncode == 2
