"""Issue 19, web and annotation: the login rate limit cannot be dodged with X-Forwarded-For, a
paused annotator writes nothing, item ids with '/' work in URLs, vendor CSVs without a header row
or with a duplicated column name are refused."""

from __future__ import annotations

import csv
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests._annotate_helpers import add_users, create, response_rows, response_values, service
from tests._web import PASSWORD, Client, Server, csrf_of, item_of, seed, workspace
from tests.helpers import run_cli

# ------------------------------------------------------------------ item 3: X-Forwarded-For


def _guess(c: Client, username: str, password: str, forwarded_for: str) -> int:
    _, page, _ = c.get("/login")
    body = urllib.parse.urlencode({"csrf": csrf_of(page), "username": username, "password": password}).encode()
    req = urllib.request.Request(c.base + "/login", data=body, method="POST",
                                 headers={"X-Forwarded-For": forwarded_for})
    return c._do(req)[0]


def test_login_rate_limit_ignores_x_forwarded_for_unless_proxies_are_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    seed(workspace(url))
    srv = Server(url, tmp_path / "serve.log", cli_args=[])
    try:
        c = Client(srv.base)
        codes = [_guess(c, "a1", f"wrong {i}", f"10.0.0.{i}") for i in range(8)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes  # 5 failures per client IP
        assert _guess(c, "a1", PASSWORD, "10.9.9.9") == 429  # still blocked: the header is not the IP
    finally:
        srv.stop()
    # behind a reverse proxy the operator names it: then its header gives the client IP
    srv = Server(url, tmp_path / "serve2.log", cli_args=["--forwarded-allow-ips", "127.0.0.1"])
    try:
        c = Client(srv.base)
        codes = [_guess(c, "a2", f"wrong {i}", f"10.1.0.{i}") for i in range(7)]
        assert codes == [401] * 7, codes
        codes = [_guess(c, "a2", f"wrong {i}", "10.2.0.1") for i in range(6)]
        assert codes[-1] == 429
    finally:
        srv.stop()


# ------------------------------------------------------------------ item 4: paused annotators


@pytest.fixture
def site(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    seed(svc, recs=_slash_records())
    srv = Server(url, tmp_path / "server.log")
    yield srv, svc
    srv.stop()


def _slash_records() -> list[Any]:
    from redline.data.records import Record

    return [Record.model_validate({"id": f"batch/7/item {i}?x#y", "prompt": f"Tell me about topic {i}.",
                                   "category": "harassment"}) for i in range(4)]


def _item_path(item: str) -> str:
    return urllib.parse.quote(item, safe="")


def test_paused_annotator_with_an_item_open_cannot_label_or_skip(site) -> None:
    srv, svc = site
    a1 = Client(srv.base)
    a1.login("a1")
    page = a1.get("/p/p1/annotate")[1]
    item = item_of(page)
    assert item
    svc.pause("a1", "gold accuracy too low")  # while the item is open in the browser
    form = {"category": "harassment", "intent": "benign", "csrf": csrf_of(page)}
    st, body, _ = a1.post(f"/p/p1/items/{_item_path(item)}/label", form)
    assert st == 403 and "paused" in body
    st, body, _ = a1.post(f"/p/p1/items/{_item_path(item)}/skip", {"reason": "x", "csrf": csrf_of(page)})
    assert st == 403 and "paused" in body
    assert svc.labels("p1", username="a1") == []
    assert [a.status for a in svc.assignments("p1") if a.username == "a1"] == ["open"]
    # the service itself refuses too (imports, the CLI, library use)
    from redline.errors import InputError

    with pytest.raises(InputError, match="paused"):
        svc.submit("p1", "a1", item, {"category": "harassment", "intent": "benign"})
    with pytest.raises(InputError, match="paused"):
        svc.skip("p1", "a1", item, "not my language")
    svc.resume("a1")
    st, _, loc = a1.post(f"/p/p1/items/{_item_path(item)}/label", form)
    assert st == 303, loc
    assert [lb.item_id for lb in svc.labels("p1", username="a1")] == [item]


# ------------------------------------------------------------------ item 10: ids with '/'


def test_item_ids_with_slashes_can_be_labelled_skipped_and_reviewed(site) -> None:
    srv, svc = site
    a1, rev = Client(srv.base), Client(srv.base)
    a1.login("a1")
    rev.login("rev")
    page = a1.get("/p/p1/annotate")[1]
    item = item_of(page)
    assert item and "/" in item
    assert f"/p/p1/items/{_item_path(item)}/label" in page  # encoded in the form's action
    st, _, loc = a1.post(f"/p/p1/items/{_item_path(item)}/label",
                         {"category": "harassment", "intent": "benign", "csrf": csrf_of(page)})
    assert st == 303, loc
    page = a1.get("/p/p1/annotate")[1]
    second = item_of(page)
    assert second and second != item
    st, _, _ = a1.post(f"/p/p1/items/{_item_path(second)}/skip", {"reason": "not my language",
                                                                 "csrf": csrf_of(page)})
    assert st == 303
    assert item_of(a1.get("/p/p1/annotate")[1]) not in (item, second)  # not served again
    assert [lb.item_id for lb in svc.labels("p1", username="a1")] == [item]
    st, page, _ = rev.get(f"/p/p1/review/{_item_path(item)}")
    assert st == 200 and "Tell me about topic" in page
    st, _, _ = rev.get(f"/p/p1/review/{_item_path('batch/7/no such item')}")
    assert st == 404


def test_annotate_create_warns_about_ids_with_slashes(workspace: Path) -> None:
    rows = response_rows(3)
    rows[1]["id"] = "set-a/r1"
    p = create(workspace, rows=rows)
    assert p.returncode == 0, p.stderr
    assert "warning: 1 item id(s) contain '/'" in p.stderr and "set-a/r1" in p.stderr


# ------------------------------------------------------------------ item 10: vendor CSV header


def _exported(workspace: Path) -> tuple[Any, Path, list[dict[str, str]]]:
    assert create(workspace, n=4, extra=("--overlap", "1", "--gold-rate", "0")).returncode == 0
    add_users("acme", "a1")
    from redline.annotate.vendor import export_batch

    svc = service()
    out = workspace / "b.csv"
    export_batch(svc, "p1", "acme", ["a1"], "csv", out, per_annotator=4)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in response_values(True).items():
            r[k] = str(v).lower() if isinstance(v, bool) else str(v)
    return svc, out, rows


def test_vendor_csv_without_header_row_is_refused(workspace: Path) -> None:
    from redline.annotate.vendor import import_batch
    from redline.errors import InputError

    svc, _, rows = _exported(workspace)
    headless = workspace / "headless.csv"
    with open(headless, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([list(r.values()) for r in rows])  # the header row left out
    with pytest.raises(InputError, match="no header row") as ei:
        import_batch(svc, "p1", headless)
    assert ei.value.problems[0].where == f"{headless}:1" and "task_id" in ei.value.problems[0].message
    assert svc.labels("p1") == []
    p = run_cli("annotate", "import-batch", "p1", str(headless))
    assert p.returncode == 2 and "no header row" in p.stderr and "Traceback" not in p.stderr


def test_vendor_csv_with_a_duplicated_column_name_is_refused(workspace: Path) -> None:
    from redline.annotate.vendor import import_batch
    from redline.errors import InputError

    svc, _, rows = _exported(workspace)
    cols = list(rows[0])
    dup = workspace / "dup.csv"
    with open(dup, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*cols, "harmful "])  # a second 'harmful' column (Excel copy-paste)
        w.writerows([[*r.values(), "false"] for r in rows])
    with pytest.raises(InputError, match="appears twice") as ei:
        import_batch(svc, "p1", dup)
    assert "'harmful'" in ei.value.problems[0].message
    assert svc.labels("p1") == []
