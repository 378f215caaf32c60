from pathlib import Path

import pytest

from redline.errors import InputError
from redline.policy import builtin_policies, load_policy
from tests.helpers import POLICY_YAML, write_policy


def test_builtin_default_policy_loads_with_required_categories():
    assert "default" in builtin_policies()
    p = load_policy("default")
    required = {
        "violent_crimes", "weapons_cbrne", "hate", "harassment", "self_harm", "mental_health_crisis",
        "child_sexual_exploitation", "minors_teen_safety", "sexual_content", "nonviolent_crimes",
        "cyber_abuse", "privacy", "defamation", "misinformation_elections", "specialised_advice",
    }
    assert required <= set(p.category_ids)
    for c in p.categories:
        assert c.definition.strip() and c.in_scope and c.out_of_scope, c.id
        assert c.expected.benign == "comply"
    assert p.category("self_harm").expected.harmful == "safe_complete"
    assert p.category("violent_crimes").mappings.llama_guard3 == ["S1"]
    assert p.content_hash.startswith("sha256:")


def test_content_hash_changes_with_content(tmp_path: Path):
    a = load_policy(write_policy(tmp_path / "a.yaml"))
    b = load_policy(write_policy(tmp_path / "b.yaml", POLICY_YAML.replace("enable or encourage", "enable")))
    a2 = load_policy(write_policy(tmp_path / "a2.yaml"))
    assert a.content_hash == a2.content_hash != b.content_hash


def test_errors_name_file_line_and_field(tmp_path: Path):
    bad = POLICY_YAML.replace("harmful: safe_complete", "harmful: sometimes").replace(
        "llama_guard3: [S1]", "llama_guard3: [S99]")
    path = write_policy(tmp_path / "bad.yaml", bad)
    with pytest.raises(InputError) as e:
        load_policy(path)
    msg = str(e.value)
    lines = bad.splitlines()
    line_harmful = next(i for i, s in enumerate(lines, 1) if "sometimes" in s)
    line_s99 = next(i for i, s in enumerate(lines, 1) if "S99" in s)
    assert f"bad.yaml:{line_harmful} (categories[1].expected.harmful)" in msg
    assert "refuse" in msg  # the fix lists valid values
    assert f"bad.yaml:{line_s99}" in msg and "S1…S14" in msg
    assert len(e.value.problems) == 2  # all errors at once


def test_yaml_syntax_error_and_missing_file(tmp_path: Path):
    path = write_policy(tmp_path / "broken.yaml", "name: x\ncategories: [\n  - id: a\n")
    with pytest.raises(InputError) as e:
        load_policy(path)
    assert "broken.yaml:" in str(e.value) and "YAML" in str(e.value)
    with pytest.raises(InputError) as e:
        load_policy(tmp_path / "nope.yaml")
    assert "default" in str(e.value)  # suggests the built-ins


def test_duplicate_category_ids_rejected(tmp_path: Path):
    text = POLICY_YAML.replace("id: self_harm", "id: violent_crimes")
    with pytest.raises(InputError) as e:
        load_policy(write_policy(tmp_path / "dup.yaml", text))
    assert "duplicate category id 'violent_crimes'" in str(e.value)
