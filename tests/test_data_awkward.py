"""Awkward real-world inputs: nothing is silently dropped (every row is written or quarantined and the
counts add up), mapping errors name the field and the fix, PII look-alikes, merged Excel cells,
Label Studio skips and disagreements, plot text with '$'."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from redline.data.formats import FieldMap, Rejected, get_format
from redline.data.io import convert, open_input, quarantine_path, read_records
from redline.data.pii import PiiScanner
from redline.data.records import Record
from redline.errors import InputError
from tests.helpers import run_cli

# -- the counting property: rows in == rows written + rows quarantined -------------------------


def _good(rng: random.Random, i: int) -> dict:
    text = rng.choice(["How do I report a scam?", 'She said "hi", then left.', "line one\nline two",
                       "tab\there, comma, here", "Quels sont les signes ?", "emoji 🙂 and ünïcödé", "x" * 70_000,
                       "trailing backslash \\", "semi;colon", "  padded  "])
    return {"id": f"g{i}", "prompt": text, "category": rng.choice(["hate", "privacy"]),
            "expected": rng.choice(["refuse", "comply"]), "language": "en"}


def _jsonl_rows(rng: random.Random, n: int) -> tuple[bytes, int, set[str]]:
    """Lines of a JSONL file: good rows and defects that must be quarantined; blank lines are not rows."""
    out, rows, good = [], 0, set()
    for i in range(n):
        kind = rng.choices(["good", "blank", "torn", "array", "latin1", "noprompt", "badexp"],
                           [10, 1, 1, 1, 1, 1, 1])[0]
        if kind == "blank":
            out.append(b"   ")
            continue
        rows += 1
        if kind == "good":
            r = _good(rng, i)
            good.add(r["id"])
            out.append(json.dumps(r, ensure_ascii=rng.random() < 0.5).encode())
        elif kind == "torn":
            out.append(json.dumps(_good(rng, i)).encode()[: rng.randint(1, 20)])
        elif kind == "array":
            out.append(b"[1, 2]")
        elif kind == "latin1":
            out.append(json.dumps({"id": f"b{i}", "prompt": "caf\u00e9"}, ensure_ascii=False).encode("latin-1"))
        elif kind == "noprompt":
            out.append(json.dumps({"id": f"b{i}", "category": "hate"}).encode())
        else:
            out.append(json.dumps({"id": f"b{i}", "prompt": "p", "expected": "maybe"}).encode())
    eol = rng.choice([b"\n", b"\r\n"])
    data = eol.join(out) + (eol if rng.random() < 0.5 else b"")  # a torn last line has no newline
    return (b"\xef\xbb\xbf" if rng.random() < 0.5 else b"") + data, rows, good


def _csv_rows(rng: random.Random, n: int, delimiter: str) -> tuple[bytes, int, set[str]]:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator=rng.choice(["\n", "\r\n"]))
    w.writerow(["id", "prompt", "category", "expected", "language"])
    chunks: list[bytes] = [buf.getvalue().encode()]
    rows, good = 0, set()
    for i in range(n):
        buf = io.StringIO(newline="")
        w = csv.writer(buf, delimiter=delimiter, lineterminator=rng.choice(["\n", "\r\n"]))
        kind = rng.choices(["good", "blank", "short", "latin1", "noprompt", "badexp"], [10, 1, 1, 1, 1, 1])[0]
        if kind == "blank":
            chunks.append(b"\n")
            continue
        rows += 1
        if kind == "good":
            r = _good(rng, i)
            good.add(r["id"])
            w.writerow(list(r.values()))
        elif kind == "short":
            w.writerow([f"b{i}", "too few cells"])
        elif kind == "noprompt":
            w.writerow([f"b{i}", "", "hate", "refuse", "en"])
        elif kind == "badexp":
            w.writerow([f"b{i}", "p", "hate", "maybe", "en"])
        else:
            w.writerow([f"b{i}", "caf\u00e9 cr\u00e8me", "hate", "refuse", "en"])
            chunks.append(buf.getvalue().encode("latin-1"))
            continue
        chunks.append(buf.getvalue().encode())
    return (b"\xef\xbb\xbf" if rng.random() < 0.5 else b"") + b"".join(chunks), rows, good


def _check_counts(src: Path, frm: str, rows: int, good: set[str], tmp: Path, to: str = "jsonl") -> None:
    out = tmp / f"out-{src.stem}.{to}"
    res = convert(src, out, to=to, frm=frm)
    q = quarantine_path(out)
    rejected = [json.loads(x) for x in q.read_text().splitlines()] if q.exists() else []
    assert res.written + res.rejected == rows == res.rows, (src.name, res.to_json(), rows)
    assert len(rejected) == res.rejected == res.unreadable + res.unwritable
    back = read_records(out, to) if res.written else []
    assert {r.id for r in back} == good  # exactly the good rows, each once
    assert len(back) == len(good)
    assert all(r["reason"] and r["where"].startswith(str(src)) for r in rejected)
    lines = [r["line"] for r in rejected]
    assert len(set(lines)) == len(lines)  # each bad row quarantined once, by its own row number


@pytest.mark.parametrize("seed", range(6))
def test_rows_in_equal_written_plus_quarantined_jsonl_csv_tsv(tmp_path, seed):
    rng = random.Random(seed)
    n = rng.randint(40, 400)
    data, rows, good = _jsonl_rows(rng, n)
    (tmp_path / "d.jsonl").write_bytes(data)
    _check_counts(tmp_path / "d.jsonl", "jsonl", rows, good, tmp_path, to=rng.choice(["jsonl", "csv", "parquet"]))
    for fmt, delim in (("csv", ","), ("tsv", "\t")):
        data, rows, good = _csv_rows(rng, n, delim)
        src = tmp_path / f"d.{fmt}"
        src.write_bytes(data)
        _check_counts(src, fmt, rows, good, tmp_path, to=rng.choice(["jsonl", "json", "tsv"]))


@pytest.mark.parametrize("seed", range(4))
def test_rows_in_equal_written_plus_quarantined_chat_formats(tmp_path, seed):
    """ShareGPT (system turns), OpenAI, TRL DPO (multi-turn), Inspect (input as messages), Label Studio."""
    rng = random.Random(100 + seed)
    makers = {
        "sharegpt": (lambda i: {"id": f"g{i}", "conversations": [
            {"from": "system", "value": "Be kind."}, {"from": "human", "value": f"q{i}"},
            {"from": "gpt", "value": "a"}, {"from": "human", "value": "more?"}, {"from": "gpt", "value": "sure"}]},
                     lambda i: {"id": f"b{i}", "conversations": [{"from": "alien", "value": "?"}]}),
        "openai": (lambda i: {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": f"q{i}"},
                                           {"role": "assistant", "content": "a", "weight": 1}]},
                   lambda i: {"messages": []}),
        "trl_dpo": (lambda i: {"prompt": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"},
                                          {"role": "user", "content": "again"}],
                               "chosen": [{"role": "assistant", "content": "good"}],
                               "rejected": [{"role": "assistant", "content": "bad"}]},
                    lambda i: {"prompt": f"q{i}", "chosen": "only chosen"}),
        "inspect": (lambda i: {"id": f"g{i}", "input": [{"role": "system", "content": "s"},
                                                        {"role": "user", "content": f"q{i}"}], "target": "refuse"},
                    lambda i: {"id": f"b{i}", "target": "refuse"}),
        "label_studio": (lambda i: {"id": f"g{i}", "data": {"text": f"q{i}"}, "annotations": [
            {"completed_by": 1, "result": [{"from_name": "harm", "to_name": "text", "type": "choices",
                                            "value": {"choices": ["safe"]}}]},
            {"completed_by": 2, "was_cancelled": True, "result": []}]},
                         lambda i: {"id": f"b{i}", "annotations": []}),
    }
    for fmt, (good_row, bad_row) in makers.items():
        n = rng.randint(20, 120)
        rows, lines, n_good = 0, [], 0
        for i in range(n):
            r = rng.random()
            rows += 1
            if r < 0.8:
                lines.append(json.dumps(good_row(i)))
                n_good += 1
            elif r < 0.9:
                lines.append(json.dumps(bad_row(i)))
            else:
                lines.append(json.dumps(good_row(i))[:-3])  # torn
        src = tmp_path / f"{fmt}.jsonl"
        src.write_text("\n".join(lines))
        out = tmp_path / f"{fmt}.out.jsonl"
        res = convert(src, out, to="jsonl", frm=fmt)
        assert res.written + res.rejected == rows == res.rows, (fmt, res.to_json())
        assert res.written == n_good, (fmt, res.to_json())
        back = read_records(out)
        if fmt == "trl_dpo":
            assert all(len(b.prompt_messages) == 3 and b.chosen[0].text == "good" for b in back)
            again = tmp_path / "again.dpo.jsonl"
            assert convert(out, again, to="trl_dpo").written == n_good
            assert json.loads(again.read_text().splitlines()[0])["prompt"][1] == {"role": "assistant", "content": "a"}
        if fmt == "sharegpt":
            assert all(b.system == "Be kind." and b.turns == 2 for b in back)
            again = tmp_path / "again.sg.jsonl"
            convert(out, again, to="sharegpt")
            first = json.loads(again.read_text().splitlines()[0])
            assert first["system"] == "Be kind." and len(first["conversations"]) == 4
        if fmt == "inspect":
            assert all(b.system == "s" and b.prompt.startswith("q") for b in back)
        if fmt == "label_studio":
            assert all(b.labels == {"harm": "safe"} and b.meta["cancelled_annotations"] == 1 for b in back)


# -- regressions ------------------------------------------------------------------------------


def test_csv_stray_byte_after_the_first_chunk_rejects_only_its_row(tmp_path):
    """Was: a non-UTF-8 byte past the first 8 KiB ended the read — the bad row was misnumbered and
    every later row silently lost; inside the first 8 KiB the whole file failed as 'line 1'."""
    for at in (3, 1500):
        body = [f"{i},row {i}".encode() for i in range(1, 3000)]
        body[at - 1] = f"{at},caf".encode() + b"\xe9"
        src = tmp_path / f"v{at}.csv"
        src.write_bytes(b"id,prompt\n" + b"\n".join(body) + b"\n")
        out = tmp_path / f"v{at}.jsonl"
        p = run_cli("data", "convert", str(src), str(out), "--no-progress", "--no-register", "--json")
        assert p.returncode == 2, p.stderr
        res = json.loads(p.stdout)
        assert (res["rows"], res["written"], res["rejected"], res["unreadable"]) == (2999, 2998, 1, 1)
        q = [json.loads(x) for x in quarantine_path(out).read_text().splitlines()]
        assert q[0]["line"] == at and f"row {at} (line {at + 1})" in q[0]["where"]
        assert "0xe9" in q[0]["reason"] and q[0]["raw"] == [str(at), "caf\ufffd"]


def test_csv_header_not_utf8_is_an_error_naming_the_header(tmp_path):
    src = tmp_path / "h.csv"
    src.write_bytes(b"id,pr\xe9mpt\n1,x\n")
    with pytest.raises(InputError) as e:
        list(open_input(src))
    assert "header" in str(e.value.problems[0]) and "re-encode" in str(e.value.problems[0])


def test_csv_embedded_newlines_quotes_crlf_bom_huge_field(tmp_path):
    big = "y" * 1_000_000
    src = tmp_path / "w.csv"
    src.write_bytes(b"\xef\xbb\xbf" + f'id,prompt\r\n1,"a\r\nb"\r\n2,"say ""x"""\r\n\r\n3,{big}\r\n'.encode())
    recs = read_records(src)
    assert [r.prompt for r in recs] == ["a\r\nb", 'say "x"', big]
    out = tmp_path / "w.out.csv"
    convert(src, out)
    assert [r.prompt for r in read_records(out)] == ["a\r\nb", 'say "x"', big]


def test_format_names_accept_hyphens():
    assert get_format("trl-dpo") is get_format("trl_dpo")
    assert get_format("Label-Studio") is get_format("label_studio")


def test_mapping_errors_name_the_field_and_the_fix(tmp_path):
    with pytest.raises(InputError) as e:
        FieldMap.parse(["promt=question"])
    (prob,) = e.value.problems
    assert "promt" in prob.where and "did you mean 'prompt'" in prob.fix
    assert FieldMap.parse(["meta.vendor_topic=topic", "labels.harm=h", "conversations=dialog"]).renames
    mf = tmp_path / "m.yaml"
    mf.write_text("map: {prompt: [question]}\n")
    with pytest.raises(InputError) as e:
        FieldMap.parse(map_file=mf)
    assert "map.prompt" in e.value.problems[0].where and "COLUMN" in e.value.problems[0].fix
    mf.write_text("values: {categroy: {vcr: violent_crimes}}\n")
    with pytest.raises(InputError) as e:
        FieldMap.parse(map_file=mf)
    assert "categroy" in e.value.problems[0].where and "'category'" in e.value.problems[0].fix
    src = tmp_path / "v.csv"
    src.write_text("question,topic\nhello,hate\n")
    (item,) = list(open_input(src, fmap=FieldMap.parse(["prompt=questoin"])))
    assert isinstance(item, Rejected)
    assert "prompt=questoin" in item.reason and "question, topic" in item.reason


def test_pii_version_numbers_are_not_ips_but_ips_are():
    s = PiiScanner(("ip_address",))
    for text in ("Upgrade to version 10.2.3.4 today", "runs on v2.0.0.1", "Version: 4.4.4.4", "build 1.2.3.4",
                 "OID 1.2.840.113549.1.1.1", "firmware 3.10.2.1 is out", "order 2024.11.29.0042"):
        assert s.scan(text) == [], text
    for text, ip in (("ping 8.8.8.8.", "8.8.8.8"), ("server 203.0.113.9, then", "203.0.113.9"),
                     ("(192.0.2.1)", "192.0.2.1"), ("connect to 1.2.3.4 version 5", "1.2.3.4")):
        assert [f.text for f in s.scan(text)] == [ip], text
    ssn = PiiScanner(("us_ssn",))
    for text, want in (("ssn 078 05 1120", "078 05 1120"), ("SSN: 078051120", "078051120"),
                       ("Social Security No. 078 05 1120", "078 05 1120"), ("ssn is 078-05-1120", "078-05-1120")):
        assert [f.text for f in ssn.scan(text)] == [want], text
    assert ssn.scan("order 078 05 1120") == [] and ssn.scan("ssn 000 12 3456") == []
    assert [f.text for f in s.scan("mapped ::ffff:192.0.2.1 here")] == ["192.0.2.1"]  # not also '::ffff:192'
    full = PiiScanner()
    for text in ("Meeting on 2024-03-15 at 10:30", "Order #123-456-7890 shipped", "Invoice INV-4111111111111111",
                 "ISBN 0-306-40615-2", "Timestamp 1700000000123", "coords 48.8566, 2.3522", "v1.2.3"):
        assert full.scan(text) == [], text


def test_excel_merged_cells_fill_their_range_and_blank_rows_are_skipped(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "prompt", "category"])
    ws.append([1, "first", "hate"])
    ws.append([2, "second", None])
    ws.append([None, None, None])
    ws.append([3, "third", None])
    ws.append([4, "fourth", "privacy"])
    ws.append([5, None, "privacy"])  # no prompt → quarantined
    ws.merge_cells("C2:C5")
    path = tmp_path / "vendor.xlsx"
    wb.save(path)
    items = list(open_input(path))
    recs = [i for i in items if isinstance(i, Record)]
    assert [(r.id, r.category) for r in recs] == [("1", "hate"), ("2", "hate"), ("3", "hate"), ("4", "privacy")]
    assert len([i for i in items if isinstance(i, Rejected)]) == 1


def test_label_studio_skips_and_disagreements_are_visible(tmp_path):
    ann = [{"completed_by": a, "result": [{"from_name": "harm", "to_name": "text", "type": "choices",
                                          "value": {"choices": [v]}}]} for a, v in ((1, "unsafe"), (2, "safe"))]
    src = tmp_path / "ls.json"
    src.write_text(json.dumps([
        {"id": 1, "data": {"text": "one"}, "annotations": ann},
        {"id": 2, "data": {"text": "two"}, "annotations": [{"completed_by": 1, "was_cancelled": True, "result": []}]},
        {"id": 3, "data": {"text": "three"}, "annotations": ann[:1]}]))
    a, b, c = read_records(src, "label_studio")
    assert a.labels == {"harm": "unsafe"} and a.meta["label_disagreement"] == ["harm"]
    assert b.meta["skipped"] is True and not b.labels
    assert "label_disagreement" not in c.meta and "skipped" not in c.meta


def test_profile_html_with_dollar_signs_in_values(tmp_path):
    """Was: a category or label like 'costs $x^{$' crashed the plots (matplotlib mathtext)."""
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "prompt": f"p {i}", "category": "costs $x^{$ here",
                                       "labels": {"tier": "$5 $\\frac"}}) + "\n" for i in range(4)))
    html = tmp_path / "p.html"
    p = run_cli("data", "profile", str(src), "--html", str(html), "--no-progress", "--no-near", "--no-language")
    assert p.returncode == 0, p.stderr
    assert "costs $x^{$ here" in html.read_text()


def test_check_cli_names_row_ids_and_exit_codes(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "ok1", "prompt": "How do I report harassment?", "category": "harassment", "expected": "comply",
         "language": "en"},
        {"id": "bad-cat", "prompt": "A question about something", "category": "harasment", "expected": "comply",
         "language": "en"},
        {"id": "pii-row", "prompt": "Email me at someone@example.org please", "category": "privacy",
         "expected": "refuse", "language": "en"}]))
    std = tmp_path / "s.yaml"
    std.write_text("name: s\npolicy: default\nno_pii: true\n")
    p = run_cli("data", "check", str(src), "--standard", str(std), "--no-progress")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "bad-cat" in p.stdout and "pii-row" in p.stdout and "ok1" not in p.stdout
    src.write_text(src.read_text() + "{torn\n")
    p = run_cli("data", "check", str(src), "--standard", str(std), "--no-progress")
    assert p.returncode == 2
    assert f"unreadable {src}:4: invalid JSON" in p.stdout  # where and why, not only a count
