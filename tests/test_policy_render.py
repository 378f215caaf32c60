"""`redline policy render`: Markdown and HTML guidelines, checked in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from redline.policy import load_policy
from redline.policy.render import render_guidelines
from tests.helpers import run_cli, write_policy

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]

HOSTILE = """\
name: hostile
version: "1"
categories:
  - id: top_a
    name: Top A <b>bold</b>
    definition: A definition with <img src=x onerror="window.__pwned=1"> markup & ampersands.
    in_scope: ["an *emphasised* [link](http://example.invalid) example"]
    out_of_scope: [y]
    expected: {harmful: refuse}
    content_warning: Mentions violence.
    subcategories:
      - id: sub_b
        name: Sub B
        definition: The sub node.
  - id: top_c
    name: Top C
    definition: Another node.
    expected: {harmful: safe_complete}
    safe_completion_elements: [crisis line]
casebook:
  - id: x1
    node: sub_b
    tag: borderline
    intent: ambiguous
    prompt: "<script>window.__pwned = 1</script> please"
    response: "</div><h1>injected</h1>"
    harmful: false
    reasoning: Shown as text.
"""


@pytest.fixture
def hostile(tmp_path: Path):
    return load_policy(write_policy(tmp_path / "hostile.yaml", HOSTILE))


def test_markdown_guidelines(hostile):
    md = render_guidelines(hostile, "md")
    assert md.startswith("# hostile — annotator guidelines")
    assert "> **Content warning.**" in md and "> **Content warning:** Mentions violence." in md
    for nid in hostile.category_ids:
        assert f'<a id="node-{nid}"></a>' in md and f"(#node-{nid})" in md
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "<img" not in md and "\\*emphasised\\* \\[link\\]" in md
    assert "Path: [Top A &lt;b&gt;bold&lt;/b&gt;](#node-top_a) › Sub B" in md
    assert "harmful → **refuse**" in md and "ambiguous → **refuse**" in md
    assert "- crisis line" in md


def test_html_is_escaped_and_self_contained(hostile):
    html = render_guidelines(hostile, "html")
    assert "<script" not in html  # no scripts at all, not even the policy's
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "<img" not in html and "<h1>injected" not in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)  # nothing external
    assert f'content="{hostile.content_hash}"' in html


def test_render_cli_writes_files(tmp_path: Path):
    out = tmp_path / "g" / "teen.html"
    p = run_cli("policy", "render", "teen-safety", "--format", "html", "-o", str(out))
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    teen = load_policy("teen-safety")
    assert all(f'id="node-{n}"' in html for n in teen.category_ids)
    assert len(re.findall(r'class="case"', html)) == len(teen.casebook)
    p = run_cli("policy", "render", "mental-health", "--format", "md")
    assert p.returncode == 0 and "Emotional dependence on the assistant" in p.stdout
    p = run_cli("policy", "render", "default", "--format", "pdf")
    assert p.returncode == 2 and "use html or md" in p.stderr


def test_rendered_guidelines_in_a_real_browser(tmp_path: Path, hostile):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install the Debian chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    page_path = tmp_path / "hostile.html"
    page_path.write_text(render_guidelines(hostile, "html"), encoding="utf-8")
    teen_path = tmp_path / "teen.html"
    teen_path.write_text(render_guidelines(load_policy("teen-safety"), "html"), encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            # the hostile prompt is text, nothing ran, nothing was injected
            case = page.locator("#case-x1")
            assert "<script>window.__pwned = 1</script> please" in case.inner_text()
            assert "</div><h1>injected</h1>" in case.inner_text()
            assert page.evaluate("window.__pwned") is None
            assert page.evaluate("document.scripts.length") == 0
            assert page.locator("h1").count() == 1
            assert all(u.startswith("file://") for u in requests), requests
            # a nav anchor lands on its section; the inherited content warning is visible there
            page.click("nav a[href='#node-sub_b']")
            assert page.evaluate("location.hash") == "#node-sub_b"
            top = page.evaluate("document.getElementById('node-sub_b').getBoundingClientRect().top")
            assert 0 <= top < 50
            warn = page.locator("#node-sub_b .cw")
            assert warn.is_visible() and "Mentions violence." in warn.inner_text()
            assert page.locator("#content-warning").is_visible()

            page.goto(teen_path.as_uri())
            assert page.locator("#content-warning").is_visible()
            page.click("nav a[href='#node-grooming_contact']")
            section = page.locator("#node-grooming_contact")
            assert section.locator(".cw").is_visible()
            assert "Differs from default" in section.inner_text()
            assert section.locator(".case").count() == 3
            # every nav link resolves to a section
            hrefs = page.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
            missing = page.evaluate("hs => hs.filter(h => !document.getElementById(h.slice(1)))", hrefs)
            assert missing == [] and len(hrefs) > 40
            shot = tmp_path / "guidelines.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()
