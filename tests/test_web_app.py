"""The annotation web app over HTTP against a real uvicorn server on 127.0.0.1: login, sessions,
CSRF, rate limit, roles, vendor isolation, outdated labels and 20 concurrent annotators."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest

from tests._web import PASSWORD, Client, Server, csrf_of, item_of, raw_login, seed, workspace


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc)
    srv = Server(url, tmp_path / "server.log")
    yield srv, svc
    srv.stop()


def test_login_cookie_flags_csrf_and_logout(site):
    srv, _ = site
    c = Client(srv.base)
    st, _, loc = c.get("/")
    assert st == 303 and loc.startswith("/login")
    # the login form itself is CSRF-protected (double-submit cookie)
    assert c.post("/login", {"username": "a1", "password": PASSWORD})[0] == 403
    assert c.post("/login", {"csrf": "forged", "username": "a1", "password": PASSWORD})[0] == 403
    st, body, _ = c.login("a1", "wrong password")
    assert st == 401 and "Wrong username or password" in body
    st, _, loc = c.login("a1")
    assert st == 303 and loc == "/"
    resp = raw_login(srv.base, "a1")
    cookie = next(v for k, v in resp.getheaders() if k.lower() == "set-cookie" and "redline_session=" in v)
    low = cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "secure" not in low and "max-age=" in low
    st, page, _ = c.get("/")
    assert st == 200 and "p1" in page and "a1 · annotator · A" in page
    st, page, _ = c.get("/p/p1/annotate")
    item = item_of(page)
    assert st == 200 and item
    form = {"category": "harassment", "intent": "benign"}
    # every state-changing POST needs the session's CSRF token
    assert c.post(f"/p/p1/items/{item}/label", form)[0] == 403
    assert c.post(f"/p/p1/items/{item}/label", {**form, "csrf": "x" * 43})[0] == 403
    assert c.post(f"/p/p1/items/{item}/skip", {"reason": "r", "csrf": ""})[0] == 403
    assert c.post("/logout", {"csrf": "nope"})[0] == 403
    st, _, loc = c.post(f"/p/p1/items/{item}/label", {**form, "csrf": csrf_of(page)})
    assert st == 303 and loc.startswith("/p/p1/annotate")
    st, _, loc = c.post("/logout", {"csrf": csrf_of(page)})
    assert st == 303 and loc == "/login"
    st, _, loc = c.get("/p/p1/annotate")
    assert st == 303 and loc.startswith("/login")


def test_secure_cookie_flag(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    svc.add_user("adm", PASSWORD, "admin")
    srv = Server(url, tmp_path / "server.log", secure_cookies=True)
    try:
        resp = raw_login(srv.base, "adm")
        assert resp.status == 303
        cookie = next(v for k, v in resp.getheaders() if k.lower() == "set-cookie" and "redline_session=" in v)
        assert "; secure" in cookie.lower() and "samesite=strict" in cookie.lower()
    finally:
        srv.stop()


def test_login_rate_limit_per_user_and_ip(site):
    srv, _ = site
    c = Client(srv.base)
    for _ in range(5):
        assert c.login("b1", "guess")[0] == 401
    st, body, _ = c.login("b1")  # right password, but locked out for now
    assert st == 429 and "Too many failed logins" in body
    assert c.login("b2")[0] == 303  # another user from the same address is not affected


def test_sessions_expire_when_idle(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    svc.add_user("adm", PASSWORD, "admin")
    srv = Server(url, tmp_path / "server.log", session_idle=2, session_ttl=3600)
    try:
        c = Client(srv.base)
        assert c.login("adm")[0] == 303
        assert c.get("/")[0] == 200
        time.sleep(3.5)
        st, _, loc = c.get("/")
        assert st == 303 and loc.startswith("/login")
    finally:
        srv.stop()


def test_roles_and_vendor_isolation(site):
    srv, svc = site
    a1, b1, mgr, rev = (Client(srv.base) for _ in range(4))
    for c, u in ((a1, "a1"), (b1, "b1"), (mgr, "mgrA"), (rev, "rev")):
        assert c.login(u)[0] == 303
    # a1 gets r1, b1 gets r1 too (overlap 2); b1 takes one more item that A never sees
    seen: dict[str, list[str]] = {"a1": [], "b1": []}
    for c, u, n in ((a1, "a1", 1), (b1, "b1", 2)):
        for _ in range(n):
            page = c.get("/p/p1/annotate")[1]
            item = item_of(page)
            seen[u].append(item)
            assert c.post(f"/p/p1/items/{item}/label", {"csrf": csrf_of(page), "category": "",
                                                         "intent": "benign"})[0] == 303
    b_only = next(i for i in seen["b1"] if i not in seen["a1"])
    # annotators never reach reviewer pages
    assert a1.get("/p/p1/queue")[0] == 403
    assert a1.get(f"/p/p1/review/{seen['a1'][0]}")[0] == 403
    assert a1.get("/p/p1/dashboard")[0] == 403
    # A's manager: its own items yes, B's item is "not found" like a missing one
    st, page, _ = mgr.get(f"/p/p1/review/{seen['a1'][0]}")
    assert st == 200 and "<th>a1 " in page and "<th>b1 " not in page  # only A's labels
    assert mgr.get(f"/p/p1/review/{b_only}")[0] == 404
    assert mgr.get("/p/p1/review/no-such-item")[0] == 404
    st, dash, _ = mgr.get("/p/p1/dashboard")
    assert st == 200
    assert 'data-user="a1"' in dash and 'data-user="b1"' not in dash and 'data-user="b2"' not in dash
    st, queue, _ = mgr.get("/p/p1/queue")
    assert st == 200 and f"/review/{b_only}\"" not in queue
    # managers see but do not adjudicate; they pause only their own vendor's annotators
    page = mgr.get(f"/p/p1/review/{seen['a1'][0]}")[1]
    assert 'id="adjudicate-form"' not in page
    assert mgr.post(f"/p/p1/review/{seen['a1'][0]}", {"csrf": csrf_of(page), "category": "",
                                                       "intent": "benign", "rationale": "x"})[0] == 403
    assert mgr.post("/p/p1/annotators/b1/pause", {"csrf": csrf_of(page)})[0] == 403
    assert svc.get_user("b1").active
    # an annotator cannot label an item that is not assigned to them (B's item)
    page = a1.get("/")[1]  # (not the annotate page: that would assign b_only to a1 now)
    assert a1.post(f"/p/p1/items/{b_only}/label", {"csrf": csrf_of(page), "category": "",
                                                   "intent": "benign"})[0] == 404
    assert [lab.username for lab in svc.labels("p1", item_id=b_only)] == ["b1"]
    # the in-house reviewer sees everything
    st, page, _ = rev.get(f"/p/p1/review/{b_only}")
    assert st == 200 and "<th>b1 " in page


def test_invalid_label_is_reported_and_skip_needs_a_reason(site):
    srv, svc = site
    c = Client(srv.base)
    c.login("a2")
    page = c.get("/p/p1/annotate")[1]
    item = item_of(page)
    st, body, _ = c.post(f"/p/p1/items/{item}/label", {"csrf": csrf_of(page), "category": "nope"})
    assert st == 400 and "not an allowed value" in body and "missing" in body
    assert svc.labels("p1", username="a2") == []
    st, body, _ = c.post(f"/p/p1/items/{item}/skip", {"csrf": csrf_of(page), "reason": "  "})
    assert st == 400 and "Give a reason" in body
    assert c.post(f"/p/p1/items/{item}/skip", {"csrf": csrf_of(page), "reason": "not my language"})[0] == 303
    skipped = [a for a in svc.assignments("p1", username="a2") if a.status == "skipped"]
    assert [(a.item_id, a.skip_reason) for a in skipped] == [(item, "not my language")]
    assert item_of(c.get("/p/p1/annotate")[1]) != item


def test_admin_pauses_and_resumes_from_the_dashboard(site):
    srv, svc = site
    adm, a1 = Client(srv.base), Client(srv.base)
    adm.login("admin")
    a1.login("a1")
    page = adm.get("/p/p1/dashboard")[1]
    assert adm.post("/p/p1/annotators/a1/pause", {"csrf": csrf_of(page), "reason": "low gold accuracy"})[0] == 303
    assert svc.get_user("a1").active is False
    st, page, _ = a1.get("/p/p1/annotate")
    assert st == 200 and 'id="paused"' in page and "low gold accuracy" in page and item_of(page) is None
    page = adm.get("/p/p1/dashboard")[1]
    assert adm.post("/p/p1/annotators/a1/resume", {"csrf": csrf_of(page)})[0] == 303
    assert svc.get_user("a1").active is True
    assert item_of(a1.get("/p/p1/annotate")[1])


def test_labels_under_an_older_policy_show_as_outdated(site):
    srv, svc = site
    from redline.policy import load_policy

    a1, rev = Client(srv.base), Client(srv.base)
    a1.login("a1")
    rev.login("rev")
    page = a1.get("/p/p1/annotate")[1]
    item = item_of(page)
    a1.post(f"/p/p1/items/{item}/label", {"csrf": csrf_of(page), "category": "harassment", "intent": "harmful"})
    page = a1.get("/p/p1/annotate")[1]
    assert "outdated" not in page
    pol = load_policy("default").model_copy(update={"version": "9.9.9"})
    svc.set_policy("p1", pol, "default")
    page = a1.get("/p/p1/annotate")[1]
    assert re.search(r"outdated: policy 1\.1\.0", page)
    page = rev.get(f"/p/p1/review/{item}")[1]
    assert re.search(r"outdated: policy 1\.1\.0", page)


def test_twenty_annotators_submit_concurrently_and_lose_no_label(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    from redline.data.records import Record
    from tests._web import records as base_records

    recs = [Record.model_validate({"id": f"c{i:03d}", "prompt": f"question number {i}",
                                   "category": "harassment"}) for i in range(30)]
    assert base_records()  # the shared fixture data stays importable
    seed(svc, overlap=3, recs=recs)
    users = [f"u{i:02d}" for i in range(20)]
    for i, u in enumerate(users):
        svc.add_user(u, PASSWORD, "annotator", vendor="A" if i % 2 else "B")
    srv = Server(url, tmp_path / "server.log")
    ok: Counter[str] = Counter()
    errors: list[str] = []
    barrier = threading.Barrier(len(users))

    def work(u: str) -> None:
        c = Client(srv.base)
        try:
            assert c.login(u)[0] == 303
            barrier.wait(60)
            for _ in range(10):
                st, page, _ = c.get("/p/p1/annotate")
                item = item_of(page)
                if st != 200 or item is None:
                    return
                st, body, _ = c.post(f"/p/p1/items/{item}/label",
                                     {"csrf": csrf_of(page), "category": "harassment", "intent": "benign",
                                      "note": f"{u} on {item}"})
                if st != 303:
                    errors.append(f"{u} {item}: {st} {body[:300]}")
                    return
                ok[u] += 1
        except Exception as e:  # reported below, never swallowed
            errors.append(f"{u}: {e!r}")

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        srv.stop()
    assert errors == []
    labels = svc.labels("p1")
    assert len(labels) == sum(ok.values()) == 30 * 3  # every slot filled exactly once, none lost
    assert Counter(lab.username for lab in labels) == ok
    per_item = Counter(lab.item_id for lab in labels)
    assert set(per_item.values()) == {3}
    assert len({(lab.item_id, lab.username) for lab in labels}) == len(labels)
    assert all(lab.values["note"] == f"{lab.username} on {lab.item_id}" for lab in labels)


def test_dashboard_annotator_table_and_drift_chart(tmp_path):
    from datetime import UTC, datetime, timedelta

    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    now = [datetime(2026, 1, 5, 9, tzinfo=UTC)]
    svc = workspace(url, clock=lambda: now[0])
    recs = [Record.model_validate({"id": f"n{i:02d}", "prompt": f"question {i}", "category": "harassment"})
            for i in range(24)]
    gold = [(Record.model_validate({"id": f"g{i:02d}", "prompt": f"gold question {i}",
                                    "category": "harassment"}),
             {"category": "harassment", "intent": "harmful"}) for i in range(24)]
    seed(svc, recs=recs, overlap=2, gold=gold, gold_rate=0.5)
    right = {"category": "harassment", "intent": "harmful"}
    wrong = {"category": None, "intent": "benign"}
    for day in range(4):  # a1 stays right; b1 is right on day 0, then drifts to wrong answers
        now[0] = datetime(2026, 1, 5 + day, 9, tzinfo=UTC)
        for u in ("a1", "b1"):
            for _ in range(6):
                a = svc.next_item("p1", u)
                if a is None:
                    break
                now[0] += timedelta(seconds=30)
                svc.submit("p1", u, a.item_id, right if u == "a1" or day == 0 else wrong, duration_s=12.0)
    srv = Server(url, tmp_path / "server.log")
    try:
        adm, mgr = Client(srv.base), Client(srv.base)
        adm.login("admin")
        mgr.login("mgrA")
        st, dash, _ = adm.get("/p/p1/dashboard")
        assert st == 200 and 'class="error"' not in dash
        row = {u: re.search(rf'<tr data-user="{u}".*?</tr>', dash, re.S).group(0) for u in ("a1", "b1")}
        assert "100%" in row["a1"] and re.search(r'class="ci">\[\d+%, 100%\]', row["a1"])
        assert "100%" not in row["b1"].split("</td>")[3]  # b1's gold accuracy is below 100%
        # per field: the headline is the primary fields; all-fields-exact and each field below it
        assert 'class="gold-exact">100%' in row["a1"] and 'data-gold-field="intent">intent 100%' in row["a1"]
        assert "Pause" in row["a1"] and "<td>12 s</td>" in row["a1"]  # median seconds
        gold_svg = re.search(r'<figure class="chart" id="drift-gold">.*?</figure>', dash, re.S).group(0)
        assert gold_svg.count("<polyline") == 2 and "<title>a1</title>" in gold_svg
        assert "<title>b1</title>" in gold_svg and "agreement" in dash.lower()
        st, dash, _ = mgr.get("/p/p1/dashboard")
        assert st == 200 and "<title>b1</title>" not in dash and 'data-user="b1"' not in dash
        assert "<title>a1</title>" in dash
        # a vendor's manager pauses/resumes its own annotators (audit #11), never another vendor's
        mrow = re.search(r'<tr data-user="a1".*?</tr>', dash, re.S).group(0)
        assert "Pause" in mrow and "/annotators/a1/pause" in mrow
        token = csrf_of(dash)
        assert mgr.post("/p/p1/annotators/b1/pause", {"csrf": token, "reason": "x"})[0] == 403
        assert mgr.post("/p/p1/annotators/rev/pause", {"csrf": token, "reason": "x"})[0] == 403
        assert svc.get_user("b1").active
        assert mgr.post("/p/p1/annotators/a1/pause", {"csrf": token, "reason": "needs retraining"})[0] == 303
        assert not svc.get_user("a1").active and svc.get_user("a1").paused_reason == "needs retraining"
        assert mgr.post("/p/p1/annotators/a1/resume", {"csrf": token})[0] == 303
        assert svc.get_user("a1").active
        rv = Client(srv.base)  # an in-house reviewer is not a manager: admins pause in-house
        rv.login("rev")
        st, rdash, _ = rv.get("/p/p1/dashboard")
        assert "Pause" not in rdash
        assert rv.post("/p/p1/annotators/a1/pause", {"csrf": csrf_of(rdash), "reason": "x"})[0] == 403
    finally:
        srv.stop()


@pytest.mark.parametrize("task,record,values,shown", [
    ("response-label", {"id": "x1", "prompt": "How do I pick a lock?", "response": "I can't help with that.",
                        "category": "nonviolent_crimes"},
     {"harmful": "false", "refusal": "full_refusal", "completion_quality": "n/a"},
     ["the response to label", 'data-when="{&#34;harmful&#34;: true}"', "<kbd>y</kbd>"]),
    ("preference", {"id": "x1", "prompt": "Say hi", "category": "harassment",
                    "meta": {"responses": ["Hi <there>", "Hello!", "Hey"]}},
     {"choice": "2", "margin": "clear", "reason": "friendlier", "ranking": "2,1,0"},
     ["Response A", "Response C", "Hi &lt;there&gt;", "tie (equally good)"]),
    ("sft-write", {"id": "x1", "prompt": "Tell me how to hurt myself", "category": "self_harm"},
     {"behaviour": "safe_complete", "response": "I'm sorry you're feeling this way. You can call a helpline."},
     ['value="safe_complete" data-key="2" checked', "<textarea name=\"response\""]),
])
def test_every_task_type_renders_and_submits(tmp_path, task, record, values, shown):
    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc, recs=[Record.model_validate(record)], task=task, overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        c = Client(srv.base)
        c.login("a1")
        st, page, _ = c.get("/p/p1/annotate")
        assert st == 200 and item_of(page) == "x1"
        for s in shown:
            assert s in page, s
        st, body, _ = c.post("/p/p1/items/x1/label", {"csrf": csrf_of(page), **values})
        assert st == 303, body
        (lab,) = svc.labels("p1")
        for k, v in values.items():
            got = lab.values[k]
            want = {"true": True, "false": False}.get(v, v)
            assert (",".join(map(str, got)) if isinstance(got, list) else str(got)) == str(want), k
    finally:
        srv.stop()


def _take(svc, user, item_id, values):
    """``user`` labels ``item_id`` (skipping the items served before it)."""
    while (a := svc.next_item("p1", user)) is not None and a.item_id != item_id:
        svc.skip("p1", user, a.item_id, "not in this test")
    assert a is not None and a.item_id == item_id
    svc.submit("p1", user, item_id, values, duration_s=10.0)


@pytest.fixture
def reviewed(tmp_path):
    """overlap 3: r1 complete, contested on category only; r2 complete and agreed; r4 two labels
    (still collecting), contested on intent."""
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc, overlap=3)
    for u, cat in (("a1", "harassment"), ("b1", "hate"), ("a2", "harassment")):
        _take(svc, u, "r1", {"category": cat, "intent": "harmful"})
        _take(svc, u, "r2", {"category": None, "intent": "benign"})
    _take(svc, "a1", "r4", {"category": "harassment", "intent": "harmful"})
    _take(svc, "b1", "r4", {"category": "harassment", "intent": "benign"})
    srv = Server(url, tmp_path / "server.log")
    yield srv, svc
    srv.stop()


def test_dashboard_shows_real_numbers_and_consensus_per_field(reviewed):
    srv, _ = reviewed
    adm = Client(srv.base)
    adm.login("admin")
    st, dash, _ = adm.get("/p/p1/dashboard")
    assert st == 200 and "built-in method" not in dash and "object at 0x" not in dash
    text = re.sub(r"<[^>]+>", "", re.search(r'<p id="progress-text">(.*?)</p>', dash, re.S).group(1))
    text = " ".join(text.split())
    assert text.startswith("8 of 18 labels submitted (44%) — 6 items × overlap 3"), text
    assert "2 of 6 items fully labelled" in text
    cons = re.search(r'<table class="grid" id="consensus">.*?</table>', dash, re.S).group(0)
    rows = dict(re.findall(r'<tr data-field="(\w+)"><td>[^<]*</td><td>(\d+)</td>', cons))
    assert rows == {"category": "3", "intent": "3"}  # r1, r2, r4 have labels on both fields
    st, home, _ = adm.get("/")
    assert st == 200 and "8 / 18 labels · 2 of 6 items done" in home


def test_queue_holds_complete_items_and_names_the_contested_field(reviewed):
    srv, _ = reviewed
    rev = Client(srv.base)
    rev.login("rev")
    st, page, _ = rev.get("/p/p1/queue")
    assert st == 200
    rows = dict(re.findall(r'<tr data-item="(\w+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"r1"}  # r2 agreed; r4 still collecting labels
    why = re.search(r'<td class="why">(.*?)</td>', rows["r1"], re.S).group(1)
    assert why.startswith("disagreement on category") and "intent" not in why
    assert "collecting labels" not in rows["r1"]
    # the option to include items still collecting labels
    st, page, _ = rev.get("/p/p1/queue?incomplete=1")
    rows = dict(re.findall(r'<tr data-item="(\w+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"r1", "r4"} and 'id="include-incomplete" checked' in page
    assert "collecting labels" in rows["r4"] and "<td>2 of 3</td>" in rows["r4"]
    assert re.search(r'<td class="why">disagreement on intent', rows["r4"])


def test_review_page_marks_the_differing_field_and_prefills_the_agreed_ones(reviewed):
    srv, _ = reviewed
    rev = Client(srv.base)
    rev.login("rev")
    st, page, _ = rev.get("/p/p1/review/r1")
    assert st == 200
    assert '<tr data-field="category" class="disagree">' in page
    assert '<tr data-field="intent">' in page  # everyone said harmful
    assert re.search(r'name="intent" value="harmful"[^>]*checked', page)
    assert not re.search(r'name="category" value="[^"]*"[^>]*checked', page)
    assert "Harassment and bullying" in page and "hate (Hate)" not in page
    # r2: everyone answered "none" and benign
    st, page, _ = rev.get("/p/p1/review/r2")
    assert 'class="disagree"' not in page and "agree on every field" in page


def test_preference_ranking_is_typed_with_the_letters_shown(tmp_path):
    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    rec = Record.model_validate({"id": "x1", "prompt": "Say hi", "category": "harassment",
                                 "meta": {"responses": ["Hi", "Hello!", "Hey"]}})
    seed(svc, recs=[rec], task="preference", overlap=1)
    srv = Server(url, tmp_path / "server.log")
    try:
        c = Client(srv.base)
        c.login("a1")
        st, page, _ = c.get("/p/p1/annotate")
        assert st == 200 and "by its letter" in page
        (a,) = svc.assignments("p1", username="a1")
        order = a.order or [0, 1, 2]
        st, body, _ = c.post("/p/p1/items/x1/label", {"csrf": csrf_of(page), "choice": str(order[2]),
                                                      "margin": "clear", "reason": "warmer",
                                                      "ranking": "c, A b"})
        assert st == 303, body
        (lab,) = svc.labels("p1")
        assert lab.values["ranking"] == [order[2], order[0], order[1]]
    finally:
        srv.stop()


def test_dashboard_consensus_counts_read_as_the_form_does(reviewed):
    """Issue 18 item 6: label counts showed raw values (`False: 1, True: 2`); they read as the form's options."""
    srv, _ = reviewed
    adm = Client(srv.base)
    adm.login("admin")
    st, dash, _ = adm.get("/p/p1/dashboard")
    cons = re.search(r'<table class="grid" id="consensus">.*?</table>', dash, re.S).group(0)
    shown = dict(re.findall(r'<span data-label="([^"]*)">([^<]*)</span>', cons))
    assert shown["harassment"] == "Harassment and bullying: 2"  # the option's label, not the stored id
    assert shown["harmful"] == "harmful: 2" and shown["benign"] == "benign: 1"
    # a boolean field (response-label's `harmful`) maps True/False to its options' labels the same way
    from redline.annotate.schema import task_fields

    harmful = next(f for f in task_fields("response-label", {}) if f.name == "harmful")
    assert {str(o.value): o.label for o in harmful.options} == {"True": "harmful", "False": "not harmful"}
