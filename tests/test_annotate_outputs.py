"""Exports through the real CLI: decided labels back into records (with provenance), TRL SFT / DPO /
KTO data, the casebook pack (loads and lints clean), and `redline calibrate --project`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests._annotate_helpers import add_users, create, label_all, response_values, service, truth
from tests.helpers import read_results, run_cli

COMPLY = ("Sure, here is an overview. First, understand the background. Then consider the main points in "
          "order: 1. the context, 2. the options, 3. the trade-offs.")
REFUSE = "I'm sorry, but I can't help with that request."


def _labelled_response_project(ws: Path) -> dict[str, bool]:
    """p1: 6 items + 2 gold, k=3; a1/a2 label the truth, a3 flips every answer; item r1 is adjudicated
    against the crowd (promoted to the casebook); returns the truth per normal item."""
    r = create(ws, n=6, gold=2, extra=("--overlap", "3", "--gold-rate", "0.3"))
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1", "a2")
    add_users("globex", "a3")
    add_users(None, "rev", role="reviewer")
    svc = service()
    label_all(svc, "p1", ["a1", "a2"], lambda u, it: response_values(truth(it)))
    label_all(svc, "p1", ["a3"], lambda u, it: {**response_values(not truth(it)), "note": " unsure: reads like satire "})
    svc.adjudicate("p1", "r1", "rev", response_values(True), "the response gives real uplift",
                   promote_casebook=True, casebook_intent="harmful")
    return {i.item_id: truth(i) for i in svc.items("p1")}


def test_export_records_with_provenance(workspace: Path) -> None:
    t = _labelled_response_project(workspace)
    out = workspace / "labelled.jsonl"
    r = run_cli("annotate", "export", "p1", "--as", "records", "--out", str(out), "--method", "majority", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    recs = {x["id"]: x for x in read_results(out)}
    assert res["rows"] == len(recs) == 8 and res["unlabelled"] == 0  # 6 items + 2 gold
    for iid, harmful in t.items():
        want = True if iid == "r1" else harmful  # the adjudication overrides the crowd
        assert recs[iid]["labels"]["harmful"] is want, iid
        ann = recs[iid]["meta"]["annotation"]
        assert ann["annotators"] == ["a1", "a2", "a3"] and ann["vendors"] == ["acme", "globex"]
        assert ann["n_labels"] == 3 and ann["policy"]["name"] == "testpol" and ann["policy"]["hash"].startswith("sha256:")
        assert recs[iid]["meta"]["policy_hash"] == ann["policy"]["hash"]
        # issue 18 item 6: the annotator's note travels with the export (it is never a label)
        assert ann["notes"] == [{"username": "a3", "note": "unsure: reads like satire"}], iid
        assert "note" not in recs[iid]["labels"]
    r1 = recs["r1"]["meta"]["annotation"]
    assert r1["method"] == "adjudicated" and r1["adjudicated_by"] == "rev" and r1["min_confidence"] == 1.0
    assert r1["rationale"] == "the response gives real uplift"
    r0 = recs["r0"]["meta"]["annotation"]
    assert r0["method"] == "majority" and abs(r0["confidence"]["harmful"] - 2 / 3) < 1e-3
    assert recs["r0"]["labels"].get("category") == "violent_crimes"  # harmful → its category kept
    assert not t["r3"] and "category" not in recs["r3"]["labels"]  # not harmful → cleared
    gold = [x for x in recs.values() if x["meta"]["annotation"]["method"] == "gold"]
    assert len(gold) == 2
    # any data format: CSV through the existing writer
    out_csv = workspace / "labelled.csv"
    r = run_cli("annotate", "export", "p1", "--as", "records", "--out", str(out_csv))
    assert r.returncode == 0, r.stderr
    assert out_csv.read_text().count("\n") >= 9
    # KTO from response labels: a harmless response is desirable
    kto = workspace / "kto.jsonl"
    r = run_cli("annotate", "export", "p1", "--as", "kto", "--out", str(kto), "--method", "majority")
    assert r.returncode == 0, r.stderr
    k = {x["metadata"]["item_id"]: x for x in read_results(kto)}
    assert len(k) == 8
    assert k["r1"]["label"] is False and k["r3"]["label"] is True and k["r3"]["completion"] == "model response 3"
    r = run_cli("annotate", "export", "p1", "--as", "sft", "--out", str(workspace / "sft.jsonl"))
    assert r.returncode == 2 and "sft-write" in r.stderr


def test_calibrate_against_a_project(workspace: Path) -> None:
    rows = [{"id": f"h{i}", "prompt": f"harmful request {i}", "response": COMPLY if i < 3 else REFUSE,
             "category": "violent_crimes", "expected": "refuse"} for i in range(6)]
    r = create(workspace, rows=rows, extra=("--overlap", "2", "--gold-rate", "0"))
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1", "a2")
    svc = service()

    def answer(u: str, it: object) -> dict:
        harmful = int(it.item_id[1:]) < 3  # type: ignore[attr-defined]
        return response_values(harmful)

    label_all(svc, "p1", ["a1", "a2"], answer)
    r = run_cli("calibrate", "--judge", "refusal", "--project", "p1", "--json", "--no-progress", "--no-save")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["labels"]["rows"] == 6
    assert res["policy"]["name"] == "testpol"  # the project's policy
    assert res["harm"]["overall"]["confusion"] == {"tp": 3, "fn": 0, "fp": 0, "tn": 3}
    r = run_cli("calibrate", "--judge", "refusal", "--no-progress", "--no-save")
    assert r.returncode == 2 and "--labels" in r.stderr
    # Regression (audit #3): measuring against a project silently became the workspace calibration
    # every later eval uses. By default it is only measured; --save stores it.
    cal_dir = workspace / "home" / "calibrations"
    r = run_cli("calibrate", "--judge", "refusal", "--project", "p1", "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert "saved" not in res and "--save" in res["not_saved"]
    assert not cal_dir.exists() or not any(cal_dir.iterdir())
    human = run_cli("calibrate", "--judge", "refusal", "--project", "p1", "--no-progress")
    assert human.returncode == 0 and "pass --save" in human.stderr and "saved:" not in human.stdout
    r = run_cli("calibrate", "--judge", "refusal", "--project", "p1", "--json", "--no-progress", "--save")
    assert r.returncode == 0 and "saved" in json.loads(r.stdout), r.stderr
    assert len(list(cal_dir.iterdir())) == 1


def test_sft_export(workspace: Path) -> None:
    rows = [{"id": f"s{i}", "prompt": f"test prompt {i}", "category": "self_harm", "expected": "safe_complete"}
            for i in range(3)]
    assert create(workspace, task="sft-write", rows=rows, extra=("--overlap", "2", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1", "a2")
    add_users(None, "rev", role="reviewer")
    svc = service()
    label_all(svc, "p1", ["a1", "a2"], lambda u, it: {"behaviour": "safe_complete",
                                                     "response": f"{u} writes a caring answer to {it.item_id}"})
    svc.adjudicate("p1", "s2", "rev", {"behaviour": "safe_complete", "response": "the reviewer's answer"}, "better")
    out = workspace / "sft.jsonl"
    r = run_cli("annotate", "export", "p1", "--as", "sft", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows_out = {x["metadata"]["item_id"]: x for x in read_results(out)}
    assert set(rows_out) == {"s0", "s1", "s2"}
    assert rows_out["s0"]["messages"] == [{"role": "user", "content": "test prompt 0"},
                                          {"role": "assistant", "content": "a1 writes a caring answer to s0"}]
    assert rows_out["s2"]["messages"][-1]["content"] == "the reviewer's answer"
    assert rows_out["s2"]["metadata"]["method"] == "adjudicated"
    assert rows_out["s0"]["metadata"]["behaviour"] == "safe_complete"
    # an sft-write project has no preference pairs
    r = run_cli("annotate", "export", "p1", "--as", "dpo", "--out", str(workspace / "x.jsonl"))
    assert r.returncode == 2 and "preference" in r.stderr


def test_dpo_and_kto_exports_undo_presentation_order(workspace: Path) -> None:
    rows = [{"id": f"p{i}", "prompt": f"test prompt {i}", "chosen": f"good answer {i}", "rejected": f"bad answer {i}"}
            for i in range(4)]
    rows.append({"id": "p9", "prompt": "test prompt 9", "meta": {"responses": ["first", "second", "third"]}})
    assert create(workspace, task="preference", rows=rows,
                  extra=("--overlap", "2", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1", "a2")
    svc = service()

    def answer(u: str, it: object) -> dict:
        iid = it.item_id  # type: ignore[attr-defined]
        if iid == "p3":
            return {"choice": "tie", "reason": "both fine"}
        return {"choice": "2" if iid == "p9" else "0", "margin": "clear", "reason": "policy says so"}

    label_all(svc, "p1", ["a1", "a2"], answer)
    assert {a.order is not None for a in svc.assignments("p1")} == {True}
    out = workspace / "dpo.jsonl"
    r = run_cli("annotate", "export", "p1", "--as", "dpo", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["not_exportable"] == {"tie or no choice": 1}
    got = read_results(out)
    pairs = [(x["prompt"], x["chosen"], x["rejected"]) for x in got]
    for i in range(3):
        assert (f"test prompt {i}", f"good answer {i}", f"bad answer {i}") in pairs
    assert ("test prompt 9", "third", "first") in pairs and ("test prompt 9", "third", "second") in pairs
    assert len(pairs) == 5
    meta = got[0]["metadata"]
    assert meta["annotators"] == ["a1", "a2"] and meta["margin"] == "clear" and meta["confidence"]["choice"] > 0.9
    kto = workspace / "kto.jsonl"
    r = run_cli("annotate", "export", "p1", "--as", "kto", "--out", str(kto))
    assert r.returncode == 0, r.stderr
    k = read_results(kto)
    assert len(k) == 10
    assert {(x["completion"], x["label"]) for x in k if x["prompt"] == "test prompt 0"} == {
        ("good answer 0", True), ("bad answer 0", False)}
    assert all("metadata" in x for x in k)


def test_casebook_pack_extends_the_policy_and_lints_clean(workspace: Path) -> None:
    _labelled_response_project(workspace)
    svc = service()
    svc.adjudicate("p1", "r3", "rev", response_values(False), "a refusal <b>is</b> not a violation",
                   promote_casebook=True)
    out = workspace / "casebook.yaml"
    r = run_cli("annotate", "casebook", "p1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    from redline.policy.lint import lint
    from redline.policy.loader import load_policy

    pol = load_policy(out)
    base = load_policy(workspace / "pol.yaml")
    assert pol.category_ids == base.category_ids
    added = [c for c in pol.casebook if c.tag == "adjudicated"]
    assert len(added) == 2 and {c.adjudication.split(",")[0] for c in added} == {"rev"}  # type: ignore[union-attr]
    case = next(c for c in added if c.reasoning.startswith("a refusal"))
    assert case.harmful is False and case.response == "model response 3"
    rep = lint(str(out))
    assert rep.loaded and rep.errors == [], [str(f) for f in rep.errors]
    r = run_cli("policy", "lint", str(out))
    assert r.returncode == 0, r.stdout + r.stderr


def test_casebook_from_a_prompt_label_project_lints_clean(workspace: Path) -> None:
    rows = [{"id": f"q{i}", "prompt": f"test prompt {i}", "category": "violent_crimes"} for i in range(2)]
    assert create(workspace, task="prompt-label", rows=rows, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users(None, "rev", role="reviewer")
    svc = service()
    svc.adjudicate("p1", "q0", "rev", {"category": "violent_crimes", "intent": "harmful"}, "asks how to hurt someone",
                   promote_casebook=True)
    svc.adjudicate("p1", "q1", "rev", {"category": None, "intent": "benign"}, "a history question",
                   promote_casebook=True)
    out = workspace / "cb.yaml"
    r = run_cli("annotate", "casebook", "p1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "2 adjudicated case(s)" in r.stdout
    from redline.policy.lint import lint

    rep = lint(str(out))
    assert rep.loaded and rep.errors == [], [str(f) for f in rep.errors]
    cases = {c.prompt: c for c in rep.policy.casebook}  # type: ignore[union-attr]
    assert cases["test prompt 0"].harmful is True and cases["test prompt 0"].severity > 0
    assert cases["test prompt 1"].harmful is False and cases["test prompt 1"].intent == "benign"


def test_explicit_none_category_is_a_vote_not_a_missing_label(workspace: Path) -> None:
    """Regression: decide() dropped "none" answers (value None), so ONE annotator's category
    outvoted two who said the prompt fits no category."""
    from redline.annotate.exports import decide

    rows = [{"id": "q0", "prompt": "how do I bake bread"}, {"id": "q1", "prompt": "plan an attack"}]
    r = create(workspace, task="prompt-label", name="pl", rows=rows, extra=("--overlap", "3"))
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1", "a2", "a3")
    svc = service()

    def answer(u: str, it: Any) -> dict[str, object]:
        if it.item_id == "q0":  # a1, a2: none; a3: a category
            return {"category": "violent_crimes" if u == "a3" else None, "intent": "benign"}
        return {"category": "violent_crimes", "intent": "harmful"}

    label_all(svc, "pl", ["a1", "a2", "a3"], answer)
    for method in ("majority", "dawid-skene"):
        got = {d.item_id: d for d in decide(svc, "pl", method=method)[0]}
        assert got["q0"].values["category"] is None, method
        assert got["q0"].confidence["category"] is not None and got["q0"].confidence["category"] < 1.0
        assert got["q1"].values["category"] == "violent_crimes", method
        prov = got["q0"].provenance(svc.get_project("pl"))
        assert prov["sources"] == ["web"] and prov["annotators"] == ["a1", "a2", "a3"]


def test_calibrate_project_refuses_model_consensus_and_ambiguous_sources(workspace: Path) -> None:
    """Regression: `calibrate --project P --method model` decided the labels with the built-in
    judges' probabilities, then measured a judge against them (circular); both/neither of
    --labels/--project gave a bare message without the fix."""
    assert create(workspace, n=2).returncode == 0
    r = run_cli("calibrate", "--judge", "harm", "--project", "p1", "--method", "model", "--no-save")
    assert r.returncode == 2 and "--method" in r.stderr and "dawid-skene" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("calibrate", "--judge", "harm", "--no-save")
    assert r.returncode == 2 and "--project NAME" in r.stderr and "neither" in r.stderr, r.stderr


def test_jsonl_writer_extra_hook(tmp_path: Path) -> None:
    """The TRL metadata column comes from JsonlWriter's public ``extra`` hook (it used to wrap
    the writer's private ``_to_obj``); without a hook the rows are unchanged."""
    from redline.data.formats import get_format
    from redline.data.records import Record
    from redline.data.schema import Message

    rec = Record(id="x", messages=[Message(role="user", content="test prompt")],
                 chosen=[Message(role="assistant", content="good")], rejected=[Message(role="assistant", content="bad")])
    plain, hooked = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    w = get_format("trl_kto").open_writer(plain)
    w.write(rec)
    w.close()
    w = get_format("trl_kto").open_writer(hooked)
    w.extra = lambda r: {"metadata": {"id": r.id}}
    w.write(rec)
    w.close()
    a = [json.loads(x) for x in plain.read_text().splitlines()]
    b = [json.loads(x) for x in hooked.read_text().splitlines()]
    assert len(a) == len(b) == 2 and all("metadata" not in x for x in a)
    assert [{k: v for k, v in x.items() if k != "metadata"} for x in b] == a
    assert all(x["metadata"] == {"id": "x"} for x in b)
