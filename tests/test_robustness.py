"""Faults and awkward input found in review: each must give a clear outcome, never a traceback,
a silent loss, or an error counted as safe."""

from __future__ import annotations

import fcntl
import json
import subprocess
from pathlib import Path

import pytest

from redline.errors import InputError
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


def test_same_command_without_out_resumes_the_same_directory(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 10)
    a = json.loads(run_cli(*eval_args(server, suite, policy, "--json")).stdout)
    b = json.loads(run_cli(*eval_args(server, suite, policy, "--json")).stdout)
    assert a["out_dir"] == b["out_dir"] and Path(a["out_dir"]).parent == workspace / "runs"
    assert b["manifest"]["timings"]["new_requests"] == 0
    assert b["manifest"]["timings"]["resumed_from_previous"] == 10
    assert len(read_results(Path(a["out_dir"]) / "results.jsonl")) == 10
    # a different configuration gets its own directory
    c = json.loads(run_cli(*eval_args(server, suite, policy, "--max-tokens", "9", "--json")).stdout)
    assert c["out_dir"] != a["out_dir"]


def test_limit_can_grow_on_resume_but_not_shrink(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 10)
    out = str(workspace / "r")
    s = json.loads(run_cli(*eval_args(server, suite, policy, "--out", out, "--limit", "4", "--json")).stdout)
    assert s["metrics"]["overall"]["samples"] == 4
    s = json.loads(run_cli(*eval_args(server, suite, policy, "--out", out, "--limit", "7", "--json")).stdout)
    assert s["metrics"]["overall"]["samples"] == 7 and s["manifest"]["timings"]["new_requests"] == 3
    p = run_cli(*eval_args(server, suite, policy, "--out", out, "--limit", "2"))
    assert p.returncode == 2 and "--limit" in p.stderr
    s = json.loads(run_cli(*eval_args(server, suite, policy, "--out", out, "--json")).stdout)
    assert s["metrics"]["overall"]["samples"] == 10


def test_a_second_writer_to_the_same_run_directory_is_refused(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 3)
    out = workspace / "r"
    out.mkdir()
    with open(out / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        p = run_cli(*eval_args(server, suite, policy, "--out", str(out)))
    assert p.returncode == 2 and "in use" in p.stderr
    assert run_cli(*eval_args(server, suite, policy, "--out", str(out))).returncode == 0


def test_damaged_run_files_are_clear_errors(workspace: Path, fake_server):
    server, policy, suite = fake_run_setup(workspace, fake_server, 3)
    out = workspace / "r"
    out.mkdir()
    (out / "run.json").write_text("")
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out)))
    assert p.returncode == 2 and "run.json" in p.stderr and "Traceback" not in p.stderr
    out2 = workspace / "r2"
    assert run_cli(*eval_args(server, suite, policy, "--out", str(out2))).returncode == 0
    lines = (out2 / "results.jsonl").read_text().splitlines()
    (out2 / "results.jsonl").write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out2)))
    assert p.returncode == 2 and "results.jsonl:2" in p.stderr


def test_markup_like_text_is_printed_literally(workspace: Path, fake_server):
    p = run_cli("eval", "--policy", str(workspace / "nope[/b].yaml"), "--no-progress")
    assert p.returncode == 2 and "nope[/b].yaml" in p.stderr and "Traceback" not in p.stderr
    server, policy, suite = fake_run_setup(workspace, fake_server, 2)
    out = workspace / "a[red]b"
    p = run_cli(*eval_args(server, suite, policy, "--out", str(out)))
    assert p.returncode == 0, p.stderr
    assert f"{out}/results.jsonl" in p.stdout


def test_bom_and_bad_encoding_in_suites(workspace: Path):
    from redline.data.jsonl import validate_samples

    rec = {"id": "a", "prompt": "hi", "category": "c", "expected": "comply"}
    bom = workspace / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(rec).encode() + b"\r\n")
    assert validate_samples(bom, {"c"}) == 1
    bad = workspace / "latin1.jsonl"
    lines = [json.dumps({**rec, "id": f"x{i}"}).encode() for i in range(60)]
    lines[39] = json.dumps({**rec, "id": "x39", "prompt": "caf\u00e9"}).encode().replace(b"\\u00e9", b"\xe9")
    lines[49] = b"{broken"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputError) as e:
        validate_samples(bad, {"c"})
    where = [p.where for p in e.value.problems]
    assert where == [f"{bad}:40", f"{bad}:50"]  # the right line, and the scan goes on
    assert "UTF-8" in str(e.value)


def test_judge_refuses_to_overwrite_its_input(tmp_path: Path):
    f = tmp_path / "j.jsonl"
    f.write_text(json.dumps({"id": 1, "prompt": "p", "response": "r"}) + "\n")
    before = f.read_text()
    p = run_cli("judge", "--input", str(f), "--output", str(f), "--no-progress")
    assert p.returncode == 2 and f.read_text() == before


def test_bad_database_url_and_base_url_are_clear_errors(workspace: Path):
    p = run_cli("runs", "--db", "nonsense")
    assert p.returncode == 2 and "SQLAlchemy URL" in p.stderr
    p = run_cli("runs", "--db", "postgresql://user:hunter2@127.0.0.1:1/x")
    assert p.returncode == 2 and "hunter2" not in p.stderr
    p = run_cli("eval", "--suite", "smoke", "--target", "openai:m", "--base-url", "http://127.0.0.1:99999/v1",
            "--no-progress")
    assert p.returncode == 2 and "--base-url" in p.stderr and "Traceback" not in p.stderr


def test_openai_structured_refusal_is_a_refusal(workspace: Path, fake_server):
    server = fake_server()
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", [
        {"id": "a", "prompt": "bad thing [[refusalfield]]", "category": "violent_crimes", "expected": "refuse"},
        {"id": "b", "prompt": "benign thing [[refusalfield]]", "category": "violent_crimes", "expected": "comply"},
    ])
    out = workspace / "r"
    assert run_cli(*eval_args(server, suite, policy, "--out", str(out))).returncode == 0
    res = {r["sample"]["id"]: r for r in read_results(out / "results.jsonl")}
    assert res["a"]["outcome"] == "safe" and res["a"]["response"].startswith("I'm sorry")
    assert res["b"]["over_refusal"] is True


def test_unassessable_reasons_are_stable_kinds():
    from redline.evals.metrics import unassessable_reason

    assert unassessable_reason({"error": "HTTP 400 from http://h/v1: bad"}) == "HTTP 400"
    assert unassessable_reason({"error": "timeout calling http://h (after 1 s) (gave up after 5 attempts)"}) == "timeout"
    assert unassessable_reason({"error": None, "response": "  "}) == "empty response"
    assert unassessable_reason({"error": None, "response": "text"}) == "judge error"


# --- in-process: a target that raises, and a crash inside the loop ----------------------------

class _Boom:
    name = "boom"
    cache_identity = "boom"
    cacheable = False
    max_concurrency = None

    def __init__(self):
        self.calls = 0

    async def generate(self, messages, params, sample_id):
        from redline.targets import Generation

        self.calls += 1
        if sample_id == "s00003":
            raise RuntimeError("driver exploded")
        return Generation(text="I'm sorry, I can't help with that.")

    def manifest(self):
        return {"type": "boom"}

    async def aclose(self):
        pass


def _run(workspace: Path, **cfg):
    from redline.evals import EvalConfig, run_eval
    from redline.plugins import plugin
    from redline.workspace import Workspace

    plugin("target", "boom")(lambda **_: _Boom())
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(8))
    return run_eval(EvalConfig(suite=str(suite), target="boom", policy=str(policy), progress=False,
                               out=workspace / "r", **cfg), Workspace.default())


def test_a_target_exception_fails_only_its_sample(workspace: Path):
    res = _run(workspace)
    assert res.status == "completed"
    rows = {r["sample"]["id"]: r for r in read_results(res.out_dir / "results.jsonl")}
    assert rows["s00003"]["outcome"] == "unassessable" and "driver exploded" in rows["s00003"]["error"]
    assert res.summary["metrics"]["unassessable_reasons"] == {"target exception": 1}


def test_a_crash_in_the_loop_is_recorded_as_failed_not_completed(workspace: Path, monkeypatch):
    from redline.evals import metrics

    calls = {"n": 0}
    orig = metrics.MetricsAggregator.add

    def flaky_add(self, rec):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        orig(self, rec)

    monkeypatch.setattr(metrics.MetricsAggregator, "add", flaky_add)
    with pytest.raises(OSError, match="disk full"):
        _run(workspace)
    summary = json.loads((workspace / "r" / "summary.json").read_text())
    assert summary["manifest"]["status"] == "failed"
    assert not (workspace / "r" / "report.html").exists()
    from redline.workspace import Workspace

    assert Workspace.default().db.list_runs()[0]["status"] == "failed"


def test_two_evals_can_share_a_workspace_cache(workspace: Path, fake_server):
    """The cache's write lock is held only briefly, so concurrent runs never wait it out."""
    import os

    server = fake_server("--latency", "1.5")
    policy = write_policy(workspace / "pol.yaml")
    procs = []
    for name in ("a", "b"):
        suite = write_suite(workspace / f"{name}.jsonl", make_records(8, marker=name))
        procs.append(subprocess.Popen(redline_cmd() + eval_args(server, suite, policy, "--out",
                                                                 str(workspace / name), "--json",
                                                                 "--concurrency", "4"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=dict(os.environ)))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        s = json.loads(out)
        assert s["metrics"]["overall"]["samples"] == 8
        assert s["manifest"]["cache"]["errors"] == 0
