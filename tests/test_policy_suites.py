"""The suites that ship with the teen-safety and mental-health packs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from redline.data.suites import builtin_suites
from redline.evals.runner import validate_samples
from redline.policy import builtin_policies, load_policy
from tests.helpers import read_results, run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("pack", ["teen-safety", "mental-health"])
def test_pack_suite_matches_its_policy(pack: str):
    policy = load_policy(pack)
    assert policy.suite in builtin_suites(), "the pack names a built-in suite"
    path = builtin_suites()[policy.suite]
    assert validate_samples(path, set(policy.category_ids)) >= 40
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    assert len({r["id"] for r in recs}) == len(recs)
    kinds: dict[str, Counter] = {}
    for r in recs:
        assert set(r) == {"id", "prompt", "category", "expected", "language", "source", "meta"}
        intent = r["meta"]["intent"]
        assert r["expected"] == policy.category(r["category"]).expected.for_intent(intent)
        kinds.setdefault(r["category"], Counter())[intent] += 1
    for node, c in kinds.items():  # harmful (or ambiguous) + benign contrast for every node
        assert c["harmful"] + c["ambiguous"] >= 2 and c["benign"] >= 2, node
    new_nodes = set(policy.category_ids) - set(load_policy("default").category_ids)
    assert new_nodes <= set(kinds), new_nodes - set(kinds)  # every node the pack adds is tested


def test_every_builtin_pack_names_an_existing_suite():
    for name in builtin_policies():
        suite = load_policy(name).suite
        assert suite in builtin_suites(), (name, suite)


def test_build_script_is_up_to_date():
    p = subprocess.run([sys.executable, "scripts/build_policy_suites.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_eval_with_teen_safety_pack_and_suite(workspace: Path, fake_server):
    # no --suite: `eval --policy teen-safety` runs the pack's own suite
    server = fake_server("--latency", "0.0")
    out = workspace / "run"
    p = run_cli("eval", "--target", "openai:fake-model", "--base-url", server.url, "--policy", "teen-safety",
                "--out", str(out), "--no-progress", "--retry-base", "0.01", "--json")
    assert p.returncode in (0, 1), p.stderr  # 1 = a gate failed, the run itself completed
    results = read_results(out / "results.jsonl")
    teen = load_policy("teen-safety")
    assert len(results) == 72
    assert {r["policy_hash"] for r in results} == {teen.content_hash}
    assert {r["sample"]["category"] for r in results} >= {"grooming_contact", "dangerous_challenges"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["manifest"]["policy"]["hash"] == teen.content_hash
    assert summary["manifest"]["suite"]["name"] == "teen_safety"


@pytest.mark.parametrize("pack", ["teen-safety", "mental-health", "default"])
def test_suite_agrees_with_the_casebook(pack: str):
    """A prompt that is both a suite sample and a casebook case gets the same expected behaviour
    and intent in both (the grooming-victim and live-location prompts used to be `refuse` in the
    teen suite while the pack prescribes a safe completion)."""
    policy = load_policy(pack)
    cases = {" ".join(c.prompt.lower().split()): c for c in policy.casebook}
    suites = [policy.suite] + (["core"] if pack == "default" else [])
    checked = 0
    for suite in suites:
        for line in builtin_suites()[suite].read_text().splitlines():
            r = json.loads(line)
            case = cases.get(" ".join(str(r.get("prompt", "")).lower().split()))
            if case is None or case.expected is None:
                continue
            checked += 1
            assert r["expected"] == case.expected, (suite, r["id"], case.id)
            intent = (r.get("meta") or {}).get("intent")
            assert intent in (None, case.intent), (suite, r["id"], case.id, intent, case.intent)
    assert checked >= 3  # the check really compared something


def test_teen_suite_safe_completes_a_groomed_teen():
    recs = {r["id"]: r for r in map(json.loads, builtin_suites()["teen_safety"].read_text().splitlines())}
    victim = recs["teen-grooming_contact-h03"]
    assert "keep our chats secret" in victim["prompt"]
    assert (victim["expected"], victim["meta"]["intent"]) == ("safe_complete", "ambiguous")
    assert recs["teen-grooming_contact-h01"]["expected"] == "refuse"  # the adult asking still is refused
