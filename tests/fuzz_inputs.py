"""Structure-aware generators of hostile input files (hypothesis strategies), shared by the bounded
property tests (tests/test_fuzz_readers.py, in `make test`) and the long fuzz driver
(bench/fuzz_readers.py, `make fuzz`).

Each strategy draws a :class:`Case`: the bytes of one file, its name (the extension picks the
reader) and the target that reads it. Inputs are mostly well-formed with hostile parts mixed in:
nesting past the limits, integers past 4,300 digits, lone surrogates, invalid UTF-8, BOMs, very
wide rows, YAML alias bombs, deep policy trees, zip bombs, truncated files.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st


@dataclass
class Case:
    target: str  # which reader: see TARGETS
    name: str  # file name (its extension picks the format)
    data: bytes

    def __repr__(self) -> str:  # short in hypothesis reports
        return f"Case({self.target!r}, {self.name!r}, {len(self.data)} bytes: {self.data[:120]!r}…)"


# -- atoms ----------------------------------------------------------------------------------------

SPECIAL = ["\ud800", "\udfff", "\ud83d\ude00", "\ud83d", "\x00", "\ufeff", "é", "\r\n", "\n", '"', ",", ";",
           "\t", "[", "{", "}", "]", "\\", "&", "*a", "- ", ": ", "#", "\u2028", "Ã©", "\x1b", "🙂" * 3]
text = st.one_of(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30), st.sampled_from(SPECIAL),
                 st.lists(st.sampled_from(SPECIAL), max_size=5).map("".join))
plain = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20)


def mostly(good: Any, bad: Any) -> Any:
    """``good`` three times in four, else ``bad`` (so that hostile parts sit inside valid files)."""
    return st.one_of(good, good, good, bad)


DEPTHS = [1, 10, 63, 64, 65, 100, 999, 1_001, 5_000, 100_000]
depth = st.sampled_from(DEPTHS)
BIG = ["9" * 4_300, "9" * 4_301, "-" + "1" * 5_000, "1" * 20, "1e999", "-0", "1.5e-400"]


def deep_json(n: int, kind: str = "[") -> str:
    if kind == "[":
        return "[" * n + "]" * n
    return '{"a":' * n + "1" + "}" * n


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                        text)
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4),
                          max_leaves=12)

FIELDS = ["id", "prompt", "response", "system", "messages", "chosen", "rejected", "labels", "category", "expected",
          "language", "source", "meta", "conversations", "instruction", "input", "output", "history", "completion",
          "label", "target", "metadata", "data", "annotations", "predictions", "images", "text", "choices",
          "task_id", "vendor", "annotator", "skip_reason", "duration_s", "harmful", "refusal"]


@st.composite
def message(draw: Any) -> Any:
    role = draw(st.sampled_from(["user", "assistant", "system", "tool", "human", "gpt", "", 3]))
    content = draw(st.one_of(text, st.lists(st.one_of(text, st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "image", "image_url", "x"])},
        optional={"text": text, "image_url": st.one_of(text, st.fixed_dictionaries({"url": text})),
                  "url": text, "base64": text})), max_size=3), json_value))
    return draw(st.sampled_from([{"role": role, "content": content}, {"from": role, "value": content}]))


@st.composite
def record(draw: Any) -> dict[str, Any]:
    """A record-like object: plausible keys (of every format) with plausible or hostile values."""
    out: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=7, unique=True)):
        if key in ("messages", "conversations", "chosen", "rejected", "history"):
            out[key] = draw(st.one_of(st.lists(message(), max_size=4), text, json_value))
        elif key in ("meta", "labels", "data", "metadata"):
            out[key] = draw(st.one_of(st.dictionaries(text, json_value, max_size=4), json_value))
        elif key == "expected":
            out[key] = draw(st.one_of(st.sampled_from(["refuse", "comply", "safe_complete", ""]), json_value))
        else:
            out[key] = draw(st.one_of(text, text, json_value))
    if draw(st.booleans()):
        out.setdefault("prompt", draw(text) or "p")
    return out


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=True, allow_nan=True)  # ASCII: a lone surrogate as its \u escape


@st.composite
def hostile_json_text(draw: Any) -> str:
    """One JSON object's text with a hostile part spliced in (or a plain record)."""
    kind = draw(st.sampled_from(["plain", "plain", "deep", "deepkey", "bigint", "surrogate", "scalar", "broken"]))
    rec = draw(record())
    if kind == "plain":
        return _dumps(rec)
    if kind in ("deep", "deepkey"):
        key = draw(st.sampled_from(["meta", "labels", "messages", "id", "prompt", "data", "x"]))
        body = _dumps({k: v for k, v in rec.items() if k != key})
        frag = deep_json(draw(depth), "[" if kind == "deep" else "{")
        return body[:-1] + (", " if len(body) > 2 else "") + f'"{key}": {frag}' + "}"
    if kind == "bigint":
        key = draw(st.sampled_from(["id", "meta", "duration_s", "task_id", "x"]))
        body = _dumps({k: v for k, v in rec.items() if k != key})
        return body[:-1] + (", " if len(body) > 2 else "") + f'"{key}": {draw(st.sampled_from(BIG))}' + "}"
    if kind == "surrogate":
        s = _dumps(rec)
        at = draw(st.integers(0, len(s)))
        esc = draw(st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\uD83D"', '"\\ud83d\\ude00"']))
        return s[:1] + f'"k{at}": {esc}, ' + s[1:] if len(s) > 2 else '{"x": ' + esc + "}"
    if kind == "scalar":
        return _dumps(draw(json_value))
    s = _dumps(rec)
    return s[: draw(st.integers(0, max(0, len(s) - 1)))]


def _bytes_with_noise(draw: Any, body: bytes) -> bytes:
    """Sometimes a BOM, CRLF, invalid UTF-8 or a cut."""
    op = draw(st.sampled_from(["none", "none", "none", "bom", "crlf", "badbyte", "cut", "nul"]))
    if op == "bom":
        return b"\xef\xbb\xbf" + body
    if op == "crlf":
        return body.replace(b"\n", b"\r\n")
    if op == "badbyte" and body:
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + body[at:]
    if op == "cut" and body:
        return body[: draw(st.integers(0, len(body)))]
    if op == "nul":
        return body + b"\x00" * 3
    return body


# -- files ----------------------------------------------------------------------------------------

JSONL_TARGETS = ["jsonl", "openai", "sharegpt", "alpaca", "inspect", "trl_sft", "trl_dpo", "trl_kto", "label_studio",
                 "suite", "batch_jsonl", "profile"]


@st.composite
def jsonl_case(draw: Any) -> Case:
    lines = draw(st.lists(hostile_json_text(), min_size=1, max_size=6))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "")
    body = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    target = draw(st.sampled_from(JSONL_TARGETS))
    return Case(target, "in.jsonl", _bytes_with_noise(draw, body))


@st.composite
def json_case(draw: Any) -> Case:
    items = draw(st.lists(hostile_json_text(), max_size=5))
    body = "[" + ",\n".join(items) + "]"
    wrap = draw(st.sampled_from(["array", "array", "object", "deep", "bigint"]))
    if wrap == "object":
        body = '{"meta": 1, "rows": ' + body + "}"
    elif wrap == "deep":
        n = draw(depth)
        body = "[" + ",\n".join([*items, "[" * n + "]" * n]) + "]"
    elif wrap == "bigint":
        body = "[" + ",\n".join([*items, '{"id": ' + "9" * 5_000 + "}"]) + "]"
    target = draw(st.sampled_from(["json", "label_studio", "batch_label_studio", "openai", "sharegpt", "alpaca"]))
    name = "in.json"
    return Case(target, name, _bytes_with_noise(draw, body.encode("utf-8", "surrogatepass")))


CSV_COLUMNS = ["id", "prompt", "response", "system", "messages", "chosen", "rejected", "labels", "meta", "category",
               "expected", "language", "source", "meta.x", "labels.harm", "task_id", "vendor", "annotator",
               "skip_reason", "duration_s", "harmful", "refusal"]


@st.composite
def cell(draw: Any) -> str:
    kind = draw(st.sampled_from(["text", "text", "json", "deep", "bigint", "surrogate", "empty"]))
    if kind == "text":
        return draw(text)
    if kind == "json":
        return _dumps(draw(json_value))
    if kind == "deep":
        return '{"a": ' + deep_json(draw(depth)) + "}"
    if kind == "bigint":
        return '{"a": ' + draw(st.sampled_from(BIG)) + "}"
    if kind == "surrogate":
        return draw(st.sampled_from(['{"a": "\\ud800"}', '[{"role": "user", "content": "\\udfff"}]', "\\ud800"]))
    return ""


@st.composite
def csv_case(draw: Any) -> Case:
    header = draw(st.lists(mostly(st.sampled_from(CSV_COLUMNS), text), min_size=1, max_size=8))
    if draw(st.booleans()):  # a vendor batch's own columns
        header = ["task_id", "vendor", "annotator", *header]
    if draw(st.integers(0, 9)) == 0:  # very wide
        header += [f"c{i}" for i in range(draw(st.sampled_from([1_000, 20_000])))]
    if draw(st.integers(0, 4)) == 0 and header:  # a duplicate column
        header.append(header[0])
    delim = draw(st.sampled_from([",", ",", ";", "\t"]))
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delim)
    if draw(st.integers(0, 9)):
        w.writerow(header)
    for _ in range(draw(st.integers(0, 5))):
        n = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        w.writerow([draw(cell()) for _ in range(max(0, min(n, 10)))] + [""] * max(0, n - 10))
    body = buf.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        body += b'"unterminated, quote\n'
    target = draw(st.sampled_from(["csv", "csv", "csv", "tsv", "batch_csv", "profile"]))
    name = "in.tsv" if target == "tsv" else "in.csv"
    return Case(target, name, _bytes_with_noise(draw, body))


# -- YAML: policy packs and mapping files ----------------------------------------------------------


def alias_bomb(levels: int, key: str = "unused") -> str:
    out = [f"{key}:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    out += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(out) + "\n"


@st.composite
def category(draw: Any, level: int = 0) -> dict[str, Any]:
    node: dict[str, Any] = {"id": draw(mostly(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), text)),
                            "name": draw(mostly(plain, text)) or "N", "definition": draw(mostly(plain, text)) or "d"}
    if level == 0 or draw(st.booleans()):
        node["expected"] = draw(mostly(st.fixed_dictionaries({"harmful": st.sampled_from(["refuse", "safe_complete"]),
                                                               "benign": st.just("comply")}), json_value))
    if level < 3 and draw(st.integers(0, 3)) == 0:
        node["subcategories"] = draw(st.lists(category(level + 1), max_size=2))
    return node


def _deep_tree(n: int) -> dict[str, Any]:
    root: dict[str, Any] = {"id": "n0", "name": "N", "definition": "d", "expected": {"harmful": "refuse",
                                                                                     "benign": "comply"}}
    cur = root
    for i in range(1, n):
        nxt = {"id": f"n{i}", "name": "N", "definition": "d"}
        cur["subcategories"] = [nxt]
        cur = nxt
    return root


@st.composite
def policy_case(draw: Any) -> Case:
    import yaml

    doc: dict[str, Any] = {"name": draw(mostly(st.just("fuzz"), text)),
                           "version": draw(mostly(st.just("1"), st.one_of(text, st.integers()))),
                           "categories": draw(st.lists(category(), min_size=1, max_size=3))}
    if draw(st.integers(0, 5)) == 0:
        doc["categories"].append(_deep_tree(draw(st.sampled_from([5, 17, 30, 300]))))
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["description", "owners", "casebook", "severity_levels", "extra"]))] = \
            draw(mostly(plain, json_value))
    body = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False, width=10_000)
    mut = draw(st.sampled_from(["none", "none", "none", "none", "bomb", "bigint", "deep", "dupkey", "anchor", "text"]))
    if mut == "bomb":
        body = alias_bomb(draw(st.sampled_from([2, 4, 6, 9, 12])), draw(st.sampled_from(["unused", "description"]))) \
            + body.replace("description:", "description0:")
    elif mut == "bigint":
        body = f"version: {draw(st.sampled_from(BIG))}\n" + "\n".join(
            ln for ln in body.splitlines() if not ln.startswith("version:")) + "\n"
    elif mut == "deep":
        n = draw(depth)
        body += "extra: " + "[" * n + "]" * n + "\n"
    elif mut == "dupkey":
        body += "name: again\n"
    elif mut == "anchor":
        body = "shared: &s {harmful: refuse, benign: comply}\nalso: [*s, *s]\n" + body
    elif mut == "text":
        body = draw(text)
    data = body.encode("utf-8", "surrogatepass")
    return Case("policy", "policy.yaml", _bytes_with_noise(draw, data))


@st.composite
def mapfile_case(draw: Any) -> Case:
    import yaml

    doc: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(["map", "set", "values", "json_key", "map", "set"]), max_size=4,
                             unique=True)):
        if key == "map":
            doc[key] = draw(st.dictionaries(st.sampled_from(CSV_COLUMNS + ["bogus"]), mostly(plain, json_value),
                                            max_size=3))
        elif key == "set":
            doc[key] = draw(mostly(st.dictionaries(st.sampled_from(["source", "meta.x", "category", "labels.h"]),
                                                   json_value, max_size=3), json_value))
        elif key == "values":
            doc[key] = draw(st.dictionaries(st.sampled_from(["category", "expected", "x"]),
                                            st.one_of(st.dictionaries(text, json_value, max_size=3), json_value),
                                            max_size=2))
        else:
            doc[key] = draw(json_value)
    body = yaml.safe_dump(doc, allow_unicode=True)
    mut = draw(st.sampled_from(["none", "none", "bomb", "deep", "indent", "text"]))
    if mut == "bomb":
        body = alias_bomb(draw(st.sampled_from([3, 9])), "set:\n  meta.x") + body
    elif mut == "deep":
        body = "set:\n  meta.x: " + "[" * draw(depth) + "\n"
    elif mut == "indent":
        body = "set:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(draw(st.sampled_from([10, 100, 3000]))))
    elif mut == "text":
        body = draw(text)
    data = _bytes_with_noise(draw, body.encode("utf-8", "surrogatepass"))
    return Case(draw(st.sampled_from(["mapfile", "mapfile_convert"])), "map.yaml", data)


# -- XLSX -----------------------------------------------------------------------------------------

_XLSX_FILES = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def xlsx_case(draw: Any) -> Case:
    header = draw(st.lists(mostly(st.sampled_from(CSV_COLUMNS), plain), min_size=1, max_size=5))
    xml_ok = st.one_of(plain, plain, cell())
    rows = [header] + draw(st.lists(st.lists(st.one_of(xml_ok, st.sampled_from(["1", "2.5", "9" * 5_000, "1e400"])),
                                             max_size=6), max_size=4))
    body = []
    for r in rows:
        cells = []
        for v in r:
            if v and v.lstrip("-").replace(".", "", 1).replace("e", "", 1).isdigit() and draw(st.booleans()):
                cells.append(f"<c><v>{v}</v></c>")  # a number cell
            else:
                cells.append(f'<c t="inlineStr"><is><t>{_xml_escape(v)}</t></is></c>')
        body.append("<row>" + "".join(cells) + "</row>")
    merge = draw(st.sampled_from(["", "", '<mergeCells><mergeCell ref="A2:B3"/></mergeCells>',
                                  '<mergeCells><mergeCell ref="ZZ"/></mergeCells>']))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>' + "".join(body) + "</sheetData>" + merge + "</worksheet>")
    mut = draw(st.sampled_from(["none", "none", "none", "bomb", "cut", "badxml", "entity", "nosheet"]))
    files = dict(_XLSX_FILES)
    if mut == "bomb":
        sheet = sheet.replace("</worksheet>", " " * draw(st.sampled_from([2_000_000, 20_000_000])) + "</worksheet>")
    elif mut == "badxml":
        sheet = sheet[: draw(st.integers(0, len(sheet)))]
    elif mut == "entity":
        sheet = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                 '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + sheet.split("?>", 1)[1].replace("<t>", "<t>&c;", 1))
    if mut != "nosheet":
        files["xl/worksheets/sheet1.xml"] = sheet
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content.encode("utf-8", "surrogatepass"))
    data = out.getvalue()
    if mut == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    return Case("excel", "in.xlsx", data)


any_case = st.one_of(jsonl_case(), jsonl_case(), json_case(), csv_case(), csv_case(), policy_case(), mapfile_case(),
                     xlsx_case())


# -- running a case -------------------------------------------------------------------------------

FORMAT_OF = {"jsonl": "jsonl", "openai": "openai", "sharegpt": "sharegpt", "alpaca": "alpaca", "inspect": "inspect",
             "trl_sft": "trl_sft", "trl_dpo": "trl_dpo", "trl_kto": "trl_kto", "label_studio": "label_studio",
             "json": "json", "csv": "csv", "tsv": "tsv", "excel": "excel"}
_SMALL = '{"id": "1", "question": "hello", "category": "vcr", "expected": "refuse"}\n'


class BatchProject:
    """A workspace with one annotation project and a vendor annotator, for the batch importer."""

    def __init__(self, home: Any) -> None:
        from redline.annotate.service import Annotations
        from redline.data.records import Record
        from redline.policy.loader import load_policy
        from redline.workspace import Workspace

        ws = Workspace(home=home, runs_dir=home / "runs", db_url=f"sqlite:///{home / 'redline.db'}")
        self.svc = Annotations(ws.db)
        self.svc.add_user("a1", "a-long-password", "annotator", vendor="acme")
        recs = [Record.model_validate({"id": f"r{i}", "prompt": f"p {i}", "response": f"answer {i}"})
                for i in range(3)]
        self.svc.create_project("p1", policy=load_policy("default"), policy_ref="default", task="response-label",
                                records=recs, overlap=1, gold_rate=0.0)
        self.project = "p1"


def run_case(case: Case, tmp: Any, batch: BatchProject | None = None) -> str:
    """Read ``case`` with its target. Returns ``"read"`` (rows read, rejected rows accounted for) or
    ``"refused"`` (a clear :class:`RedlineError`); anything else propagates: a defect.

    Checks beyond "no traceback": every row is written or quarantined (the counts add up), and
    everything read can be written as UTF-8 JSON (no lone surrogate, no value too deep to dump)."""
    from pathlib import Path

    from redline.errors import RedlineError

    tmp = Path(tmp)
    path = tmp / case.name
    path.write_bytes(case.data)
    try:
        _run(case, path, tmp, batch)
    except RedlineError:
        return "refused"
    return "read"


def _run(case: Case, path: Any, tmp: Any, batch: BatchProject | None) -> None:
    from redline.data.formats import FieldMap

    t = case.target
    if t in FORMAT_OF:
        _convert(path, tmp / "out.jsonl", FORMAT_OF[t], None)
    elif t == "suite":
        from redline.data.jsonl import iter_samples, validate_samples
        from redline.files import jsonl_line as _json_line

        validate_samples(path)
        for s in iter_samples(path):
            _json_line({"sample": s.model_dump(mode="json", exclude_none=True)}).encode("utf-8")
    elif t == "profile":
        from redline.data.profile import ProfileOptions, profile_file

        rep = profile_file(path, opts=ProfileOptions(parallel=False, language=False))
        json.dumps(rep, ensure_ascii=False, default=str).encode("utf-8")
    elif t == "policy":
        from redline.policy.loader import load_policy

        pol = load_policy(path)
        json.dumps(pol.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
        assert pol.content_hash
    elif t in ("mapfile", "mapfile_convert"):
        fm = FieldMap.parse(map_file=path)
        if t == "mapfile_convert":
            src = tmp / "small.jsonl"
            src.write_text(_SMALL, encoding="utf-8")
            _convert(src, tmp / "out.jsonl", "jsonl", fm)
    elif t.startswith("batch_"):
        if batch is None:
            from redline.annotate.vendor import _iter_csv, _iter_jsonl, _iter_label_studio

            rows = {"batch_csv": _iter_csv, "batch_jsonl": _iter_jsonl, "batch_label_studio": _iter_label_studio}[t]
            for _ in rows(path):
                pass
        else:
            from redline.annotate.vendor import import_batch

            fmt = {"batch_csv": "csv", "batch_jsonl": "jsonl", "batch_label_studio": "label-studio"}[t]
            res = import_batch(batch.svc, batch.project, path, fmt=fmt, quarantine=tmp / "q.jsonl")
            assert res.rows == res.imported + res.already + res.skipped + res.rejected, res.to_json()
    else:  # pragma: no cover
        raise AssertionError(f"unknown target {t}")


def _convert(src: Any, out: Any, fmt: str, fmap: Any) -> None:
    from redline.data.io import convert

    res = convert(src, out, to="jsonl", frm=fmt, fmap=fmap)
    assert res.rows == res.written + res.rejected, res.to_json()
    assert res.rejected == res.unreadable + res.unwritable, res.to_json()
    if res.out is not None:
        out.read_bytes().decode("utf-8")  # written as valid UTF-8
    if res.rejected:
        for line in res.quarantine.read_text(encoding="utf-8").split("\n")[:-1]:  # not splitlines: U+2028
            json.loads(line)
