"""Pre-labelling without anchoring: suggestions, the randomised shown/hidden arms, labels and
exports that record them, and the anchoring report on simulated annotators who do and do not
anchor (real SQLite, the service's own assignment and submit)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from redline.annotate.anchoring import anchoring_report, cluster_bootstrap, format_report
from redline.annotate.service import Annotations
from redline.annotate.simulate import simulate_anchoring
from redline.annotate.suggestions import prelabel
from redline.data.records import Record
from redline.errors import InputError
from redline.policy.loader import load_policy
from redline.store.db import WorkspaceDB
from tests.helpers import invoke

POLICY = load_policy("default")
OK = {"harmful": "false", "refusal": "full_refusal", "completion_quality": "good"}


def _svc(tmp_path: Path) -> Annotations:
    return Annotations(WorkspaceDB(f"sqlite:///{tmp_path / 'ws.db'}"))


def _recs(n: int, **meta) -> list[Record]:
    return [Record.model_validate({"id": f"r{i}", "prompt": f"a test prompt {i}", "response": "a test response",
                                   "category": "violent_crimes", "meta": dict(meta)}) for i in range(n)]


def test_arms_are_balanced_per_item_never_on_gold_and_recorded(tmp_path: Path):
    from redline.annotate.exports import export_project

    svc = _svc(tmp_path)
    gold = [(Record.model_validate({"id": "g0", "prompt": "gold prompt", "response": "r",
                                    "meta": {"suggestion": {"harmful": True}}}), OK)]
    svc.create_project("p", policy=POLICY, policy_ref="default", task="response-label",
                       records=_recs(6, suggestion={"harmful": True, "refusal": "nonsense", "bogus": 1}),
                       gold=gold, overlap=4, gold_rate=0.2)
    res = prelabel(svc, "p")
    assert res.suggested == 7 and res.skipped == {}
    assert svc.suggestion("p", "r0") == {"source": "meta", "values": {"harmful": True}}  # invalid values dropped
    users = [f"u{i}" for i in range(4)]
    for u in users:
        svc.add_user(u, f"pw-{u}-secret", "annotator")
    for u in users:
        while (a := svc.next_item("p", u)) is not None:
            svc.submit("p", u, a.item_id, OK)
    labels = svc.labels("p")
    per_item: dict[str, Counter] = {}
    for lb in labels:
        per_item.setdefault(lb.item_id, Counter())[lb.suggestion_arm] += 1
        if lb.is_gold:
            assert lb.suggestion_arm is None and lb.suggestion is None  # never shown on gold
        elif lb.suggestion_arm == "shown":
            assert lb.suggestion == {"source": "meta", "values": {"harmful": True}}
        else:
            assert lb.suggestion_arm == "hidden" and lb.suggestion is None
    assert any(lb.is_gold for lb in labels)
    for iid, c in per_item.items():
        if iid != "g0":
            assert c == Counter({"shown": 2, "hidden": 2}), (iid, c)  # stratified per item
    # seeded: a second project with the same items gets the same arms
    svc.create_project("p2", policy=POLICY, policy_ref="default", task="response-label",
                       records=_recs(6, suggestion={"harmful": True}), overlap=4, gold_rate=0.0)
    prelabel(svc, "p2")
    arms = [svc.next_item("p2", u).suggestion_arm for u in users]  # type: ignore[union-attr]
    assert sorted(arms) == ["hidden", "hidden", "shown", "shown"]
    # exports carry the flag per label
    out = tmp_path / "labels.jsonl"
    export_project(svc, "p", "records", out)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    sug = rows["r0"]["meta"]["annotation"]["suggestions"]
    assert sorted(s["shown"] for s in sug) == [False, False, True, True]
    assert all((s["suggestion"] is not None) == s["shown"] for s in sug)
    assert "suggestions" not in rows["g0"]["meta"]["annotation"]
    with pytest.raises(InputError):
        svc.set_assists("p", "suggestion", [("no-such-item", 0, "x", {"harmful": True})])


def test_prelabel_with_a_judge(tmp_path: Path):
    svc = _svc(tmp_path)
    svc.create_project("j", policy=POLICY, policy_ref="default", task="response-label", records=_recs(3), overlap=1)
    res = prelabel(svc, "j", judge="harm")
    assert res.source == "judge:harm" and res.suggested == 3 and res.skipped == {}
    assert set(svc.suggestion("j", "r0")["values"]) >= {"harmful"}  # type: ignore[index]
    # a vendor batch file shows no suggestion: its labels are left out of the experiment
    svc.add_user("v1", "pw-v1-secret", "annotator")
    a = svc.next_item("j", "v1")
    assert a is not None and a.suggestion_arm in ("shown", "hidden")
    lab = svc.submit("j", "v1", a.item_id, OK, source="import:batch.csv")
    assert lab.suggestion_arm is None and lab.suggestion is None
    with pytest.raises(InputError, match="unknown judge"):
        prelabel(svc, "j", judge="no-such-judge")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    svc = _svc(tmp_path_factory.mktemp("anchoring"))
    out = {}
    for name, anchoring in (("anchoring", 0.6), ("independent", 0.0)):
        sim = simulate_anchoring(svc, name, anchoring=anchoring, n_items=80, n_annotators=4, seed=3)
        out[name] = (sim, anchoring_report(svc, name, reference=sim.truth))
    return svc, out


def test_the_report_detects_anchoring_and_not_independence(simulated):
    _, out = simulated
    _, anch = out["anchoring"]
    _, ind = out["independent"]
    a, i = anch["fields"]["intent"], ind["fields"]["intent"]
    assert anch["labels"] == {"shown": 80, "hidden": 80}
    assert a["effect"]["detected"] and a["effect"]["ci"][0] > 0.05 and a["effect"]["diff"] > 0.15
    assert not i["effect"]["detected"] and i["effect"]["ci"][0] < 0 < i["effect"]["ci"][1]
    # anchoring on a 70%-accurate model costs accuracy in the shown arm; independence costs nothing
    assert a["accuracy"]["shown"]["rate"] < a["accuracy"]["hidden"]["rate"]
    assert abs(i["accuracy_diff"]["diff"]) < 0.1
    assert "DETECTED" in format_report(anch) and "(not detected)" in format_report(ind)


def test_default_reference_is_leave_one_out_hidden_majority(simulated):
    svc, _ = simulated
    rep = anchoring_report(svc, "anchoring")
    acc = rep["fields"]["intent"]["accuracy"]
    # overlap 2: a shown label has one hidden label beside it to compare with; a hidden one has none
    assert acc["shown"]["n"] == 80 and acc["hidden"]["n"] == 0
    assert rep["reference"].startswith("adjudication")


def test_cluster_bootstrap():
    rows = [(f"a{j}", arm, (arm == "shown") or (k % 2 == 0)) for j in range(6) for arm in ("shown", "hidden")
            for k in range(10)]
    lo, hi = cluster_bootstrap(rows)  # type: ignore[misc]
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    assert cluster_bootstrap([("a", "shown", True)]) is None


def test_cli_anchoring_and_prelabel(workspace: Path):
    from redline.workspace import Workspace

    svc = Annotations(Workspace.default().db)
    sim = simulate_anchoring(svc, "cli", anchoring=0.6, n_items=16, n_annotators=2, seed=1)
    assert sim.labels == 32
    r = invoke("annotate", "anchoring", "cli", "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["labels"] == {"shown": 16, "hidden": 16} and "intent" in got["fields"]
    r = invoke("annotate", "anchoring", "cli")
    assert r.exit_code == 0 and "anchoring effect (shown - hidden)" in r.output
    r = invoke("annotate", "prelabel", "cli")  # simulated items have no meta.suggestion: counted
    assert r.exit_code == 0 and "0 item(s) got a suggestion" in r.output and "16 no meta.suggestion" in r.output
