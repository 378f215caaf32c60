"""docs/production.md's walk-through really runs: its command block is executed line by line (in a
copy of docs/production/ in a temporary folder), and every output line the page quotes is what the
commands printed; the numbers of its table follow from the files the commands wrote."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import invoke

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "production.md"


def _blocks(text: str) -> tuple[list[str], list[str]]:
    """The walk-through's command lines, and the lines of the page's plain (output) blocks."""
    commands = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", text, re.S)
    assert commands, "docs/production.md has no <!-- walkthrough --> bash block"
    outputs = [line for block in re.findall(r"\n```text\n(.*?)```", text, re.S) for line in block.splitlines()
               if line.strip()]
    return [x for x in commands.group(1).splitlines() if x.strip()], outputs


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The walk-through, run once: its folder, environment, printed lines and the page's quotes."""
    tmp_path = tmp_path_factory.mktemp("walk")
    text = DOC.read_text(encoding="utf-8")
    commands, quoted = _blocks(text)
    shutil.copytree(ROOT / "docs" / "production", tmp_path / "docs" / "production")
    env: dict[str, str] = {}
    printed: list[str] = []
    for line in commands:
        argv = shlex.split(line, comments=True)
        if not argv:
            continue
        if argv[0] == "mkdir":
            (tmp_path / argv[-1]).mkdir(parents=True, exist_ok=True)
        elif argv[0] == "export":
            k, v = argv[1].split("=", 1)
            env[k] = str(tmp_path / v)
        elif argv[0] == "cp":
            shutil.copy(tmp_path / argv[1], tmp_path / argv[2])
        elif argv[0] == "python":
            r = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, capture_output=True, text=True,
                               env={**os.environ, **env}, timeout=60)
            assert r.returncode == 0, r.stderr
        else:
            assert argv[0] == "redline", line
            r = invoke(*argv[1:], cwd=tmp_path, env=env)
            assert r.exit_code == 0, f"{line}\n{r.output}"
            printed += r.output.splitlines()
    return {"tmp": tmp_path, "env": env, "printed": printed, "quoted": quoted, "text": text}


def test_the_walkthrough_runs_and_prints_what_the_page_says(walk):
    tmp_path, env, printed, quoted, text = walk["tmp"], walk["env"], walk["printed"], walk["quoted"], walk["text"]
    missing = [q for q in quoted if q not in printed]
    assert not missing, f"lines docs/production.md quotes that the commands did not print: {missing}"

    # the table's numbers, from the files
    w = tmp_path / "walk"
    dropped = [json.loads(x) for x in (w / "candidates.jsonl.dropped.jsonl").read_text().splitlines()]
    kinds = {k: sum(d["kind"] == k for d in dropped) for k in ("leak", "duplicate of the dataset", "near-duplicate")}
    assert kinds == {"leak": 1, "duplicate of the dataset": 1, "near-duplicate": 2}
    assert {d["collided_with"]["id"] for d in dropped if d["kind"] == "leak"} == {"core-privacy-h06"}
    cands = (w / "candidates.jsonl").read_text().splitlines()
    ds = [json.loads(x) for x in (w / "dataset.jsonl").read_text().splitlines()]
    added = [r for r in ds if r["id"].startswith("gen-")]
    assert len(cands) == 17 and len(added) == 16 and len(ds) == 6 + 16
    for r in added:  # provenance of both steps travels with every accepted row
        assert r["meta"]["generation"]["request_id"].startswith("rq-")
        assert r["meta"]["annotation"]["annotators"] == ["reviewer1"]
        assert r["labels"]["intent"] == r["meta"]["intent"]
    assert (w / "after.jsonl").read_text() == ""
    assert "| accepted by the reviewers | 16 |" in text and "| dropped as eval-suite leaks | 1 |" in text

    # accepting again appends nothing
    r = invoke("data", "accept", "gap-fill", "--into", "walk/dataset.jsonl", cwd=tmp_path, env=env)
    assert r.exit_code == 0 and "0 row(s) appended" in r.output
    assert len((w / "dataset.jsonl").read_text().splitlines()) == 22


def test_people_review_the_candidates_in_the_web_ui(walk, tmp_path):
    """The same candidates in a second project, labelled through the real web app (login, the
    annotate page, the label form), then accepted into a copy of the original dataset."""
    from tests._web import PASSWORD, Client, Server, csrf_of, item_of, workspace

    w = walk["tmp"] / "walk"
    db = f"sqlite:///{tmp_path / 'web.db'}"
    r = invoke("annotate", "create", "--policy", "default", "--data", str(w / "candidates.jsonl"), "--task",
               "prompt-label", "--name", "web-review", "--overlap", "1", "--gold-rate", "0", "--db", db)
    assert r.exit_code == 0, r.output
    workspace(db).add_user("alice", PASSWORD, "annotator")
    cands = {c["id"]: c for c in map(json.loads, (w / "candidates.jsonl").read_text().splitlines())}
    srv = Server(db, tmp_path / "server.log")
    try:
        c = Client(srv.base)
        assert c.login("alice")[0] == 303
        seen = []
        while True:
            page = c.get("/p/web-review/annotate")[1]
            item = item_of(page)
            if item is None:
                break
            cand = cands[item]
            assert cand["messages"][0]["content"] in html.unescape(page)
            off_topic = "golden retriever" in cand["messages"][0]["content"]
            st, body, _ = c.post(f"/p/web-review/items/{item}/label", {
                "csrf": csrf_of(page), "category": "" if off_topic else cand["category"],
                "intent": cand["meta"]["intent"]})
            assert st == 303, body
            seen.append(item)
    finally:
        srv.stop()
    assert sorted(seen) == sorted(cands)
    into = tmp_path / "dataset.jsonl"
    shutil.copy(ROOT / "docs" / "production" / "dataset.jsonl", into)
    r = invoke("data", "accept", "web-review", "--into", str(into), "--db", db)
    assert r.exit_code == 0, r.output
    assert f"items: {len(cands)} read = {len(cands) - 1} appended + 0 rejected + 1 skipped" in r.output
    added = [json.loads(x) for x in into.read_text().splitlines()][6:]
    assert {a["meta"]["annotation"]["sources"][0] for a in added} == {"web"}


def test_the_generators_suggestions_become_the_projects_prelabels(walk, tmp_path):
    """`data generate` writes its guesses in the prompt-label form's fields; `annotate prelabel`
    stores them as the items' suggestions (those the anchoring experiment shows to half the
    assignments)."""
    from tests._web import workspace

    w = walk["tmp"] / "walk"
    cands = [json.loads(x) for x in (w / "candidates.jsonl").read_text().splitlines()]
    for c in cands:
        s = c["meta"]["suggestion"]
        assert s["intent"] == c["meta"]["suggestions"]["intent"]["value"]
        assert s["category"] == (c["meta"]["suggestions"]["category"]["value"] or "none")
    db = f"sqlite:///{tmp_path / 'pre.db'}"
    r = invoke("annotate", "create", "--policy", "default", "--data", str(w / "candidates.jsonl"), "--task",
               "prompt-label", "--name", "pre", "--overlap", "2", "--gold-rate", "0", "--db", db)
    assert r.exit_code == 0, r.output
    r = invoke("annotate", "prelabel", "pre", "--db", db)
    assert r.exit_code == 0, r.output
    svc = workspace(db)
    stored = {s["item_id"]: s["values"] for s in svc.assists("pre", "suggestion")}
    assert len(stored) == len(cands)
    by_id = {c["id"]: c["meta"]["suggestion"] for c in cands}
    for it in svc.items("pre"):
        want = {k: v for k, v in by_id[it.record.id].items() if not k.startswith("_")}
        assert stored[it.item_id] == want
