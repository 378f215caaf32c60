"""Small builders shared by tests."""

from __future__ import annotations

import functools
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
    """Run the `redline` command in a subprocess (the real CLI, as a user runs it).

    For signals, process death and the entry point; ``run_cli`` answers the same in-process.
    """
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None):
    """`redline …` in-process (typer's CliRunner), from ``cwd``, with ``env`` and ``input`` (stdin)
    when given.

    The one in-process CLI helper of the tests; ``cli`` runs a real subprocess instead (for
    signals, process death and the installed entry point).
    """
    from typer.testing import CliRunner

    from redline import cli as cli_module

    if not hasattr(cli_module._group, "cache_info"):
        # typer builds a command group from the functions' signatures (evaluating every
        # annotation: ~0.1-0.25 s a call on the CI machine); a process does that once, so in-process
        # calls share one build per module set too. click commands keep no state between calls.
        cli_module._group = functools.cache(cli_module._group)
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(cli_module.app, list(args), env=env, input=input)
    finally:
        os.chdir(old)


def run_cli(*args: str, env_extra: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    """`redline …` in-process (``invoke``), answered in ``cli``'s shape (returncode, stdout, stderr).

    For tests of exit codes and output that need no process of their own (no signals, no kill,
    no server left running): the same assertions as with ``cli``, without starting a Python
    process per call (~1 s of imports each on the CI machine). An exception the command does not
    handle gives exit code 1 and its traceback on stderr, as a real process would.
    """
    import traceback

    r = invoke(*args, env=env_extra, input=input)
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += "".join(traceback.format_exception(r.exception))
    return subprocess.CompletedProcess(["redline", *args], r.exit_code, r.stdout, stderr)


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
