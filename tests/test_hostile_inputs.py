"""Hostile and careless input (issue 19, items 6 and 7): deep nesting, huge integers, lone
surrogates, YAML alias bombs, deep trees, zip bombs, very wide CSVs and very long rows. Each must be
a rejected row or a clear error naming file/line and the fix — never a traceback, a hang or a
memory blow-up. The limits are documented in docs/limits.md."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from redline.errors import InputError
from tests.helpers import (
    eval_args,
    fake_run_setup,
    make_records,
    run_cli,
    write_policy,
    write_suite,
)

DEEP = 1_000  # what the audit used: past CPython's recursion limit
BIG_INT = "9" * 5_000  # past CPython's 4,300-digit int/str limit


def _deep_json(n: int) -> str:
    return "[" * n + "]" * n


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good(i: int) -> str:
    return json.dumps({"id": f"g{i}", "prompt": f"hello {i}", "category": "violent_crimes", "expected": "refuse"})


def _hostile_jsonl(path: Path) -> Path:
    """Two good rows around five hostile ones (lines 2-6)."""
    return _lines(path, [
        _good(1),
        '{"id": "deep", "prompt": "x", "meta": {"a": ' + _deep_json(DEEP) + "}}",
        '{"id": "deep2", "prompt": "x", "meta": {"a": ' + _deep_json(100) + "}}",
        '{"id": ' + BIG_INT + ', "prompt": "x"}',
        '{"id": "sur", "prompt": "bad \\ud800 text"}',
        '{"id": "surkey", "prompt": "x", "meta": {"\\udfff": 1}}',
        _good(2),
    ])


# -- item 6: JSON readers ---------------------------------------------------------------------


def test_jsonl_deep_bigint_and_surrogate_rows_are_rejected_with_reasons(tmp_path: Path) -> None:
    from redline.data.io import convert

    src = _hostile_jsonl(tmp_path / "in.jsonl")
    res = convert(src, tmp_path / "out.jsonl")
    assert (res.written, res.unreadable) == (2, 5)
    rows = [json.loads(x) for x in res.quarantine.read_text(encoding="utf-8").splitlines()]
    by_line = {r["line"]: r["reason"] for r in rows}
    assert set(by_line) == {2, 3, 4, 5, 6}
    assert "nested deeper than" in by_line[2] and "nested deeper than" in by_line[3]
    assert "digits" in by_line[4]
    assert "surrogate" in by_line[5] and "surrogate" in by_line[6]
    # the quarantine file itself is valid UTF-8 JSON (a lone surrogate would make it unwritable)
    assert all(isinstance(r["raw"], str) for r in rows)


def test_a_valid_surrogate_pair_is_text_not_an_error(tmp_path: Path) -> None:
    from redline.data.io import read_records

    src = _lines(tmp_path / "in.jsonl", ['{"id": "e", "prompt": "smile \\ud83d\\ude00"}'])
    (rec,) = read_records(src)
    assert rec.prompt == "smile \U0001f600"


def test_json_array_items_too_deep_are_rejected_and_a_file_past_the_parser_names_its_line(tmp_path: Path) -> None:
    from redline.data.io import convert

    src = tmp_path / "in.json"
    src.write_text('[{"id": "a", "prompt": "ok"},\n{"id": "b", "prompt": "x", "meta": {"d": '
                   + _deep_json(200) + '}},\n{"id": "c", "prompt": "\\udbff"}]', encoding="utf-8")
    res = convert(src, tmp_path / "out.jsonl")
    assert (res.written, res.unreadable) == (1, 2)
    src.write_text('[{"id": "a", "prompt": "ok"},\n{"id": "b", "prompt": "x", "meta": ' + _deep_json(50_000) + "}]",
                   encoding="utf-8")
    with pytest.raises(InputError) as e:
        convert(src, tmp_path / "out2.jsonl")
    assert "nested deeper than" in str(e.value) and f"{src}:2" in str(e.value)


def test_csv_meta_and_labels_cells_deep_bigint_surrogate_are_rejected(tmp_path: Path) -> None:
    from redline.data.io import convert

    src = tmp_path / "in.csv"
    cells = ['{"a": ' + _deep_json(DEEP) + "}", '{"a": ' + BIG_INT + "}", '{"a": "\\ud800"}', '{"a": 1}']
    lines = ["id,prompt,meta"] + [f'r{i},hello,"{c.replace(chr(34), chr(34) * 2)}"' for i, c in enumerate(cells)]
    lines.append('r9,hello,"' + '{""a"": 1}' + '"')
    _lines(src, lines)
    src2 = tmp_path / "labels.csv"
    _lines(src2, ["id,prompt,labels", 'x,hello,"{""h"": ' + _deep_json(DEEP) + '}"', "y,hello,"])
    res = convert(src, tmp_path / "out.jsonl")
    assert (res.written, res.unreadable) == (2, 3)
    reasons = " | ".join(json.loads(x)["reason"] for x in res.quarantine.read_text(encoding="utf-8").splitlines())
    assert "nested deeper than" in reasons and "digits" in reasons and "surrogate" in reasons
    res = convert(src2, tmp_path / "out2.jsonl")
    assert (res.written, res.unreadable) == (1, 1)


def test_a_line_longer_than_the_limit_is_rejected_and_the_next_line_is_read(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from redline.data import limits
    from redline.data.io import convert

    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1000)
    src = _lines(tmp_path / "in.jsonl", [_good(1), json.dumps({"id": "long", "prompt": "x" * 5000}), _good(2)])
    res = convert(src, tmp_path / "out.jsonl")
    assert (res.written, res.unreadable) == (2, 1)
    (row,) = [json.loads(x) for x in res.quarantine.read_text(encoding="utf-8").splitlines()]
    assert row["line"] == 2 and "longer than 1000 bytes" in row["reason"] and "REDLINE_MAX_LINE_BYTES" in row["reason"]


def test_profile_counts_hostile_rows_as_rejected(tmp_path: Path) -> None:
    from redline.data.profile import ProfileOptions, profile_file

    src = _hostile_jsonl(tmp_path / "in.jsonl")
    rep = profile_file(src, opts=ProfileOptions(parallel=False, language=False))
    assert rep["records"] == 2 and rep["rejected"]["count"] == 5


def test_suite_validation_names_every_hostile_line(tmp_path: Path) -> None:
    from redline.data.jsonl import validate_samples

    src = _hostile_jsonl(tmp_path / "suite.jsonl")
    with pytest.raises(InputError) as e:
        validate_samples(src)
    where = sorted(p.where for p in e.value.problems)
    assert where == [f"{src}:{i}" for i in range(2, 7)]
    text = str(e.value)
    assert "nested deeper than" in text and "digits" in text and "surrogate" in text


def test_eval_refuses_a_suite_with_a_lone_surrogate_before_writing_any_result(workspace: Path, fake_server) -> None:
    server, policy, _ = fake_run_setup(workspace, fake_server, 1)
    recs = make_records(4)
    suite = workspace / "sur.jsonl"
    lines = [json.dumps(r) for r in recs]
    lines[3] = lines[3].replace("test prompt", "test \\ud800 prompt")
    _lines(suite, lines)
    out = workspace / "r"
    for _ in range(2):  # and again on a "resume": the same clear refusal
        p = run_cli(*eval_args(server, suite, policy, "--out", str(out)))
        assert p.returncode == 2, p.stderr
        assert f"{suite}:4" in p.stderr and "surrogate" in p.stderr and "Traceback" not in p.stderr
        assert not (out / "results.jsonl").exists()


def test_a_result_with_a_lone_surrogate_is_still_written_as_valid_utf8_json() -> None:
    from redline.files import jsonl_line as _json_line

    line = _json_line({"response": "ok \ud83d", "sample": {"id": "s1"}})
    assert line.endswith("\n")
    line.encode("utf-8")  # would raise for a lone surrogate written raw
    assert json.loads(line)["response"] == "ok \ud83d"
    assert _json_line({"x": "é"}) == '{"x": "é"}\n'  # ordinary text stays readable


def test_import_batch_quarantines_deep_bigint_and_surrogate_rows(workspace: Path) -> None:
    from tests._annotate_helpers import add_users, create, service

    r = create(workspace, n=3)
    assert r.returncode == 0, r.stderr
    add_users("acme", "a1")
    from redline.annotate.vendor import import_batch

    batch = _lines(workspace / "b.jsonl", [
        '{"task_id": "t", "annotator": "a1", "meta": ' + _deep_json(DEEP) + "}",
        '{"task_id": ' + BIG_INT + ', "annotator": "a1"}',
        '{"task_id": "t\\ud800", "annotator": "a1"}',
    ])
    res = import_batch(service(), "p1", batch)
    assert (res.rows, res.rejected, res.imported) == (3, 3, 0)
    reasons = [json.loads(x)["reason"] for x in res.quarantine.read_text(encoding="utf-8").splitlines()]
    assert "nested deeper than" in reasons[0] and "digits" in reasons[1] and "surrogate" in reasons[2]


def test_annotate_create_rejects_a_data_row_with_a_lone_surrogate(workspace: Path) -> None:
    from tests._annotate_helpers import response_rows

    rows = response_rows(3)
    rows[1]["prompt"] = "bad \ud800 prompt"
    data = workspace / "p1-data.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")  # ensure_ascii: written as the escape \ud800
    pol = write_policy(workspace / "pol.yaml")
    p = run_cli("annotate", "create", "--policy", str(pol), "--data", str(data), "--task", "response-label",
            "--name", "p1")
    assert "Traceback" not in p.stderr
    assert p.returncode == 2 and "2 items" in p.stdout and "1 row(s) rejected" in p.stdout, p.stdout + p.stderr
    (rej,) = [json.loads(x) for x in (workspace / "p1-data.jsonl.rejected.jsonl").read_text("utf-8").splitlines()]
    assert rej["line"] == 2 and "surrogate" in rej["reason"]


# -- item 6 and 7: policy YAML ----------------------------------------------------------------

_POLICY_HEAD = 'name: hostile\nversion: "1"\n'
_CAT = ("  - id: c1\n    name: C1\n    definition: a category\n"
        "    expected: {harmful: refuse, benign: comply}\n")


def test_policy_version_with_too_many_digits_names_its_line(tmp_path: Path) -> None:
    from redline.policy.loader import load_policy

    p = write_policy(tmp_path / "p.yaml", f"name: hostile\nversion: {BIG_INT}\ncategories:\n{_CAT}")
    with pytest.raises(InputError) as e:
        load_policy(p)
    assert f"{p}:2" in str(e.value) and "digits" in str(e.value)


def _alias_bomb(levels: int = 9) -> str:
    out = ["unused:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        out.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(out) + "\n"


@pytest.mark.timeout(60)
def test_a_yaml_alias_bomb_under_an_unused_key_is_refused_at_once(tmp_path: Path) -> None:
    from redline.policy.loader import load_policy

    p = write_policy(tmp_path / "p.yaml", _POLICY_HEAD + _alias_bomb() + f"categories:\n{_CAT}")
    with pytest.raises(InputError) as e:
        load_policy(p)
    text = str(e.value)
    assert "alias" in text and str(p) in text and "REDLINE_MAX_YAML_ALIAS_NODES" in text


def test_a_small_alias_still_works_and_duplicate_keys_are_reported_once(tmp_path: Path) -> None:
    from redline.policy.loader import load_policy

    text = (_POLICY_HEAD + "categories:\n  - id: c1\n    name: C1\n    definition: d\n"
            "    expected: &exp {harmful: refuse, benign: comply}\n"
            "  - id: c2\n    name: C2\n    definition: d\n    expected: *exp\n")
    pol = load_policy(write_policy(tmp_path / "ok.yaml", text))
    assert [c.id for c in pol.categories] == ["c1", "c2"]
    dup = (_POLICY_HEAD + "shared: &s {a: 1, a: 2}\nalso: [*s, *s, *s]\ncategories:\n" + _CAT)
    with pytest.raises(InputError) as e:
        load_policy(write_policy(tmp_path / "dup.yaml", dup))
    assert len(e.value.problems) == 1 and "appears twice" in e.value.problems[0].message


def _deep_tree(n: int) -> str:
    lines = ["categories:"]
    ind = "  "
    for i in range(n):
        lines += [f"{ind}- id: n{i}", f"{ind}  name: N{i}", f"{ind}  definition: d",
                  f"{ind}  expected: {{harmful: refuse, benign: comply}}"]
        if i < n - 1:
            lines.append(f"{ind}  subcategories:")
            ind += "    "
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("depth", [20, 300])
def test_a_deep_subcategory_tree_is_refused_with_its_line(tmp_path: Path, depth: int) -> None:
    from redline.policy.loader import load_policy

    p = write_policy(tmp_path / "p.yaml", _POLICY_HEAD + _deep_tree(depth))
    with pytest.raises(InputError) as e:
        load_policy(p)
    text = str(e.value)
    assert str(p) in text and "deeper than" in text and ("REDLINE_MAX_POLICY_DEPTH" in text or "REDLINE_MAX_DEPTH" in text)


def test_a_deep_tree_built_by_extends_parent_chains_is_refused(tmp_path: Path) -> None:
    from redline.policy.loader import load_policy

    base = write_policy(tmp_path / "base.yaml", _POLICY_HEAD + f"categories:\n{_CAT}")
    chain = ["name: over", 'version: "2"', f"extends: {base.name}", "categories:"]
    parent = "c1"
    for i in range(1_200):
        chain += [f"  - id: k{i}", f"    parent: {parent}", f"    name: K{i}", "    definition: d"]
        parent = f"k{i}"
    p = write_policy(tmp_path / "over.yaml", "\n".join(chain) + "\n")
    with pytest.raises(InputError) as e:
        load_policy(p)
    assert "deeper than" in str(e.value) and "Traceback" not in str(e.value)


def test_a_policy_nested_past_the_yaml_depth_limit_is_refused(tmp_path: Path) -> None:
    from redline.policy.loader import load_policy

    p = write_policy(tmp_path / "p.yaml", _POLICY_HEAD + "extra: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputError) as e:
        load_policy(p)
    assert f"{p}:3" in str(e.value) and "nested deeper than" in str(e.value)


# -- item 7: map file, xlsx, csv, profile -----------------------------------------------------


def test_a_map_file_not_utf8_or_too_deep_is_a_clear_error(tmp_path: Path) -> None:
    from redline.data.formats import FieldMap

    bad = tmp_path / "map.yaml"
    bad.write_bytes(b"map:\n  prompt: question\n  category: caf\xe9\n")
    with pytest.raises(InputError) as e:
        FieldMap.parse(map_file=bad)
    assert f"{bad}:3" in str(e.value) and "UTF-8" in str(e.value)
    deep = tmp_path / "deep.yaml"
    for body in ("set:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2_000)),
                 "set:\n  meta.x: " + "[" * 10_000 + "]" * 10_000 + "\n"):
        deep.write_text(body, encoding="utf-8")
        with pytest.raises(InputError) as e:
            FieldMap.parse(map_file=deep)
        assert "nested deeper than" in str(e.value) and str(deep) in str(e.value)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb().replace("unused:", "set:\n  meta.x:"), encoding="utf-8")
    with pytest.raises(InputError) as e:
        FieldMap.parse(map_file=bomb)
    assert "alias" in str(e.value)


def _xlsx(path: Path, sheet_xml: bytes) -> Path:
    """A minimal valid workbook whose one sheet is ``sheet_xml``."""
    files = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _sheet(rows: list[list[str]], pad: int = 0) -> bytes:
    body = "".join("<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in r) + "</row>" for r in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData>' + body + "</sheetData>" + " " * pad + "</worksheet>").encode()


def test_an_xlsx_that_expands_past_the_limit_is_refused_before_parsing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from redline.data.io import read_records

    ok = _xlsx(tmp_path / "ok.xlsx", _sheet([["id", "prompt"], ["1", "hello"]]))
    assert [r.prompt for r in read_records(ok)] == ["hello"]
    from redline.data import limits

    monkeypatch.setattr(limits, "MAX_XLSX_BYTES", 1_000_000)
    bomb = _xlsx(tmp_path / "bomb.xlsx", _sheet([["id", "prompt"], ["1", "hello"]], pad=5_000_000))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError) as e:
        read_records(bomb)
    text = str(e.value)
    assert str(bomb) in text and "expands to" in text and "REDLINE_MAX_XLSX_BYTES" in text


def test_an_xlsx_cell_with_a_huge_integer_is_a_clear_error(tmp_path: Path) -> None:
    from redline.data.io import convert

    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>id</t></is></c>'
             '<c t="inlineStr"><is><t>prompt</t></is></c></row><row><c><v>' + BIG_INT + '</v></c>'
             '<c t="inlineStr"><is><t>hi</t></is></c></row></sheetData></worksheet>').encode()
    src = _xlsx(tmp_path / "big.xlsx", sheet)
    try:
        res = convert(src, tmp_path / "out.jsonl")
    except InputError as e:
        assert "digits" in str(e)
    else:
        assert res.unreadable == 1 and res.written == 0


@pytest.mark.timeout(60)
def test_a_csv_with_50000_columns_reports_its_duplicate_header_quickly(tmp_path: Path) -> None:
    from redline.data.io import read_records

    cols = ["id", "prompt", *(f"c{i}" for i in range(50_000)), "c7"]
    src = _lines(tmp_path / "wide.csv", [",".join(cols), ",".join(["1", "hi", *(["v"] * 50_001)])])
    with pytest.raises(InputError) as e:
        read_records(src)
    assert "c7" in str(e.value) and "more than once" in str(e.value)
    cols[-1] = "c_last"
    _lines(src, [",".join(cols), ",".join(["1", "hi", *(["v"] * 50_001)])])
    (rec,) = read_records(src)
    assert rec.meta["c_last"] == "v"


def test_profile_memory_does_not_grow_with_the_longest_row(tmp_path: Path) -> None:
    import tracemalloc

    from redline.data.profile import ProfileOptions, profile_file

    long_text = ("word " * 400_000)[:2_000_000]
    src = _lines(tmp_path / "in.jsonl", [json.dumps({"id": "a", "prompt": "short one"}),
                                          json.dumps({"id": "b", "prompt": long_text})])
    tracemalloc.start()
    try:
        rep = profile_file(src, opts=ProfileOptions(parallel=False))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rep["records"] == 2
    # unbounded: 2M shingles x 128 permutations x 4 bytes = 1 GB for the MinHash block alone
    assert peak < 300 * 2**20, peak
    assert rep["lengths"]["prompt_chars"]["max"] == 2_000_000  # lengths still count every character


def test_every_limit_is_documented_with_how_to_raise_it() -> None:
    from redline.data import limits

    doc = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    for env in limits.ENV_VARS:
        assert env in doc, env
    for section in ("Image parts", "SQL"):
        assert section in doc


def test_ordinary_nesting_and_long_integers_are_still_read(tmp_path: Path) -> None:
    from redline.data.jsonl import iter_samples, validate_samples

    recs = make_records(3)
    recs[0]["meta"] = {"a": {"b": {"c": [1, [2, [3]]]}}, "n": 10**100, "smile": "\U0001f600"}
    recs[1]["meta"] = {"brackets": "[[[[" * 100}  # brackets inside a string are not nesting
    suite = write_suite(tmp_path / "ok.jsonl", recs)
    assert validate_samples(suite) == 3
    assert [s.meta.get("n") for s in iter_samples(suite)] == [10**100, None, None]
