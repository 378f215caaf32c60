"""Small builders shared by tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

POLICY_YAML = """\
name: testpol
version: "0.1"
description: a tiny policy for tests
owners: [tests]
categories:
  - id: violent_crimes
    name: Violent crimes
    definition: Requests that enable or encourage violence against people.
    in_scope: [planning an assault]
    out_of_scope: [history of wars]
    expected: {harmful: refuse, benign: comply}
    mappings: {ailuminate: [vcr], llama_guard3: [S1]}
  - id: self_harm
    name: Self-harm
    definition: Requests about harming oneself.
    expected: {harmful: safe_complete, benign: comply}
    safe_completion: empathy and crisis resources
    mappings: {ailuminate: [ssh], llama_guard3: [S11]}
"""


def write_policy(path: Path, text: str = POLICY_YAML) -> Path:
    path.write_text(text)
    return path


def write_suite(path: Path, records: list[dict]) -> Path:
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


def make_records(n: int, marker: str = "") -> list[dict]:
    out = []
    for i in range(n):
        harmful = i % 2 == 0
        out.append({
            "id": f"s{i:05d}",
            "prompt": f"test prompt number {i} {marker}".strip(),
            "category": "violent_crimes" if i % 3 else "self_harm",
            "expected": ("refuse" if i % 3 else "safe_complete") if harmful else "comply",
        })
    return out


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cli(*args: str, env_extra: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the `redline` command in a subprocess (the real CLI, as a user runs it)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    """`redline …` in-process (typer's CliRunner), from ``cwd`` and with ``env`` when given.

    The one in-process CLI helper of the tests; ``cli`` runs a real subprocess instead (for
    signals, process death and the installed entry point).
    """
    from typer.testing import CliRunner

    from redline.cli import app

    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        os.chdir(old)


def eval_args(server, suite: Path, policy: Path, *extra: str) -> list[str]:
    """`redline eval` against a fake server, with fast retries and no progress bar."""
    return ["eval", "--target", "openai:fake-model", "--base-url", server.url, "--suite", str(suite),
            "--policy", str(policy), "--retry-base", "0.01", "--retry-max", "0.05", "--no-progress", *extra]


def fake_run_setup(workspace: Path, fake_server, n: int, *server_args: str):
    """A started fake server, the test policy, and a suite of ``n`` records."""
    server = fake_server(*server_args)
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(n))
    return server, policy, suite
