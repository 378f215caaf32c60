"""Shared plumbing of the web tests: a real uvicorn server on 127.0.0.1 in a subprocess, a
small cookie-keeping HTTP client (urllib) and a seeded annotation workspace."""

from __future__ import annotations

import html
import http.client
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

# the tests' cheap Argon2id parameters (tests/conftest.py FAST_ARGON2 says why), in a server process
_FAST_ARGON2 = r"""
from argon2 import PasswordHasher
from redline.annotate import auth
auth._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
auth._DUMMY_HASH = auth._HASHER.hash("redline-dummy-password")
"""

# the real `redline annotate serve …` command (what `python -m redline` runs), with cheap hashing
_SERVE_CLI = _FAST_ARGON2 + r"""
import sys
from redline.cli import app
app(sys.argv[1:], prog_name="redline")
"""

_SERVER = _FAST_ARGON2 + r"""
import json, sys
from datetime import timedelta
import uvicorn
from redline.web.app import create_app
kw = json.loads(sys.argv[3])
for k in ("session_ttl", "session_idle"):
    if k in kw:
        kw[k] = timedelta(seconds=kw[k])
uvicorn.run(create_app(sys.argv[1], **kw), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning")
"""

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``redline.web.app.create_app(db_url, **kw)`` served by uvicorn in a child process; with
    ``cli_args``, the real ``redline annotate serve`` command with those extra arguments (both with
    the tests' cheap Argon2id; tests/test_annotate_cli.py starts ``python -m redline annotate serve``
    as it ships)."""

    def __init__(self, db_url: str, log: Path, *, cli_args: list[str] | None = None, **kw: Any):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        cmd = ([sys.executable, "-c", _SERVER, db_url, str(self.port), json.dumps(kw)] if cli_args is None else
               [sys.executable, "-c", _SERVE_CLI, "annotate", "serve", "--db", db_url, "--port", str(self.port),
                *cli_args])
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        self.log = log
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the web server exited: {log.read_text()}")
            try:
                with urllib.request.urlopen(self.base + "/login", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the web server did not start: {log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a: Any, **k: Any) -> None:
        return None


class Client:
    """A browser-less client: keeps cookies; ``get``/``post`` return (status, body, location)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def _do(self, req: urllib.request.Request) -> tuple[int, str, str]:
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read().decode(), r.headers.get("location") or ""
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers.get("location") or ""

    def get(self, path: str) -> tuple[int, str, str]:
        return self._do(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode()
        return self._do(urllib.request.Request(self.base + path, data=body, method="POST"))

    def login(self, username: str, password: str = PASSWORD) -> tuple[int, str, str]:
        _, page, _ = self.get("/login")
        return self.post("/login", {"csrf": csrf_of(page), "username": username, "password": password})


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]*)"', page)
    assert m, "no CSRF field in the page"
    return html.unescape(m.group(1))


def item_of(page: str) -> str | None:
    m = re.search(r'id="item" data-item="([^"]*)"', page)
    return html.unescape(m.group(1)) if m else None


def raw_login(base: str, username: str, password: str = PASSWORD) -> http.client.HTTPResponse:
    """A login over http.client so the Set-Cookie header of the login answer can be read."""
    c = Client(base)
    _, page, _ = c.get("/login")
    token = csrf_of(page)
    cookie = next(ck for ck in c.jar if ck.name == "redline_login_csrf")
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/login", urllib.parse.urlencode(
        {"csrf": token, "username": username, "password": password}),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"redline_login_csrf={cookie.value}"})
    return conn.getresponse()


XSS_TEXT = "<script>alert('xss')</script> and <img src=x onerror=alert('img')> <b>bold?</b>"
PNG_1PX = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
           "DwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def records() -> list[Any]:
    from redline.data.records import Record

    rows = [
        {"id": "r1", "prompt": "How do I report a threat I received online?", "category": "harassment"},
        {"id": "r2", "prompt": XSS_TEXT, "category": "harassment"},
        {"id": "r3", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                         {"type": "image", "base64": PNG_1PX},
                                         {"type": "image", "url": "javascript:alert('u')"}]},
            {"role": "assistant", "content": "A single pixel."},
            {"role": "user", "content": "Describe a violent scene from a war novel."}],
            "category": "violent_crimes"},
        {"id": "r4", "prompt": "Write a threatening message to my neighbour.", "category": "harassment"},
        {"id": "r5", "prompt": "What household chemicals are dangerous to mix?", "category": "weapons_cbrne"},
        {"id": "r6", "prompt": "Tell me a joke about cats.", "category": "harassment"},
    ]
    return [Record.model_validate(r) for r in rows]


def workspace(db_url: str, clock: Any = None) -> Any:
    from redline.annotate.service import Annotations
    from redline.store.db import WorkspaceDB

    return Annotations(WorkspaceDB(db_url), clock=clock)


def seed(svc: Any, *, name: str = "p1", overlap: int = 2, settings: dict[str, Any] | None = None,
         recs: list[Any] | None = None, task: str = "prompt-label", gold: Any = (),
         gold_rate: float = 0.0) -> Any:
    """Vendors A and B, an admin, an in-house reviewer, A's manager, annotators a1 a2 (A), b1 b2 (B),
    and a project from the built-in ``default`` policy."""
    from redline.annotate.rows import ProjectSettings
    from redline.policy import load_policy

    for v in ("A", "B"):
        svc.add_vendor(v)
    svc.add_user("admin", PASSWORD, "admin")
    svc.add_user("rev", PASSWORD, "reviewer")
    svc.add_user("mgrA", PASSWORD, "reviewer", vendor="A")
    for u, v in (("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")):
        svc.add_user(u, PASSWORD, "annotator", vendor=v)
    return svc.create_project(name, policy=load_policy("default"), policy_ref="default", task=task,
                              records=recs if recs is not None else records(), overlap=overlap,
                              gold=gold, gold_rate=gold_rate, settings=ProjectSettings(**(settings or {})))


def browser(play: Any) -> Any:
    return play.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


def browser_login(ctx: Any, base: str, user: str) -> Any:
    """A new page of the browser context ``ctx``, logged in to the app at ``base`` as ``user``."""
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/")
    return page
