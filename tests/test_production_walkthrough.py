"""docs/production.md's walk-through really runs: its command block is executed line by line (in a
copy of docs/production/ in a temporary folder), and every output line the page quotes is what the
commands printed; the numbers of its table follow from the files the commands wrote."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_the_walkthrough_runs_and_prints_what_the_page_says(tmp_path):
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
