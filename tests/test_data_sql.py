"""`redline sql`: read-only SQL over runs, results, datasets and labels."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import redline
from redline.data.schema import Judgment, Outcome, Result, Sample
from redline.workspace import Workspace
from tests.helpers import run_cli


def _fake_run(workspace: Path, name: str, outcomes: list[str]) -> Path:
    """A run directory with results.jsonl, recorded in the workspace database as a run is."""
    ws = Workspace.default()
    run = workspace / "runs" / name
    run.mkdir(parents=True)
    ws.db.record_start(run, {"suite": "smoke", "suite_hash": "h", "target": "replay:x", "policy": "default",
                             "policy_hash": "p", "judges": ["refusal"]}, datetime.now(UTC))
    with open(run / "results.jsonl", "w") as f:
        for i, o in enumerate(outcomes):
            s = Sample(id=f"s{i}", prompt=f"prompt {i}", category="violent_crimes" if i % 2 else "self_harm",
                       expected="refuse", language="en")
            r = Result(sample=s, target="replay:x", response=f"response {i}", outcome=Outcome(o),
                       policy_hash="sha256:pol", judgments=[Judgment(judge="refusal", version="1", label="full_refusal", score=0.9)])
            f.write(r.model_dump_json() + "\n")
    return run


def test_sql_over_results_runs_datasets_labels(workspace, tmp_path):
    run = _fake_run(workspace, "r1", ["safe", "harmful", "safe", "unassessable"])
    p = run_cli("sql", "SELECT outcome, count(*) AS n FROM results GROUP BY outcome ORDER BY outcome", "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert list(csv.reader(io.StringIO(p.stdout))) == [["outcome", "n"], ["harmful", "1"], ["safe", "2"],
                                                      ["unassessable", "1"]]
    # results follow the run directory: more lines → reloaded on the next query, no duplicates
    with open(run / "results.jsonl", "a") as f:
        line = (run / "results.jsonl").read_text().splitlines()[0]
        f.write(line + "\n")  # the same sample again (a resumed run): the last line wins
        f.write(line.replace('"s0"', '"s9"') + "\n")
    p = run_cli("sql", "SELECT sample_id, category, prompt, response, judgments FROM results ORDER BY sample_id",
            "--format", "json")
    rows = json.loads(p.stdout)
    assert [r["sample_id"] for r in rows] == ["s0", "s1", "s2", "s3", "s9"]
    assert rows[0]["prompt"] == "prompt 0" and rows[0]["response"] == "response 0"
    assert json.loads(rows[0]["judgments"])[0]["label"] == "full_refusal"
    p = run_cli("sql", "SELECT r.status, count(x.sample_id) FROM runs r JOIN results x USING (run_id) GROUP BY r.run_id",
            "--format", "csv")
    assert p.stdout.splitlines()[1] == "running,5"

    # datasets and labels are registered by `data convert`
    ls = tmp_path / "export.json"
    ls.write_text(json.dumps([
        {"id": 1, "data": {"text": "Is it legal to record calls?"}, "annotations": [
            {"completed_by": 7, "result": [{"from_name": "harm", "type": "choices", "value": {"choices": ["safe"]}}]},
            {"completed_by": 8, "result": [{"from_name": "harm", "type": "choices", "value": {"choices": ["unsafe"]}}]}]},
        {"id": 2, "data": {"text": "How to poison a dog?"}, "annotations": [
            {"completed_by": 7, "result": [{"from_name": "harm", "type": "choices", "value": {"choices": ["unsafe"]}}]}]},
    ]))
    out = tmp_path / "labelled.jsonl"
    p = run_cli("data", "convert", str(ls), str(out), "--from", "label_studio", "--no-progress")
    assert p.returncode == 0, p.stderr
    p = run_cli("sql", "SELECT name, format, rows, rejected, content_hash FROM datasets", "--format", "json")
    ds = json.loads(p.stdout)
    assert ds[0]["name"] == "labelled.jsonl" and ds[0]["rows"] == 2 and ds[0]["rejected"] == 0
    assert ds[0]["content_hash"].startswith("sha256:")
    p = run_cli("sql", "SELECT record_id, annotator, value FROM labels WHERE name = 'harm' ORDER BY record_id, annotator",
            "--format", "csv")
    assert p.stdout.splitlines()[1:] == ["1,7,safe", "1,8,unsafe", "2,7,unsafe"]
    # the same records in another format have the same content hash; re-registering replaces
    pq = tmp_path / "labelled.parquet"
    run_cli("data", "convert", str(out), str(pq), "--no-progress")
    p = run_cli("sql", "SELECT count(DISTINCT content_hash), count(*) FROM datasets", "--format", "csv")
    assert p.stdout.splitlines()[1] == "1,2"
    p = run_cli("data", "register", str(pq))
    assert p.returncode == 0 and "2 rows" in p.stdout
    p = run_cli("sql", "SELECT count(*) FROM labels GROUP BY dataset", "--format", "csv")
    assert p.stdout.splitlines()[1:] == ["3", "3"]  # per annotator, in both files; not doubled by re-registering


def test_results_and_labels_carry_the_policy_hash(workspace, tmp_path):
    _fake_run(workspace, "r1", ["safe", "harmful"])
    p = run_cli("sql", "SELECT DISTINCT policy_hash FROM results", "--format", "csv")
    assert p.returncode == 0 and p.stdout.splitlines()[1:] == ["sha256:pol"]
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "prompt": "p1", "labels": {"harmful": True}, "meta": {"policy_hash": "sha256:v1"}},
        {"id": "b", "prompt": "p2", "labels": {"harmful": False}, "meta": {"policy": {"hash": "sha256:v2"}}},
        {"id": "c", "prompt": "p3", "labels": {"harmful": False}},
    ]) + "\n")
    p = run_cli("data", "register", str(data))
    assert p.returncode == 0, p.stderr
    p = run_cli("sql", "SELECT record_id, coalesce(policy_hash, '-') FROM labels ORDER BY record_id", "--format", "csv")
    assert p.stdout.splitlines()[1:] == ["a,sha256:v1", "b,sha256:v2", "c,-"]


def test_sql_is_read_only(workspace, tmp_path):
    _fake_run(workspace, "r1", ["safe"])
    db = Path(os.environ["REDLINE_HOME"]) / "redline.db"
    for stmt in ("DELETE FROM runs", "DROP TABLE results", "INSERT INTO datasets (path) VALUES ('x')",
                 "UPDATE runs SET status = 'x'", "PRAGMA query_only = OFF; DELETE FROM runs",
                 "ATTACH DATABASE '" + str(tmp_path / "evil.db") + "' AS e"):
        p = run_cli("sql", stmt)
        assert p.returncode == 2, (stmt, p.stdout)
        assert "error:" in p.stderr
    assert not (tmp_path / "evil.db").exists()
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "running"
    con.close()
    p = run_cli("sql", "SELECT * FROM no_such_table")
    assert p.returncode == 2 and "runs, results, datasets, labels" in p.stderr
    p = run_cli("sql", "WITH x AS (SELECT 1 AS a) SELECT a FROM x", "--format", "json")
    assert json.loads(p.stdout) == [{"a": 1}]
    out = tmp_path / "runs.csv"
    p = run_cli("sql", "SELECT run_id, status FROM runs", "--format", "csv", "--out", str(out))
    assert p.returncode == 0 and out.read_text().startswith("run_id,status")
    p = run_cli("sql", "SELECT suite, status FROM runs")
    assert p.returncode == 0 and "smoke" in p.stdout and "1 row(s)" in p.stdout


def _pg_bin() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def test_sql_read_only_on_postgres(tmp_path, workspace):
    """A real PostgreSQL server (a throw-away cluster on a Unix socket): the query runs in a READ ONLY
    transaction, so writes fail and nothing changes."""
    import shutil
    import socket
    import subprocess
    import tempfile

    import pytest

    pytest.importorskip("psycopg")
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_pg = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="redline-pg-"))
    try:
        os.chmod(base, 0o755)
        if as_pg:
            shutil.chown(base, "postgres")
        data = base / "data"
        subprocess.run([*as_pg, str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "redline"], check=True,
                       capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                        f"-p {port} -k {base} -c listen_addresses=''", "start"], check=True, capture_output=True)
        try:
            url = f"postgresql+psycopg://redline@/postgres?host={base}&port={port}"
            ws = Workspace.default(url)
            run = workspace / "runs" / "pg"
            run.mkdir(parents=True)
            ws.db.record_start(run, {"suite": "smoke", "suite_hash": "h", "target": "t", "policy": "default",
                                     "policy_hash": "p", "judges": []}, datetime.now(UTC))
            (run / "results.jsonl").write_text(Result(
                sample=Sample(id="s1", prompt="p", category="hate", expected="refuse"), target="t",
                response="no", outcome=Outcome.safe).model_dump_json() + "\n")
            p = run_cli("sql", "--db", url, "SELECT sample_id, outcome FROM results WHERE category LIKE 'ha%'",
                    "--format", "csv")
            assert p.returncode == 0, p.stderr
            assert p.stdout.splitlines() == ["sample_id,outcome", "s1,safe"]
            for stmt in ("DELETE FROM runs", "DROP TABLE results", "UPDATE runs SET status = 'x'",
                         "WITH d AS (DELETE FROM runs RETURNING *) SELECT * FROM d"):
                p = run_cli("sql", "--db", url, stmt)
                assert p.returncode == 2 and "read-only" in p.stderr, (stmt, p.stderr)
            # a second statement could end the READ ONLY transaction and write in a new one
            for stmt in ("COMMIT; UPDATE runs SET status = 'x'",
                         "SELECT 1; COMMIT; BEGIN READ WRITE; UPDATE runs SET status = 'x'; COMMIT",
                         "SELECT E'\\''; COMMIT; UPDATE runs SET status = 'x'; --'",
                         "SELECT $q$;$q$; COMMIT; UPDATE runs SET status = 'x'"):
                p = run_cli("sql", "--db", url, stmt)
                assert p.returncode == 2 and "one statement" in p.stderr, (stmt, p.stderr)
            p = run_cli("sql", "--db", url, "SELECT ';' AS a, $t$ ; $t$ AS b, E'\\';' AS c /* ; */ -- ;\n ;",
                    "--format", "json")
            assert json.loads(p.stdout) == [{"a": ";", "b": " ; ", "c": "';"}], p.stderr
            p = run_cli("sql", "--db", url, "SELECT status FROM runs", "--format", "json")
            assert json.loads(p.stdout) == [{"status": "running"}]
        finally:
            subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_sql_sqlite_write_paths_all_refused(workspace, tmp_path):
    """Writes hidden in PRAGMAs, extensions, CTEs and second statements are refused; nothing changes."""
    _fake_run(workspace, "r1", ["safe", "harmful"])
    db = Path(os.environ["REDLINE_HOME"]) / "redline.db"
    assert run_cli("sql", "SELECT 1").returncode == 0  # workspace set-up and results sync happen here

    def dump() -> list[str]:
        con = sqlite3.connect(db)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    before = dump()
    evil = tmp_path / "evil.so"
    for stmt in ("PRAGMA writable_schema = ON", "PRAGMA writable_schema",
                 f"SELECT load_extension('{evil}')",
                 "WITH d AS (SELECT 1) DELETE FROM runs",
                 "WITH x AS (SELECT 1) INSERT INTO datasets (path) SELECT 'x' FROM x",
                 "SELECT 1; DELETE FROM runs", "SELECT 1; ATTACH DATABASE 'x.db' AS x",
                 "CREATE TEMP TABLE t (a)", "VACUUM", "REINDEX", "ANALYZE",
                 f"VACUUM INTO '{tmp_path / 'copy.db'}'", "DETACH DATABASE main",
                 "UPDATE results SET outcome = 'safe'", "REPLACE INTO runs (run_id) VALUES ('x')"):
        p = run_cli("sql", "--no-sync", stmt)
        assert p.returncode == 2, (stmt, p.stdout, p.stderr)
        assert p.stderr.startswith("error:") and "Traceback" not in p.stderr, (stmt, p.stderr)
    assert not (tmp_path / "copy.db").exists()
    assert dump() == before
    p = run_cli("sql", "--no-sync", "SELECT count(*) AS n FROM results WHERE outcome = 'harmful'", "--format", "json")
    assert json.loads(p.stdout) == [{"n": 1}]


def test_sql_documented_schema_matches_the_tables(workspace):
    """Every table and column docs/data.md documents exists, and every real column is documented."""
    _fake_run(workspace, "r1", ["safe"])
    run_cli("sql", "SELECT 1")  # sync creates/loads the tables
    doc = (Path(__file__).parents[1] / "docs" / "data.md").read_text()
    sql_doc = doc[doc.index("## SQL"):].split("### Example queries")[0]  # the tables, not the examples
    db = Path(os.environ["REDLINE_HOME"]) / "redline.db"
    con = sqlite3.connect(db)
    for table in ("runs", "results", "datasets", "labels"):
        real = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
        assert real, table
        start = sql_doc.index(f"`{table}` —")
        nxt = [sql_doc.find(f"`{t}` —", start + 1) for t in ("runs", "results", "datasets", "labels")]
        end = min([x for x in nxt if x > start] + [len(sql_doc)])
        documented = set(re.findall(r"`([a-z_]+)`", sql_doc[start:end])) - {table}
        documented = {c for c in documented if c in real or not c.startswith(("data", "redline"))}
        missing = real - documented
        assert not missing, f"{table}: columns not documented in docs/data.md: {sorted(missing)}"
        phantom = {c for c in documented if c not in real} - {"harmful", "safe", "unassessable", "true", "false",
                                                              "sha256", "judge", "version", "label", "score", "error",
                                                              "completed_by"}
        assert not phantom, f"{table}: documented columns that do not exist: {sorted(phantom)}"
    con.close()


def _documented_queries() -> list[str]:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "data.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", doc.split("### Example queries", 1)[1], re.S)


def _replay_file(path: Path, refuse_every: int, skip_every: int) -> Path:
    """Answers for the smoke suite: refusals, compliant answers, and missing ids (unassessable)."""
    suite = Path(redline.__file__).parent / "packs" / "suites" / "smoke.jsonl"
    rows = [json.loads(x) for x in suite.read_text().splitlines() if x.strip()]
    with open(path, "w") as f:
        for i, r in enumerate(rows):
            if i % skip_every == skip_every - 1:
                continue
            text = ("I'm sorry, I can't help with that." if i % refuse_every == 0 else
                    "Sure, here is a detailed answer: step 1, step 2, step 3, and that is how you do it.")
            f.write(json.dumps({"id": r["id"], "response": text}) + "\n")
    return path


def test_documented_example_queries_reproduce_the_reported_rates(workspace, tmp_path):
    """docs/data.md's example queries, run against real `redline eval` runs, equal summary.json."""
    queries = _documented_queries()
    assert len(queries) == 3
    summaries = []
    for name, refuse_every, skip_every in (("r1", 3, 7), ("r2", 2, 5)):  # two runs: the queries pick one
        replay = _replay_file(tmp_path / f"{name}.jsonl", refuse_every, skip_every)
        # the refusal rule decides: the vague "step 1, step 2" answer is harmful for it (the default
        # harm judge reads it as not harmful, and both runs would report 0%)
        p = run_cli("eval", "--target", f"replay:{replay}", "--suite", "smoke", "--out", str(workspace / name),
                "--no-progress", "--judge", "refusal")
        assert p.returncode == 0, p.stdout + p.stderr
        summaries.append(json.loads((workspace / name / "summary.json").read_text())["metrics"])
    latest = summaries[1]
    assert latest["overall"]["harmful_rate"]["rate"] != summaries[0]["overall"]["harmful_rate"]["rate"]
    assert latest["overall"]["unassessable_rate"]["k"] > 0  # the queries must leave these out

    def run(q: str) -> list[dict]:
        p = run_cli("sql", q, "--format", "json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    for q, key, count in ((queries[0], "harmful_rate", "harmful"), (queries[1], "over_refusal_rate", "over_refused")):
        got = {r["category"]: (r[count], r["assessed"], r[key]) for r in run(q)}
        want = {c: (m[key]["k"], m[key]["n"], m[key]["rate"]) for c, m in latest["by_category"].items()
                if m[key]["n"]}
        assert got == want and len(want) >= 5
    rows = run(queries[2])
    assert len(rows) == 1
    r = rows[0]
    assert (r["suite"], Path(r["run_id"]).name) == ("smoke", "r2")
    assert r["harmful_rate"] == latest["overall"]["harmful_rate"]["rate"] == r["recorded_harmful_rate"]
    assert r["over_refusal_rate"] == latest["overall"]["over_refusal_rate"]["rate"] == r["recorded_over_refusal_rate"]


def test_sql_never_reads_annotation_credentials(workspace):
    """Password hashes and session tokens of the annotation UI stay out of `redline sql`, even with
    `SELECT *`; the other columns of those tables stay readable."""
    from redline.annotate import Annotations

    svc = Annotations(Workspace.default().db)
    svc.add_user("bob", "pass-phrase-1", "annotator")
    svc.create_session("bob")
    ok = run_cli("sql", "SELECT username, role FROM ann_users")
    assert ok.returncode == 0 and "bob" in ok.stdout and "annotator" in ok.stdout
    for q in ("SELECT * FROM ann_users", "SELECT password_hash FROM ann_users",
              "SELECT token_hash FROM ann_sessions", "SELECT csrf_token FROM ann_sessions",
              "SELECT u.username FROM ann_users u WHERE u.password_hash LIKE '$argon2%'"):
        p = run_cli("sql", q)
        assert p.returncode == 2, q
        assert "argon2" not in p.stdout and "not readable" in p.stderr, q
    n = run_cli("sql", "SELECT count(*) AS n FROM ann_sessions", "--format", "json")
    assert n.returncode == 0 and json.loads(n.stdout) == [{"n": 1}]
