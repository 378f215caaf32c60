"""The hierarchical policy model, pack extension, folder packs, and the compile contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.errors import InputError
from redline.policy import (
    JUDGE_OUTPUT_KEYS,
    annotation_schema,
    builtin_policies,
    judge_prompt,
    load_policy,
)
from tests.helpers import POLICY_YAML, write_policy

TREE_YAML = """\
name: tree
version: "1.0"
severity_levels:
  - {level: 0, name: none, criteria: fine}
  - {level: 1, name: bad, criteria: not fine}
categories:
  - id: parent_cat
    name: Parent
    definition: The parent node covers a broad family of requests.
    in_scope: [broad harm]
    out_of_scope: [broad benign]
    expected: {harmful: safe_complete, benign: comply, ambiguous: safe_complete}
    safe_completion: care and resources
    safe_completion_elements: [resources]
    mappings: {ailuminate: [ssh], llama_guard3: [S11], openai_moderation: [self-harm]}
    subcategories:
      - id: child_cat
        name: Child
        definition: The child node covers one narrow kind of request.
        subcategories:
          - id: grandchild_cat
            name: Grandchild
            definition: A grandchild with its own behaviour.
            expected: {harmful: refuse}
  - id: other_cat
    name: Other
    definition: Another top-level category about something else.
    expected: {harmful: refuse}
casebook:
  - id: c1
    node: child_cat
    tag: borderline
    intent: ambiguous
    prompt: "a borderline prompt"
    harmful: false
    severity: 0
    expected: safe_complete
    reasoning: because
"""


def test_tree_access_and_inheritance(tmp_path: Path):
    p = load_policy(write_policy(tmp_path / "tree.yaml", TREE_YAML))
    assert [c.id for c in p.categories] == ["parent_cat", "other_cat"]
    assert p.top_level_ids == ["parent_cat", "other_cat"]
    # category_ids lists every node, pre-order, so suites may use sub-node ids
    assert p.category_ids == ["parent_cat", "child_cat", "grandchild_cat", "other_cat"]
    assert [n.id for n in p.nodes()] == p.category_ids
    assert [(d, n.id) for d, n in p.walk()] == [(0, "parent_cat"), (1, "child_cat"), (2, "grandchild_cat"),
                                                (0, "other_cat")]
    g = p.category("grandchild_cat")
    assert g.name == "Grandchild"
    assert p.path("grandchild_cat") == ["parent_cat", "child_cat", "grandchild_cat"]
    assert p.top_level("grandchild_cat").id == "parent_cat"
    assert p.top_level("other_cat").id == "other_cat"
    assert p.parent("child_cat").id == "parent_cat" and p.parent("parent_cat") is None
    with pytest.raises(KeyError):
        p.category("nope")
    # inheritance: child takes the parent's behaviour, the grandchild overrides it
    child = p.category("child_cat")
    assert child.expected.harmful == "safe_complete" and child.expected.for_intent("ambiguous") == "safe_complete"
    assert child.safe_completion == "care and resources" and child.safe_completion_elements == ["resources"]
    assert g.expected.harmful == "refuse" and g.expected.benign == "comply"
    assert g.expected.for_intent("ambiguous") == "refuse"  # unset ambiguous → the cautious reading
    assert [s.level for s in p.severity_for("child_cat")] == [0, 1]
    assert [c.id for c in p.cases_for("parent_cat", include_descendants=True)] == ["c1"]
    assert p.cases_for("parent_cat") == []


def test_old_style_packs_still_load(tmp_path: Path):
    p = load_policy(write_policy(tmp_path / "old.yaml"))
    assert p.category_ids == ["violent_crimes", "self_harm"]
    assert p.category("self_harm").expected.harmful == "safe_complete"
    assert p.category("violent_crimes").mappings.ailuminate == ["vcr"]
    assert p.casebook == [] and p.extends is None
    assert [s.level for s in p.severity_levels] == [0, 1, 2, 3]  # the default scale


def test_top_level_category_needs_expected_with_line(tmp_path: Path):
    bad = POLICY_YAML.replace("    expected: {harmful: refuse, benign: comply}\n", "")
    with pytest.raises(InputError) as e:
        load_policy(write_policy(tmp_path / "noexp.yaml", bad))
    line = next(i for i, s in enumerate(bad.splitlines(), 1) if "id: violent_crimes" in s)
    assert f"noexp.yaml:{line} (categories[0].expected)" in str(e.value)
    assert "add the field 'expected'" in str(e.value)


def test_duplicate_sub_node_id_points_at_its_line(tmp_path: Path):
    text = TREE_YAML.replace("id: grandchild_cat", "id: other_cat")
    with pytest.raises(InputError) as e:
        load_policy(write_policy(tmp_path / "dup.yaml", text))
    first, second = [i for i, s in enumerate(text.splitlines(), 1) if "id: other_cat" in s]
    msg = str(e.value)
    assert f"dup.yaml:{second} (categories[1].id): duplicate category id 'other_cat'" in msg
    assert f"first at {tmp_path / 'dup.yaml'}:{first}" in msg


def test_unknown_openai_category_rejected(tmp_path: Path):
    text = TREE_YAML.replace("openai_moderation: [self-harm]", "openai_moderation: [selfharm]")
    with pytest.raises(InputError) as e:
        load_policy(write_policy(tmp_path / "oa.yaml", text))
    assert "self-harm/intent" in str(e.value)  # the fix lists valid values


def _child(tmp_path: Path, body: str, base: str = "tree.yaml") -> Path:
    write_policy(tmp_path / "tree.yaml", TREE_YAML)
    return write_policy(tmp_path / "child.yaml", f'name: child\nversion: "2.0"\nextends: {base}\n' + body)


def test_extends_overrides_adds_and_removes(tmp_path: Path):
    path = _child(tmp_path, """\
suite: my_suite
remove: [other_cat]
categories:
  - id: child_cat
    definition: Narrowed child definition.
    expected: {harmful: refuse}
  - id: new_sub
    parent: grandchild_cat
    name: New sub
    definition: Added below the grandchild.
  - id: new_top
    name: New top
    definition: A new top-level category.
    expected: {harmful: refuse}
casebook:
  - {id: c1, node: child_cat, prompt: replaced, harmful: true, severity: 1, reasoning: new}
  - {id: c2, node: new_sub, prompt: added, harmful: false, reasoning: new}
""")
    p = load_policy(path)
    base = load_policy(tmp_path / "tree.yaml")
    assert (p.name, p.version, p.extends, p.suite) == ("child", "2.0", "tree.yaml", "my_suite")
    assert p.category_ids == ["parent_cat", "child_cat", "grandchild_cat", "new_sub", "new_top"]
    child = p.category("child_cat")
    assert child.definition == "Narrowed child definition." and child.name == "Child"  # name kept
    assert child.expected.harmful == "refuse"
    assert p.path("new_sub") == ["parent_cat", "child_cat", "grandchild_cat", "new_sub"]
    assert {c.id: c.prompt for c in p.casebook} == {"c1": "replaced", "c2": "added"}
    assert [s.level for s in p.severity_levels] == [0, 1]  # inherited from the base
    assert p.content_hash != base.content_hash


def test_extends_errors_name_the_child_file_and_line(tmp_path: Path):
    path = _child(tmp_path, """\
categories:
  - id: child_cat
    expected: {harmful: never}
""")
    with pytest.raises(InputError) as e:
        load_policy(path)
    assert "child.yaml:6" in str(e.value) and "refuse" in str(e.value)
    path = _child(tmp_path, """\
categories:
  - id: orphan
    parent: no_such_node
    name: Orphan
    definition: x
""")
    with pytest.raises(InputError) as e:
        load_policy(path)
    assert "child.yaml:6" in str(e.value) and "'no_such_node'" in str(e.value)


def test_extends_cycle_and_missing_base(tmp_path: Path):
    write_policy(tmp_path / "a.yaml", 'name: a\nversion: "1"\nextends: b.yaml\n')
    write_policy(tmp_path / "b.yaml", 'name: b\nversion: "1"\nextends: a.yaml\n')
    with pytest.raises(InputError) as e:
        load_policy(tmp_path / "a.yaml")
    assert "cycle" in str(e.value)
    # reported at the `extends` line that closes the cycle
    assert e.value.problems[0].where == f"{tmp_path / 'b.yaml'}:3"
    write_policy(tmp_path / "c.yaml", 'name: c\nversion: "1"\nextends: nowhere\n')
    with pytest.raises(InputError) as e:
        load_policy(tmp_path / "c.yaml")
    assert "'nowhere'" in str(e.value) and "no such built-in policy or file" in str(e.value)
    assert e.value.problems[0].where == f"{tmp_path / 'c.yaml'}:3"


def test_folder_pack(tmp_path: Path):
    d = tmp_path / "pack"
    (d / "cats").mkdir(parents=True)
    (d / "pack.yaml").write_text('name: folder\nversion: "1"\nextends: default\n')
    (d / "cats" / "extra.yaml").write_text(
        "categories:\n  - id: extra\n    name: Extra\n    definition: An extra node.\n"
        "    expected: {harmful: refuse}\n")
    (d / "cases.yaml").write_text(
        "casebook:\n  - {id: x1, node: extra, prompt: p, harmful: true, severity: 2, reasoning: r}\n")
    p = load_policy(d)
    assert "extra" in p.category_ids and "violent_crimes" in p.category_ids
    assert [c.id for c in p.cases_for("extra")] == ["x1"]
    (d / "cats" / "bad.yaml").write_text("categories:\n  - id: Bad-Id\n    name: b\n    definition: d\n"
                                         "    expected: {harmful: refuse}\n")
    with pytest.raises(InputError) as e:
        load_policy(d)
    assert "bad.yaml:2" in str(e.value)
    (d / "pack.yaml").unlink()
    with pytest.raises(InputError) as e:
        load_policy(d)
    assert "pack.yaml" in str(e.value)


def test_builtin_packs():
    packs = builtin_policies()
    assert {"default", "teen-safety", "mental-health"} <= set(packs)
    default = load_policy("default")
    assert len(default.categories) == 17
    for c in default.categories:  # ≥5 cases per top-level category, some not clear-cut
        cases = default.cases_for(c.id, include_descendants=True)
        assert len(cases) >= 5, c.id
        assert any(x.tag != "clear" for x in cases), c.id
        assert c.rationale and not c.mappings.is_empty(), c.id
    teen, mh = load_policy("teen-safety"), load_policy("mental-health")
    assert teen.extends == mh.extends == "default"
    assert teen.suite == "teen_safety" and mh.suite == "mental_health"
    assert set(default.top_level_ids) <= set(teen.category_ids)  # the default ids stay valid
    for nid in ("grooming_contact", "sexualisation_of_minors", "dangerous_challenges", "eating_disorders",
                "body_image", "bullying", "underage_substances", "underage_gambling", "self_harm",
                "minor_privacy", "age_inappropriate_content"):
        assert nid in teen.category_ids, nid
    # behaviours that differ from the adult policy say so
    for nid in ("sexual_content", "self_harm", "dangerous_challenges", "underage_substances"):
        assert teen.category(nid).expected.notes.startswith("Differs from default"), nid
    assert teen.category("sexual_content").expected.ambiguous == "refuse"
    assert default.category("sexual_content").expected.ambiguous == "comply"
    assert "Childline" in teen.category("suicide_methods").safe_completion  # inherited, stricter
    for nid in ("explicit_suicidal_ideation", "indirect_crisis_signals", "emotional_dependence",
                "self_injury", "eating_disorders"):
        assert nid in mh.category_ids and mh.category(nid).safe_completion_elements, nid


def test_judge_prompt_contract():
    p = load_policy("teen-safety")
    assert JUDGE_OUTPUT_KEYS == ("harmful", "category", "severity", "rationale")
    node = judge_prompt(p, "grooming_contact")
    assert "Grooming and contact by adults" in node and p.category("grooming_contact").definition.strip() in node
    assert "minors_teen_safety > grooming_contact" in node
    assert "CEOP" in node  # safe completion elements
    assert "ambiguous intent → safe_complete" in node
    assert "teen-gc-02" not in node and "mature for 15" in node  # a casebook case is quoted
    assert p.content_hash in node
    short = judge_prompt(p)
    assert all(c.id in short for c in p.categories) and "CEOP" not in short
    for text in (node, short):
        tail = text.rstrip().splitlines()[-1]
        obj = json.loads(tail.replace("true|false", "true").replace("<int, 0 = none>", "0"))
        assert tuple(obj) == JUDGE_OUTPUT_KEYS
        assert "ONLY a JSON object" in text
    with pytest.raises(KeyError):
        judge_prompt(p, "no_such_node")


def test_annotation_schema():
    p = load_policy("mental-health")
    s = annotation_schema(p)
    json.dumps(s)  # serialisable
    assert s["policy"] == {"name": "mental-health", "version": p.version, "hash": p.content_hash}
    assert s["intents"] == ["harmful", "benign", "ambiguous"]
    assert s["refusal_classes"] == ["full_compliance", "full_refusal", "partial_refusal"]
    assert [b["id"] for b in s["expected_behaviours"]] == ["refuse", "safe_complete", "comply"]
    assert [c["id"] for c in s["categories"]] == p.top_level_ids
    ed = next(c for c in s["categories"] if c["id"] == "emotional_dependence")
    assert [c["id"] for c in ed["children"]] == ["therapist_substitution"]
    assert ed["expected"]["ambiguous"] == "safe_complete"
    assert all(lv["criteria"] for lv in s["severity_levels"])
    assert s["fields"]["category"]["values"][:-1] == p.category_ids


def test_extends_path_is_relative_to_the_extending_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "packs").mkdir()
    write_policy(tmp_path / "packs" / "tree.yaml", TREE_YAML)
    write_policy(tmp_path / "tree.yaml", TREE_YAML.replace("Another top-level category", "WRONG BASE"))
    child = write_policy(tmp_path / "packs" / "child.yaml", 'name: c\nversion: "1"\nextends: tree.yaml\n')
    monkeypatch.chdir(tmp_path)  # a same-named file in the working directory must not win
    p = load_policy(child)
    assert p.category("other_cat").definition == "Another top-level category about something else."
    assert p.extends == "tree.yaml"
