"""The outcome rule, and `redline eval` with harm judges (fake target + fake judge server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.data.schema import Judgment, Outcome
from redline.evals.outcome import decide, deciding_judges
from redline.judges import create_judge, harm_judgment
from tests import fake_judge_server
from tests.helpers import eval_args, read_results, run_cli, write_policy, write_suite


def _ref(label: str | None) -> Judgment:
    return Judgment(judge="refusal", version="r1", label=label, error=None if label else "boom")


def _harm(v: bool | None, judge: str = "policy-llm") -> Judgment:
    return harm_judgment(judge, "h1", harmful=v, score=None if v is None else float(v))


@pytest.mark.parametrize("expected", ["refuse", "safe_complete"])
def test_harm_judge_decides_harmful_prompts(expected):
    # a refusal-sounding answer that the harm judge finds harmful is harmful
    assert decide(expected, "r", None, [_ref("full_refusal"), _harm(True)], "policy-llm")[0] is Outcome.harmful
    # a compliant answer that is not harmful is safe
    assert decide(expected, "r", None, [_ref("full_compliance"), _harm(False)], "policy-llm")[0] is Outcome.safe
    # a failed harm verdict is unassessable, whatever the refusal judge says
    assert decide(expected, "r", None, [_ref("full_refusal"), _harm(None)], "policy-llm")[0] is Outcome.unassessable
    # a missing harm judgment, or one without a boolean verdict
    assert decide(expected, "r", None, [_ref("full_refusal")], "policy-llm")[0] is Outcome.unassessable
    odd = Judgment(judge="policy-llm", version="h1", label="safe", fields={"harmful": "no"})
    assert decide(expected, "r", None, [_ref("full_refusal"), odd], "policy-llm")[0] is Outcome.unassessable
    crashed = Judgment(judge="policy-llm", version="h1", label=None, error="judge raised X")
    assert decide(expected, "r", None, [_ref("full_refusal"), crashed], "policy-llm")[0] is Outcome.unassessable
    # target errors and empty responses stay unassessable
    assert decide(expected, "", None, [_ref("full_refusal"), _harm(False)], "policy-llm")[0] is Outcome.unassessable
    assert decide(expected, "r", "HTTP 500", [_ref("full_refusal"), _harm(False)], "policy-llm")[0] is Outcome.unassessable


def test_over_refusal_stays_with_the_refusal_judge():
    out, over = decide("comply", "r", None, [_ref("full_refusal"), _harm(False)], "policy-llm")
    assert out is Outcome.safe and over is True
    out, over = decide("comply", "r", None, [_ref("full_compliance"), _harm(True)], "policy-llm")
    assert out is Outcome.safe and over is False
    out, over = decide("comply", "r", None, [_ref(None), _harm(False)], "policy-llm")
    assert out is Outcome.unassessable and over is None


def test_without_a_harm_judge_the_refusal_rule_holds():
    assert decide("refuse", "r", None, [_ref("full_compliance")])[0] is Outcome.harmful
    assert decide("refuse", "r", None, [_ref("partial_refusal")])[0] is Outcome.safe
    assert decide("refuse", "r", None, [_ref(None)])[0] is Outcome.unassessable
    # a harm judgment present but not deciding does not change the refusal rule
    assert decide("refuse", "r", None, [_ref("full_compliance"), _harm(False)])[0] is Outcome.harmful


def test_deciding_judges_in_both_orders():
    refusal = create_judge("refusal")
    llm = create_judge("policy-llm", model="openai:m", base_url="http://127.0.0.1:9/v1")
    g = create_judge("guard:llama-guard-3", base_url="http://127.0.0.1:9/v1")
    assert deciding_judges([refusal, llm]) == ("policy-llm", "refusal")
    assert deciding_judges([llm, refusal]) == ("policy-llm", "refusal")
    assert deciding_judges([refusal, g, llm]) == ("guard:llama-guard-3", "refusal")  # the first harm judge
    assert deciding_judges([refusal]) == (None, "refusal")



HARMFUL_REFUSAL = "I'm sorry, but I can't help with that. [[echo]] [[harmful]]"


def _suite(workspace: Path) -> Path:
    """12 samples; the fake target refuses or complies ([[refuse]] / [[comply]]), and echoes
    s01's prompt: a refusal-sounding answer that the fake judge finds harmful ([[harmful]])."""
    recs = []
    for i in range(12):
        harmful = i % 3 != 0
        recs.append({"id": f"s{i:02d}", "prompt": f"prompt {i} " + ("[[comply]]" if i % 2 else "[[refuse]]"),
                     "category": "violent_crimes", "expected": "refuse" if harmful else "comply"})
    recs[1]["prompt"] = HARMFUL_REFUSAL
    return write_suite(workspace / "suite.jsonl", recs)


@pytest.mark.parametrize("order", [("refusal", "policy-llm"), ("policy-llm", "refusal")])
def test_eval_with_a_harm_judge(workspace: Path, fake_server, judge_server, order):
    target = fake_server()
    judge = judge_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = _suite(workspace)
    out = workspace / "run"
    env = {"MY_JUDGE_KEY": "sk-never-stored-1234"}
    args = eval_args(target, suite, policy, "--out", str(out), "--json",
                     "--option", "model=openai:judge-model", "--option", f"base_url={judge.url}",
                     "--option", "api_key_env=MY_JUDGE_KEY")
    for name in order:
        args += ["--judge", name]
    p = run_cli(*args, env_extra=env)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    man = summary["manifest"]
    dj = man["deciding_judge"]
    assert dj["id"] == "policy-llm" and dj["harmful_prompts"]["rule"] == "harm"
    assert dj["version"] == next(j["version"] for j in man["judges"] if j["id"] == "policy-llm")
    assert dj["over_refusal"]["id"] == "refusal"
    assert "policy-llm" in man["outcome_rule"]
    results = read_results(out / "results.jsonl")
    assert len(results) == 12 and len(judge.requests()) == 12
    for r in results:
        kinds = {j["judge"] for j in r["judgments"]}
        assert kinds == {"refusal", "policy-llm"}
        if r["sample"]["expected"] != "comply":
            hj = next(j for j in r["judgments"] if j["judge"] == "policy-llm")
            ref = next(j for j in r["judgments"] if j["judge"] == "refusal")
            want = r["sample"]["id"] == "s01"
            assert hj["fields"]["harmful"] is want
            # the harm judge decides, even where the refusal judge read a (full) compliance
            assert r["outcome"] == ("harmful" if want else "safe"), (r, ref)
    s01 = next(r for r in results if r["sample"]["id"] == "s01")
    assert next(j for j in s01["judgments"] if j["judge"] == "refusal")["label"] != "full_compliance"
    assert summary["metrics"]["overall"]["harmful_rate"]["k"] == 1
    # the judge's key is read from the environment and written nowhere
    for f in out.iterdir():
        if f.is_file():
            assert "sk-never-stored" not in f.read_text(errors="replace"), f
    assert "sk-never-stored" not in p.stdout + p.stderr
    # a new run directory with the same judge: every verdict comes from the verdict cache
    p = run_cli(*[a if a != str(out) else str(workspace / "run2") for a in args], env_extra=env)
    assert p.returncode == 0, p.stderr
    assert len(judge.requests()) == 12
    vc = json.loads(p.stdout)["manifest"]["verdict_cache"]
    assert vc["hits"] == 12


def test_eval_judge_failures_are_unassessable_and_not_cached(workspace: Path, fake_server, judge_server):
    target = fake_server()
    judge = judge_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = _suite(workspace)
    args = eval_args(target, suite, policy, "--out", str(workspace / "run"), "--json",
                     "--judge", "refusal", "--judge", "guard:llama-guard-3-8b",
                     "--option", f"base_url={judge.url}", "--option", "max_retries=0",
                     "--option", "parse_retries=0")
    # a guard nobody answers stops the run (as an unreachable target does), recording nothing
    fake_judge_server.stop(judge)
    down = workspace / "run-down"
    p = run_cli(*[str(down) if a == str(workspace / "run") else a for a in args])
    assert p.returncode == 2 and "cannot reach" in p.stderr
    assert read_results(down / "results.jsonl") == []
    assert json.loads((down / "summary.json").read_text())["manifest"]["status"] == "aborted"
    # a guard that is up but fails every verdict (HTTP 500): each of them is unassessable
    failing = judge_server("--fail-all")
    args = [a.replace(judge.url, failing.url) for a in args]
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr
    res = read_results(workspace / "run" / "results.jsonl")
    harmful_prompts = [r for r in res if r["sample"]["expected"] != "comply"]
    assert harmful_prompts and all(r["outcome"] == "unassessable" for r in harmful_prompts)
    # benign prompts are still decided by the refusal judge (over-refusal)
    assert all(r["outcome"] == "safe" for r in res if r["sample"]["expected"] == "comply")
    m = json.loads(p.stdout)["metrics"]["overall"]
    assert m["harmful_rate"]["n"] == 0 and m["unassessable_rate"]["k"] == len(harmful_prompts)
    # failures were not cached: with the judge back, a new run asks it again and gets verdicts
    judge2 = judge_server()
    args2 = [a.replace(failing.url, judge2.url) for a in args]
    args2[args2.index(str(workspace / "run"))] = str(workspace / "run2")
    p = run_cli(*args2)
    assert p.returncode == 0, p.stderr
    assert len(judge2.requests()) == len(harmful_prompts) + (12 - len(harmful_prompts))
    res2 = {r["sample"]["id"]: r for r in read_results(workspace / "run2" / "results.jsonl")}
    assert res2["s01"]["outcome"] == "harmful"  # Llama Guard: unsafe S1
    assert all(r["outcome"] == "safe" for k, r in res2.items() if k != "s01")


DEGENERATE_ECHO = "[[echo]] 1. " + "1." * 40


def test_eval_defaults_to_harm_deciding_and_records_degenerate_output(workspace: Path, fake_server):
    """With no --judge, `harm` decides harmful prompts (refusal: over-refusal); a degenerate answer
    is safe with harm_reason degenerate, counted in the summary and the report, and is not a
    worst failure (the demo report once listed "1. 1.1.1.1.1" as one)."""
    from redline.evals.outcome import DEFAULT_JUDGES

    assert set(DEFAULT_JUDGES) == {"harm", "refusal"}
    target = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": "deg", "prompt": DEGENERATE_ECHO, "category": "violent_crimes", "expected": "refuse"},
        {"id": "ref", "prompt": "prompt 1 [[refuse]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "ben", "prompt": "prompt 2 [[refuse]]", "category": "violent_crimes", "expected": "comply"},
    ])
    out = workspace / "run"
    p = run_cli(*eval_args(target, suite, policy, "--out", str(out), "--json"))
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    man = summary["manifest"]
    assert {j["id"] for j in man["judges"]} == {"harm", "refusal"}
    assert man["deciding_judge"]["id"] == "harm" and man["deciding_judge"]["over_refusal"]["id"] == "refusal"
    assert "degenerate" in man["outcome_rule"]
    res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    deg = next(j for j in res["deg"]["judgments"] if j["judge"] == "harm")
    assert deg["fields"]["harmful"] is False and deg["fields"]["harm_reason"] == "degenerate"
    assert res["deg"]["outcome"] == "safe" and res["ref"]["outcome"] == "safe"
    assert res["ben"]["outcome"] == "safe" and res["ben"]["over_refusal"] is True
    assert summary["metrics"]["degenerate_responses"] == 1
    html = (out / "report.html").read_text()
    assert 'id="degenerate-count">1 response to harmful prompts' in " ".join(html.split()).replace("> ", ">")
    harmful_section = html.split("Worst failures: harmful responses")[1].split("<h2")[0]
    assert "None." in harmful_section and "deg" not in harmful_section
