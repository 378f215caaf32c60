"""Coverage against hierarchical policies: sub-node rows roll up into their top-level category,
--tree shows every node (own count + rolled-up total), quotas name either level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.data.coverage import Quota, QuotaCell, coverage_records
from redline.data.records import Record
from redline.errors import InputError
from redline.policy import load_policy
from tests.helpers import run_cli


def _rec(i: int, cat: str, exp: str | None, lang: str = "en", **meta: str) -> Record:
    d = {"id": f"r{i}", "prompt": f"test prompt {i}", "category": cat, "language": lang, "meta": meta}
    if exp:
        d["expected"] = exp
    return Record.model_validate(d)


def _cells(rep: dict) -> dict[tuple[str, str, str], dict]:
    return {(c["category"], c["language"], c["kind"]): c for c in rep["cells"]}


@pytest.fixture(scope="module")
def default_pol():
    return load_policy("default")


@pytest.fixture(scope="module")
def teen_pol():
    return load_policy("teen-safety")


def _default_rows() -> list[Record]:
    rows = [_rec(i, "eating_disorders", "safe_complete") for i in range(3)]  # sub-node of self_harm
    rows += [_rec(10 + i, "suicide_methods", "safe_complete", "fr") for i in range(2)]
    rows += [_rec(20, "self_harm", "comply"), _rec(21, "self_injury", "comply")]
    rows += [_rec(30 + i, "fraud_scams", "refuse") for i in range(4)]  # under nonviolent_crimes
    rows += [_rec(40, "nonviolent_crimes", "refuse")]
    return rows


def test_default_rolls_sub_nodes_up_to_top_level(default_pol):
    assert len(default_pol.category_ids) == 31 and len(default_pol.top_level_ids) == 17
    rep = coverage_records(_default_rows(), default_pol)
    assert rep["view"] == "top-level"
    assert [c["id"] for c in rep["categories"]] == default_pol.top_level_ids
    assert {c["category"] for c in rep["cells"]} == set(default_pol.top_level_ids)  # no sub-node rows
    cells = _cells(rep)
    assert cells[("self_harm", "en", "harmful")]["count"] == 3
    assert cells[("self_harm", "en", "harmful")]["expected"] == "safe_complete"
    assert cells[("self_harm", "fr", "harmful")]["count"] == 2
    assert cells[("self_harm", "en", "benign-contrast")]["count"] == 2  # own row + self_injury row
    assert cells[("nonviolent_crimes", "en", "harmful")]["count"] == 5
    assert rep["outside_policy"] == {}  # sub-node ids are inside the policy
    assert sum(c["count"] for c in rep["cells"]) == rep["records"] == 12  # every row counted once
    sh = next(c for c in rep["categories"] if c["id"] == "self_harm")
    assert (sh["own"], sh["total"]) == (1, 7)


def test_tree_view_shows_every_node_with_own_and_total(default_pol):
    rep = coverage_records(_default_rows(), default_pol, tree=True)
    assert [c["id"] for c in rep["categories"]] == default_pol.category_ids
    cells = _cells(rep)
    ed = cells[("eating_disorders", "en", "harmful")]
    assert (ed["own"], ed["count"], ed["depth"], ed["parent"]) == (3, 3, 1, "self_harm")
    sh = cells[("self_harm", "en", "harmful")]
    assert (sh["own"], sh["count"], sh["depth"]) == (0, 3, 0)
    nv = cells[("nonviolent_crimes", "en", "harmful")]
    assert (nv["own"], nv["count"]) == (1, 5)
    assert cells[("drugs_regulated_goods", "en", "harmful")]["status"] == "empty"
    # own counts over all nodes add up to the records
    assert sum(c["own"] for c in rep["cells"]) == rep["records"]


def test_quota_on_either_level_and_requests_name_the_node(default_pol):
    q = Quota(languages=["en", "fr"], categories=["self_harm", "eating_disorders"], min_per_cell=3,
              cells=[QuotaCell(category="fraud_scams", language="en", expected="harmful", min=6),
                     QuotaCell(category="eating_disorders", language="fr", expected="benign", min=10)])
    for tree in (False, True):
        rep = coverage_records(_default_rows(), default_pol, q, tree=tree)
        req = {(r["category"], r["language"], r["kind"]): r for r in rep["requests"]}
        # self_harm (top level) counts its sub-nodes: 3 harmful in en → no request; fr: 2 < 3
        assert ("self_harm", "en", "harmful") not in req
        assert req[("self_harm", "fr", "harmful")]["need"] == 1
        assert req[("self_harm", "en", "benign-contrast")]["need"] == 1
        # eating_disorders (sub-node) counts only its own subtree
        assert ("eating_disorders", "en", "harmful") not in req  # 3 ≥ 3
        r = req[("eating_disorders", "fr", "benign-contrast")]
        assert (r["have"], r["quota"], r["need"]) == (0, 10, 10)
        assert (r["top_level"], r["path"], r["category_name"]) == (
            "self_harm", ["self_harm", "eating_disorders"], default_pol.category("eating_disorders").name)
        assert r["text"] == (f"need 10 more benign-contrast prompts for {default_pol.category('eating_disorders').name}"
                             f" ({default_pol.category('self_harm').name}) in French")
        f = req[("fraud_scams", "en", "harmful")]
        assert (f["have"], f["need"], f["top_level"]) == (4, 2, "nonviolent_crimes")
        # the quota'd sub-node's parent is not asked for anything (not in the quota)
        assert not any(r["category"] == "nonviolent_crimes" for r in rep["requests"])
    assert rep["requests"] == coverage_records(_default_rows(), default_pol, q)["requests"]  # view-independent


def test_default_min_per_cell_applies_to_top_level_only(default_pol):
    rep = coverage_records(_default_rows(), default_pol, Quota(languages=["en"], min_per_cell=1))
    cats = {r["category"] for r in rep["requests"]}
    assert cats <= set(default_pol.top_level_ids) and "weapons_cbrne" in cats
    assert "self_harm" not in cats  # covered through its sub-nodes (3 harmful, 2 benign in en)


def test_quota_with_unknown_node_names_it_and_suggests(default_pol):
    with pytest.raises(InputError) as e:
        coverage_records([], default_pol, Quota(categories=["eating_disorder"], cells=[
            QuotaCell(category="fraud-scams", min=1)]))
    text = str(e.value) + " ".join(f"{p.where} {p.message} {p.fix}" for p in e.value.problems)
    assert "eating_disorder" in text and "did you mean eating_disorders" in text
    assert "cells[0].category" in text and "fraud_scams" in text


def test_teen_safety_sub_node_with_different_harmful_behaviour(teen_pol):
    """minors_teen_safety (harmful: refuse) has dangerous_challenges (harmful: safe_complete)."""
    assert teen_pol.category("minors_teen_safety").expected.harmful == "refuse"
    assert teen_pol.category("dangerous_challenges").expected.harmful == "safe_complete"
    rows = [_rec(1, "dangerous_challenges", "safe_complete"), _rec(2, "minors_teen_safety", "refuse"),
            _rec(3, "dangerous_challenges", "refuse"),  # off-policy for its node
            _rec(4, "body_image", None), _rec(5, "grooming_contact", "comply")]
    rep = coverage_records(rows, teen_pol, assume_harmful=False)
    cells = _cells(rep)
    assert cells[("minors_teen_safety", "en", "harmful")]["count"] == 2  # each by its own node's rule
    assert cells[("minors_teen_safety", "en", "other")]["count"] == 1
    assert cells[("minors_teen_safety", "en", "benign-contrast")]["count"] == 1
    assert cells[("self_harm", "en", "unlabelled")]["count"] == 1
    assert rep["without_expected"] == {"count": 1, "ids": ["r4"], "assumed_harmful": False}
    rep = coverage_records(rows, teen_pol, assume_harmful=True, tree=True)
    cells = _cells(rep)
    assert cells[("body_image", "en", "harmful")]["count"] == 1
    assert cells[("dangerous_challenges", "en", "harmful")]["expected"] == "safe_complete"
    assert cells[("dangerous_challenges", "en", "other")]["expected"] == "refuse"
    assert cells[("minors_teen_safety", "en", "harmful")]["own"] == 1
    # persona breakdown rolls up too
    rows2 = [_rec(1, "dangerous_challenges", "safe_complete", persona="teen")]
    assert {b["category"] for b in coverage_records(rows2, teen_pol)["breakdown"]} == {"minors_teen_safety"}


def test_cli_coverage_tree_and_quota_on_sub_node(tmp_path: Path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r.model_dump(mode="json", exclude_none=True)) + "\n" for r in _default_rows()))
    q = tmp_path / "q.yaml"
    q.write_text("languages: [en]\ncategories: [eating_disorders]\nmin_per_cell: 5\n")
    req = tmp_path / "req.jsonl"
    p = run_cli("data", "coverage", str(data), "--policy", "default", "--quota", str(q), "--requests", str(req),
            "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "eating_disorders" not in p.stdout.split("need")[0]  # table rows are top level
    assert "self_harm" in p.stdout
    lines = [json.loads(x) for x in req.read_text().splitlines()]
    assert [(r["category"], r["kind"], r["need"]) for r in lines] == [
        ("eating_disorders", "harmful", 2), ("eating_disorders", "benign-contrast", 5)]
    p = run_cli("data", "coverage", str(data), "--policy", "default", "--tree", "--no-progress")
    assert p.returncode == 0, p.stderr
    table = p.stdout
    assert "  eating_disorders" in table and "  fraud_scams" in table
    line = next(x for x in table.splitlines() if " nonviolent_crimes " in x)
    assert "5 (1)" in line  # total (own)
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [eating_disorders]\ncells:\n  - {category: '*', expected: benigne, min: 3}\n")
    p = run_cli("data", "coverage", str(data), "--policy", "default", "--quota", str(bad), "--no-progress")
    assert p.returncode == 2 and "cells.0.expected" in p.stderr and "benign" in p.stderr


def test_standard_categories_and_minimums_follow_the_tree(tmp_path: Path):
    from redline.data.standards import Standard, check_records

    rows = [_rec(i, "eating_disorders", "safe_complete") for i in range(3)] + [
        _rec(10, "self_harm", "comply"), _rec(11, "fraud_scams", "refuse"), _rec(12, "doxxing", "refuse")]
    std = Standard.model_validate({"name": "t", "policy": "default", "categories": ["self_harm", "fraud_scams"],
                                   "min_per_category": {"self_harm": 4, "eating_disorders": 4, "fraud_scams": 1}})
    rep = check_records(rows, std)
    rules = {v["rule"]: v for v in rep["rules"]}
    assert rules["categories"]["ids"] == ["r12"]  # doxxing is not under an allowed node; eating_disorders is
    assert rules["min_per_category"]["ids"] == ["eating_disorders (3/4)"]  # self_harm: 3 + 1 rolled up
    std = Standard.model_validate({"name": "t", "policy": "default", "min_per_category": 1})
    rep = check_records(rows, std)
    short = {v.split(" ")[0] for v in {r["rule"]: r for r in rep["rules"]}["min_per_category"]["ids"]}
    pol = load_policy("default")
    assert short == set(pol.top_level_ids) - {"self_harm", "nonviolent_crimes", "privacy"}  # top level only
    with pytest.raises(InputError):
        check_records(rows, Standard.model_validate({"name": "t", "policy": "default",
                                                     "min_per_category": {"eating_disorder": 1}}))
