"""The ``rubric-score`` annotation task: the form from a rubric pack, validation, ordinal α per
criterion (checked against the ``krippendorff`` package), median consensus with its tie rules,
an end-to-end project with simulated annotators, and the web form in Chromium."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from redline.annotate.agreement import agreement_report, krippendorff_alpha
from redline.annotate.consensus import median_vote, run_consensus
from redline.annotate.schema import check_task_schema, task_fields, validate_values
from redline.errors import InputError
from redline.policy import load_pack, load_policy
from redline.policy.compile import annotation_schema
from tests.helpers import invoke

CRITERIA = ["correctness", "completeness", "clarity"]
ACCURACY = {"ann1": 0.9, "ann2": 0.85, "ann3": 0.8, "ann4": 0.75, "ann5": 0.7}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return annotation_schema(load_pack("reasoning-quality"))


def test_form_one_ordinal_field_per_criterion(schema: dict[str, Any]):
    fields = task_fields("rubric-score", schema)
    assert [f.name for f in fields] == [*CRITERIA, "reason"]
    for f in fields[:3]:
        assert f.type == "integer" and f.level == "ordinal" and f.required
        assert [o.value for o in f.options] == [1, 2, 3, 4] and [o.key for o in f.options] == ["1", "2", "3", "4"]
        assert all(o.help for o in f.options)  # the level descriptors
    assert fields[0].options[3].label == "4 correct"
    assert fields[3].required is False and fields[3].level == "none"


def test_validation_coerces_and_names_every_bad_field(schema: dict[str, Any]):
    got = validate_values("rubric-score", schema, {"correctness": "4", "completeness": 2, "clarity": "3"})
    assert got == {"correctness": 4, "completeness": 2, "clarity": 3, "reason": None}
    with pytest.raises(InputError) as e:
        validate_values("rubric-score", schema, {"correctness": "5", "clarity": "x", "depth": 1})
    probs = {p.where: p for p in e.value.problems}
    assert set(probs) == {"correctness", "completeness", "clarity", "depth"}
    assert probs["correctness"].fix == "choose one of: 1, 2, 3, 4"
    assert probs["completeness"].message == "missing" and probs["depth"].message == "unknown field"


def test_task_and_pack_kind_must_match(schema: dict[str, Any]):
    with pytest.raises(InputError) as e:
        check_task_schema("rubric-score", annotation_schema(load_policy("default")))
    assert "rubric" in (e.value.problems[0].fix or "")
    with pytest.raises(InputError):
        task_fields("prompt-label", schema)


def test_ordinal_alpha_matches_krippendorff_package():
    kd = pytest.importorskip("krippendorff")
    import numpy as np

    # Krippendorff (2011)'s example layout: 4 raters, 12 units, missing values, ordinal 1..5
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    ratings = [(u, r, v) for r, row in enumerate(data) for u, v in enumerate(row)]
    want = kd.alpha(reliability_data=np.array(data, dtype=float), level_of_measurement="ordinal")
    assert krippendorff_alpha(ratings, "ordinal") == pytest.approx(want, abs=1e-9)
    assert round(want, 3) == 0.815  # the value Krippendorff reports for this layout (ordinal)
    rep = agreement_report(ratings, "ordinal", n_boot=200, seed=1)
    assert rep["alpha"]["value"] == pytest.approx(want) and rep["alpha"]["ci"][0] < want < rep["alpha"]["ci"][1]


def test_median_consensus_and_tie_rules():
    r = [("a", "x", 3), ("a", "y", 3), ("a", "z", 4),  # median 3
         ("b", "x", 1), ("b", "y", 4), ("b", "z", 4), ("b", "w", 2),  # middle 2|4, 4 given more often
         ("c", "x", 2), ("c", "y", 3),  # middle 2|3, equally often: the lower one
         ("d", "x", 1), ("d", "y", 4), ("d", "z", 4)]  # majority and median agree: 4
    res = median_vote(r, classes=[1, 2, 3, 4])
    got = {i: (c.label, round(c.confidence, 3), c.tie) for i, c in res.items.items()}
    assert got == {"a": (3, 0.667, False), "b": (4, 0.5, True), "c": (2, 0.5, True), "d": (4, 0.667, False)}
    assert run_consensus("median", r).labels() == res.labels()
    # a median never lands on the extreme most raters are away from (majority would pick 1 here)
    assert median_vote([("e", "x", 1), ("e", "y", 1), ("e", "z", 3), ("e", "w", 4), ("e", "v", 4),
                        ("e", "u", 3)]).labels()["e"] == 3
    assert median_vote([]).items == {}


def _simulate(svc: Any, project: str, seed: int = 0) -> int:
    """Five annotators with known accuracy, taking turns: the reference score, else one level off
    (clipped) — the simulation of docs/annotation.md's worked example."""
    rng = random.Random(seed)
    n, busy = 0, True
    while busy:
        busy = False
        for u, acc in ACCURACY.items():
            a = svc.next_item(project, u)
            if a is None:
                continue
            busy = True
            ref = svc.item(project, a.item_id).record.meta["reference_scores"]
            vals: dict[str, Any] = {c: (v if rng.random() < acc else min(4, max(1, v + rng.choice((-1, 1)))))
                                    for c, v in ref.items()}
            vals["reason"] = "simulated"
            svc.submit(project, u, a.item_id, vals, duration_s=5.0)
            n += 1
    return n


def test_end_to_end_project_with_simulated_annotators(workspace: Path):
    kd = pytest.importorskip("krippendorff")
    import numpy as np

    from redline.annotate.exports import decide
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    r = invoke("policy", "data", "reasoning-quality", "-o", str(workspace / "items.jsonl"))
    assert r.exit_code == 0, r.output
    r = invoke("annotate", "create", "--policy", "reasoning-quality", "--data", str(workspace / "items.jsonl"),
               "--task", "rubric-score", "--name", "rq", "--overlap", "3", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["items"] == 24
    r = invoke("annotate", "create", "--policy", "default", "--data", str(workspace / "items.jsonl"),
               "--task", "rubric-score", "--name", "wrong")
    assert r.exit_code == 2 and "rubric-score needs a rubric pack" in r.output
    r = invoke("annotate", "set-policy", "rq", "--policy", "default")
    assert r.exit_code == 2 and "rubric-score needs a rubric pack" in r.output
    svc = Annotations(Workspace.default().db)
    for u in ACCURACY:
        svc.add_user(u, "a-long-password", "annotator")
    svc.add_user("rev", "a-long-password", "reviewer")
    assert _simulate(svc, "rq") == 72
    r = invoke("annotate", "agreement", "rq", "--json")
    assert r.exit_code == 0, r.output
    ag = json.loads(r.output)
    assert set(ag) == set(CRITERIA)
    labels = svc.labels("rq")
    items = sorted({lb.item_id for lb in labels})
    for c in CRITERIA:  # ordinal α per criterion, as the krippendorff package computes it
        assert ag[c]["level"] == "ordinal" and ag[c]["n_items"] == 24 and ag[c]["n_raters"] == 5
        m = np.full((len(ACCURACY), len(items)), np.nan)
        for lb in labels:
            m[list(ACCURACY).index(lb.username), items.index(lb.item_id)] = lb.values[c]
        want = kd.alpha(reliability_data=m, level_of_measurement="ordinal")
        assert ag[c]["alpha"]["value"] == pytest.approx(want, abs=1e-9)
        lo, hi = ag[c]["alpha"]["ci"]
        assert lo <= want <= hi
        assert 0.6 < want < 1.0  # mostly-accurate annotators, one level off otherwise
    # consensus: the median per criterion recovers the reference scores on most items
    decided, unlabelled = decide(svc, "rq", method="median")
    assert unlabelled == 0 and len(decided) == 24
    ref = {d.item_id: d.record.meta["reference_scores"] for d in decided}
    hits = sum(d.values[c] == ref[d.item_id][c] for d in decided for c in CRITERIA)
    assert hits == 67  # of 72 (seed 0; docs/annotation.md quotes it)
    r = invoke("annotate", "consensus", "rq", "--method", "median", "--json")
    assert r.exit_code == 0, r.output
    # adjudication wins over the consensus; exports carry the scores per criterion
    target = decided[0].item_id
    svc.adjudicate("rq", target, "rev", {"correctness": 1, "completeness": 1, "clarity": 1}, "test ruling")
    with pytest.raises(InputError):
        svc.adjudicate("rq", target, "rev", {"correctness": 9, "completeness": 1, "clarity": 1}, "bad")
    out = workspace / "labels.jsonl"
    r = invoke("annotate", "casebook", "rq", "--out", str(workspace / "cb.yaml"))
    assert r.exit_code == 2 and "scores with a rubric" in r.output
    r = invoke("annotate", "export", "rq", "--method", "median", "--out", str(out))
    assert r.exit_code == 0, r.output
    rows = {x["id"]: x for x in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert len(rows) == 24
    assert rows[target]["labels"] == {"correctness": 1, "completeness": 1, "clarity": 1}
    assert rows[target]["meta"]["annotation"]["method"] == "adjudicated"
    other = next(i for i in rows if i != target)
    assert set(rows[other]["labels"]) == set(CRITERIA)
    assert rows[other]["meta"]["annotation"]["method"] == "median"


def test_web_form_in_chromium(tmp_path: Path):
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium")
    from redline.data.records import Record
    from tests._web import PASSWORD, Server, browser, workspace

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    svc.add_user("a1", PASSWORD, "annotator")
    svc.add_user("rev", PASSWORD, "reviewer")
    recs = [Record.model_validate({"id": "q1", "prompt": "What is 2 + 2? <script>alert(1)</script>",
                                   "response": "2 + 2 = 4."})]
    svc.create_project("rq", policy=load_pack("reasoning-quality"), policy_ref="reasoning-quality",
                       task="rubric-score", records=recs, overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        with pw.sync_playwright() as play:
            b = browser(play)

            def login(user: str) -> Any:
                page = b.new_context().new_page()
                page.goto(srv.base + "/login")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("#login-button")
                page.wait_for_url(srv.base + "/")
                return page

            page = login("a1")
            page.goto(srv.base + "/p/rq/annotate")
            assert [page.locator(f"fieldset[data-field='{c}'] legend").inner_text().rstrip(" *")
                    for c in CRITERIA] == ["Correctness", "Completeness", "Clarity of reasoning steps"]
            assert page.locator("script").count() == 1  # the item's <script> is text
            # the keys 1-4 score the current criterion, then move on to the next
            for key in ("4", "3", "2"):
                page.keyboard.press(key)
            assert page.locator("input[name='correctness'][value='4']").is_checked()
            assert page.locator("input[name='completeness'][value='3']").is_checked()
            assert page.locator("input[name='clarity'][value='2']").is_checked()
            page.keyboard.press("g")
            assert "major error" in page.locator("#rubric-guide").inner_text()
            assert page.locator("#casebook .rubric-case").count() == 6  # the pack's worked cases
            page.keyboard.press("Escape")
            page.fill("textarea[name='reason']", "right, terse")
            with page.expect_navigation():
                page.click("#submit")
            # the reviewer adjudicates on the review page: the same per-criterion fields, and the
            # adjudication's own rationale (distinct from the label's `reason`)
            rev = login("rev")
            rev.goto(srv.base + "/p/rq/review/q1")
            assert "4 correct" in rev.locator("#annotations").inner_text()
            for c, v in zip(CRITERIA, ("4", "4", "3"), strict=True):
                rev.locator(f"#adjudicate-form input[name='{c}'][value='{v}']").check()
            rev.fill("#rationale", "the sum is shown, so complete")
            with rev.expect_navigation():
                rev.click("#adjudicate")
            b.close()
    finally:
        srv.stop()
    got = svc.labels("rq")
    assert len(got) == 1
    assert got[0].values == {"correctness": 4, "completeness": 3, "clarity": 2, "reason": "right, terse"}
    (adj,) = svc.adjudications("rq")
    assert adj.values["correctness"] == 4 and adj.values["completeness"] == 4 and adj.values["clarity"] == 3
    assert adj.rationale == "the sum is shown, so complete"
