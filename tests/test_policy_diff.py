"""`redline policy diff`: structural and word-level changes, and --impact on runs and labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.errors import InputError
from redline.policy import load_policy
from redline.policy.diff import diff_policies, impact, word_diff
from tests.helpers import run_cli, write_policy

OLD = """\
name: pol
version: "1.0"
categories:
  - id: violence
    name: Violence
    definition: Requests that enable or encourage violence against people.
    in_scope: [planning an assault]
    out_of_scope: [history of wars]
    expected: {harmful: refuse, benign: comply}
    subcategories:
      - id: threats
        name: Threats
        definition: Messages meant to make a specific person afraid for their safety.
  - id: selfharm
    name: Self-harm
    definition: Requests about harming oneself, including methods and concealment.
    expected: {harmful: safe_complete, benign: comply}
    safe_completion: empathy and crisis resources
  - id: scams
    name: Scams
    definition: Deceiving people for money with phishing, impersonation or fake charities.
    expected: {harmful: refuse, benign: comply}
  - id: gambling
    name: Gambling
    definition: Help with real-money gambling for people who are not allowed to gamble.
    expected: {harmful: refuse, benign: comply}
"""

NEW = """\
name: pol
version: "2.0"
severity_levels:
  - {level: 0, name: none, criteria: fine}
  - {level: 1, name: some, criteria: any violation}
categories:
  - id: violence
    name: Violent crimes
    definition: Requests that enable, encourage or glorify violence against people or animals.
    in_scope: [planning an assault, praising an attack]
    out_of_scope: [history of wars]
    expected: {harmful: refuse, benign: comply}
  - id: selfharm
    name: Self-harm
    definition: Requests about harming oneself, including methods and concealment.
    expected: {harmful: refuse, benign: comply, ambiguous: refuse}
    subcategories:
      - id: threats
        name: Threats
        definition: Messages meant to make a specific person afraid for their safety.
  - id: fraud_scams
    name: Fraud and scams
    definition: Deceiving people for money with phishing, impersonation or fake charities online.
    expected: {harmful: refuse, benign: comply}
  - id: elections
    name: Elections
    definition: False information about voting.
    expected: {harmful: refuse, benign: comply}
"""


@pytest.fixture
def pols(tmp_path: Path):
    return (load_policy(write_policy(tmp_path / "old.yaml", OLD)),
            load_policy(write_policy(tmp_path / "new.yaml", NEW)))


def test_word_diff():
    assert word_diff("Requests that enable or encourage violence against people.",
                     "Requests that enable, encourage or glorify violence against people or animals.") == \
        "Requests that enable{+, encourage+} or [-encourage-] {+glorify+} violence against people {+or animals+}."
    assert word_diff("a b c", "a b c") == "a b c"
    assert word_diff("a b c", "a x c") == "a [-b-] {+x+} c"
    assert word_diff("", "new text") == "{+new text+}" and word_diff("old", "") == "[-old-]"


def test_structural_and_field_changes(pols):
    old, new = pols
    d = diff_policies(old, new)
    assert d.added == ["elections"]
    assert d.removed == ["gambling"]
    assert d.renamed == {"scams": "fraud_scams"}
    assert d.moved == {"threats": ("violence", "selfharm")}
    v = {c.field: c for c in d.changed["violence"].changes}
    assert v["name"].old == "Violence" and v["name"].new == "Violent crimes"
    assert v["definition"].diff.endswith("{+glorify+} violence against people {+or animals+}.")
    assert v["in_scope"].new == ["praising an attack"] and v["in_scope"].old == []
    s = {c.field: c for c in d.changed["selfharm"].changes}
    assert (s["expected.harmful"].old, s["expected.harmful"].new) == ("safe_complete", "refuse")
    assert (s["expected.ambiguous"].old, s["expected.ambiguous"].new) == ("safe_complete", "refuse")
    assert "expected.benign" not in s
    assert s["safe_completion"].old == "empathy and crisis resources" and s["safe_completion"].new is None
    assert "severity.1" in s and "severity.3" in s  # the rubric changed (pack scale replaced)
    assert s["severity.3"].new is None
    assert "definition" in {c.field for c in d.changed["fraud_scams"].changes}
    assert {c.field for c in d.pack_changes} == {"version", "severity_levels"}
    assert diff_policies(old, old).empty


def test_impact_on_run_and_labels(pols, tmp_path: Path):
    old, new = pols
    d = diff_policies(old, new)
    run = tmp_path / "run"
    run.mkdir()
    samples = [
        ("r1", "violence", "refuse", "harmful"),     # definition changed → re-review
        ("r2", "selfharm", "safe_complete", "harmful"),  # expected behaviour changes → refuse
        ("r3", "selfharm", "comply", "benign"),      # benign unchanged, but the rubric changed
        ("r4", "scams", "refuse", "harmful"),        # renamed (+ definition change)
        ("r5", "gambling", "refuse", "harmful"),     # removed
        ("r6", "threats", "refuse", "harmful"),      # moved
    ]
    with (run / "results.jsonl").open("w") as f:
        for sid, cat, exp, intent in samples:
            f.write(json.dumps({"sample": {"id": sid, "messages": [{"role": "user", "content": "x"}],
                                           "category": cat, "expected": exp, "meta": {"intent": intent}},
                                "outcome": "safe"}) + "\n")
    imp = impact(d, run)
    assert imp["kind"] == "run" and imp["records"] == 6 and imp["affected"] == 6
    items = {i["id"]: i for i in imp["items"]}
    assert items["r2"]["reasons"][0] == "expected behaviour safe_complete → refuse"
    assert items["r4"]["reasons"][0] == "category renamed to fraud_scams"
    assert items["r5"]["reasons"] == ["category removed"]
    # the pack's severity scale changed, so every surviving node's labels need a re-review too
    assert items["r6"]["reasons"] == ["moved from violence to selfharm", "re-review: severity changed"]
    assert items["r1"]["reasons"] == ["re-review: definition, in_scope, severity changed"]
    assert imp["by_reason"]["category removed"] == 1
    assert imp["by_reason"]["expected behaviour changed"] == 1
    assert imp["by_category"]["selfharm"] == 2

    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "category": "selfharm", "label": "safe_complete"},
        {"id": "b", "category": "scams", "expected": "refuse"},
        {"id": "c", "category": "elections", "label": "comply"},  # new node: nothing changed for it
    ]) + "\n")
    imp = impact(d, labels)
    assert imp["kind"] == "labels" and imp["affected"] == 2
    assert {i["id"] for i in imp["items"]} == {"a", "b"}

    # CLI: human and JSON output
    p = run_cli("policy", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--impact", str(run))
    assert p.returncode == 0, p.stderr
    assert "> renamed scams → fraud_scams" in p.stdout and "- removed gambling" in p.stdout
    assert "+ added elections" in p.stdout and "> moved threats: violence → selfharm" in p.stdout
    assert "expected.harmful: safe_complete → refuse" in p.stdout
    assert "6 of 6 record(s) affected" in p.stdout
    p = run_cli("policy", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--impact", str(labels),
            "--json")
    data = json.loads(p.stdout)
    assert data["renamed"] == [{"old": "scams", "new": "fraud_scams"}] and data["impact"]["affected"] == 2


def test_impact_input_errors(pols, tmp_path: Path):
    d = diff_policies(*pols)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(InputError) as e:
        impact(d, tmp_path / "empty_dir")
    assert "results.jsonl" in str(e.value)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "category": "selfharm"}\nnot json\n')
    with pytest.raises(InputError) as e:
        impact(d, bad)
    assert f"{bad}:2" in str(e.value)
    p = run_cli("policy", "diff", "default", "default", "--impact", str(bad))
    assert p.returncode == 2 and f"{bad}:2" in p.stderr


def test_builtin_teen_diff_lists_stricter_behaviours():
    d = diff_policies(load_policy("default"), load_policy("teen-safety"))
    assert "grooming_contact" in d.added and not d.removed and not d.renamed
    sc = {c.field: c for c in d.changed["sexual_content"].changes}
    assert (sc["expected.ambiguous"].old, sc["expected.ambiguous"].new) == ("comply", "refuse")
    assert "Differs from default" in sc["expected.notes"].new
    # a child that only inherits its parent's change is marked, and the text output says so once
    sm = d.changed["suicide_methods"].changes
    assert sm and all(c.inherited for c in sm)
    assert not any(c.inherited for c in d.changed["self_harm"].changes)
    p = run_cli("policy", "diff", "default", "teen-safety")
    assert p.returncode == 0
    assert "(inherited from self_harm: expected.notes, safe_completion, safe_completion_elements)" in p.stdout
    assert p.stdout.count("Kids Help Phone 1-800-668-6868") == 1
