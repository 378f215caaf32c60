"""`redline annotate report`: one self-contained HTML file, opened in a real browser (Debian
chromium + Playwright): the sections are there, plots are embedded images, nothing is fetched from
outside, and hostile names and ids are shown as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._annotate_helpers import add_users, create, label_all, response_values, service, truth
from tests.helpers import run_cli

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<script>window.__pwned=1</script>"


def _project(ws: Path) -> None:
    rows = [{"id": f"r{i}", "prompt": f"test prompt {i}", "response": f"model response {i}",
             "category": "violent_crimes" if i % 2 else "self_harm"} for i in range(10)]
    rows.append({"id": f"{HOSTILE}<img src=x onerror=window.__pwned=2>", "prompt": "test prompt h",
                 "response": "model response h", "category": "violent_crimes"})
    r = create(ws, rows=rows, gold=4, extra=("--overlap", "3", "--gold-rate", "0.4"))
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1", "a2")
    add_users("globex", "b1")
    svc = service()
    label_all(svc, "p1", ["a1", "a2"], lambda u, it: response_values(truth(it)))
    # b1 disagrees on every other item: a disagreement queue and a weaker annotator
    label_all(svc, "p1", ["b1"], lambda u, it: response_values(not truth(it) if it.seq % 2 else truth(it)))
    svc.pause("b1", f"{HOSTILE} low accuracy")


def test_report_is_self_contained_and_escapes(workspace: Path) -> None:
    _project(workspace)
    out = workspace / "report.html"
    r = run_cli("annotate", "report", "p1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert HOSTILE not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    # no outside reference at all: every image is a data URL, no link/src to http(s)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert html.count('src="data:image/png;base64,') >= 2
    for section in ("Progress", "Agreement", "Annotators", "Consensus methods compared", "Review queue"):
        assert f"<h2>{section}</h2>" in html
    for group in ("by field", "by category", "by vendor", "by policy version"):
        assert group in html
    assert "majority" in html and "dawid-skene" in html
    assert "<built-in" not in html and "Undefined" not in html
    assert "<td>model</td>" not in html and "not run: pass" in html
    # gold accuracy: the primary field headline, per field, and all fields exact (audit #11)
    assert "gold per field" in html and "all fields" in html and "<code>harmful</code>" in html
    assert re.search(r"refusal \d+\.\d% \(\d+/\d+\)", html), "per-field gold accuracy in the annotator table"
    # with a judge, the model-assisted consensus joins the comparison
    r = run_cli("annotate", "report", "p1", "--out", str(out), "--judge", "harm")
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "<td>model</td>" in html and "majority vs model" in html and "not run: pass" not in html


def test_report_in_a_real_browser(workspace: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install the Debian chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    _project(workspace)
    out = workspace / "report.html"
    r = run_cli("annotate", "report", "p1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(out.as_uri())
            assert all(u.startswith(("file://", "data:")) for u in requests), requests
            assert page.evaluate("window.__pwned") is None
            assert page.evaluate("document.scripts.length") == 0
            body = page.inner_text("body")
            assert f"{HOSTILE} low accuracy" in body  # the pause reason, shown as text
            # the annotator table: one row per annotator, paused one marked
            rows = page.locator("h2:text('Annotators') + p + table tr")
            assert rows.count() == 4
            b1 = page.locator("tr", has_text="b1").first.inner_text()
            assert "paused" in b1 and "globex" in b1
            # every embedded plot decodes to a real image
            sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
            assert len(sizes) >= 2 and all(ok and w > 100 for ok, w in sizes)
            progress = page.locator("#progress-text").inner_text()
            # Regression (audit #4): "45 labels made (gold included)" against a target without gold.
            # The report now uses the service's definition, like the dashboard: data labels of
            # target, gold labels apart.
            pr = service().progress("p1", include_gold=True)
            assert pr.gold_labels > 0 and pr.labels <= pr.target_labels == 33  # 11 items × k=3
            assert f"{pr.labels} of 33 labels submitted" in progress, progress
            assert f"plus {pr.gold_labels} on gold" in progress and "11 of 11 items fully labelled" in progress
            # all labels were made today: one drift window, said in words (no empty time axis)
            assert "one time window" in page.locator("#drift-none").inner_text()
            assert page.locator("img[alt='drift chart']").count() == 0
            assert "<built-in" not in body
        finally:
            browser.close()


def test_report_unknown_project(workspace: Path) -> None:
    r = run_cli("annotate", "report", "nope", "--out", str(workspace / "r.html"))
    assert r.returncode == 2 and "nope" in r.stderr
    assert not (workspace / "r.html").exists()


def test_report_groups_queue_by_kind_and_field(workspace: Path) -> None:
    """Regression: the queue was grouped by QueueEntry.reason, which is now "KIND on FIELDS" (one
    group per combination); the report counts items per kind and per contested field."""
    from redline.annotate.report import report_context

    _project(workspace)
    ctx = report_context(service(), "p1", judge=None)
    q = ctx["queue"]
    assert q["size"] > 0
    entries = ctx["queue"]["top"]
    assert set(q["by_kind"]) <= {"disagreement", "low confidence", "consensus-vs-judge"}
    assert q["by_kind"]["disagreement"] == sum("disagreement" in e.reasons for e in entries)
    assert "harmful" in q["by_field"] and all(" on " not in k for k in q["by_field"])
    assert q["by_field"]["harmful"] == sum("harmful" in e.fields for e in entries)


@pytest.mark.parametrize("state", ["no labels", "one annotator, no gold"])
def test_report_is_readable_with_little_data(workspace: Path, state: str) -> None:
    assert create(workspace, n=3, extra=("--overlap", "2")).returncode == 0
    if state != "no labels":
        add_users("acme", "solo")
        label_all(service(), "p1", ["solo"], lambda u, it: response_values(truth(it)))
    out = workspace / "r.html"
    r = run_cli("annotate", "report", "p1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    for section in ("Progress", "Agreement", "Annotators", "Consensus methods compared", "Review queue"):
        assert f"<h2>{section}</h2>" in html
    assert "Undefined" not in html and "nan" not in html.lower().replace("nan-", "")
    assert "0 item(s) with complete labelling" in html or "item(s) with complete labelling" in html
    if state == "no labels":
        assert "<strong>0</strong> of 6 labels submitted" in html and "No drift chart yet" in html
    else:
        assert "<td>solo</td>" in html


def test_drift_plot_needs_two_windows_and_shows_both_series() -> None:
    """Regression (audit #4/#11): with a single day the drift chart had an empty numeric axis; the
    report now says so in words. With 2+ windows both series (gold, consensus) are drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from redline.annotate.report import _drift_plot, _drift_windows

    def win(rate: float, flagged: bool = False) -> dict:
        return {"rate": rate, "lcl": 0.5, "flagged": flagged, "n": 10, "correct": int(rate * 10)}

    one = {"a": {"gold": [win(0.9)], "consensus": [win(0.8)]}}
    assert _drift_windows(one) == 1 and _drift_plot(one) is None
    two = {"a": {"gold": [win(0.9)], "consensus": [win(0.9), win(0.4, True)]}, "b": {"gold": [], "consensus": []}}
    assert _drift_windows(two) == 2
    url = _drift_plot(two)
    assert url is not None and url.startswith("data:image/png;base64,")
    import base64
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.height > img.width * 0.8  # two panels stacked
