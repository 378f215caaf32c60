"""`redline rejudge`: a new run from an old run's responses, without calling the target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import eval_args, read_results, run_cli, write_policy, write_suite


def _source_run(workspace: Path, fake_server, n: int = 20) -> tuple[Any, Path, Path]:
    target = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    recs = []
    for i in range(n):
        harmful = i % 4 != 0
        prompt = f"prompt {i} " + ("[[echo]] [[harmful]]" if i % 5 == 1 else "[[comply]]" if i % 2 else "[[refuse]]")
        recs.append({"id": f"s{i:03d}", "prompt": prompt, "category": "violent_crimes" if i % 3 else "self_harm",
                     "expected": ("refuse" if i % 3 else "safe_complete") if harmful else "comply"})
    recs[2]["prompt"] = "prompt 2 [[400]]"  # a target error stays an error after rejudging
    suite = write_suite(workspace / "suite.jsonl", recs)
    src = workspace / "src-run"
    p = run_cli(*eval_args(target, suite, policy, "--out", str(src)))
    assert p.returncode == 0, p.stderr
    return target, policy, src


def test_rejudge_writes_a_new_run_and_never_calls_the_target(workspace: Path, fake_server, judge_server):
    target, policy, src = _source_run(workspace, fake_server)
    judge = judge_server()
    target.log.write_text("")  # from here on, the target must see nothing
    before = {f.name: f.read_bytes() for f in src.iterdir() if f.is_file()}
    out = workspace / "rejudged"
    p = run_cli("rejudge", str(src), "--judge", "policy-llm", "--option", "model=openai:judge-model",
            "--option", f"base_url={judge.url}", "--out", str(out), "--no-progress", "--json")
    assert p.returncode == 0, p.stderr
    assert target.requests() == []
    summary = json.loads(p.stdout)
    man = summary["manifest"]
    assert man["rejudged_from"]["run"] == str(src.resolve())
    assert [j["id"] for j in man["rejudged_from"]["judges"]] == ["refusal", "harm"]  # the eval default
    assert [j["id"] for j in man["judges"]] == ["refusal", "policy-llm"]
    assert man["deciding_judge"]["id"] == "policy-llm"
    assert man["timings"]["new_requests"] == 0 and man["target"]["asked"] is False
    assert man["target"]["model"] == "fake-model"
    # the source run is untouched
    assert {f.name: f.read_bytes() for f in src.iterdir() if f.is_file()} == before
    src_res = {r["sample"]["id"]: r for r in read_results(src / "results.jsonl")}
    new_res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    assert set(new_res) == set(src_res)
    for sid, r in new_res.items():
        assert r["response"] == src_res[sid]["response"] and r["error"] == src_res[sid]["error"]
        assert r["rejudged_from"] == str(src.resolve())
        if r["error"]:
            assert r["outcome"] == "unassessable"
        elif r["sample"]["expected"] != "comply":
            echoed = "[[harmful]]" in (r["response"] or "")
            assert r["outcome"] == ("harmful" if echoed else "safe"), r
    assert any(r["outcome"] == "harmful" for r in new_res.values())
    # the judge was asked once per response (target errors have none to judge)
    assert len(judge.requests()) == sum(1 for r in src_res.values() if r["response"])
    assert (out / "report.html").exists() and "policy-llm" in (out / "summary.json").read_text()
    runs = json.loads(run_cli("runs", "--json").stdout)
    row = next(r for r in runs if r["run_id"] == str(out.resolve()))
    assert row["status"] == "completed" and row["samples"] == 20
    # the judges tell a rejudged run from its source in `redline runs`
    src_row = next(r for r in runs if r["run_id"] == str(src.resolve()))
    assert "policy-llm" in row["judges"] and "policy-llm" not in src_row["judges"]
    assert "policy-llm" in run_cli("runs").stdout
    # the same command again: nothing new to do, and the judge is not asked again
    p = run_cli("rejudge", str(src), "--judge", "policy-llm", "--option", "model=openai:judge-model",
            "--option", f"base_url={judge.url}", "--out", str(out), "--no-progress", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["manifest"]["timings"]["resumed_from_previous"] == 20
    assert len(read_results(out / "results.jsonl")) == 20
    assert target.requests() == []


def test_rejudge_resumes_without_losing_or_duplicating(workspace: Path, fake_server, judge_server):
    target, policy, src = _source_run(workspace, fake_server, n=24)
    judge = judge_server()
    target.log.write_text("")
    out = workspace / "rj"
    args = ["rejudge", str(src), "--judge", "guard:llama-guard-3-8b", "--option", f"base_url={judge.url}",
            "--out", str(out), "--no-progress", "--no-cache", "--json"]
    assert run_cli(*args).returncode == 0
    full = read_results(out / "results.jsonl")
    asked_first = len(judge.requests())
    # simulate a kill: keep 10 complete lines and a torn 11th
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    (out / "results.jsonl").write_text("".join(lines[:10]) + lines[10][:25])
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr
    again = read_results(out / "results.jsonl")
    assert sorted(r["sample"]["id"] for r in again) == sorted(r["sample"]["id"] for r in full)
    assert json.loads(p.stdout)["manifest"]["timings"]["resumed_from_previous"] == 10
    # only the 14 missing samples were judged again (no cache: so each one is one request)
    done_first = {r["sample"]["id"] for r in full[:10]}
    need = sum(1 for r in full if r["sample"]["id"] not in done_first and r["response"])
    assert len(judge.requests()) - asked_first == need
    assert target.requests() == []


def test_rejudge_errors(workspace: Path, fake_server):
    p = run_cli("rejudge", str(workspace / "nope"), "--judge", "refusal")
    assert p.returncode == 2 and "not found" in p.stderr
    target, policy, src = _source_run(workspace, fake_server, n=4)
    # the source's policy file has gone: the error says to give it
    moved = policy.rename(workspace / "moved.yaml")
    p = run_cli("rejudge", str(src), "--judge", "refusal", "--out", str(workspace / "o"), "--no-progress")
    assert p.returncode == 2 and "--policy" in p.stderr
    policy = moved.rename(policy)
    p = run_cli("rejudge", str(src), "--judge", "refusal", "--policy", str(policy), "--out", str(src))
    assert p.returncode == 2 and "rejudging writes a new run directory" in p.stderr
    p = run_cli("rejudge", str(src), "--judge", "refusal", "--policy", str(policy), "--out",
            str(workspace / "o2"), "--no-progress", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["manifest"]["deciding_judge"]["id"] == "refusal"
