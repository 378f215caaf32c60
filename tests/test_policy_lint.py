"""`redline policy lint`: a pack with deliberate defects, the built-in packs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from redline.policy.lint import lint
from tests.helpers import run_cli, write_policy

# Every defect below is deliberate; the test checks lint reports each one at its line.
DEFECTIVE = """\
name: defective
version: "0.1"
severity_levels:
  - {level: 0, name: none, criteria: no violation}
  - {level: 1, name: low}
  - {level: 2, name: high, criteria: clear violation}
categories:
  - id: weapons
    name: Weapons
    definition: Requests that help someone build or use weapons that can hurt many people at once.
    rationale: Mass harm.
    in_scope: [Building a bomb to hurt people]
    out_of_scope: [History of arms control]
    expected: {harmful: refuse}
    mappings: {ailuminate: [iwp]}
  - id: explosives
    name: Explosives
    definition: Requests that help someone build or use weapons that can hurt many people at one time.
    rationale: Overlaps with weapons on purpose.
    in_scope: [Building a bomb to hurt people]
    out_of_scope: [Fireworks safety]
    expected: {harmful: safe_complete}
    safe_completion: explain the risks
    mappings: {ailuminate: [iwp]}
  - id: undefined_node
    name: Undefined
    definition: ""
    rationale: r
    in_scope: [History of arms control, Building a bomb to hurt people]
    out_of_scope: [something else]
    expected: {harmful: refuse}
    mappings: {llama_guard3: [S1]}
  - id: crisis
    name: Crisis
    definition: Disclosures of acute distress where the user needs crisis support.
    in_scope: [Saying life is not worth living]
    out_of_scope: [Saying life is not worth living]
    expected: {harmful: safe_complete}
    severity:
      - {level: 1, name: low, criteria: missing resources}
      - {level: 1, name: again, criteria: duplicate level}
    subcategories:
      - id: crisis_sub
        name: Crisis sub
        definition: A narrower kind of crisis disclosure with a plan.
casebook:
  - {id: k1, node: weapons, prompt: p, harmful: true, severity: 2, reasoning: r}
  - {id: k2, node: wepons, prompt: p, harmful: true, severity: 1, reasoning: typo in node}
  - {id: k3, node: weapons, prompt: p, harmful: false, severity: 2, reasoning: inconsistent}
  - {id: k4, node: weapons, prompt: p, harmful: true, severity: 7, reasoning: not in rubric}
  - {id: k5, node: crisis, intent: harmful, prompt: p, harmful: true, severity: 1, expected: refuse, reasoning: r}
"""


def _line(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, s in enumerate(text.splitlines(), 1) if needle in s][nth]


def test_lint_catches_every_deliberate_defect(tmp_path: Path):
    path = write_policy(tmp_path / "defective.yaml", DEFECTIVE)
    report = lint(path)
    assert report.loaded
    got = {(f.level, f.code, f.where.rsplit(":", 1)[1], f.node) for f in report.findings}
    f = str(path)

    def has(level: str, code: str, line: int, node: str | None) -> bool:
        return (level, code, str(line), node) in got

    T = DEFECTIVE
    assert has("error", "no-definition", _line(T, 'definition: ""'), "undefined_node")
    assert has("warning", "overlapping-definitions", _line(T, "hurt many people at one time"), "explosives")
    # the same example in scope for two nodes with different expected behaviour
    assert has("error", "conflicting-example", _line(T, "in_scope: [Building a bomb", 1), "explosives")
    bomb_line = _line(T, "in_scope: [History of arms control")
    assert has("error", "conflicting-example", bomb_line, "undefined_node")  # vs explosives
    assert has("warning", "shared-example", bomb_line, "undefined_node")  # vs weapons (same behaviour)
    # in scope of one node, out of scope of an unrelated one
    assert has("warning", "shared-example", _line(T, "out_of_scope: [History of arms control]"), "weapons")
    # in scope and out of scope of the same node
    assert has("error", "conflicting-example", _line(T, "out_of_scope: [Saying life"), "crisis")
    assert has("warning", "severity-no-criteria", _line(T, "name: low}"), None)
    assert has("error", "severity-scale", _line(T, "name: low, criteria: missing"), "crisis")  # repeated level, no level 0
    assert has("warning", "unmapped", _line(T, "id: crisis"), "crisis")
    assert has("warning", "no-rationale", _line(T, "id: crisis"), "crisis")
    assert has("warning", "no-examples", _line(T, "id: crisis_sub"), "crisis_sub")
    # inherited problems are reported once, at the node they come from
    assert not [x for x in report.findings if x.node == "crisis_sub" and x.code != "no-examples"]
    assert has("error", "no-expected-behaviour", _line(T, "expected: {harmful: safe_complete}", 1), "crisis")
    assert has("error", "unknown-node", _line(T, "node: wepons"), None)
    assert has("error", "case-severity", _line(T, "id: k3"), "weapons")  # not harmful but severity 2
    assert has("error", "case-severity", _line(T, "id: k4"), "weapons")  # 7 is not a level
    assert has("warning", "case-expectation", _line(T, "id: k5"), "crisis")
    assert has("warning", "no-cases", _line(T, "id: undefined_node"), "undefined_node")
    unknown = next(x for x in report.findings if x.code == "unknown-node")
    assert "did you mean 'weapons'" in unknown.message and unknown.where.startswith(f)
    # the clean nodes raise nothing of their own
    assert not [x for x in report.findings if x.node == "weapons"
                and x.code not in ("case-severity", "shared-example")]

    p = run_cli("policy", "lint", str(path))
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"{path}:{_line(T, 'node: wepons')}: error unknown-node" in p.stdout
    assert f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)" in p.stdout
    p = run_cli("policy", "lint", str(path), "--json")
    data = json.loads(p.stdout)
    assert data["errors"] == len(report.errors) and data["policy"]["name"] == "defective"


def test_schema_errors_are_lint_errors_with_exit_2(tmp_path: Path):
    bad = DEFECTIVE.replace("expected: {harmful: refuse}\n    mappings: {llama_guard3: [S1]}",
                            "expected: {harmful: sometimes}\n    mappings: {llama_guard3: [S99]}")
    path = write_policy(tmp_path / "schema.yaml", bad)
    report = lint(path)
    assert not report.loaded and {f.code for f in report.findings} == {"schema"}
    wheres = {f.where for f in report.findings}
    assert f"{path}:{_line(bad, 'sometimes')} (categories[2].expected.harmful)" in wheres
    assert f"{path}:{_line(bad, 'S99')} (categories[2].mappings.llama_guard3)" in wheres
    p = run_cli("policy", "lint", str(path))
    assert p.returncode == 2 and "does not load" in p.stdout


def test_clean_pack_exits_0_and_strict_fails_on_warnings(tmp_path: Path):
    path = write_policy(tmp_path / "small.yaml", """\
name: small
version: "1"
categories:
  - id: a
    name: A
    definition: Requests to do the first kind of harmful thing.
    rationale: r
    in_scope: [x]
    out_of_scope: [y]
    expected: {harmful: refuse}
    mappings: {ailuminate: [vcr]}
casebook:
  - {id: c, node: a, prompt: p, harmful: true, severity: 3, expected: refuse, reasoning: r}
""")
    assert lint(path).findings == []
    assert run_cli("policy", "lint", str(path)).returncode == 0
    write_policy(path, path.read_text().replace("    rationale: r\n", ""))
    p = run_cli("policy", "lint", str(path))
    assert p.returncode == 0 and "no-rationale" in p.stdout
    assert run_cli("policy", "lint", str(path), "--strict").returncode == 1


def test_builtin_packs_lint_without_errors():
    for name in ("default", "teen-safety", "mental-health"):
        report = lint(name)
        assert report.loaded, name
        assert report.errors == [], (name, [str(f) for f in report.errors])
