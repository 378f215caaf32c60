"""`redline eval --executor ray` on a real local Ray cluster (issue 15, part 1).

One cluster per module (conftest's `ray_cluster`: `ray start --head` on 127.0.0.1, 2 CPUs, so a
pool of 2 actor worker processes), the fake OpenAI-compatible server as the target: the same results and summary as the
local executor, a worker killed mid-run, the driver killed mid-run, and the clear error without Ray.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests._ray import HAVE_RAY, needs_ray, ray_env, shard_workers
from tests.conftest import redline_cmd
from tests.helpers import eval_args, invoke, make_records, read_results, write_policy, write_suite

N = 144
SHARD = ["--executor-option", "workers=2", "--executor-option", "shard_size=8"]
_env = ray_env
_shard_workers = shard_workers


def _server_key(prompt: str) -> str:
    msgs = [{"role": "user", "content": prompt}]
    return hashlib.sha256(json.dumps(msgs, sort_keys=True).encode()).hexdigest()[:16]


def _setup(workspace: Path, fake_server, n: int = N, latency: str = "0.02"):
    server = fake_server("--latency", latency)
    policy = write_policy(workspace / "pol.yaml")
    recs = make_records(n)
    suite = write_suite(workspace / "suite.jsonl", recs)
    return server, policy, recs, suite


def _comparable(path: Path) -> dict[str, dict]:
    return {r["sample"]["id"]: {k: v for k, v in r.items() if k != "latency_s"} for r in read_results(path)}


def _wait_lines(results: Path, at_least: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= at_least:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.02)
    pytest.fail("no results arrived")


@needs_ray
def test_same_results_and_summary_as_local(workspace: Path, fake_server, ray_cluster: str) -> None:
    server, policy, recs, suite = _setup(workspace, fake_server)
    local = invoke(*eval_args(server, suite, policy, "--out", str(workspace / "local"), "--no-cache"))
    assert local.exit_code == 0, local.output
    out = workspace / "onray"
    r = invoke(*eval_args(server, suite, policy, "--out", str(out), "--no-cache", "--json",
                          "--executor", "ray", "--ray-address", ray_cluster, *SHARD))
    assert r.exit_code == 0, r.output
    assert _comparable(out / "results.jsonl") == _comparable(workspace / "local" / "results.jsonl")
    ray_summary = json.loads((out / "summary.json").read_text())
    local_summary = json.loads((workspace / "local" / "summary.json").read_text())
    assert ray_summary["metrics"] == local_summary["metrics"]
    assert ray_summary["manifest"]["status"] == "completed"
    assert ray_summary["manifest"]["timings"]["new_requests"] == N
    assert (out / "report.html").is_file()
    stats = json.loads((out / "executor.json").read_text())
    assert stats["records"] == N and stats["workers"] == 2 and stats["duplicates_dropped"] == 0
    assert stats["shards"] == N // 8


@needs_ray
def test_killed_worker_each_sample_exactly_once(workspace: Path, fake_server, ray_cluster: str) -> None:
    server, policy, recs, suite = _setup(workspace, fake_server, latency="0.05")
    out = workspace / "run"
    args = eval_args(server, suite, policy, "--out", str(out), "--concurrency", "2", "--json",
                     "--executor", "ray", "--ray-address", ray_cluster, *SHARD)
    proc = subprocess.Popen(redline_cmd() + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    _wait_lines(out / "results.jsonl", 8, proc)
    workers = _shard_workers()
    assert workers, "no ShardWorker process found"
    for pid in workers:  # this run's actors (and any stale one left by an earlier test)
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    ids = [r["sample"]["id"] for r in read_results(out / "results.jsonl")]
    assert len(ids) == len(set(ids)) == N
    assert set(ids) == {r["id"] for r in recs}
    stats = json.loads((out / "executor.json").read_text())
    assert stats["workers_lost"] >= 1 and stats["shards_resent"] >= 1
    assert json.loads(stdout)["metrics"]["overall"]["samples"] == N


@needs_ray
def test_killed_driver_resumes(workspace: Path, fake_server, ray_cluster: str) -> None:
    server, policy, recs, suite = _setup(workspace, fake_server, latency="0.05")
    out = workspace / "run"
    args = eval_args(server, suite, policy, "--out", str(out), "--concurrency", "2",
                     "--executor", "ray", "--ray-address", ray_cluster, *SHARD)
    proc = subprocess.Popen(redline_cmd() + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=_env())
    results = out / "results.jsonl"
    _wait_lines(results, 16, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {json.loads(line)["sample"]["id"] for line in results.read_bytes().splitlines()
                   if line.endswith(b"}")}
    assert 0 < len(done_before) < N, "the kill must land mid-run"

    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    ids = [x["sample"]["id"] for x in read_results(results)]
    assert len(ids) == len(set(ids)) == N
    summary = json.loads((out / "summary.json").read_text())
    assert summary["manifest"]["timings"]["resumed_from_previous"] >= len(done_before) - 1
    assert summary["metrics"]["overall"]["samples"] == N
    # no sample written before the kill was sent again
    keys = Counter(x["key"] for x in server.requests())
    prompt_of = {x["id"]: x["prompt"] for x in recs}
    for sid in done_before:
        assert keys[_server_key(prompt_of[sid])] == 1, sid


def test_without_ray_clear_error(workspace: Path, fake_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    server, policy, recs, suite = _setup(workspace, fake_server, n=4)
    out = workspace / "run"
    r = invoke(*eval_args(server, suite, policy, "--out", str(out), "--executor", "ray"))
    assert r.exit_code == 2, r.output
    assert "pip install redline[ray]" in r.output
    assert not out.exists()  # failed before the run directory was claimed
    assert server.requests() == []


def test_unknown_executor_and_option(workspace: Path, fake_server) -> None:
    server, policy, recs, suite = _setup(workspace, fake_server, n=4)
    r = invoke(*eval_args(server, suite, policy, "--executor", "slurm"))
    assert r.exit_code == 2 and "local" in r.output and "ray" in r.output
    if HAVE_RAY:
        r = invoke(*eval_args(server, suite, policy, "--executor", "ray", "--executor-option", "nodes=3"))
        assert r.exit_code == 2 and "shard_size" in r.output


@needs_ray
def test_unreachable_target_aborts_like_local(workspace: Path, ray_cluster: str) -> None:
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(8))
    out = workspace / "run"
    r = invoke("eval", "--target", "openai:m", "--base-url", "http://127.0.0.1:1/v1", "--suite", str(suite),
               "--policy", str(policy), "--no-progress", "--max-retries", "0", "--out", str(out),
               "--executor", "ray", "--ray-address", ray_cluster, *SHARD)
    assert r.exit_code == 2, r.output
    assert "cannot reach" in r.output
    assert json.loads((out / "summary.json").read_text())["manifest"]["status"] == "aborted"
