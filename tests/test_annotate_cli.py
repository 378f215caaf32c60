"""`redline annotate …` through the real CLI: create (any format, quarantine, exit 2), users,
status, serve, agreement, consensus, queue and set-policy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests._annotate_helpers import (
    add_users,
    create,
    label_all,
    response_rows,
    response_values,
    service,
    truth,
    write_jsonl,
)
from tests.helpers import run_cli, write_policy


def test_create_reads_any_format_quarantines_and_exits_2(workspace: Path) -> None:
    pol = write_policy(workspace / "pol.yaml")
    data = workspace / "items.csv"
    data.write_text("id,prompt,response,category\n"
                    "a1,test prompt one,model response one,violent_crimes\n"
                    "a2,,model response two,self_harm\n"  # no prompt: nothing to label
                    "a3,test prompt three,model response three,self_harm\n", encoding="utf-8")
    r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(data), "--task", "response-label",
            "--overlap", "2", "--gold-rate", "0.05", "--gold-rate", "self_harm=0.5", "--blur", "self_harm",
            "--exposure-budget", "100", "--exposure-budget", "self_harm=10", "--json")
    assert r.returncode == 2, r.stderr
    res = json.loads(r.stdout)
    assert res["project"] == "items" and res["items"] == 2 and res["rejected"] == 1
    q = [json.loads(line) for line in Path(res["quarantine"][0]).read_text().splitlines()]
    # Regression (audit #8): "where": "items.csv:row 2" but "line": 2 — the line is the file's (header = 1)
    assert len(q) == 1 and q[0]["where"] == f"{data}:3 (row 2)" and q[0]["line"] == 3, q
    assert "no response to label" in q[0]["reason"]
    p = service().get_project("items")
    assert p.overlap == 2 and p.gold_rate["*"] == 0.05 and p.gold_rate["self_harm"] == 0.5
    assert p.settings.blur_categories == ["self_harm"]
    assert p.settings.exposure_budget == {"*": 100, "self_harm": 10}
    assert sorted(i.item_id for i in service().items("items")) == ["a1", "a3"]
    # a clean file: exit 0, a human summary
    ok = write_jsonl(workspace / "ok.jsonl", response_rows(3))
    r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(ok), "--task", "response-label", "--name", "ok")
    assert r.returncode == 0, r.stderr
    assert "project ok: response-label, 3 items + 0 gold, k=3" in r.stdout
    # an unreadable line: quarantined with file:line, the human summary says so
    with open(ok, "a") as f:
        f.write("{not json\n")
    r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(ok), "--task", "response-label", "--name", "ok2")
    assert r.returncode == 2
    assert "1 row(s) rejected" in r.stdout
    assert json.loads((workspace / "ok.jsonl.rejected.jsonl").read_text())["where"] == f"{ok}:4"


def test_create_rejects_bad_options(workspace: Path) -> None:
    pol = write_policy(workspace / "pol.yaml")
    data = write_jsonl(workspace / "d.jsonl", response_rows(2))
    base = ["annotate", "create", "--policy", str(pol), "--data", str(data)]
    r = run_cli(*base, "--task", "labelling")
    assert r.returncode == 2 and "prompt-label" in r.stderr
    r = run_cli(*base, "--task", "response-label", "--gold-rate", "lots")
    assert r.returncode == 2 and "--gold-rate" in r.stderr and "0.1" in r.stderr
    r = run_cli(*base, "--task", "response-label", "--gold-rate", "weapons=0.2")
    assert r.returncode == 2 and "weapons" in r.stderr and "violent_crimes" in r.stderr
    r = run_cli(*base, "--task", "response-label", "--gold-rate", "1.5")
    assert r.returncode == 2 and "out of range" in r.stderr
    r = run_cli(*base, "--task", "response-label", "--exposure-budget", "self_harm=many")
    assert r.returncode == 2 and "--exposure-budget" in r.stderr
    # gold answers are checked against the schema
    gold = write_jsonl(workspace / "g.jsonl", [{"id": "g1", "prompt": "test prompt g", "response": "model response g",
                                                "labels": {"harmful": "perhaps", "refusal": "full_refusal"}}])
    assert service().list_projects() == []
    r = run_cli(*base, "--task", "response-label", "--gold", str(gold), "--json")
    assert r.returncode == 2, r.stderr
    res = json.loads(r.stdout)
    assert res["gold"] == 0 and res["items"] == 2 and res["rejected"] == 1
    [bad] = [json.loads(line) for line in (workspace / "g.jsonl.rejected.jsonl").read_text().splitlines()]
    assert bad["where"] == f"{gold}:1" and "harmful" in bad["reason"] and "'perhaps'" in bad["reason"]


def test_users_add_list_pause_resume(workspace: Path) -> None:
    r = run_cli("annotate", "user", "add", "boss", "--role", "admin")
    assert r.returncode == 0, r.stderr
    password = r.stdout.split("password: ")[1].split()[0]
    assert len(password) >= 12 and "only once" in r.stderr
    svc = service()
    assert svc.authenticate("boss", password) is not None
    assert svc.authenticate("boss", "wrong-password") is None
    r = run_cli("annotate", "user", "add", "ann", "--role", "annotator", "--vendor", "acme", "--password-stdin",
                input="a-long-password\n")
    assert r.returncode == 0 and "password:" not in r.stdout
    assert svc.authenticate("ann", "a-long-password").vendor == "acme"  # type: ignore[union-attr]
    r = run_cli("annotate", "user", "add", "short", "--password-stdin", input="abc\n")
    assert r.returncode == 2 and "too short" in r.stderr
    r = run_cli("annotate", "user", "add", "boss", "--role", "admin")
    assert r.returncode == 2  # exists already
    r = run_cli("annotate", "user", "add", "x", "--role", "overlord")
    assert r.returncode == 2
    r = run_cli("annotate", "user", "pause", "ann", "--reason", "gold accuracy below threshold")
    assert r.returncode == 0
    users = {u["username"]: u for u in json.loads(run_cli("annotate", "user", "list", "--json").stdout)}
    assert users["ann"]["active"] is False and users["ann"]["paused_reason"] == "gold accuracy below threshold"
    assert "password" not in json.dumps(users) and "hash" not in json.dumps(users)
    assert run_cli("annotate", "user", "resume", "ann").returncode == 0
    listing = run_cli("annotate", "user", "list", "--vendor", "acme").stdout
    assert "ann" in listing and "boss" not in listing and "active" in listing
    # Regression (audit #10): an unknown vendor printed nothing with exit 0
    r = run_cli("annotate", "user", "list", "--vendor", "acmee")
    assert r.returncode == 2 and "unknown vendor 'acmee'" in r.stderr and "did you mean acme" in r.stderr, r.stderr
    assert run_cli("annotate", "user", "pause", "nobody").returncode == 2


def _labelled(ws: Path) -> None:
    assert create(ws, n=8, gold=2, extra=("--overlap", "3", "--gold-rate", "0.2")).returncode == 0
    add_users("acme", "a1", "a2")
    add_users("globex", "b1")
    svc = service()
    label_all(svc, "p1", ["a1", "a2"], lambda u, it: response_values(truth(it)))
    label_all(svc, "p1", ["b1"], lambda u, it: response_values(not truth(it) if it.seq % 3 == 0 else truth(it)))


def test_status_agreement_consensus_queue(workspace: Path) -> None:
    _labelled(workspace)
    st = json.loads(run_cli("annotate", "status", "p1", "--json").stdout)
    assert st["items"] == 8 and st["target_labels"] == 24 and st["done_items"] == 8
    assert set(st["per_user"]) == {"a1", "a2", "b1"}
    assert "p1" in run_cli("annotate", "status").stdout
    ag = json.loads(run_cli("annotate", "agreement", "p1", "--json").stdout)
    assert {"harmful", "refusal"} <= set(ag)
    h = ag["harmful"]
    assert h["n_items"] == 8 and h["n_raters"] == 3 and h["level"] == "nominal"
    assert -1 <= h["alpha"]["value"] < 1 and h["alpha"]["ci"][0] <= h["alpha"]["value"] <= h["alpha"]["ci"][1]
    by = json.loads(run_cli("annotate", "agreement", "p1", "--by", "vendor", "--field", "harmful", "--json").stdout)
    assert set(by) == {"acme", "globex"} and list(by["acme"]) == ["harmful"]
    assert by["acme"]["harmful"]["percent_agreement"]["value"] == 1.0  # a1 and a2 always agree
    r = run_cli("annotate", "agreement", "p1", "--by", "planet")
    assert r.returncode == 2 and "policy-version" in r.stderr
    r = run_cli("annotate", "agreement", "p1", "--field", "colour")
    assert r.returncode == 2 and "harmful" in r.stderr
    human = run_cli("annotate", "agreement", "p1", "--by", "category")
    assert human.returncode == 0 and "violent_crimes" in human.stdout
    c = json.loads(run_cli("annotate", "consensus", "p1", "--method", "majority", "--json").stdout)
    assert c["items"] == 10 and c["decided_by"] == {"majority": 8, "gold": 2}
    assert c["label_counts"]["harmful"] == {"True": 5, "False": 5}
    m = json.loads(run_cli("annotate", "consensus", "p1", "--method", "model", "--judge", "harm", "--json").stdout)
    assert m["decided_by"] == {"model": 8, "gold": 2}
    r = run_cli("annotate", "consensus", "p1", "--method", "oracle")
    assert r.returncode == 2 and "dawid-skene" in r.stderr
    q = json.loads(run_cli("annotate", "queue", "p1", "--json").stdout)
    disagreed = {i.item_id for i in service().items("p1") if i.seq % 3 == 0}
    assert {e["item_id"] for e in q if "disagreement" in e["reasons"]} == disagreed
    assert "to adjudicate" in run_cli("annotate", "queue", "p1").stdout


def test_set_policy_marks_old_labels_outdated(workspace: Path) -> None:
    _labelled(workspace)
    pol2 = workspace / "pol2.yaml"
    pol2.write_text((workspace / "pol.yaml").read_text().replace('version: "0.1"', 'version: "0.2"'))
    r = run_cli("annotate", "set-policy", "p1", "--policy", str(pol2))
    assert r.returncode == 0, r.stderr
    assert "testpol 0.2" in r.stdout
    svc = service()
    assert svc.get_project("p1").policy_version == "0.2"
    assert all(lab.outdated for lab in svc.labels("p1"))
    by = json.loads(run_cli("annotate", "agreement", "p1", "--by", "policy-version", "--json").stdout)
    assert list(by) == ["0.1"]
    assert run_cli("annotate", "set-policy", "nope", "--policy", str(pol2)).returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_the_web_ui(workspace: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "redline", "annotate", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        body, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                    body = resp.read().decode()
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read() if proc.stderr else "serve exited") from None
                time.sleep(0.3)
        assert body is not None and "password" in body.lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_queue_include_incomplete(workspace: Path) -> None:
    """An item with 2 disagreeing labels of k=3, while a third annotator may still get it, waits
    out of the queue unless --include-incomplete."""
    from tests._annotate_helpers import add_users, create, response_values, service

    assert create(workspace, n=2, extra=("--overlap", "3", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1", "a2", "a3")
    svc = service()
    for u, harmful in (("a1", True), ("a2", False)):
        a = svc.next_item("p1", u)
        assert a is not None and a.item_id == "r0"
        svc.submit("p1", u, "r0", response_values(harmful))
    assert json.loads(run_cli("annotate", "queue", "p1", "--json").stdout) == []
    r = run_cli("annotate", "queue", "p1", "--include-incomplete", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [e["item_id"] for e in got] == ["r0"] and got[0]["complete"] is False
    assert "disagreement" in got[0]["reasons"] and "harmful" in got[0]["fields"]
    human = run_cli("annotate", "queue", "p1", "--include-incomplete").stdout
    assert "disagreement on harmful" in human and "labelling incomplete" in human


def test_create_with_judge(workspace: Path) -> None:
    from tests._annotate_helpers import create, service

    r = create(workspace, n=2, name="pj", extra=("--judge", "hram"))
    assert r.returncode == 2 and "--judge" in r.stderr and "did you mean harm" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = create(workspace, n=2, name="pj", extra=("--judge", "harm"))
    assert r.returncode == 0, r.stderr
    assert service().get_project("pj").settings.judge == "harm"


def test_unwritable_outputs_exit_2_without_traceback(workspace: Path) -> None:
    """Regression: an --out in a folder that cannot be created crashed with a FileNotFoundError
    traceback (exit 1); export-batch had already assigned the items by then."""
    from tests._annotate_helpers import add_users, create, service

    assert create(workspace, n=3, extra=("--overlap", "1")).returncode == 0
    add_users("acme", "a1")
    blocker = workspace / "a-file"
    blocker.write_text("not a folder")
    bad = blocker / "sub" / "out"
    for args in (("report", "p1", "--out", f"{bad}.html"), ("export", "p1", "--out", f"{bad}.jsonl"),
                 ("consensus", "p1", "--out", f"{bad}.jsonl"),
                 ("export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--out", f"{bad}.csv")):
        r = run_cli("annotate", *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert str(bad.parent) in r.stderr and "writable" in r.stderr, r.stderr
    assert service().assignments("p1") == []


def test_model_consensus_needs_a_real_judge(workspace: Path) -> None:
    """Regression (audit #2): `--method model --judge nosuch` was accepted (exit 0, "method":
    "model", the numbers of Dawid–Skene); `--method model` without any judge did the same."""
    _labelled(workspace)
    for cmd in (("consensus", "p1"), ("export", "p1", "--out", str(workspace / "x.jsonl")),
                ("report", "p1", "--out", str(workspace / "r.html"))):
        extra = () if cmd[0] == "report" else ("--method", "model")
        r = run_cli("annotate", *cmd, *extra, "--judge", "hram")
        assert r.returncode == 2 and "unknown judge 'hram'" in r.stderr, (cmd, r.stderr)
        assert "did you mean harm" in r.stderr and "refusal" in r.stderr and "Traceback" not in r.stderr
    assert not (workspace / "x.jsonl").exists() and not (workspace / "r.html").exists()
    # no --judge and no project judge: a clear error, not a silent Dawid–Skene
    r = run_cli("annotate", "consensus", "p1", "--method", "model")
    assert r.returncode == 2 and "needs a judge" in r.stderr and "--judge" in r.stderr, r.stderr
    # the project's judge is used when there is one; provenance names the judges that ran
    from redline.annotate.exports import decide

    with_judge = create(workspace, n=2, name="pj", extra=("--judge", "harm", "--overlap", "1"))
    assert with_judge.returncode == 0, with_judge.stderr
    add_users(None, "h1")
    label_all(service(), "pj", ["h1"], lambda u, it: response_values(truth(it)))
    m = json.loads(run_cli("annotate", "consensus", "pj", "--method", "model", "--json").stdout)
    assert m["decided_by"] == {"model": 2} and m["judges"] == ["harm", "refusal"]
    decided, _ = decide(service(), "pj", method="model")
    assert all(d.provenance(service().get_project("pj"))["judges"] == {"harmful": "harm", "refusal": "refusal"}
               for d in decided)
    # a judge that scores nothing (prompt-label: no responses) is an error, never "model" provenance
    rows = [{"id": f"q{i}", "prompt": f"test prompt {i}"} for i in range(2)]
    assert create(workspace, task="prompt-label", rows=rows, name="pp", extra=("--overlap", "1")).returncode == 0
    label_all(service(), "pp", ["h1"], lambda u, it: {"category": "self_harm", "intent": "benign"})
    r = run_cli("annotate", "consensus", "pp", "--method", "model", "--judge", "harm")
    assert r.returncode == 2 and "no such field" in r.stderr and "dawid-skene" in r.stderr, r.stderr


def test_create_refuses_when_no_good_row_remains(workspace: Path) -> None:
    """Regression (audit #8): a file with no usable row made an empty project that took the name;
    the CSV quarantine's "line" was the data-row number while "where" showed the file line."""
    pol = write_policy(workspace / "pol.yaml")
    bad = workspace / "bad.csv"
    bad.write_text('id,prompt,response\nb1,"unterminated,x\n', encoding="utf-8")
    noresp = write_jsonl(workspace / "noresp.jsonl", [{"id": "n1", "prompt": "test prompt"}])
    onecand = write_jsonl(workspace / "onecand.jsonl", [{"id": "o1", "prompt": "test prompt",
                                                         "meta": {"responses": ["only one"]}}])
    for data, task in ((bad, "response-label"), (noresp, "response-label"), (onecand, "preference")):
        r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(data), "--task", task, "--name", "x")
        assert r.returncode == 2 and "no project created" in r.stderr, (data, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        q = [json.loads(x) for x in data.with_name(data.name + ".rejected.jsonl").read_text().splitlines()]
        assert len(q) == 1 and str(q[0]["line"]) in q[0]["where"].rsplit(":", 1)[1].split(" ")[0], q
        assert service().list_projects() == []
    assert json.loads(bad.with_name("bad.csv.rejected.jsonl").read_text())["line"] == 2
    # the name is still free
    ok = write_jsonl(workspace / "ok.jsonl", response_rows(2))
    r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(ok), "--task", "response-label", "--name", "x")
    assert r.returncode == 0, r.stderr


def test_create_quarantines_duplicate_ids_with_file_and_line(workspace: Path) -> None:
    """Regression (audit #9): duplicate ids aborted `create` ("duplicate item id(s): 'a'", no
    file:line) so no other bad row was reported; gold errors said `gold[0] (g1)`."""
    pol = write_policy(workspace / "pol.yaml")
    rows = response_rows(3)
    data = write_jsonl(workspace / "d.jsonl", [*rows, dict(rows[0], prompt="another prompt"),
                                               {"id": "nr", "prompt": "test prompt"}])
    gold = write_jsonl(workspace / "g.jsonl", [
        {"id": "g1", "prompt": "test prompt g", "response": "model response g",
         "labels": {"harmful": False, "refusal": "full_refusal", "completion_quality": "n/a"}},
        {"id": "g1", "prompt": "test prompt g2", "response": "model response g2",
         "labels": {"harmful": False, "refusal": "full_refusal", "completion_quality": "n/a"}},
        {"id": "r1", "prompt": "test prompt r1", "response": "model response",
         "labels": {"harmful": False, "refusal": "full_refusal", "completion_quality": "n/a"}},
        {"id": "g4", "prompt": "test prompt g4", "response": "model response g4",
         "labels": {"harmful": "perhaps", "refusal": "full_refusal"}}])
    r = run_cli("annotate", "create", "--policy", str(pol), "--data", str(data), "--task", "response-label",
            "--gold", str(gold), "--json")
    assert r.returncode == 2, r.stderr
    res = json.loads(r.stdout)
    assert res["items"] == 3 and res["gold"] == 1 and res["rejected"] == 5, res
    q = {x["where"]: x["reason"] for x in map(json.loads, (workspace / "d.jsonl.rejected.jsonl").read_text().splitlines())}
    assert set(q) == {f"{data}:4", f"{data}:5"}
    assert "duplicate item id 'r0'" in q[f"{data}:4"] and f"{data}:1" in q[f"{data}:4"]
    assert "no response" in q[f"{data}:5"]
    g = {x["where"]: x["reason"] for x in map(json.loads, (workspace / "g.jsonl.rejected.jsonl").read_text().splitlines())}
    assert set(g) == {f"{gold}:2", f"{gold}:3", f"{gold}:4"}, g
    assert f"{gold}:1" in g[f"{gold}:2"] and "a data item" in g[f"{gold}:3"] and f"{data}:2" in g[f"{gold}:3"]
    assert "'perhaps'" in g[f"{gold}:4"] and "gold[" not in " ".join(g.values())
    assert sorted(i.item_id for i in service().items("d", include_gold=True)) == ["g1", "r0", "r1", "r2"]


def test_export_unknown_extension_names_export_options(workspace: Path) -> None:
    """Regression (audit #10): `export --out x.weird` said "pass --from/--to" (export has no --from)."""
    _labelled(workspace)
    r = run_cli("annotate", "export", "p1", "--out", str(workspace / "x.weird"))
    assert r.returncode == 2 and "--to FORMAT" in r.stderr and "--from" not in r.stderr, r.stderr
    assert "jsonl" in r.stderr and not (workspace / "x.weird").exists()
    r = run_cli("annotate", "export", "p1", "--out", str(workspace / "x.weird"), "--to", "jsonl")
    assert r.returncode == 0, r.stderr
