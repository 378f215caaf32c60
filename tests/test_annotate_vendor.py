"""Vendor round-trip through the real CLI: export-batch (assignment rules, gold hidden) and
import-batch (validation, quarantine with file:line, attribution, idempotent re-import)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests._annotate_helpers import add_users, create, response_values, service, write_jsonl
from tests.helpers import run_cli


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _fill(row: dict[str, str], harmful: bool) -> None:
    for k, v in response_values(harmful).items():
        row[k] = str(v).lower() if isinstance(v, bool) else str(v)


def test_export_batch_assigns_by_the_rules_and_hides_gold(workspace: Path) -> None:
    r = create(workspace, n=6, gold=3, extra=("--overlap", "2", "--gold-rate", "0.5"))
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1", "a2", "a3")
    add_users("globex", "g1")
    out = workspace / "b1.csv"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1,a2,a3", "--format", "csv",
            "--out", str(out), "--per-annotator", "20", "--json")
    assert r.returncode == 0, r.stderr
    rows = _csv(out)
    assert json.loads(r.stdout)["rows"] == len(rows)
    # overlap 2 over 6 normal items = 12 normal slots, plus gold; nobody gets an item twice
    svc = service()
    asg = svc.assignments("p1")
    by_user: dict[str, list[str]] = {}
    for a in asg:
        by_user.setdefault(a.username, []).append(a.item_id)
    assert all(len(v) == len(set(v)) for v in by_user.values())
    normal = [a for a in asg if not a.item_id.startswith("x")]
    assert len(normal) == 12
    counts: dict[str, int] = {}
    for a in normal:
        counts[a.item_id] = counts.get(a.item_id, 0) + 1
    assert set(counts.values()) == {2}
    gold_ids = {i.item_id for i in svc.items("p1", include_gold=True) if i.is_gold}
    assert any(a.item_id in gold_ids for a in asg), "gold was injected at rate 0.5"
    # gold rows look exactly like others: same columns, no id, nothing that says gold
    text = out.read_text()
    assert "gold" not in text.lower() and not any(g in text for g in gold_ids)
    assert all(set(r) == set(rows[0]) for r in rows)
    assert {"task_id", "vendor", "annotator", "prompt", "response", "harmful", "skip_reason"} <= set(rows[0])
    assert all(r["harmful"] == "" for r in rows)
    # exporting again re-sends the open work (same keys), adds nothing new
    out2 = workspace / "b1-again.csv"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1,a2,a3", "--format", "csv",
            "--out", str(out2), "--per-annotator", "20")
    assert r.returncode == 0, r.stderr
    assert sorted(x["task_id"] for x in _csv(out2)) == sorted(x["task_id"] for x in rows)
    # another vendor's annotator cannot be named in acme's batch
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1,g1", "--out",
            str(workspace / "bad.csv"))
    assert r.returncode == 2
    assert "g1" in r.stderr and "globex" in r.stderr
    assert not (workspace / "bad.csv").exists()


def test_import_batch_validates_quarantines_attributes_and_is_idempotent(workspace: Path) -> None:
    assert create(workspace, n=4, extra=("--overlap", "2", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1", "a2")
    add_users("globex", "g1")
    out = workspace / "batch.csv"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1,a2", "--format", "csv",
            "--out", str(out), "--per-annotator", "4")
    assert r.returncode == 0, r.stderr
    rows = _csv(out)
    assert len(rows) == 8
    for i, row in enumerate(rows):
        _fill(row, harmful=i % 2 == 0)
    good = len(rows)
    # four bad rows: a value outside the schema, a missing required field, a foreign annotator,
    # an unknown task id
    rows[1]["refusal"] = "maybe"
    rows[3]["harmful"] = ""
    rows[5]["annotator"] = "g1"
    rows[6]["task_id"] = "not-a-task"
    good -= 4
    _write_csv(out, rows)
    r = run_cli("annotate", "import-batch", "p1", str(out), "--json")
    assert r.returncode == 2, r.stderr
    res = json.loads(r.stdout)
    assert res["rows"] == 8 and res["imported"] == good and res["rejected"] == 4
    q = [json.loads(line) for line in Path(res["quarantine"]).read_text().splitlines()]
    assert [x["line"] for x in q] == [3, 5, 7, 8]  # CSV lines (header = line 1)
    assert all(x["where"] == f"{out}:{x['line']}" for x in q)
    reasons = " | ".join(x["reason"] for x in q)
    assert "refusal" in reasons and "'maybe' is not an allowed value" in reasons
    assert "harmful" in reasons and "missing" in reasons
    assert "does not belong to vendor 'acme'" in reasons
    assert "not-a-task" in reasons
    svc = service()
    labels = svc.labels("p1")
    assert len(labels) == good
    assert {lb.source for lb in labels} == {"import:batch.csv"}
    by_key = {(a.item_id, a.username) for a in svc.assignments("p1")}
    assert all((lb.item_id, lb.username) in by_key and lb.vendor == "acme" for lb in labels)
    # the same file again: nothing new, nothing duplicated
    r = run_cli("annotate", "import-batch", "p1", str(out), "--json")
    res2 = json.loads(r.stdout)
    assert res2["imported"] == 0 and res2["already"] == good and res2["rejected"] == 4
    assert len(service().labels("p1")) == good
    # fixing the bad rows and importing again brings them in; a changed label is refused
    rows[1]["refusal"] = "full_refusal"
    rows[3]["harmful"] = "false"
    rows[3]["category"] = rows[3]["severity"] = ""
    rows[0]["harmful"] = "false" if rows[0]["harmful"] == "true" else "true"
    rows[0]["category"] = rows[0]["severity"] = ""
    _write_csv(out, rows)
    r = run_cli("annotate", "import-batch", "p1", str(out), "--json")
    res3 = json.loads(r.stdout)
    assert res3["imported"] == 2 and res3["rejected"] == 3
    assert any("different values" in json.loads(line)["reason"]
               for line in Path(res3["quarantine"]).read_text().splitlines())
    assert len(service().labels("p1")) == good + 2


def test_label_studio_round_trip(workspace: Path) -> None:
    assert create(workspace, n=3, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    out = workspace / "tasks.json"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--format", "label-studio",
            "--out", str(out), "--per-annotator", "3")
    assert r.returncode == 0, r.stderr
    tasks = json.loads(out.read_text())
    assert len(tasks) == 3 and all(set(t) == {"data"} for t in tasks)
    config = (workspace / "tasks.json.label_config.xml").read_text()
    assert '<Choices name="harmful"' in config and 'alias="yes"' in config  # shown "harmful", stored "yes"
    assert not any(f'{a}="{b}"' in config for a in ("value", "alias") for b in ("true", "false"))  # read as booleans
    assert '<Paragraphs name="dialogue" value="$dialogue"' in config  # the whole conversation, system prompt first
    assert all(t["data"]["dialogue"][-1]["role"] == "assistant" for t in tasks)
    # what Label Studio exports: ids, the data back, annotations with choices results
    export = []
    for i, t in enumerate(tasks):
        res = [{"from_name": "harmful", "to_name": "prompt", "type": "choices", "value": {"choices": ["false"]}},
               {"from_name": "refusal", "to_name": "prompt", "type": "choices", "value": {"choices": ["full_refusal"]}},
               {"from_name": "completion_quality", "to_name": "prompt", "type": "choices",
                "value": {"choices": ["n/a"]}}]
        ann = {"completed_by": 7, "result": res, "was_cancelled": False}
        if i == 2:
            ann = {"completed_by": 7, "result": [], "was_cancelled": True}
        if i == 1:
            res[1]["value"]["choices"] = ["refused-ish"]
        export.append({"id": 100 + i, "data": t["data"], "annotations": [ann]})
    ls = workspace / "ls-export.json"
    ls.write_text(json.dumps(export))
    r = run_cli("annotate", "import-batch", "p1", str(ls), "--json")
    assert r.returncode == 2
    res = json.loads(r.stdout)
    assert (res["imported"], res["skipped"], res["rejected"]) == (1, 1, 1)
    bad = json.loads(Path(res["quarantine"]).read_text().splitlines()[0])
    assert "refused-ish" in bad["reason"] and bad["where"].startswith(str(ls))
    svc = service()
    [lab] = svc.labels("p1")
    assert lab.username == "a1" and lab.values["harmful"] is False and lab.values["refusal"] == "full_refusal"
    assert sorted(a.status for a in svc.assignments("p1")) == ["open", "skipped", "submitted"]


def test_label_studio_every_annotation_of_a_task_is_counted(workspace: Path) -> None:
    """Was: a second annotation of a task (and a cancelled one beside a submitted one) vanished on
    import without a count. Now each annotation is a row: an identical one is `already`, a different
    one and a cancelled one are rejected rows that say why; rows = imported + already + skipped + rejected."""
    assert create(workspace, n=2, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    out = workspace / "tasks.json"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--format", "label-studio",
            "--out", str(out), "--per-annotator", "2")
    assert r.returncode == 0, r.stderr
    tasks = json.loads(out.read_text())

    def result(harmful: str, refusal: str = "full_refusal") -> list[dict[str, object]]:
        return [{"from_name": k, "to_name": "dialogue", "type": "choices", "value": {"choices": [v]}}
                for k, v in (("harmful", harmful), ("refusal", refusal), ("completion_quality", "n/a"))]

    export = [{"id": 1, "data": tasks[0]["data"], "annotations": [
                  {"completed_by": 7, "result": result("no")}, {"completed_by": 8, "result": result("no")},
                  {"completed_by": 9, "result": result("no", "partial_refusal")}]},
              {"id": 2, "data": tasks[1]["data"], "annotations": [
                  {"completed_by": 7, "result": result("no")},
                  {"completed_by": 7, "result": [], "was_cancelled": True}]}]
    ls = workspace / "ls-export.json"
    ls.write_text(json.dumps(export))
    r = run_cli("annotate", "import-batch", "p1", str(ls), "--json")
    res = json.loads(r.stdout)
    assert res["rows"] == 5, res
    assert (res["imported"], res["already"], res["skipped"], res["rejected"]) == (2, 1, 0, 2)
    reasons = [json.loads(line)["reason"] for line in Path(res["quarantine"]).read_text().splitlines()]
    assert any("different values" in x for x in reasons) and any("cancelled annotation" in x for x in reasons)
    assert {lab.values["harmful"] for lab in service().labels("p1")} == {False}


def test_preference_letters_map_back_to_original_candidates(workspace: Path) -> None:
    rows = [{"id": f"p{i}", "prompt": f"test prompt {i}", "chosen": f"good answer {i}", "rejected": f"bad answer {i}"}
            for i in range(6)]
    assert create(workspace, task="preference", rows=rows, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    out = workspace / "pref.jsonl"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--format", "jsonl",
            "--out", str(out), "--per-annotator", "6")
    assert r.returncode == 0, r.stderr
    batch = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(batch) == 6
    # the annotator always picks the "good" answer, wherever it is shown
    for row in batch:
        row["choice"] = "A" if row["candidate_A"].startswith("good") else "B"
        row["margin"] = "clear"
        row["reason"] = "follows the policy"
    shown_first = {row["candidate_A"].startswith("good") for row in batch}
    assert shown_first == {True, False}, "the presentation order is randomised per item"
    write_jsonl(out, batch)
    r = run_cli("annotate", "import-batch", "p1", str(out), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert {lab.values["choice"] for lab in service().labels("p1")} == {"0"}  # chosen = original index 0
    # end to end: the DPO export has the good answer as chosen for every item, whatever was shown first
    dpo = workspace / "dpo.jsonl"
    assert run_cli("annotate", "export", "p1", "--as", "dpo", "--out", str(dpo)).returncode == 0
    got = [json.loads(line) for line in dpo.read_text().splitlines()]
    assert len(got) == 6 and all(x["chosen"].startswith("good") and x["rejected"].startswith("bad") for x in got)
    # a digit is not one of the letters shown: rejected with the reason
    batch2 = [dict(batch[0], choice="1")]
    bad = workspace / "pref-bad.jsonl"
    write_jsonl(bad, batch2)
    r = run_cli("annotate", "import-batch", "p1", str(bad), "--json")
    assert r.returncode == 2
    q = json.loads(Path(json.loads(r.stdout)["quarantine"]).read_text().splitlines()[0])
    assert "letter" in q["reason"] and q["line"] == 1


def test_import_excel_saved_csv_bom_semicolons_reordered_extra_and_missing_columns(workspace: Path) -> None:
    """Regression: a CSV saved by Excel (UTF-8 BOM, `;` in European locales, reordered columns,
    an extra column, TRUE/FALSE) imports; a non-UTF-8 file is refused with file:line and the fix
    (it used to raise UnicodeDecodeError); a file without a label column rejects every row, naming
    the missing field."""
    import pytest

    from redline.annotate.vendor import export_batch, import_batch
    from redline.errors import InputError

    assert create(workspace, n=4, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    svc = service()
    out = workspace / "b.csv"
    export_batch(svc, "p1", "acme", ["a1"], "csv", out, per_annotator=4)
    rows = _csv(out)
    assert len(rows) == 4
    for r in rows:
        _fill(r, True)
        r["harmful"] = "TRUE"  # Excel's spelling
        r["my notes"] = "checked"  # a column the vendor added
    cols = ["my notes", *reversed(list(rows[0].keys() - {"my notes"}))]
    # the first two rows: missing every label column except harmful -> rejected, each naming the field
    missing = workspace / "missing.csv"
    with open(missing, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["task_id", "vendor", "annotator", "harmful"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows[:2])
    res = import_batch(svc, "p1", missing)
    assert (res.rows, res.imported, res.rejected) == (2, 0, 2)
    bad = [json.loads(x) for x in res.quarantine.read_text().splitlines()]
    assert [b["where"] for b in bad] == [f"{missing}:2", f"{missing}:3"]
    assert all("refusal" in b["reason"] for b in bad)
    # Excel: BOM + semicolons + reordered + extra column
    excel = workspace / "excel.csv"
    with open(excel, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.DictWriter(f, fieldnames=cols, delimiter=";")
        w.writeheader()
        w.writerows(rows)
    res = import_batch(svc, "p1", excel)
    assert (res.rows, res.imported, res.rejected) == (4, 4, 0), res.to_json()
    assert {lab.values["harmful"] for lab in svc.labels("p1")} == {True}
    # cp1252 (Excel's plain "CSV" on Windows): refused with the line of the first bad byte
    legacy = workspace / "legacy.csv"
    legacy.write_bytes(b"task_id,vendor,annotator,harmful\nabc,acme,a1,true\nabd,acme,a1,caf\xe9\n")
    with pytest.raises(InputError) as ei:
        import_batch(svc, "p1", legacy)
    assert ei.value.problems[0].where == f"{legacy}:3" and "UTF-8" in ei.value.problems[0].fix


def test_import_messages_name_field_and_fix_and_keep_raw_row(workspace: Path) -> None:
    """Regression (audit #7): `duration_s=abc` gave "could not convert string to float: 'abc'"
    (no field, no fix); a missing boolean said "choose one of: True, False"; summary lines cut
    reasons at 60 characters mid-word; `raw` in the quarantine showed empty cells as null."""
    assert create(workspace, n=4, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    out = workspace / "batch.csv"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--format", "csv",
            "--out", str(out), "--per-annotator", "4")
    assert r.returncode == 0, r.stderr
    rows = _csv(out)
    for row in rows:
        _fill(row, harmful=False)
        row["duration_s"] = "12.5"
    rows[0]["duration_s"] = "abc"
    rows[1]["harmful"] = ""
    rows[2]["annotator"] = "someone-with-a-rather-long-name-that-goes-on"
    _write_csv(out, rows)
    r = run_cli("annotate", "import-batch", "p1", str(out))
    assert r.returncode == 2
    text = r.stdout + r.stderr
    assert "could not convert" not in text and "True, False" not in text
    q = [json.loads(line) for line in (workspace / "batch.csv.rejected.jsonl").read_text().splitlines()]
    by_line = {x["line"]: x for x in q}
    dur = by_line[2]["reason"]
    assert "duration_s" in dur and "'abc' is not a number" in dur and "fix:" in dur, dur
    missing = by_line[3]["reason"]
    assert "harmful" in missing and "true or false" in missing, missing
    # raw is the row as read: every cell text, empty cells "" (not null)
    assert by_line[3]["raw"]["harmful"] == "" and by_line[3]["raw"]["category"] == ""
    assert by_line[3]["raw"] == {k: v for k, v in rows[1].items()}
    # the summary counts whole reasons (never cut mid-word)
    summary = [ln.strip() for ln in r.stdout.splitlines() if " × " in ln]
    assert sorted(summary) == sorted(["1 × invalid duration_s", "1 × invalid label (harmful)",
                                      "1 × unknown annotator"]), r.stdout
    assert service().labels("p1")[0].duration_s == 12.5


def test_csv_preference_batch_columns_in_order(workspace: Path) -> None:
    """Regression (audit #10): a CSV batch mixing 2- and 3-candidate items put candidate_C after
    skip_reason; now item columns, the candidates together, the label columns, skip_reason."""
    rows = [{"id": "p0", "prompt": "test prompt 0", "chosen": "a", "rejected": "b"},
            {"id": "p1", "prompt": "test prompt 1", "responses": ["x", "y", "z"]}]
    assert create(workspace, task="preference", rows=rows, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    out = workspace / "pref.csv"
    r = run_cli("annotate", "export-batch", "p1", "--vendor", "acme", "--annotators", "a1", "--format", "csv",
            "--out", str(out), "--per-annotator", "2")
    assert r.returncode == 0, r.stderr
    with open(out, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    fields = [f.name for f in __import__("redline.annotate.vendor", fromlist=["x"])._fields(service(), "p1")]
    cands = [c for c in header if c.startswith("candidate_")]
    assert cands == ["candidate_A", "candidate_B", "candidate_C"]
    i = header.index("candidate_A")
    assert header[i:i + 3] == cands
    assert header[i + 3:] == [*fields, "skip_reason"], header
