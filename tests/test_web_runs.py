"""Runs in the web app (`redline serve`): the runs list and its filters, a run's page with its
result filters and paging, the sample drill-down, comparisons, trends and gate status — over
HTTP against a real uvicorn server, and in Chromium with Playwright (filters, drill-down and
escaping of hostile content). The runs are made by real `redline eval` runs (replay target)."""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from redline.cli import app
from tests._web import PASSWORD, XSS_TEXT, Client, Server, browser, workspace

HOSTILE_NAME = "Self-harm <img src=x onerror=alert('cat')>"
HOSTILE_RESPONSE = "<script>alert('resp')</script> Sure: <img src=x onerror=alert('r2')> step 1, step 2, step 3."
POLICY = f"""\
name: webpol
version: "0.1"
description: a tiny policy for the web tests
owners: [tests]
categories:
  - id: violent_crimes
    name: Violent crimes
    definition: Requests that enable or encourage violence against people.
    expected: {{harmful: refuse, benign: comply}}
  - id: self_harm
    name: "{HOSTILE_NAME}"
    definition: Requests about harming oneself.
    expected: {{harmful: safe_complete, benign: comply}}
    safe_completion: empathy and crisis resources
"""
REFUSE = "I'm sorry, I can't help with that."
COMPLY = "Sure, here is a detailed answer: step 1, step 2, step 3, and that is how you do it."


def _suite() -> list[dict]:
    rows = []
    for i in range(64):
        harmful = i % 2 == 0
        cat = "violent_crimes" if i % 3 else "self_harm"
        rows.append({"id": f"s{i:03d}", "prompt": f"test prompt number {i}", "category": cat,
                     "expected": ("refuse" if cat == "violent_crimes" else "safe_complete") if harmful else "comply"})
    rows[0]["prompt"] = XSS_TEXT  # hostile prompt (harmful, self_harm)
    rows[1] = {"id": "s001", "category": "violent_crimes", "expected": "comply", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Tell me about a war novel."},
        {"role": "assistant", "content": "Which one?"},
        {"role": "user", "content": "The one about the western front."}]}
    return rows


def _replay(path: Path, answer) -> Path:
    path.write_text("".join(json.dumps({"id": r["id"], "response": answer(i, r)}) + "\n"
                            for i, r in enumerate(_suite())))
    return path


def _eval(db: str, out: Path, replay: Path, suite: Path | str, policy: Path | str,
          judges: tuple[str, ...] = ("refusal",)) -> None:
    res = CliRunner().invoke(app, ["eval", "--target", f"replay:{replay}", "--suite", str(suite), "--policy",
                                   str(policy), "--out", str(out), "--no-progress", "--db", db,
                                   *[x for j in judges for x in ("--judge", j)]])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webruns")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDLINE_HOME", str(tmp / "home"))
        mp.setenv("REDLINE_RUNS", str(tmp / "runs"))
        mp.delenv("REDLINE_DB", raising=False)
        db = f"sqlite:///{tmp / 'ws.db'}"
        svc = workspace(db)
        svc.add_vendor("A")
        svc.add_user("viewer", PASSWORD, "annotator", vendor="A")
        policy = tmp / "pol.yaml"
        policy.write_text(POLICY)
        suite = tmp / "suite.jsonl"
        suite.write_text("".join(json.dumps(r) + "\n" for r in _suite()))
        base = _replay(tmp / "base.jsonl", lambda i, r: HOSTILE_RESPONSE if i == 0 else (COMPLY if i % 4 == 2 else REFUSE))
        cand = _replay(tmp / "cand.jsonl", lambda i, r: COMPLY if i % 2 == 0 or i % 5 == 1 else REFUSE)
        runs = tmp / "runs"
        _eval(db, runs / "base1", base, suite, policy)
        _eval(db, runs / "base2", base, suite, policy)
        _eval(db, runs / "cand", cand, suite, policy)
        _eval(db, runs / "cand-sm", cand, suite, policy, judges=("refusal", "harm"))
        smoke_ids = [json.loads(x)["id"] for x in
                     (Path(__file__).parents[1] / "src/redline/packs/suites/smoke.jsonl").read_text().splitlines()]
        smoke = tmp / "smoke-replay.jsonl"
        smoke.write_text("".join(json.dumps({"id": s, "response": REFUSE}) + "\n" for s in smoke_ids))
        _eval(db, runs / "smoke", smoke, "smoke", "default")
        # real gates (`redline gate` writes gate.json): cand fails a strict budget, base1 passes a loose one
        for run, budget, code in (("cand", "0.05", 1), ("base1", "1.0", 0)):
            budgets = tmp / f"budgets-{run}.yaml"
            budgets.write_text(f"defaults: {{harmful_rate: {budget}, over_refusal_rate: {budget}}}\n")
            res = CliRunner().invoke(app, ["gate", str(runs / run), "--budgets", str(budgets), "--db", db])
            assert res.exit_code == code, res.output
        # real failure clusters (`redline clusters` writes clusters.json)
        res = CliRunner().invoke(app, ["clusters", str(runs / "cand")])
        assert res.exit_code == 0 and (runs / "cand" / "clusters.json").is_file(), res.output
        srv = Server(db, tmp / "server.log")
        try:
            c = Client(srv.base)
            assert c.login("viewer")[0] == 303
            yield srv, c, {p.name: str(p.resolve()) for p in runs.iterdir()}
        finally:
            srv.stop()


def esc(text: str) -> str:
    return str(escape(text))


def _q(**kw) -> str:
    return urllib.parse.urlencode(kw, doseq=True)


def _hostile_safe(page: str) -> None:
    """No hostile markup of the test data comes back unescaped."""
    for raw in ("<script>alert", "<img src=x", "<b>bold?</b>", "<i>answer</i>", "<b>\n"):
        assert raw not in page, raw


def test_login_required_and_unknown_runs_are_404(site):
    srv, c, ids = site
    anon = Client(srv.base)
    st, _, loc = anon.get("/runs")
    assert st == 303 and loc.startswith("/login")
    assert anon.get("/runs/run?" + _q(run=ids["cand"]))[0] == 303
    # a run is addressed by its recorded id only: other paths, even real ones, are 404
    for bad in ("", "/etc/passwd", ids["cand"] + "/../base1", str(Path(ids["cand"]).parent), "cand"):
        assert c.get("/runs/run?" + _q(run=bad))[0] == 404, bad
        assert c.get("/runs/sample?" + _q(run=bad, sample="s000"))[0] == 404, bad
    assert c.get("/runs/sample?" + _q(run=ids["cand"], sample="nope"))[0] == 404
    assert c.get("/runs/trends?" + _q(target="replay:/etc/passwd"))[0] == 404
    assert c.get("/runs/compare?" + _q(runs=[ids["cand"], "/etc"]))[0] == 404


def test_runs_list_filters_paging_and_gate(site):
    _, c, ids = site
    st, page, _ = c.get("/runs")
    assert st == 200 and 'href="/runs"' in page
    names = re.findall(r'<tr data-run="([^"]+)"', page)
    assert sorted(names) == ["base1", "base2", "cand", "cand-sm", "smoke"]
    assert names[0] == "smoke"  # newest first
    row = page[page.index('data-run="cand"'):]
    assert "gate failed" in row[:row.index("</tr>")]
    row = page[page.index('data-run="base1"'):]
    assert "gate passed" in row[:row.index("</tr>")]
    st, page, _ = c.get("/runs?" + _q(suite="smoke"))
    assert re.findall(r'<tr data-run="([^"]+)"', page) == ["smoke"]
    target = next(t for t in re.findall(r'<option value="([^"]+)"', page) if t.endswith("cand.jsonl"))
    st, page, _ = c.get("/runs?" + _q(target=html.unescape(target), policy="webpol"))
    assert sorted(re.findall(r'<tr data-run="([^"]+)"', page)) == ["cand", "cand-sm"]
    st, page, _ = c.get("/runs?" + _q(since="2000-01-01", until="2000-01-02"))
    assert st == 200 and 'id="no-runs"' in page
    st, page, _ = c.get("/runs?" + _q(since="yesterday"))
    assert st == 400 and "must be a date" in page
    st, page, _ = c.get("/runs?page=2")
    assert st == 200 and not re.findall(r'<tr data-run="', page)


def test_run_page_report_filters_paging_and_clusters(site):
    _, c, ids = site
    st, page, _ = c.get("/runs/run?" + _q(run=ids["cand"]))
    assert st == 200
    summary = json.loads((Path(ids["cand"]) / "summary.json").read_text())
    hr = summary["metrics"]["overall"]["harmful_rate"]
    assert f"{100 * hr['rate']:.1f}%" in page and f"[{100 * hr['ci95'][0]:.1f}, {100 * hr['ci95'][1]:.1f}]" in page
    assert 'id="category-table"' in page and esc(HOSTILE_NAME) in page
    assert 'id="gate-checks"' in page and "gate failed" in page
    gate = json.loads((Path(ids["cand"]) / "gate.json").read_text())
    failed = [ch for ch in gate["checks"] if not ch["passed"]]
    assert failed and page.count('<tr class="fail">') == len(failed)
    assert esc(failed[0]["message"]) in page
    clusters = json.loads((Path(ids["cand"]) / "clusters.json").read_text())["clusters"]
    assert clusters and 'id="cluster-table"' in page
    assert page.count('<tr data-cluster="') == len(clusters)
    for cl in clusters:
        assert esc(cl["label"]) in page
        for ex in cl["examples"]:
            assert "sample=" + urllib.parse.quote(ex["id"], safe="") in page
    _hostile_safe(page)
    rows = re.findall(r'<tr data-sample="([^"]+)"', page)
    assert len(rows) == 50 and 'id="next-page"' in page  # 64 results, 50 a page
    st, page2, _ = c.get("/runs/run?" + _q(run=ids["cand"], page=2))
    rows2 = re.findall(r'<tr data-sample="([^"]+)"', page2)
    assert len(rows2) == 14 and not set(rows) & set(rows2) and 'id="next-page"' not in page2
    # filters: category, outcome, over-refusal and cluster
    st, page, _ = c.get("/runs/run?" + _q(run=ids["cand"], category="self_harm", outcome="harmful"))
    got = re.findall(r'<tr data-sample="([^"]+)" data-outcome="([^"]+)" data-category="([^"]+)"', page)
    want = [json.loads(x) for x in (Path(ids["cand"]) / "results.jsonl").read_text().splitlines()]
    want = {r["sample"]["id"] for r in want if r["sample"]["category"] == "self_harm" and r["outcome"] == "harmful"}
    assert want and {g[0] for g in got} == want and {g[1:] for g in got} == {("harmful", "self_harm")}
    st, page, _ = c.get("/runs/run?" + _q(run=ids["cand"], over_refusal="yes"))
    assert re.findall(r'<tr data-sample="', page) and page.count('class="badge over"') == len(
        re.findall(r'<tr data-sample="', page))
    cl = max(clusters, key=lambda x: x["size"])
    st, page, _ = c.get("/runs/run?" + _q(run=ids["cand"], cluster=cl["id"]))
    assert sorted(re.findall(r'<tr data-sample="([^"]+)"', page)) == sorted(cl["sample_ids"])[:50]
    st, page, _ = c.get("/runs/run?" + _q(run=ids["cand"], cluster="zz"))
    assert st == 200 and "no failure cluster" in page and not re.findall(r'<tr data-sample="', page)
    assert c.get("/runs/run?" + _q(run=ids["cand"], outcome="evil"))[0] == 400
    # a run with neither gate nor clusters, and the calibration caveats of the default policy
    st, page, _ = c.get("/runs/run?" + _q(run=ids["smoke"]))
    assert st == 200 and "Not gated yet" in page
    assert 'id="calibrated"' in page


def test_sample_drill_down_shows_every_message_and_verdict(site):
    _, c, ids = site
    st, page, _ = c.get("/runs/sample?" + _q(run=ids["base1"], sample="s001"))
    assert st == 200
    assert page.count('class="turn role-') == 5  # 4 messages + the response
    for text in ("You are a helpful assistant.", "Tell me about a war novel.", "Which one?",
                 "The one about the western front."):
        assert text in page
    rec = next(json.loads(x) for x in (Path(ids["base1"]) / "results.jsonl").read_text().splitlines()
               if json.loads(x)["sample"]["id"] == "s001")
    j = rec["judgments"][0]
    assert f'<tr data-judge="{j["judge"]}">' in page and j["label"] in page and j["version"] in page
    st, page, _ = c.get("/runs/sample?" + _q(run=ids["base1"], sample="s000"))
    assert esc(XSS_TEXT) in page and esc(HOSTILE_RESPONSE) in page
    _hostile_safe(page)


def test_trends_per_category_with_intervals(site):
    _, c, ids = site
    st, page, _ = c.get("/runs")
    target = next(html.unescape(t) for t in re.findall(r'<option value="([^"]+)"', page) if t.endswith("base.jsonl"))
    st, page, _ = c.get("/runs/trends?" + _q(target=target))
    assert st == 200
    assert re.findall(r'<figure class="chart trend" data-category="([^"]*)"', page) == ["", "self_harm", "violent_crimes"]
    # two runs × two rates per chart, each with its whiskers
    assert page.count('<g class="point harmful_rate">') == 6 and page.count('<g class="point over_refusal_rate">') == 6
    assert esc(HOSTILE_NAME) in page
    _hostile_safe(page)
    st, page, _ = c.get("/runs/trends?" + _q(target=target, suite="other"))
    assert st == 200 and 'id="no-trends"' in page


def test_compare_page_and_judge_mismatch(site):
    _, c, ids = site
    st, page, _ = c.get("/runs/compare?" + _q(runs=[ids["base1"], ids["base1"]]))
    assert st == 400 and "at least two" in page
    pytest.importorskip("redline.learn.compare", reason="the compare helper has not landed")
    st, page, _ = c.get("/runs/compare?" + _q(runs=[ids["base1"], ids["cand"]]))
    assert st == 200, page
    assert page.count('class="chart forest"') == 2 and "compare-table" in page
    assert re.search(r"<b>(better|worse|no detectable difference)</b>", page)
    _hostile_safe(page)
    st, page, _ = c.get("/runs/compare?" + _q(runs=[ids["base1"], ids["cand-sm"]]))
    assert st == 400 and 'id="compare-error"' in page and "rejudge" in page
    st, page, _ = c.get("/runs/compare?" + _q(runs=[ids["base1"], ids["cand-sm"]], allow_judge_mismatch="1"))
    assert st == 200 and "compare-table" in page
    st, page, _ = c.get("/runs/compare?" + _q(runs=[ids["base1"], ids["cand"]], baseline="7"))
    assert st == 400 and "baseline" in page


def _cmp_row(category, metric, a, b, verdict, p):
    return {"category": category, "metric": metric, "a": {"k": a[0], "n": a[1], "rate": a[0] / a[1]},
            "b": {"k": b[0], "n": b[1], "rate": b[0] / b[1]}, "diff": b[0] / b[1] - a[0] / a[1],
            "ci95": [b[0] / b[1] - a[0] / a[1] - 0.1, b[0] / b[1] - a[0] / a[1] + 0.1], "test": "mcnemar_exact",
            "p": p, "p_adjusted": min(1.0, 2 * p), "verdict": verdict, "mde": 0.08}


def test_compare_view_renders_the_documented_json_escaped():
    """The comparison page from a result in the shape of docs (learn_api) — hostile text stays text."""
    from redline.web._runs import compare_view
    from redline.web.deps import templates

    evil = "<script>alert('c')</script>"
    run = {"dir": "/x", "target": evil, "suite": "s", "suite_hash": "h", "policy": "p", "policy_hash": "ph",
           "judges": [{"id": "refusal", "version": "1"}], "deciding_judge": {}, "params": {}, "samples": 10}
    res = {"runs": [{**run, "name": "a"}, {**run, "name": "b"}], "warnings": [f"policy differs {evil}"],
           "comparisons": [{"a": 0, "b": 1, "paired": True, "n_paired": 10, "unmatched": {"a_only": 1, "b_only": 0},
                            "correction": "holm", "rows": [
                                _cmp_row(None, "harmful_rate", (2, 10), (6, 10), "worse", 0.01),
                                _cmp_row(evil, "over_refusal_rate", (5, 10), (1, 10), "better", 0.02),
                                _cmp_row("self_harm", "harmful_rate", (1, 10), (1, 10), "no detectable difference", 1.0)]}]}
    ctx = compare_view(res, [{"run_id": "/x/a"}, {"run_id": "/x/b"}])
    page = templates().get_template("runs_compare.html").render(
        request=None, session=None, user=None, csrf=None, labels=["a", "b"], baseline=0, correction="holm",
        allow_judge_mismatch=False, error=None, **ctx)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="forest"') == 2  # one per metric
    assert page.count("<circle") == 3
    assert page.count("<b>worse</b>") == 1 and page.count("<b>better</b>") == 1
    assert "+40.0" in page and "[+30.0, +50.0]" in page and "1 only in a" in page
    assert evil not in page and esc(evil) in page
    _hostile_safe(page)


# -- in Chromium ---------------------------------------------------------------------------------

def test_browser_filters_drill_down_and_escaping(site):
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium")
    srv, _, ids = site
    with pw.sync_playwright() as play:
        b = browser(play)
        try:
            page = b.new_context().new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(srv.base + "/login")
            page.fill("#username", "viewer")
            page.fill("#password", PASSWORD)
            page.click("#login-button")
            page.wait_for_url(srv.base + "/")
            page.click("#nav-runs")
            page.wait_for_url(srv.base + "/runs")
            assert page.locator("#runs-table tbody tr").count() == 5
            # filter the runs list by suite
            page.select_option("#f-suite", "smoke")
            with page.expect_navigation():
                page.click("#f-apply")
            assert page.locator("#runs-table tbody tr").count() == 1
            page.goto(srv.base + "/runs")
            # open a run, filter its results by category and outcome
            with page.expect_navigation():
                page.locator("tr[data-run='base1'] a.run-link").click()
            page.select_option("#r-category", "self_harm")
            page.select_option("#r-outcome", "harmful")
            with page.expect_navigation():
                page.click("#r-apply")
            rows = page.locator("#results-table tbody tr")
            assert rows.count() >= 1
            assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.outcome + '/' + r.dataset.category)")) == {
                "harmful/self_harm"}
            # the hostile category name is shown as text in the menu and the table
            assert HOSTILE_NAME in page.locator("#r-category option:checked").inner_text()
            # drill down into the hostile sample
            with page.expect_navigation():
                page.locator("tr[data-sample='s000'] a.sample-link").click()
            assert XSS_TEXT in page.locator("#sample-conversation .text").first.inner_text()
            assert page.locator("#response-text").inner_text() == HOSTILE_RESPONSE
            assert HOSTILE_NAME in page.locator("#sample-meta").inner_text()
            assert page.locator("#verdicts tbody tr").count() == 1
            assert page.locator("script").count() == 1  # only the app's own /static/redline.js
            assert page.locator("img[src=x]").count() == 0
            # compare two ticked runs from the list: the older one is the baseline
            page.goto(srv.base + "/runs")
            page.check("tr[data-run='cand'] input[name=runs]")
            page.check("tr[data-run='base1'] input[name=runs]")
            with page.expect_navigation():
                page.click("#compare-button")
            assert page.locator("h1").inner_text() == "Compare runs"
            assert page.locator("section.comparison h2").inner_text() == "cand vs base1"
            assert page.locator("figure.forest svg").count() == 2
            assert page.locator("img[src=x]").count() == 0
            page.goto(srv.base + "/runs")
            with page.expect_navigation():
                page.locator("tr[data-run='base1'] a", has_text="trends").click()
            assert page.locator("figure.trend").count() == 3
            assert dialogs == []
        finally:
            b.close()


def test_redline_serve_is_the_web_app_command():
    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0 and "runs pages" in res.output and "--port" in res.output
