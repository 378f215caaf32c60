"""The data layer's shared pieces: format plug-ins, locations as data, one JSONL line loop,
public library APIs only."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from redline.data.formats import Rejected, formats, get_format
from redline.data.formats.base import JsonRowFormat
from redline.data.records import Record
from tests.helpers import invoke


def test_every_format_is_a_format_plugin() -> None:
    from redline import plugins

    names = set(plugins.names("format", entry_points=False))
    assert names == {"alpaca", "csv", "excel", "hf", "inspect", "json", "jsonl", "label_studio", "openai", "parquet",
                     "sharegpt", "trl_dpo", "trl_kto", "trl_sft", "tsv"}
    assert set(formats()) >= names
    assert get_format("label-studio").name == "label_studio"
    assert get_format("TRL_DPO") is get_format("trl_dpo")
    by_name = {p.name: p for p in plugins.all_plugins("format")}
    assert by_name["csv"].summary == get_format("csv").description == "comma-separated values with a header row"


def test_a_json_row_format_declares_only_its_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from redline import plugins
    from redline.data.formats import base

    plugins.names("format")  # built-ins loaded, then the registry is restored after the test
    monkeypatch.setattr(plugins, "_REG", copy.deepcopy(plugins._REG))
    monkeypatch.setattr(base, "_INSTANCES", {})

    @plugin_once("qa_test_rows")
    class QaRows(JsonRowFormat):
        """question/answer rows (a test format)"""

        to_record = staticmethod(lambda row, n: Record(id=str(n), messages=[
            {"role": "user", "content": row["question"]}, {"role": "assistant", "content": row["answer"]}]))
        to_row = staticmethod(lambda r: {"question": r.prompt, "answer": r.response})

    src = tmp_path / "in.jsonl"
    src.write_text('{"question": "Q1", "answer": "A1"}\n{"answer": "no question"}\n')
    items = list(get_format("qa_test_rows").read(src, _fmap()))
    assert isinstance(items[0], Record) and items[0].prompt == "Q1"
    bad = items[1]
    assert isinstance(bad, Rejected)
    assert (bad.path, bad.unit, bad.row, bad.file_line, bad.field) == (str(src), "", 2, 2, "question")
    assert bad.where == f"{src}:2" and bad.reason == "missing field 'question'"
    out = tmp_path / "out.jsonl"
    w = get_format("qa_test_rows").open_writer(out)
    w.write(items[0])
    w.close()
    assert json.loads(out.read_text()) == {"question": "Q1", "answer": "A1"}
    assert "qa_test_rows" in plugins.names("format", entry_points=False)


def plugin_once(name: str):  # noqa: ANN201 - a decorator
    from redline.plugins import plugin

    return plugin("format", name)


def _fmap():  # noqa: ANN202
    from redline.data.formats import FieldMap

    return FieldMap()


def test_csv_rejections_carry_their_location(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_text('id,prompt\n1,hello\n\n2,"two",extra\n3,\n', encoding="utf-8")
    items = list(get_format("csv").read(src, _fmap()))
    short, empty = [i for i in items if isinstance(i, Rejected)]
    assert short.where == f"{src}:row 2 (line 4)"  # as shown before: identical text
    assert (short.unit, short.row, short.file_line, short.line) == ("row ", 2, 4, 2)
    assert empty.where == f"{src}:row 3" and (empty.row, empty.file_line) == (3, None)
    moved = short.on_file_line(4)
    assert (moved.where, moved.line, moved.row) == (f"{src}:4 (row 2)", 4, 2)
    assert moved.to_json() == {"where": f"{src}:4 (row 2)", "line": 4, "reason": short.reason, "raw": short.raw}


def test_one_line_loop_drops_the_bom_and_measures_long_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from redline.data import limits

    assert list(limits.iter_lines(io.BytesIO(b'\xef\xbb\xbf{"a": 1}\n\xef\xbb\xbf{}\n'))) == [
        (1, b'{"a": 1}\n'), (2, b"\xef\xbb\xbf{}\n")]  # only line 1's BOM is a BOM
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 8)
    assert list(limits.iter_lines(io.BytesIO(b"\xef\xbb\xbf" + b"x" * 7 + b"\nok\n"))) == [(1, 11), (2, b"ok\n")]


@pytest.mark.parametrize("num_perm", [32, 128])
def test_lsh_params_match_datasketch(num_perm: int) -> None:
    from datasketch import MinHashLSH

    from redline.data.dedup import lsh_params

    for threshold in (0.3, 0.5, 0.7, 0.8):
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)
    assert lsh_params(0.95, 16)[0] == 1  # one band: MinHashLSH itself refuses it, the search allows it


def test_language_detection_uses_the_public_api() -> None:
    from redline.data.langid import detect_language

    assert detect_language("Bonjour tout le monde, comment allez-vous aujourd'hui ?") == "fr"
    assert detect_language("ok") == "und"


def test_one_source_column_feeds_several_fields_and_swaps_work(tmp_path: Path) -> None:
    """Issue 18 item 2: ``--map category=tags --map expected=tags`` kept only one of the two."""
    from redline.data.formats import FieldMap
    from redline.data.io import convert

    fm = FieldMap.parse(["category=tags", "source=tags", "prompt=question"])
    row = {"id": "r1", "question": "how do I bake bread?", "tags": "benign"}
    got = fm.apply(row)
    assert got["category"] == "benign" and got["source"] == "benign" and got["prompt"] == row["question"]
    assert "tags" not in got and "question" not in got and row["tags"] == "benign"  # input untouched
    swapped = FieldMap.parse(["prompt=response", "response=prompt"]).apply({"prompt": "P", "response": "R"})
    assert swapped == {"prompt": "R", "response": "P"}
    # end to end through convert: both fields arrive
    src = tmp_path / "in.csv"
    src.write_text("id,question,tags\nr1,how do I bake bread?,cooking\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = convert(src, out, to="jsonl", fmap=FieldMap.parse(["prompt=question", "category=tags", "source=tags"]))
    assert res.written == 1, res
    rec = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert rec["category"] == "cooking" and rec["source"] == "cooking"


def test_reject_summary_names_whole_fields() -> None:
    """Issue 18 item 2: the summary showed ``20 × field '`` (cut inside the quoted name)."""
    from redline.data.io import _reason_kind

    assert _reason_kind("field '(root)': not an object") == "field '(root)'"
    assert _reason_kind("field 'meta (extra)': too deep (depth 70)") == "field 'meta (extra)'"
    assert _reason_kind("no assistant turn (response) in row 3") == "no assistant turn"
    assert _reason_kind("invalid JSON: Expecting value: line 1") == "invalid JSON"
    assert _reason_kind("can't be written: 'x' too long") == "can't be written"


def test_data_commands_read_a_built_in_suite_by_name(tmp_path: Path) -> None:
    """Issue 18 item 7: `data convert smoke …` reads the shipped suite; a real file wins; a typo lists the suites."""
    out = tmp_path / "smoke.csv"
    res = invoke("data", "convert", "smoke", str(out), "--no-register", "--no-progress", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    from redline.data.suites import builtin_suites

    n = sum(1 for line in builtin_suites()["smoke"].read_text(encoding="utf-8").splitlines() if line.strip())
    assert f"{n} rows: {n} written, 0 rejected" in res.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == n + 1  # header + rows
    # a file called like a suite wins over the suite
    (tmp_path / "smoke").write_text('{"id": "x1", "prompt": "hello", "category": "privacy", "expected": "comply"}\n',
                                    encoding="utf-8")
    res = invoke("data", "convert", "smoke", str(tmp_path / "mine.jsonl"), "--from", "jsonl", "--no-register",
                  "--no-progress", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    assert "1 rows: 1 written" in res.output
    res = invoke("data", "convert", "smok", str(tmp_path / "x.csv"), "--no-register", cwd=tmp_path)
    assert res.exit_code == 2
    assert "name a built-in suite" in res.output and "smoke" in res.output


def test_coverage_requests_without_a_quota_use_the_default_quota(tmp_path: Path) -> None:
    """Issue 18 item 7: `data coverage --requests` without --quota wrote an empty file without a word."""
    req = tmp_path / "req.jsonl"
    res = invoke("data", "coverage", "smoke", "--requests", str(req), "--thin", "3", "--no-progress")
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in req.read_text(encoding="utf-8").splitlines()]
    assert rows, "requests against the default quota"
    assert all(r["quota"] == 3 and r["need"] == 3 - r["have"] and r["have"] < 3 for r in rows)
    assert {r["kind"] for r in rows} <= {"harmful", "benign-contrast"}
    assert f"data requests: {len(rows)} written to {req}" in res.output
    assert "default quota: 3 rows (--thin)" in res.output
    res = invoke("data", "coverage", "smoke", "--requests", str(req), "--thin", "3", "--json", "--no-progress")
    rep = json.loads(res.output)
    assert rep["quota"] == {"default": True, "min_per_cell": 3} and len(rep["requests"]) == len(rows)
    # a quota every cell meets: nothing to request, and the command says so
    q = tmp_path / "q.yaml"
    q.write_text("min_per_cell: 0\n", encoding="utf-8")
    res = invoke("data", "coverage", "smoke", "--quota", str(q), "--requests", str(req), "--no-progress")
    assert res.exit_code == 0, res.output
    assert req.read_text(encoding="utf-8") == ""
    assert "data requests: none — every cell meets the quota in" in res.output
