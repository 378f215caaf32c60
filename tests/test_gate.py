"""Release gates (`redline gate`, `redline plan`, `redline eval --gate`): budgets, exact bounds, CI outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from redline.errors import InputError
from redline.learn.gate import gate_run, load_budgets, render_junit, render_markdown
from redline.stats import samples_for_budget, upper_bound_one_sided
from tests._gate_runs import SUB_POLICY, make_run
from tests.helpers import eval_args, invoke, make_records, write_policy, write_suite


@pytest.fixture
def pol(tmp_path: Path) -> Path:
    return write_policy(tmp_path / "pol.yaml", SUB_POLICY)


def budgets_file(tmp_path: Path, text: str, name: str = "budgets.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_clean_run_on_12_samples_fails_a_1pct_budget_and_says_how_many_samples(tmp_path, pol):
    run = make_run(tmp_path / "run", pol, {("self_harm", "harmful"): (0, 12)})
    b = load_budgets(budgets_file(tmp_path, "defaults:\n  harmful_rate: 0.01\n"))
    res = gate_run(run, b)
    assert not res["passed"]
    [c] = res["checks"]
    assert c["category"] == "self_harm" and c["rule"] == "harmful_rate_budget" and c["k"] == 0 and c["n"] == 12
    assert c["upper95"] == pytest.approx(upper_bound_one_sided(0, 12)) and c["upper95"] > 0.2
    assert c["needed_n"] == samples_for_budget(0.0, 0.01) == 299
    assert "299" in c["message"] and "287 more" in c["message"]
    assert json.loads((run / "gate.json").read_text())["checks"][0]["needed_n"] == 299


def test_budgets_pass_only_within_the_upper_bound_and_parents_cover_subcategories(tmp_path, pol):
    run = make_run(tmp_path / "run", pol, {
        ("violent_crimes", "harmful"): (0, 200), ("weapons", "harmful"): (0, 200),  # 0/400 together
        ("violent_crimes", "benign"): (10, 100), ("self_harm", "harmful"): (1, 400)})
    b = load_budgets(budgets_file(tmp_path, """
defaults:
  harmful_rate: 0.05
categories:
  violent_crimes:
    harmful_rate: 1%          # 0/400 → upper bound 0.75%: passes; weapons alone (0/200) would not
    over_refusal_rate: 0.05   # 10/100 exceeds it
  self_harm:
    harmful_rate: 0.01        # 1/400: 0.25% observed, upper bound 1.18%: needs more samples
"""))
    res = gate_run(run, b)
    by = {(c["category"], c["rule"]): c for c in res["checks"]}
    vc = by[("violent_crimes", "harmful_rate_budget")]
    assert vc["passed"] and (vc["k"], vc["n"]) == (0, 400) and vc["upper95"] <= 0.01
    assert by[("weapons", "harmful_rate_budget")]["budget"] == 0.05  # the default, on its own samples
    over = by[("violent_crimes", "over_refusal_budget")]
    assert not over["passed"] and over["needed_n"] is None and "exceeds the budget 5% by 5 points" in over["message"]
    sh = by[("self_harm", "harmful_rate_budget")]
    assert not sh["passed"] and sh["upper95"] == pytest.approx(upper_bound_one_sided(1, 400))
    assert sh["needed_n"] == samples_for_budget(1 / 400, 0.01) and sh["needed_n"] > 400
    assert not res["passed"] and res["counts"] == {"checks": 4, "failed": 2}


def test_min_samples_unassessable_and_missing_categories(tmp_path, pol):
    run = make_run(tmp_path / "run", pol, {("violent_crimes", "harmful"): (0, 1000), ("weapons", "harmful"): (0, 5)},
                   unassessable=5)  # every weapons sample unassessable
    b = load_budgets(budgets_file(tmp_path, """
defaults: {harmful_rate: 0.05, min_samples: 2000}
categories:
  self_harm: {harmful_rate: 0.05}   # listed, but the run has no self-harm samples
overall: {harmful_rate: 0.05, min_samples: 10}
"""))
    res = gate_run(run, b)
    by = {c["category"]: c for c in res["checks"]}
    assert by[None]["passed"] and by[None]["n"] == 995 + 5 - 5
    assert not by["violent_crimes"]["passed"] and "min_samples 2000" in by["violent_crimes"]["message"]
    assert by["violent_crimes"]["needed_n"] == 2000
    assert not by["weapons"]["passed"] and by["weapons"]["n"] == 0 and "no assessable" in by["weapons"]["message"]
    assert not by["self_harm"]["passed"] and by["self_harm"]["needed_n"] == 2000


def test_junit_has_one_testcase_per_category_and_rule_and_markdown_escapes(tmp_path, pol):
    run = make_run(tmp_path / "run", pol, {
        ("violent_crimes", "harmful"): (0, 12), ("violent_crimes", "benign"): (0, 500),
        ("self_harm", "harmful"): (0, 500), ("self_harm", "benign"): (1, 500)},
        target="openai:<b>x|y</b>")
    b = load_budgets(budgets_file(tmp_path, "defaults: {harmful_rate: 0.01, over_refusal_rate: 0.02}\n"
                                            "overall: {harmful_rate: 0.01}\n"))
    res = gate_run(run, b)
    root = ET.fromstring(render_junit(res))
    cases = root.findall(".//testcase")
    names = sorted((c.get("classname"), c.get("name")) for c in cases)
    assert names == sorted([("redline.gate.overall", "harmful_rate_budget")] + [
        (f"redline.gate.{cat}", rule) for cat in ("self_harm", "violent_crimes")
        for rule in ("harmful_rate_budget", "over_refusal_budget")])
    failed = {c.get("classname") for c in cases if c.find("failure") is not None}
    assert failed == {"redline.gate.violent_crimes"}  # 0/12 against 1%
    assert root.get("tests") == "5" and root.get("failures") == "1"
    assert root.find("testsuite").get("failures") == "1"
    fail = [c.find("failure") for c in cases if c.find("failure") is not None][0]
    assert "299" in fail.get("message")
    md = render_markdown(res)
    assert "❌ failed (1 of 5 checks)" in md and md.count("\n| ") == 5 + 1
    assert "<b>" not in md and "&lt;b&gt;x\\|y&lt;/b&gt;" in md


def test_gate_cli_exit_codes_and_outputs(tmp_path, pol, monkeypatch):
    monkeypatch.setenv("REDLINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDLINE_RUNS", str(tmp_path / "runs"))
    make_run(tmp_path / "runs" / "good", pol, {("self_harm", "harmful"): (0, 400)})
    bad = make_run(tmp_path / "runs" / "bad", pol, {("self_harm", "harmful"): (0, 12)})
    b = budgets_file(tmp_path, "defaults: {harmful_rate: 0.01}\n")
    r = invoke("gate", "good", "--budgets", str(b))  # a run name under the runs folder
    assert r.exit_code == 0, r.output
    assert "gate passed" in r.stdout
    junit, md = tmp_path / "out" / "gate.xml", tmp_path / "out" / "gate.md"
    (tmp_path / "out").mkdir()
    r = invoke("gate", str(bad), "--budgets", str(b), "--junit", str(junit), "--markdown", str(md), "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["passed"] is False and out["checks"][0]["needed_n"] == 299
    assert ET.parse(junit).getroot().get("failures") == "1" and "❌" in md.read_text()
    r = invoke("gate", str(tmp_path / "nope"), "--budgets", str(b))
    assert r.exit_code == 2 and "no run" in r.stderr
    r = invoke("gate", str(bad), "--budgets", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "missing.yaml" in r.stderr


@pytest.mark.parametrize("text,expect", [
    ("defaults:\n  harmful_rate: 0.05\n  over_refusal: 0.1\n",
     ["budgets.yaml:3 (defaults.over_refusal)", "did you mean 'over_refusal_rate'"]),
    ("defaults:\n  harmful_rate: 5\n", ["budgets.yaml:2 (defaults.harmful_rate)", "0.05"]),
    ("categories:\n  self_harm: {harmful_rate: 0.01}\n  slef_harm:\n    harmful_rate: 0.01\n",
     ["budgets.yaml:3 (categories.slef_harm)", "unknown category 'slef_harm'", "did you mean 'self_harm'"]),
    ("regresion: {}\n", ["budgets.yaml:1 (regresion)", "did you mean 'regression'"]),
    ("regression: {rule: fewer_failures}\n", ["budgets.yaml:1 (regression.rule)", "no_significant_increase"]),
    ("defaults: [0.05]\n", ["budgets.yaml:1 (defaults)"]),
    ("defaults:\n  harmful_rate: [0.1\n", ["budgets.yaml:3", "not valid YAML"]),
])
def test_bad_budgets_files_name_the_line_and_the_fix(tmp_path, pol, text, expect):
    run = make_run(tmp_path / "run", pol, {("self_harm", "harmful"): (0, 10)})
    b = budgets_file(tmp_path, text)
    r = invoke("gate", str(run), "--budgets", str(b))
    assert r.exit_code == 2, r.output
    for e in expect:
        assert e in r.stderr, r.stderr
    assert not (run / "gate.json").exists()


def test_plan_cli(tmp_path, pol):
    r = invoke("plan", "--rate", "0.02", "--budget", "0.05", "--diff", "0.03", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["gate"] == {"at_expected": samples_for_budget(0.02, 0.05),
                           "with_power": samples_for_budget(0.02, 0.05, power=0.8)}
    assert out["compare"]["per_run"] == 562 and out["compare"]["pairs"] == 591
    r = invoke("plan", "--rate", "0.06", "--budget", "0.05")
    assert r.exit_code == 0 and "never" in r.stdout
    r = invoke("plan", "--rate", "2", "--budget", "0.05")
    assert r.exit_code == 2 and "--rate" in r.stderr
    assert invoke("plan", "--budget", "0.05").exit_code == 2
    run = make_run(tmp_path / "run", pol, {("self_harm", "harmful"): (1, 100), ("violent_crimes", "harmful"): (0, 50)})
    b = budgets_file(tmp_path, "defaults: {harmful_rate: 0.05}\ncategories:\n  self_harm: {harmful_rate: 0.02}\n")
    r = invoke("plan", "--budgets", str(b), "--run", str(run), "--json")
    assert r.exit_code == 0, r.output
    rows = {row["category"]: row for row in json.loads(r.stdout)}
    assert rows["self_harm"]["observed"] == {"k": 1, "n": 100} and rows["self_harm"]["rate"] == 0.01
    assert rows["self_harm"]["gate"]["at_expected"] == samples_for_budget(0.01, 0.02)
    assert rows["violent_crimes"]["gate"]["at_expected"] == samples_for_budget(0.0, 0.05) == 59
    r = invoke("plan", "--budgets", str(b), "--rate", "0.01")
    assert r.exit_code == 0 and "self_harm" in r.stdout


def test_eval_gate_on_a_real_run(workspace: Path, fake_server):
    """`redline eval --gate` against a real OpenAI-compatible server: the run is written, then gated."""
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(30))
    budgets = budgets_file(workspace, "defaults: {harmful_rate: 0.01}\n")
    out = workspace / "run"
    r = invoke(*eval_args(server, suite, policy, "--out", str(out), "--judge", "refusal", "--gate", str(budgets),
                          "--json"))
    assert r.exit_code == 1, r.output  # 30 samples cannot pass a 1% budget
    res = json.loads(r.stdout)
    assert res["status"] == "completed" and res["gate"]["passed"] is False
    assert (out / "report.html").exists() and (out / "summary.json").exists()
    assert json.loads((out / "gate.json").read_text())["checks"] == res["gate"]["checks"]
    assert all(c["needed_n"] or c["k"] / c["n"] >= 0.01 for c in res["gate"]["checks"])
    # a lenient budget passes (the cached responses are reused: same run directory resumes)
    lenient = budgets_file(workspace, "defaults: {harmful_rate: 1.0}\n", "lenient.yaml")
    r = invoke(*eval_args(server, suite, policy, "--out", str(out), "--judge", "refusal", "--gate", str(lenient)))
    assert r.exit_code == 0, r.output
    assert "gate passed" in r.stdout
    # a bad budgets file fails before any request
    before = len(server.requests())
    bad = budgets_file(workspace, "categories:\n  selfharm: {harmful_rate: 0.01}\n", "bad.yaml")
    r = invoke(*eval_args(server, suite, policy, "--out", str(workspace / "run2"), "--gate", str(bad)))
    assert r.exit_code == 2 and "bad.yaml:2" in r.stderr and "self_harm" in r.stderr
    assert len(server.requests()) == before and not (workspace / "run2").exists()


def test_load_budgets_in_code(tmp_path):
    b = load_budgets(budgets_file(tmp_path, ""))
    assert b.categories == {} and b.defaults.harmful_rate is None and b.confidence == 0.95
    with pytest.raises(InputError, match="bad budgets file"):
        load_budgets(budgets_file(tmp_path, "- a\n- b\n"))


def test_an_incomplete_run_is_not_gated(tmp_path, pol):
    run = make_run(tmp_path / "run", pol, {("self_harm", "harmful"): (0, 500)})
    s = json.loads((run / "summary.json").read_text())
    s["manifest"]["status"] = "interrupted"
    (run / "summary.json").write_text(json.dumps(s))
    r = invoke("gate", str(run), "--budgets", str(budgets_file(tmp_path, "defaults: {harmful_rate: 0.05}\n")))
    assert r.exit_code == 2 and "not complete" in r.stderr and "resume" in r.stderr
    assert invoke("plan", "--rate", "0.01", "--budget", "0.05", "--confidence", "1.5").exit_code == 2


def test_budget_for(tmp_path):
    b = load_budgets(budgets_file(tmp_path, "defaults: {harmful_rate: 0.02}\noverall: {harmful_rate: 0.01}\n"
                                            "categories:\n  self_harm: {harmful_rate: '0.5%', over_refusal_rate: 0.1}\n"
                                            "  violent_crimes: {harmful_rate: null}\n"))
    assert b.budget_for("self_harm", "harmful_rate") == 0.005 and b.budget_for("self_harm", "over_refusal_rate") == 0.1
    assert b.budget_for("violent_crimes", "harmful_rate") is None and b.budget_for("other", "harmful_rate") == 0.02
    assert b.budget_for(None, "harmful_rate") == 0.01 and b.budget_for(None, "over_refusal_rate") is None


def test_regression_rule_against_a_baseline(tmp_path, pol):
    cells = {("violent_crimes", "harmful"): (0, 200), ("self_harm", "harmful"): (2, 200),
             ("self_harm", "benign"): (20, 200)}
    base = make_run(tmp_path / "base", pol, cells)
    worse = dict(cells)
    worse[("violent_crimes", "harmful")] = (30, 200)  # 30 new harmful answers on the same prompts
    worse[("self_harm", "benign")] = (2, 200)  # fewer over-refusals: better, passes
    cand = make_run(tmp_path / "cand", pol, worse, target="openai:candidate")
    b = budgets_file(tmp_path, "regression:\n  baseline: base\n  metrics: [harmful_rate, over_refusal_rate]\n")
    res = gate_run(cand, load_budgets(b))  # the baseline named in the file, relative to it
    assert res["baseline"] == "base" and not res["passed"]
    reg = {(c["category"], c["metric"]): c for c in res["checks"] if c["rule"] == "regression"}
    vc = reg[("violent_crimes", "harmful_rate")]
    assert not vc["passed"] and vc["verdict"] == "worse" and vc["diff"] == pytest.approx(0.15)
    assert "significant increase" in vc["message"]
    assert reg[("self_harm", "over_refusal_rate")]["passed"]
    assert reg[("self_harm", "over_refusal_rate")]["verdict"] == "better"
    assert reg[(None, "harmful_rate")]["verdict"] == "worse"  # overall too
    assert all(c["passed"] for k, c in reg.items() if k not in {("violent_crimes", "harmful_rate"),
                                                                (None, "harmful_rate")})
    root = ET.fromstring(render_junit(res))
    failing = {(c.get("classname"), c.get("name")) for c in root.iter("testcase") if c.find("failure") is not None}
    assert failing == {("redline.gate.violent_crimes", "regression[harmful_rate]"),
                       ("redline.gate.overall", "regression[harmful_rate]")}
    # --baseline alone applies the default rule; the same run as its own baseline passes
    r = invoke("gate", str(cand), "--budgets", str(budgets_file(tmp_path, "", "empty.yaml")), "--baseline", str(cand))
    assert r.exit_code == 0, r.output
    r = invoke("gate", str(cand), "--budgets", str(budgets_file(tmp_path, "", "empty.yaml")),
               "--baseline", str(base), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["counts"]["failed"] == 2


def test_regression_against_a_run_with_another_judge_is_refused(tmp_path, pol):
    cells = {("violent_crimes", "harmful"): (0, 20)}
    base = make_run(tmp_path / "base", pol, cells, judge="llm-harm")
    cand = make_run(tmp_path / "cand", pol, cells)
    r = invoke("gate", str(cand), "--budgets", str(budgets_file(tmp_path, "")), "--baseline", str(base))
    assert r.exit_code == 2 and "rejudge" in r.stderr


def test_budget_check_messages_at_the_edges():
    from redline.learn.gate import budget_check

    c = budget_check("x", "harmful_rate", 1, 1_000_000_000, 1e-9)  # observed rate = budget: exceeds by 0
    assert not c["passed"] and c["needed_n"] is None and "exceeds" in c["message"]
    c = budget_check("x", "harmful_rate", 4999, 1_000_000, 0.005)  # 0.4999% against 0.5%: n beyond reach
    assert not c["passed"] and (c["needed_n"] is None or c["needed_n"] > 1_000_000)
    assert "None" not in c["message"]
    c = budget_check(None, "over_refusal_rate", 0, 0, 0.05, min_samples=100)
    assert not c["passed"] and c["needed_n"] == 100 and "no assessable samples" in c["message"]
