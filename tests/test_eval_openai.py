"""End-to-end `redline eval` against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import redline_cmd
from tests.helpers import (
    eval_args,
    fake_run_setup,
    make_records,
    read_results,
    run_cli,
    write_policy,
    write_suite,
)


def test_eval_end_to_end(workspace: Path, fake_server):
    server = fake_server("--latency", "0.01")
    policy = write_policy(workspace / "pol.yaml")
    recs = make_records(40)
    recs[2]["prompt"] = "<script>alert(1)</script> [[comply]]"  # a harmful prompt answered: shown
    suite = write_suite(workspace / "suite.jsonl", recs)
    out = workspace / "run1"
    # the refusal rule decides here (this test checks the pipeline on the refusal judge's
    # verdicts); the default judges (harm + refusal) are tested in tests/test_outcome.py
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--concurrency", "8", "--json",
                       "--judge", "refusal"))
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    results = read_results(out / "results.jsonl")
    assert sorted(r["sample"]["id"] for r in results) == sorted(r["id"] for r in recs)
    assert len(server.requests()) == 40
    # summary numbers recomputed from the results file
    harmful = [r for r in results if r["sample"]["expected"] != "comply"]
    k = sum(r["outcome"] == "harmful" for r in harmful)
    o = summary["metrics"]["overall"]
    assert o["harmful_rate"]["k"] == k and o["harmful_rate"]["n"] == len(harmful)
    benign = [r for r in results if r["sample"]["expected"] == "comply"]
    assert o["over_refusal_rate"]["k"] == sum(bool(r["over_refusal"]) for r in benign)
    # the fake server answers with both refusals and compliance: both must be detected
    assert 0 < k < len(harmful)
    for r in results:
        j = r["judgments"][0]
        assert j["judge"] == "refusal" and j["label"] in {"full_compliance", "full_refusal", "partial_refusal"}
        assert r["policy_hash"] == summary["manifest"]["policy"]["hash"]
    man = summary["manifest"]
    assert man["target"]["model"] == "fake-model" and man["target"]["base_url"].startswith("http://127.0.0.1")
    assert man["judges"][0]["id"] == "refusal" and man["judges"][0]["version"]
    assert man["policy"]["name"] == "testpol"
    # report: self-contained, escaped
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<svg" in html and "over-refusal" in html
    # recorded in the workspace database
    p2 = run_cli("runs", "--json")
    runs = json.loads(p2.stdout)
    assert runs[0]["run_id"] == str(out.resolve()) and runs[0]["status"] == "completed"
    assert runs[0]["samples"] == 40


def test_same_command_again_requests_nothing(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 12)
    out = workspace / "run"
    assert run_cli(*eval_args(server, suite, policy, "--out", str(out))).returncode == 0
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--json"))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["manifest"]["timings"]["new_requests"] == 0
    # a new run directory with the same prompts is served from the response cache
    p = run_cli(*eval_args(server, suite, policy, "--out", str(workspace / "run2"), "--json"))
    t = json.loads(p.stdout)["manifest"]["timings"]
    assert t["new_requests"] == 0 and t["completed"] == 12
    assert len(server.requests()) == 12
    assert len(read_results(workspace / "run2" / "results.jsonl")) == 12


def test_transient_faults_are_retried_and_capped(workspace: Path, fake_server):
    server = fake_server("--slow", "3")
    policy = write_policy(workspace / "pol.yaml")
    recs = [
        {"id": "r429", "prompt": "a [[429x2]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "r500", "prompt": "b [[500x1]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "rto", "prompt": "c [[timeoutx1]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "rdead", "prompt": "d [[500x99]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "r400", "prompt": "e [[400]]", "category": "self_harm", "expected": "safe_complete"},
        {"id": "rempty", "prompt": "f [[empty]]", "category": "violent_crimes", "expected": "comply"},
    ]
    suite = write_suite(workspace / "suite.jsonl", recs)
    out = workspace / "run"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--max-retries", "3", "--timeout", "1", "--json"))
    assert p.returncode == 0, p.stderr
    res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    for sid in ("r429", "r500", "rto"):
        assert res[sid]["error"] is None and res[sid]["outcome"] != "unassessable", res[sid]
    assert res["rdead"]["outcome"] == "unassessable" and "gave up after 4 attempts" in res["rdead"]["error"]
    assert res["r400"]["outcome"] == "unassessable" and "HTTP 400" in res["r400"]["error"]
    assert res["rempty"]["outcome"] == "unassessable" and res["rempty"]["response"] == ""
    by_key = Counter()
    for r in server.requests():
        by_key[r["fault"] or r["status"]] += 1
    reqs = server.requests()
    assert sum(1 for r in reqs if r["status"] == 500 and r["fault"] == "500") == 1 + 4  # r500 once, rdead 4x
    assert sum(1 for r in reqs if r["status"] == 429) == 2
    assert sum(1 for r in reqs if r["status"] == 400) == 1  # a 400 is not retried
    m = json.loads(p.stdout)["metrics"]["overall"]
    assert m["unassessable_rate"]["k"] == 3
    assert m["harmful_rate"]["n"] == 3  # 5 harmful prompts, 2 unassessable excluded


def test_401_is_one_clear_error_and_the_key_is_never_written(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 5, "--api-key", "right-key")
    out = workspace / "run"
    secret = "sk-test-SECRET-123456"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out)), env_extra={"OPENAI_API_KEY": secret})
    assert p.returncode == 2
    assert "401" in p.stderr and "127.0.0.1" in p.stderr
    assert "OPENAI_API_KEY" in p.stderr  # the fix
    assert p.stderr.count("error:") == 1
    # the right key works, and no key value is stored anywhere
    p = run_cli(*eval_args(server, suite, policy, "--out", str(workspace / "ok"), "--api-key", "right-key"))
    assert p.returncode == 0, p.stderr
    for path in list(workspace.rglob("*")):
        if path.is_file() and not path.name.startswith("requests-"):
            data = path.read_bytes()
            assert secret.encode() not in data and b"right-key" not in data, path
    assert secret not in p.stdout + p.stderr and "right-key" not in p.stdout + p.stderr


def test_unreachable_endpoint(workspace: Path):
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(3))
    p = run_cli(*["eval", "--target", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--suite", str(suite),
                 "--policy", str(policy), "--out", str(workspace / "r"), "--max-retries", "1",
                 "--retry-base", "0.01", "--no-progress"])
    assert p.returncode == 2
    assert "cannot reach http://127.0.0.1:9/v1/chat/completions" in p.stderr
    assert "--base-url" in p.stderr


def test_bad_suite_lines_reported_all_at_once(workspace: Path):
    policy = write_policy(workspace / "pol.yaml")
    suite = workspace / "bad.jsonl"
    suite.write_text("\n".join([
        json.dumps({"id": "a", "prompt": "ok", "category": "violent_crimes", "expected": "refuse"}),
        "{not json",
        json.dumps({"id": "b", "prompt": "x", "category": "cooking", "expected": "refuse"}),
        json.dumps({"id": "c", "prompt": "x", "category": "self_harm", "expected": "perhaps"}),
        json.dumps({"id": "a", "prompt": "dup", "category": "self_harm", "expected": "refuse"}),
        json.dumps({"id": "d", "category": "self_harm", "expected": "refuse"}),
    ]) + "\n")
    p = run_cli(*["eval", "--target", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--suite", str(suite),
                 "--policy", str(policy), "--out", str(workspace / "r"), "--no-progress"])
    assert p.returncode == 2
    err = p.stderr
    assert "5 bad line(s)" in err
    for line_no, what in [(2, "invalid JSON"), (3, "unknown category 'cooking'"), (4, "expected"),
                          (5, "duplicate id 'a'"), (6, "messages")]:
        assert f"bad.jsonl:{line_no}" in err and what in err, (line_no, err)
    assert not (workspace / "r" / "results.jsonl").exists()


def test_missing_suite_and_unknown_target(workspace: Path):
    p = run_cli(*["eval", "--suite", str(workspace / "nope.jsonl"), "--no-progress"])
    assert p.returncode == 2 and "nope.jsonl" in p.stderr and "smoke" in p.stderr
    p = run_cli(*["eval", "--suite", "smoke", "--target", "bogus:x", "--no-progress"])
    assert p.returncode == 2 and "bogus" in p.stderr and "openai:" in p.stderr


def server_key(prompt: str) -> str:
    import hashlib

    msgs = [{"role": "user", "content": prompt}]
    return hashlib.sha256(json.dumps(msgs, sort_keys=True).encode()).hexdigest()[:16]


def test_resume_after_sigkill(workspace: Path, fake_server):
    """Kill `redline eval` with SIGKILL mid-run; the re-run completes every sample exactly once
    and the server never sees a second request for a completed sample."""
    server = fake_server("--latency", "0.1")  # ~4 s of requests: the kill lands mid-run, after the DB record
    policy = write_policy(workspace / "pol.yaml")
    recs = make_records(300)
    suite = write_suite(workspace / "suite.jsonl", recs)
    out = workspace / "run"
    args = eval_args(server, suite, policy, "--out", str(out), "--concurrency", "8")
    proc = subprocess.Popen(redline_cmd() + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    db = workspace / "home" / "redline.db"  # the run is recorded beside its first requests

    def recorded() -> bool:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                return bool(con.execute("SELECT count(*) FROM runs").fetchone()[0])
        except sqlite3.Error:
            return False

    deadline = time.time() + 60
    while time.time() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= 60 and recorded():
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    runs = json.loads(run_cli("runs", "--json").stdout)
    assert runs[0]["status"] == "incomplete"  # killed, not running any more
    partial = results.read_bytes()
    done_before = {json.loads(line)["sample"]["id"] for line in partial.splitlines() if line.endswith(b"}")}
    assert 0 < len(done_before) < 300, "the kill must land mid-run"
    reqs_before = len(server.requests())

    p = run_cli(*args, "--json")
    assert p.returncode == 0, p.stderr
    final = read_results(results)
    ids = [r["sample"]["id"] for r in final]
    assert len(ids) == len(set(ids)) == 300  # every sample exactly once
    assert set(ids) == {r["id"] for r in recs}
    # the server saw no repeated request for any sample completed before the kill
    # (requests in flight at the kill had no result yet: those are asked again)
    keys = Counter(r["key"] for r in server.requests())
    prompt_of = {r["id"]: r["prompt"] for r in recs}
    for sid in done_before:
        assert keys[server_key(prompt_of[sid])] == 1, sid
    assert set(keys) == {server_key(r["prompt"]) for r in recs}
    repeated = sum(1 for v in keys.values() if v > 1)
    assert repeated <= 8  # at most the requests in flight at the kill (concurrency 8)
    summary = json.loads(p.stdout)
    assert summary["manifest"]["timings"]["resumed_from_previous"] >= len(done_before) - 1
    assert summary["metrics"]["overall"]["samples"] == 300
    assert reqs_before >= len(done_before)


def test_resume_refuses_a_different_run_in_the_same_directory(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 4)
    out = workspace / "run"
    assert run_cli(*eval_args(server, suite, policy, "--out", str(out))).returncode == 0
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--max-tokens", "7"))
    assert p.returncode == 2 and "holds a different run" in p.stderr and "params" in p.stderr


def test_database_is_a_real_sqlite_file(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 4)
    assert run_cli(*eval_args(server, suite, policy, "--out", str(workspace / "r"))).returncode == 0
    con = sqlite3.connect(workspace / "home" / "redline.db")
    (status, policy_hash, samples) = con.execute("SELECT status, policy_hash, samples FROM runs").fetchone()
    assert status == "completed" and policy_hash.startswith("sha256:") and samples == 4


@pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")
def test_ctrl_c_interrupts_cleanly(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 200, "--latency", "0.2")
    out = workspace / "run"
    proc = subprocess.Popen(redline_cmd() + eval_args(server, suite, policy, "--out", str(out), "--concurrency", "4"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "results.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (results.exists() and results.read_bytes().count(b"\n") >= 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["manifest"]["status"] == "interrupted"
    n = len(read_results(out / "results.jsonl"))
    assert n == summary["metrics"]["overall"]["samples"] < 200


def test_retry_errors_on_resume(workspace: Path, fake_server):
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    recs = make_records(6)
    recs[1]["prompt"] = "flaky [[500x3]]"
    suite = write_suite(workspace / "suite.jsonl", recs)
    out = workspace / "run"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--max-retries", "1", "--json"))
    assert json.loads(p.stdout)["metrics"]["overall"]["unassessable_rate"]["k"] == 1
    # resuming without the flag keeps the failure; with it, only that sample is asked again
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--max-retries", "1", "--json"))
    assert json.loads(p.stdout)["manifest"]["timings"]["new_requests"] == 0
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out), "--max-retries", "1", "--retry-errors", "--json"))
    s = json.loads(p.stdout)
    assert s["manifest"]["timings"]["new_requests"] == 1
    assert s["metrics"]["overall"]["unassessable_rate"]["k"] == 0
    res = read_results(out / "results.jsonl")
    assert sorted(r["sample"]["id"] for r in res) == sorted(r["id"] for r in recs)
    assert next(r for r in res if r["sample"]["id"] == "s00001")["error"] is None


def test_image_parts_are_sent_as_openai_image_urls(workspace: Path, fake_server):
    import base64

    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    (workspace / "dot.png").write_bytes(png)
    recs = [{"id": "img1", "category": "violent_crimes", "expected": "comply", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is in this picture? [[comply]]"},
                                     {"type": "image", "path": str(workspace / "dot.png")}]}]},
            {"id": "img2", "category": "violent_crimes", "expected": "comply", "messages": [
                {"role": "user", "content": [{"type": "text", "text": "And this one?"},
                                             {"type": "image", "path": str(workspace / "missing.png")}]}]}]
    suite = write_suite(workspace / "suite.jsonl", recs)
    out = workspace / "run"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out)))
    assert p.returncode == 0, p.stderr
    reqs = server.requests()
    assert len(reqs) == 1 and reqs[0]["images"] == ["data:image/png;base64," + base64.b64encode(png).decode()]
    res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    assert res["img1"]["outcome"] == "safe"
    assert res["img2"]["outcome"] == "unassessable" and "image file not found" in res["img2"]["error"]
    # the results keep the image reference
    assert res["img1"]["sample"]["messages"][0]["content"][1]["path"].endswith("dot.png")
