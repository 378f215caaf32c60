"""The annotation web UI in a real browser (Debian chromium driven by Playwright) against a real
uvicorn server: keyboard labelling by two vendors, escaping of hostile item content, wellbeing
features, adjudication with promotion, the casebook panel and vendor isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._web import PASSWORD, XSS_TEXT, Server, browser, seed, workspace

pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian chromium not installed at /usr/bin/chromium", allow_module_level=True)


def _login(ctx, base: str, user: str):
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/")
    page.dialogs = dialogs  # type: ignore[attr-defined]
    return page


def _press_choice(page, field: str, value: str) -> None:
    """Press the shortcut shown on the button of ``field``=``value`` (read from the page)."""
    box = page.locator(f"input[name='{field}'][value='{value}']")
    key = box.get_attribute("data-key")
    assert key, f"no shortcut for {field}={value}"
    assert page.locator("label.opt", has=box).locator("kbd").inner_text() == key  # shown on the button
    page.keyboard.press(key)
    assert box.is_checked(), f"key {key!r} did not choose {field}={value}"


def _label(page, base: str, category: str, intent: str) -> str:
    item = page.locator("#item").get_attribute("data-item")
    _press_choice(page, "category", category)
    _press_choice(page, "intent", intent)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return item


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    yield url, svc, tmp_path


def test_full_flow_two_vendors_adjudication_casebook_and_isolation(site):
    url, svc, tmp = site
    seed(svc, settings={"blur_categories": ["violent_crimes"]})
    srv = Server(url, tmp / "server.log")
    try:
        with pw.sync_playwright() as play:
            b = browser(play)
            # -- vendor A's annotator labels with the keyboard -------------------------------
            a1 = _login(b.new_context(), srv.base, "a1")
            a1.goto(srv.base + "/p/p1/annotate")
            assert _label(a1, srv.base, "harassment", "harmful") == "r1"
            # r2 carries HTML/script: shown as text, never run, no element injected
            assert a1.locator("#item").get_attribute("data-item") == "r2"
            assert XSS_TEXT in a1.locator("#item .turn .text").first.inner_text()
            assert a1.locator("script").count() == 1  # only the app's own /static/redline.js
            assert a1.locator("img[src=x]").count() == 0 and a1.locator("b", has_text="bold?").count() == 0
            assert _label(a1, srv.base, "", "benign") == "r2"
            # r3: multi-turn with images, in a blurred category with a content warning
            assert a1.locator("#item").get_attribute("data-item") == "r3"
            roles = a1.locator("#item .turn .role").all_inner_texts()
            assert [r.split()[0].lower() for r in roles] == ["system", "user", "assistant", "user"]
            assert "violence" in a1.locator("#content-warning").inner_text().lower()
            assert "blurred" in (a1.locator("#content").get_attribute("class") or "")
            assert a1.evaluate("getComputedStyle(document.querySelector('#content .content-inner')).filter") \
                .startswith("blur")
            a1.keyboard.press("r")
            assert "blurred" not in (a1.locator("#content").get_attribute("class") or "")
            img = a1.locator("img.part-image")
            assert img.count() == 1 and img.get_attribute("src").startswith("data:image/png;base64,")
            assert a1.evaluate("(i) => i.naturalWidth", img.element_handle()) == 1
            assert "[image not shown: javascript:alert('u')]" in a1.locator("#item").inner_text()
            # guidelines + casebook one key away
            assert a1.locator("#guide").is_hidden()
            a1.keyboard.press("g")
            assert a1.locator("#guide").is_visible()
            assert "Violent" in a1.locator("#guide-node").inner_text()
            a1.keyboard.press("Escape")
            assert a1.locator("#guide").is_hidden()
            assert _label(a1, srv.base, "violent_crimes", "benign") == "r3"
            assert a1.dialogs == []
            got = {lab.item_id: lab.values for lab in svc.labels("p1", username="a1")}
            assert got["r1"]["category"] == "harassment" and got["r1"]["intent"] == "harmful"
            assert got["r2"]["category"] is None and got["r2"]["intent"] == "benign"
            assert got["r3"]["category"] == "violent_crimes"
            # -- vendor B's annotator disagrees on r1 ------------------------------------------
            b1 = _login(b.new_context(), srv.base, "b1")
            b1.goto(srv.base + "/p/p1/annotate")
            assert _label(b1, srv.base, "", "benign") == "r1"
            assert _label(b1, srv.base, "", "benign") == "r2"
            assert b1.dialogs == []
            # -- the in-house reviewer adjudicates r1 and promotes it --------------------------
            rev = _login(b.new_context(), srv.base, "rev")
            rev.goto(srv.base + "/p/p1/queue")
            row = rev.locator("#queue tr[data-item='r1']")
            assert row.count() == 1 and "disagreement" in row.inner_text()
            assert rev.locator("#queue tr[data-item='r2']").count() == 0  # a1 and b1 agree on r2
            with rev.expect_navigation():
                row.locator("a").click()
            heads = rev.locator("#annotations thead th").all_inner_texts()
            assert any("a1" in h for h in heads) and any("b1" in h for h in heads)
            assert "harassment" in rev.locator("#annotations").inner_text().lower()
            _press_choice(rev, "category", "harassment")
            _press_choice(rev, "intent", "benign")
            rationale = "Asking how to report a threat is help-seeking, not harassment intent."
            rev.fill("#rationale", rationale)
            rev.check("#promote-casebook")
            rev.check("#promote-gold")
            with rev.expect_navigation():
                rev.click("#adjudicate")
            assert "promoted to the casebook" in rev.locator("#saved").inner_text()
            adj = svc.adjudication("p1", "r1")
            assert adj.values["intent"] == "benign" and adj.promoted_casebook and adj.promoted_gold
            assert svc.item("p1", "r1", include_gold=True).is_gold is True
            assert [c.node for c in svc.casebook("p1")] == ["harassment"]
            # -- B's second annotator labels r4 and r5 outside the browser (r3 is full: a1 and
            # b1's open one; r4 is open for a1 already; nobody of A has seen r5) ----------------
            for want in ("r4", "r5"):
                assert svc.next_item("p1", "b2").item_id == want
                svc.submit("p1", "b2", want, {"category": None, "intent": "benign"})
            # -- A's manager sees A only -------------------------------------------------------
            mgr = _login(b.new_context(), srv.base, "mgrA")
            resp = mgr.goto(srv.base + "/p/p1/review/r5")  # labelled by B only
            assert resp.status == 404 and "Not found" in mgr.locator("h1").inner_text()
            resp = mgr.goto(srv.base + "/p/p1/review/r1")
            assert resp.status == 200
            assert "b1" not in mgr.locator("#annotations").inner_text()
            assert "gold" not in mgr.locator("h1").inner_text().lower()
            mgr.goto(srv.base + "/p/p1/dashboard")
            users = mgr.locator("#annotators tbody tr").evaluate_all("rs => rs.map(r => r.dataset.user)")
            assert "a1" in users and not {"b1", "b2"} & set(users)
            # a manager pauses its own vendor's annotators (and only those: B's are not listed)
            pause_for = mgr.locator("#annotators tr:has(button.pause)").evaluate_all(
                "rs => rs.map(r => r.dataset.user)")
            assert pause_for and set(pause_for) <= {"a1", "a2"}
            # -- A's second annotator finds the promoted case in the casebook panel of r6 -----
            a2 = _login(b.new_context(), srv.base, "a2")
            a2.goto(srv.base + "/p/p1/annotate")
            assert a2.locator("#casebook .case.promoted").count() == 0  # r5: another node
            assert _label(a2, srv.base, "weapons_cbrne", "ambiguous") == "r5"
            assert a2.locator("#item").get_attribute("data-item") == "r6"
            assert a2.locator("#guide").is_hidden()
            a2.keyboard.press("g")
            case = a2.locator("#casebook .case.promoted")
            assert case.count() == 1 and rationale in case.inner_text()
            assert "How do I report a threat" in case.inner_text()
            # -- the admin's dashboard: everyone, with pause buttons and a drift section -------
            adm = _login(b.new_context(), srv.base, "admin")
            adm.goto(srv.base + "/p/p1/dashboard")
            users = adm.locator("#annotators tbody tr").evaluate_all("rs => rs.map(r => r.dataset.user)")
            assert {"a1", "b1", "b2"} <= set(users)
            assert adm.locator("#annotators button.pause").count() == len(users)
            assert adm.locator("#dash-drift").count() == 1
            b.close()
    finally:
        srv.stop()


def test_break_reminder_exposure_budget_and_skip(site):
    url, svc, tmp = site
    seed(svc, overlap=1, settings={"exposure_budget": {"harassment": 1}, "break_every_minutes": 1})
    srv = Server(url, tmp / "server.log")
    try:
        with pw.sync_playwright() as play:
            b = browser(play)
            ctx = b.new_context()
            page = _login(ctx, srv.base, "a1")
            page.clock.install()
            page.goto(srv.base + "/p/p1/annotate")
            assert page.locator("#break").is_hidden()
            page.clock.fast_forward("01:05")
            page.locator("#break").wait_for(state="visible")
            page.click("#break button")
            assert page.locator("#break").is_hidden()
            assert _label(page, srv.base, "harassment", "harmful") == "r1"
            # harassment's budget (1 a day) is spent: only other categories come now
            assert "harassment" in page.locator("#budget").inner_text()
            assert page.locator("#item").get_attribute("data-item") == "r3"
            # skip with a reason, by keyboard
            page.keyboard.press("s")
            page.keyboard.type("too graphic for me today")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            skipped = [a for a in svc.assignments("p1", username="a1") if a.status == "skipped"]
            assert [(a.item_id, a.skip_reason) for a in skipped] == [("r3", "too graphic for me today")]
            assert page.locator("#item").get_attribute("data-item") == "r5"
            _label(page, srv.base, "weapons_cbrne", "ambiguous")
            assert page.locator("#no-items").is_visible() and page.locator("#budget").is_visible()
            assert page.locator("#progress").inner_text().startswith("You: 2 labelled, 1 skipped")
            assert page.dialogs == []
            b.close()
    finally:
        srv.stop()
