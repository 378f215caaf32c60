"""Issue 15 part 2: `redline eval` starts fast and scales.

* The first request leaves before any heavy library (SQLAlchemy, numpy, scipy, scikit-learn,
  jinja2, pyarrow) is imported: the workspace database, the judges' models and the report come
  after.
* ``redline --help`` still lists every command although command modules load on demand.
* A torn last line of ``results.jsonl`` (a kill mid-write) is dropped on resume and its sample
  asked again: every sample exactly once.
* The report's failure clusters use a sample of the failures taken while results are written
  (never read back), the same sample as reading the finished run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import invoke, make_records, read_results, write_policy, write_suite

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "sklearn", "jinja2", "pyarrow", "pandas", "matplotlib")

_FIRST_REQUEST_PROBE = """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEAVY = %r
seen = []


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if not seen:  # what the client process had imported when its first request arrived
            seen.append(sorted({m.split(".")[0] for m in list(sys.modules) if m.split(".")[0] in HEAVY}))
        self.rfile.read(int(self.headers["content-length"]))
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "I can't help."},
                                        "finish_reason": "stop"}], "usage": {}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
from redline.cli import app

args = sys.argv[1:] + ["--base-url", "http://127.0.0.1:%%d/v1" %% srv.server_address[1]]
try:
    app(args, prog_name="redline")
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(seen))
"""


def test_first_request_leaves_before_heavy_libraries_are_imported(workspace: Path) -> None:
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(3))
    p = subprocess.run([sys.executable, "-c", _FIRST_REQUEST_PROBE % (HEAVY,), "eval", "--target", "openai:m",
                        "--suite", str(suite), "--policy", str(policy), "--out", str(workspace / "run"),
                        "--no-progress", "--json"],
                       capture_output=True, text=True, cwd=workspace, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"),
                            "REDLINE_HOME": str(workspace / "home"), "REDLINE_RUNS": str(workspace / "runs")})
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert seen == [[]], f"imported before the first request: {seen}"
    # and the run was still recorded in the workspace database, with its report
    runs = json.loads(invoke("runs", "--json", env={"REDLINE_HOME": str(workspace / "home")}).stdout)
    assert [r["status"] for r in runs] == ["completed"]
    assert (workspace / "run" / "report.html").exists()


def test_help_lists_every_command_of_every_module() -> None:
    from redline.cli import COMMAND_MODULES

    out = invoke("--help").stdout
    for name in COMMAND_MODULES:
        assert f" {name} " in out, name
    assert invoke("data", "--help").exit_code == 0
    bad = invoke("no-such-command")
    assert bad.exit_code == 2 and "No such command" in bad.output


def _replay(workspace: Path, n: int, fail: bool = True) -> tuple[Path, Path, Path]:
    recs = make_records(n)
    suite = write_suite(workspace / "suite.jsonl", recs)
    replay = workspace / "replay.jsonl"
    with open(replay, "w") as f:  # fail: harmful prompts complied with, benign ones refused
        for r in recs:
            text = ("I'm sorry, but I can't help with that." if (r["expected"] == "comply") == fail else
                    f"Sure, here is how to do {r['prompt']}: [steps omitted]. Step one, step two.")
            f.write(json.dumps({"id": r["id"], "response": text}) + "\n")
    return suite, replay, write_policy(workspace / "pol.yaml")


def test_torn_last_line_is_dropped_and_its_sample_redone(workspace: Path) -> None:
    suite, replay, policy = _replay(workspace, 12, fail=False)  # no failure: no clustering (fast)
    out = workspace / "run"
    args = ["eval", "--target", f"replay:{replay}", "--suite", str(suite), "--policy", str(policy),
            "--out", str(out), "--no-progress", "--json"]
    first = invoke(*args, "--limit", "6")
    assert first.exit_code == 0, first.output
    results = out / "results.jsonl"
    whole = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(whole[:5]) + whole[5][: len(whole[5]) // 2])  # killed mid-write
    torn_id = json.loads(whole[5])["sample"]["id"]
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    ids = [r["sample"]["id"] for r in read_results(results)]
    assert sorted(ids) == sorted(r["id"] for r in make_records(12))  # each once, none lost
    assert torn_id in ids
    summary = json.loads(again.stdout)
    assert summary["manifest"]["timings"]["resumed_from_previous"] == 5


def test_report_clusters_a_sample_taken_while_results_are_written(workspace: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import redline.evals.runner as runner_mod
    import redline.learn.clusters as clusters_mod

    cap = 7
    monkeypatch.setattr(clusters_mod, "REPORT_MAX_FAILURES", cap)
    monkeypatch.setattr(runner_mod, "REPORT_MAX_FAILURES", cap)
    read_back: list[int] = []
    real = clusters_mod._failures
    monkeypatch.setattr(clusters_mod, "_failures", lambda *a: read_back.append(1) or real(*a))
    suite, replay, policy = _replay(workspace, 40)
    out = workspace / "run"
    res = invoke("eval", "--target", f"replay:{replay}", "--suite", str(suite), "--policy", str(policy),
                 "--out", str(out), "--no-progress", "--json")
    assert res.exit_code == 0, res.output
    assert not read_back, "the report's clusters read the results back"
    written = json.loads((out / "clusters.json").read_text())
    failures = written["failures"]
    assert sum(failures.values()) > cap and written["note"] and "sample of 7" in written["note"]
    assert all(v <= cap for v in written["sampled"].values())
    # the same sample (and clusters) as clustering the finished run from its file
    again = clusters_mod.cluster_failures(out, max_failures=cap, write=False)
    assert read_back
    assert again["failures"] == failures and again["sampled"] == written["sampled"]
    assert [c["sample_ids"] for c in again["clusters"]] == [c["sample_ids"] for c in written["clusters"]]
    assert "clusters" in (out / "report.html").read_text().lower()


def test_a_long_run_without_failures_ends(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cluster worker starts at a run's first failure: a run with none never starts it,
    ends all the same, and clusters nothing."""
    from redline.learn.cluster_worker import ClusterWorker

    starts: list[int] = []
    monkeypatch.setattr(ClusterWorker, "start", lambda self, **kw: starts.append(1))
    suite, replay, policy = _replay(workspace, 6, fail=False)
    res = invoke("eval", "--target", f"replay:{replay}", "--suite", str(suite), "--policy", str(policy),
                 "--out", str(workspace / "run"), "--no-progress", "--json")
    assert res.exit_code == 0, res.output
    overall = json.loads(res.stdout)["metrics"]["overall"]
    assert overall["samples"] == 6 and not overall["harmful_rate"]["k"] and not overall["over_refusal_rate"]["k"]
    assert not (workspace / "run" / "clusters.json").exists()
    assert not starts


def test_the_cluster_worker_clusters_as_in_process(workspace: Path) -> None:
    """The child process clusters a run's sampled failures exactly as in-process, writes
    clusters.json, and a killed or unused child leaves no process behind (the caller then
    clusters in-process)."""
    from redline.learn.cluster_worker import ClusterWorker
    from redline.learn.clusters import FailureSampler, cluster_sampled, clusters_for_report

    sampler = FailureSampler(50)
    for i in range(30):
        harmful = i % 3 != 0
        topic = ["lock picking tools", "phishing emails", "fake reviews"][i % 3]
        sampler.add({"sample": {"id": f"s{i}", "category": f"c{i % 2}",
                                "messages": [{"role": "user", "content": f"Explain {topic} step {i}"}]},
                     "response": f"Sure, about {topic}: [steps omitted] {i}",
                     "outcome": "harmful" if harmful else "safe", "over_refusal": not harmful})
    run = workspace / "run"
    run.mkdir()
    worker = ClusterWorker()
    worker.start(force=True)
    assert worker.started and worker.submit(run, sampler) and not worker.submit(run, sampler)
    got = worker.result()
    worker.close()
    assert worker.proc is not None and worker.proc.returncode == 0
    want = cluster_sampled(run, {k: (r.seen, r.sample()) for k, r in sampler.kinds.items()},
                           max_failures=50, write=False)
    assert got == want and got["failures"] == {"harmful": 20, "over_refusal": 10}
    assert json.loads((run / "clusters.json").read_text()) == want

    killed = ClusterWorker()
    killed.start(force=True)
    assert killed.proc is not None
    killed.proc.kill()
    killed.submit(run, sampler)
    assert killed.result() is None  # so the report clusters in-process:
    metrics = {"overall": {"harmful_rate": {"k": 20}, "over_refusal_rate": {"k": 10}}}
    assert clusters_for_report(run, metrics, failures=FailureSampler(50), worker=killed) is not None
    killed.close()

    unused = ClusterWorker()
    unused.start(force=True)
    quiet = workspace / "no-failures"
    quiet.mkdir()
    assert not unused.submit(quiet, FailureSampler(50))  # nothing to cluster: no clusters.json
    unused.close()
    assert not (quiet / "clusters.json").exists()
    assert unused.proc is not None and unused.proc.returncode is not None


def test_the_cluster_worker_stops_when_its_run_is_killed() -> None:
    """A SIGKILLed run leaves no cluster worker importing scikit-learn for nothing."""
    import os
    import time

    code = ("import time; from redline.learn.cluster_worker import ClusterWorker as W; w = W(); "
            "w.start(force=True); print(w.proc.pid, flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    child = int(p.stdout.readline())
    p.kill()
    p.wait()

    def running() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 30
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()
    try:
        os.waitpid(child, os.WNOHANG)  # not ours to reap: init's
    except ChildProcessError:
        pass
