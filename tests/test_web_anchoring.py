"""The anchoring experiment in the browser (Chromium): the model's suggestion is on the page in
the shown arm only, never on a gold item; the label records the arm; the dashboard reports the
experiment; a revise item opens with the model's draft; critique flags are on the queue page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._web import PASSWORD, Server, browser, browser_login, seed, workspace

pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian chromium not installed at /usr/bin/chromium", allow_module_level=True)


def test_suggestion_shown_in_one_arm_only(tmp_path: Path):
    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    recs = [Record.model_validate({"id": "s1", "prompt": "How do I report a threat I received online?",
                                   "category": "harassment", "meta": {"suggestion": {"intent": "benign"}}})]
    gold = [(Record.model_validate({"id": "g1", "prompt": "Tell me a joke about cats.", "category": "harassment",
                                    "meta": {"suggestion": {"intent": "harmful"}}}),
             {"category": "harassment", "intent": "benign"})]
    seed(svc, recs=recs, overlap=2, gold=gold, gold_rate=0.0)
    from redline.annotate.suggestions import prelabel

    assert prelabel(svc, "p1").suggested == 2
    # rev-sft: a revise project whose item has a model draft; a critique flag on p1
    from redline.policy import load_policy

    svc.create_project("rv", policy=load_policy("default"), policy_ref="default", task="revise", overlap=1,
                       records=[Record.model_validate({"id": "d1", "prompt": "I feel hopeless lately.",
                                                       "category": "self_harm"})])
    svc.set_assists("rv", "draft", [("d1", 0, "openai:drafter", {"text": "I'm sorry you're feeling this way."})])
    svc.set_assists("p1", "critique", [("s1", 0, "openai:critic", {"flag": True, "field": "intent",
                                                                  "reason": "<b>check the intent</b>"})])
    srv = Server(url, tmp_path / "server.log")
    try:
        with pw.sync_playwright() as play:
            b = browser(play)
            seen = {}
            for user in ("a1", "b1"):
                page = browser_login(b.new_context(), srv.base, user)
                page.goto(srv.base + "/p/p1/annotate")
                assert page.locator("#item-id").inner_text() == "s1"
                seen[user] = page.locator("#suggestion").count()
                if seen[user]:
                    assert "benign" in page.locator("#suggestion").inner_text()
                page.locator("label.opt", has=page.locator("input[name='category'][value='harassment']")).click()
                page.locator("label.opt", has=page.locator("input[name='intent'][value='benign']")).click()
                with page.expect_navigation():
                    page.click("#submit")
            assert sorted(seen.values()) == [0, 1]  # one arm each
            arms = {lb.username: lb.suggestion_arm for lb in svc.labels("p1")}
            assert {arms["a1"], arms["b1"]} == {"shown", "hidden"}
            assert {u for u, n in seen.items() if n} == {u for u, a in arms.items() if a == "shown"}
            # (gold items never get an arm: tests/test_annotate_anchoring.py)
            # the dashboard reports the experiment; the queue lists the critique flag, escaped
            page = browser_login(b.new_context(), srv.base, "rev")
            page.goto(srv.base + "/p/p1/dashboard")
            assert page.locator("#dash-anchoring tr[data-field='intent']").count() == 1
            assert "flagged by the model critique" in page.locator("#critique-open").inner_text()
            page.goto(srv.base + "/p/p1/queue")
            assert "<b>check the intent</b>" in page.locator("#critique-flags").inner_text()
            page.goto(srv.base + "/p/p1/review/s1")
            assert "<b>check the intent</b>" in page.locator("#critique").inner_text()  # escaped
            assert page.locator("#annotations").inner_text().count("shown") == 1
            # a revise item opens with the draft in the response box
            svc.add_user("w", PASSWORD, "annotator")
            page = browser_login(b.new_context(), srv.base, "w")
            page.goto(srv.base + "/p/rv/annotate")
            assert page.locator("textarea[name='response']").input_value() == "I'm sorry you're feeling this way."
            assert page.locator("#draft-note").count() == 1
            page.fill("textarea[name='response']", "I'm sorry you're feeling this way. You are not alone.")
            page.fill("textarea[name='reason']", "added reassurance")
            with page.expect_navigation():
                page.click("#submit")
            lab = svc.labels("rv")[0]
            assert lab.values["edit_distance"] == len(" You are not alone.") and lab.values["reason"] == "added reassurance"
    finally:
        srv.stop()
