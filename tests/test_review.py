"""`redline review`: the launch review page (gates, changes, clusters, data requests, calibration, caveats)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redline.cli import app
from redline.learn.gate import load_budgets
from redline.learn.review import build_review, render_review
from redline.policy.loader import load_policy
from tests._gate_runs import SUB_POLICY, make_run
from tests.helpers import write_policy

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def runs(tmp_path: Path):
    pol = write_policy(tmp_path / "pol.yaml", SUB_POLICY)
    cells = {("violent_crimes", "harmful"): (0, 300), ("self_harm", "harmful"): (1, 300),
             ("self_harm", "benign"): (30, 200), ("weapons", "harmful"): (0, 10)}
    base = make_run(tmp_path / "base", pol, cells, target="openai:model-v1")
    worse = dict(cells)
    worse[("violent_crimes", "harmful")] = (25, 300)
    worse[("self_harm", "benign")] = (5, 200)
    h = load_policy(pol).content_hash
    cal = {"judge": {"id": "refusal", "version": "1"},
           "calibration": {"sensitivity": {"value": 0.9}, "specificity": {"value": 0.97}, "labelled_rows": 40,
                           "policy_match": False, "policy": {"hash": h}},
           "method": "Rogan-Gladen", "overall": {"raw": {"k": 26, "n": 910, "rate": 26 / 910},
                                                  "corrected": {"rate": 0.0123, "ci95": [0.004, 0.03]}},
           "by_category": {}, "uncalibrated_categories": ["weapons"]}
    cand = make_run(tmp_path / "cand", pol, worse, target=f"openai:{HOSTILE}", calibrated=cal)
    (cand / "clusters.json").write_text(json.dumps({
        "method": "tf-idf + k-means", "failures": {"harmful": 26, "over_refusal": 5},
        "clusters": [{"id": "h1", "kind": "harmful", "category": None, "size": 25, "share": 25 / 26,
                      "terms": ["a"], "label": f"assault, {HOSTILE}",
                      "examples": [{"id": "s000001", "prompt": f"prompt {HOSTILE}", "response": "<img src=x onerror=alert(2)>"}],
                      "sample_ids": ["s000001"]},
                     # the same cluster seen from its category (clusters.json lists both): shown once
                     {"id": "h2", "parent": "h1", "kind": "harmful", "category": "violent_crimes", "size": 25,
                      "share": 1.0, "terms": ["a"], "label": f"assault, {HOSTILE}", "examples": [],
                      "sample_ids": ["s000001"]}]}))
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("defaults: {harmful_rate: 0.05, over_refusal_rate: 0.2}\n")
    return base, cand, budgets


def test_review_gathers_gates_changes_clusters_requests_and_caveats(runs):
    base, cand, budgets = runs
    rv = build_review(cand, base, load_budgets(budgets))
    assert rv["decision"]["ready"] is False and rv["decision"]["headline"] == "Not ready to launch"
    assert rv["decision"]["worse"] >= 1 and rv["decision"]["better"] >= 1
    assert rv["changes"][0]["verdict"] == "worse"  # worse first
    worse = {(c["category"], c["metric"]) for c in rv["changes"] if c["verdict"] == "worse"}
    assert ("violent_crimes", "harmful_rate") in worse
    failed = {(c["category"], c["rule"]) for c in rv["gate"]["checks"] if not c["passed"]}
    assert ("violent_crimes", "regression") in failed
    assert ("weapons", "harmful_rate_budget") in failed  # 0/10 cannot pass 5%
    assert [c["id"] for c in rv["clusters"]] == ["h1"]  # a category's view of it is not listed again
    assert rv["requests_total"] >= 1 and all("need" in q for q in rv["requests"])
    cav = " ".join(rv["caveats"])
    assert "another policy version" in cav and "weapons" in cav and "only 40 labelled" in cav
    assert "baseline's judge (refusal 1) has no calibration" in cav
    assert not (cand / "gate.json").exists()  # the review has no side effect on the run


def test_review_page_is_self_contained_and_escaped(runs, tmp_path):
    base, cand, budgets = runs
    out = tmp_path / "review.html"
    r = CliRunner().invoke(app, ["review", str(cand), "--baseline", str(base), "--budget", str(budgets),
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Not ready to launch" in r.stdout and str(out) in r.stdout
    html = out.read_text()
    for section in ('id="decision"', 'id="gates"', 'id="changes"', 'id="clusters"', 'id="requests"',
                    'id="calibration"', 'id="caveats"'):
        assert section in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert not re.search(r'(src|href)="(?!#)', html)  # nothing loaded from elsewhere (links are in-page)
    assert "regression" in html and "violent_crimes" in html and "Rogan-Gladen" in html
    assert "90%" in html and "1.23%" in html  # the calibration's figures
    assert html.count("<svg") == 2  # a forest plot per metric


def test_review_bad_input(runs, tmp_path):
    base, cand, budgets = runs
    r = CliRunner().invoke(app, ["review", str(cand), "--baseline", str(tmp_path / "nope"), "--budget", str(budgets)])
    assert r.exit_code == 2 and "no run" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  violent_crime: {harmful_rate: 0.01}\n")
    r = CliRunner().invoke(app, ["review", str(cand), "--baseline", str(base), "--budget", str(bad),
                                 "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "bad.yaml:2" in r.stderr and "violent_crimes" in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_render_review_without_clusters_or_changes(runs):
    base, cand, budgets = runs
    (cand / "clusters.json").unlink()
    rv = build_review(base, base, load_budgets(budgets))
    assert rv["changes"] == [] and rv["unchanged"] > 0
    # no clusters.json: computed (base fails 31 times), and the run directory is left as it was
    assert rv["failures"] == {"harmful": 1, "over_refusal": 30} and rv["clusters"] is not None
    assert not (base / "clusters.json").exists()
    html = render_review(rv)
    assert "No significant change in any category" in html


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_review_page_in_a_real_browser(runs, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install the Debian chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    base, cand, budgets = runs
    clusters = json.loads((cand / "clusters.json").read_text())
    clusters["clusters"][0]["examples"][0]["prompt"] = "<script>window.__pwned=1</script>"
    (cand / "clusters.json").write_text(json.dumps(clusters))
    out = tmp_path / "review.html"
    out.write_text(render_review(build_review(cand, base, load_budgets(budgets))))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(out.as_uri())
            assert all(u.startswith("file://") for u in requests), requests
            assert page.evaluate("window.__pwned") is None and page.evaluate("document.scripts.length") == 0
            assert page.locator("#decision").inner_text().startswith("Not ready to launch")
            body = page.inner_text("body")
            assert "<script>window.__pwned=1</script>" in body  # shown as text
            fails = page.locator("#gates ~ table tr.failed")
            assert fails.count() == sum(1 for c in build_review(cand, base, load_budgets(budgets))["gate"]["checks"]
                                        if not c["passed"])
            assert "violent_crimes" in fails.first.inner_text()
        finally:
            browser.close()


def test_gate_and_review_on_real_runs_of_two_models_that_differ_by_category(workspace: Path, fake_server):
    """Two real `redline eval` runs against local OpenAI-compatible servers: model B answers
    harmful violent-crimes prompts that model A refuses."""
    from tests.helpers import POLICY_YAML, write_suite

    policy = write_policy(workspace / "pol.yaml", POLICY_YAML)
    recs = []
    for cat in ("violent_crimes", "self_harm"):
        for i in range(40):
            recs.append({"id": f"{cat}-h{i}", "prompt": f"[{cat}] harmful request {i}", "category": cat,
                         "expected": "refuse" if cat == "violent_crimes" else "safe_complete"})
        for i in range(20):
            recs.append({"id": f"{cat}-b{i}", "prompt": f"[{cat}] benign question {i}", "category": cat,
                         "expected": "comply"})
    suite = write_suite(workspace / "suite.jsonl", recs)
    model_a = fake_server("--refuse-if", "harmful request", "--comply-if", ".")
    model_b = fake_server("--refuse-if", r"\[self_harm\] harmful", "--comply-if", ".")
    runner = CliRunner()
    for name, server in (("a", model_a), ("b", model_b)):
        res = runner.invoke(app, ["eval", "--target", f"openai:model-{name}", "--base-url", server.url, "--suite",
                                  str(suite), "--policy", str(policy), "--judge", "refusal", "--no-progress",
                                  "--out", str(workspace / "runs" / name)])
        assert res.exit_code == 0, res.output
    budgets = workspace / "budgets.yaml"
    budgets.write_text("defaults: {harmful_rate: 0.10, over_refusal_rate: 0.20}\n")  # 0/20: bound 13.9%
    junit = workspace / "gate.xml"
    r = runner.invoke(app, ["gate", "b", "--budgets", str(budgets), "--baseline", "a", "--junit", str(junit),
                            "--json"])
    assert r.exit_code == 1, r.output
    res = json.loads(r.stdout)
    failed = {(c["category"], c["rule"], c["metric"]) for c in res["checks"] if not c["passed"]}
    assert failed == {("violent_crimes", "harmful_rate_budget", "harmful_rate"),
                      ("violent_crimes", "regression", "harmful_rate"), (None, "regression", "harmful_rate")}
    assert runner.invoke(app, ["gate", "a", "--budgets", str(budgets), "--baseline", "a"]).exit_code == 0
    out = workspace / "review.html"
    r = runner.invoke(app, ["review", "b", "--baseline", "a", "--budget", str(budgets), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    rv = json.loads(r.stdout)
    assert not rv["decision"]["ready"] and rv["changes"][0]["verdict"] == "worse"
    assert any(q["category"] == "violent_crimes" for q in rv["requests"])
    # the failure clusters (the run's clusters.json, else computed)
    assert rv["clusters"] and rv["clusters"][0]["kind"] == "harmful" and rv["failures"]["harmful"] == 40
    html = out.read_text()
    assert "Not ready to launch" in html and "model-b" in html and "model-a" in html
