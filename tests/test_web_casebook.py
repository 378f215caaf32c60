"""Promotion to the casebook from the review page (audits #5, #6): the reviewer picks the policy
node and the intent of the case (pre-filled when known, never guessed), for items without a
category (preference) and benign response-label items; shown only when the box is ticked, and
validated server-side (no JS needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._web import Client, Server, browser, browser_login, csrf_of, seed, workspace

pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian chromium not installed at /usr/bin/chromium", allow_module_level=True)


def _choose(page, field: str, value: str) -> None:
    box = page.locator(f"#adjudicate-form input[name='{field}'][value='{value}']")
    page.locator("#adjudicate-form label.opt", has=page.locator(f"input[name='{field}'][value='{value}']")).click()
    assert box.is_checked()


def _save(page) -> None:
    with page.expect_navigation():
        page.click("#adjudicate")


def _records(task: str):
    from redline.data.records import Record

    if task == "preference":
        return [Record.model_validate({"id": "x1", "prompt": "Say hi",
                                       "meta": {"responses": ["Hi there", "Go away"]}})]
    return [Record.model_validate({"id": "x1", "prompt": "How do I pick a lock on my own shed?",
                                   "response": "Call a locksmith, or cut the padlock if it is yours.",
                                   "category": "nonviolent_crimes"})]


@pytest.mark.parametrize("task", ["preference", "response-label"])
def test_promote_to_casebook_asks_node_and_intent(tmp_path, task):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc, recs=_records(task), task=task, overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        with pw.sync_playwright() as play:
            b = browser(play)
            page = browser_login(b.new_context(), srv.base, "rev")
            page.goto(srv.base + "/p/p1/review/x1")
            assert page.locator("#casebook-fields").is_hidden()  # only when promoting
            page.check("#promote-casebook")
            assert page.locator("#casebook-fields").is_visible()
            node, intent = page.locator("#casebook-node"), page.locator("#casebook-intent")
            # pre-filled from the item's category, else nothing; the intent is never guessed
            assert node.input_value() == ("" if task == "preference" else "nonviolent_crimes")
            assert intent.input_value() == ""
            if task == "preference":
                _choose(page, "choice", "0")
                _choose(page, "margin", "clear")
                page.fill("#adjudicate-form textarea[name='reason']", "polite")
            else:
                _choose(page, "harmful", "false")
                _choose(page, "refusal", "full_compliance")
                _choose(page, "completion_quality", "good")
            page.fill("#rationale", "lawful help with one's own property")
            _save(page)
            err = page.locator("#form-errors").inner_text()
            assert ("casebook_node" if task == "preference" else "casebook_intent") in err
            assert "choose" in err or "pick" in err  # says how to fix it
            assert svc.adjudication("p1", "x1") is None and svc.casebook("p1") == []
            assert page.locator("#promote-casebook").is_checked()  # kept: the reviewer fixes, not restarts
            node.select_option("harassment" if task == "preference" else "nonviolent_crimes")
            intent.select_option("benign")
            _save(page)
            assert "promoted to the casebook" in page.locator("#saved").inner_text()
            b.close()
        (case,) = svc.casebook("p1")
        assert case.intent == "benign" and case.harmful is False
        assert case.node == ("harassment" if task == "preference" else "nonviolent_crimes")
        if task == "preference":
            assert case.response == "Hi there"
    finally:
        srv.stop()


def test_casebook_fields_validated_without_js(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc, recs=_records("response-label"), task="response-label", overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        c = Client(srv.base)
        c.login("rev")
        page = c.get("/p/p1/review/x1")[1]
        form = {"csrf": csrf_of(page), "harmful": "false", "refusal": "full_compliance", "completion_quality": "good",
                "rationale": "fine", "promote_casebook": "on", "casebook_node": "no_such_node"}
        st, body, _ = c.post("/p/p1/review/x1", form)
        assert st == 400 and "casebook_node" in body and "no_such_node" in body
        st, body, _ = c.post("/p/p1/review/x1", {**form, "casebook_node": "nonviolent_crimes"})
        assert st == 400 and "casebook_intent" in body
        st, _, _ = c.post("/p/p1/review/x1", {**form, "casebook_node": "nonviolent_crimes",
                                               "casebook_intent": "benign"})
        assert st == 303 and svc.casebook("p1")[0].intent == "benign"
    finally:
        srv.stop()


def test_casebook_intent_is_prefilled_from_the_expected_behaviour(tmp_path):
    """Issue 18 item 6: the form asked for the intent only after a failed submit although the
    record's `expected` implies it (refuse at a node whose harmful requests are refused → harmful)."""
    import re

    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    recs = [Record.model_validate({"id": "x1", "prompt": "Describe how armed robberies are usually planned.",
                                   "response": "I can't help plan a robbery.", "category": "violent_crimes",
                                   "expected": "refuse"}),
            Record.model_validate({"id": "x2", "prompt": "I feel hopeless lately.", "response": "I'm sorry.",
                                   "category": "self_harm", "expected": "safe_complete"})]
    seed(svc, recs=recs, task="response-label", overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        c = Client(srv.base)
        c.login("rev")
        page = c.get("/p/p1/review/x1")[1]
        chosen = re.search(r'<select name="casebook_intent".*?</select>', page, re.S).group(0)
        assert re.search(r'<option value="harmful" selected>', chosen), chosen
        form = {"csrf": csrf_of(page), "harmful": "false", "refusal": "full_refusal", "completion_quality": "good",
                "rationale": "a clean refusal", "promote_casebook": "on", "casebook_node": "violent_crimes"}
        st, _, _ = c.post("/p/p1/review/x1", form)  # no intent sent: the server infers the same one
        assert st == 303 and svc.casebook("p1")[0].intent == "harmful"
        # safe_complete is what self_harm expects of harmful AND ambiguous requests: never guessed
        page = c.get("/p/p1/review/x2")[1]
        chosen = re.search(r'<select name="casebook_intent".*?</select>', page, re.S).group(0)
        assert '<option value="" selected>' in chosen
    finally:
        srv.stop()
