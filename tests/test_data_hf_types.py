"""``--to hf`` writes real Arrow types and stays lossless (issue 18 item 4).

``datasets.load_from_disk`` gives lists of ``{role, content}`` structs, a typed ``labels``
struct and a typed ``meta`` struct; reading the folder back gives the same records field by
field — a meta key a record did not have and a key whose value is a real ``null`` stay apart.
Where Arrow cannot type a field consistently it is JSON text, and the report says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redline.data.formats import records_from_dataset, records_to_dataset
from redline.data.io import convert, read_records
from redline.data.records import record_json
from tests.helpers import run_cli

datasets = pytest.importorskip("datasets")

REALISTIC: list[dict[str, Any]] = [
    {"id": "s1", "messages": [
        {"role": "system", "content": "You are a careful assistant. Réponds en français si on te parle français."},
        {"role": "user", "content": "Comment signaler un e-mail d'hameçonnage ?"},
        {"role": "assistant", "content": "Transférez-le à l'adresse abuse de votre fournisseur, puis supprimez-le."}],
     "category": "benign", "expected": "comply", "language": "fr", "source": "vendor-a",
     "labels": {"desirable": True, "harm": "safe", "severity": 0, "refusal_score": 0.02},
     "meta": {"annotator": "ann-1", "review": {"round": 2, "notes": None, "tags": ["ok", "fr"]}, "score": 0.5}},
    {"id": "s2", "messages": [
        {"role": "user", "content": "What is a safe dose of ibuprofen?"},
        {"role": "assistant", "content": "Follow the label; ask a pharmacist."},
        {"role": "user", "content": "And for children? 子供には？"},
        {"role": "assistant", "content": "Children need a weight-based dose; ask their doctor. 🩺"}],
     "category": "health", "expected": "safe_complete",
     "labels": {"desirable": False, "harm": "unsafe", "severity": 3, "refusal_score": 0.75},
     "meta": {"review": {"round": 1, "tags": []}, "upstream": {"dataset": "x", "row": 17}}},
    {"id": "p1", "messages": [{"role": "system", "content": "Be safe."},
                              {"role": "user", "content": "How can I pick a lock?"}],
     "chosen": [{"role": "assistant", "content": "I can't help break into property."}],
     "rejected": [{"role": "assistant", "content": "Insert a tension wrench and rake the pins."}],
     "category": "property_crime", "expected": "refuse",
     "meta": {"score": None}},  # a real null, where s1 has a number and s2 has no key at all
    {"id": "p2", "messages": [{"role": "user", "content": "Tell me a joke about cats."}],
     "chosen": [{"role": "assistant", "content": "Why did the cat sit on the computer? To watch the mouse."}],
     "rejected": [{"role": "assistant", "content": "No."}],
     "labels": {"harm": "safe"}},
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _roundtrip(tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[Any, list[Any], list[Any], Any]:
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.hfds"
    res = convert(src, out, to="hf")
    assert (res.rows, res.written, res.rejected) == (len(rows), len(rows), 0)
    return res, read_records(src), read_records(out, "hf"), datasets.load_from_disk(str(out))


def _assert_same(orig: list[Any], back: list[Any]) -> None:
    assert len(orig) == len(back)
    for o, b in zip(orig, back, strict=True):
        for f in ("id", "messages", "chosen", "rejected", "labels", "category", "expected", "language",
                  "source", "meta"):
            assert getattr(b, f) == getattr(o, f), (o.id, f)
            assert json.dumps(getattr(b, f), default=str, sort_keys=True) == \
                json.dumps(getattr(o, f), default=str, sort_keys=True), (o.id, f)  # key order is not content
        assert b.content_hash() == o.content_hash()


def test_load_from_disk_gives_real_types(tmp_path: Path) -> None:
    res, _, _, ds = _roundtrip(tmp_path, REALISTIC)
    assert res.notes == []
    f = ds.features
    msg = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})
    assert f["messages"] == msg and f["chosen"] == msg and f["rejected"] == msg
    assert f["labels"] == {"desirable": datasets.Value("bool"), "harm": datasets.Value("string"),
                           "severity": datasets.Value("int64"), "refusal_score": datasets.Value("float64")}
    assert f["meta"]["review"]["round"] == datasets.Value("int64")
    assert f["meta"]["review"]["tags"] == datasets.List(datasets.Value("string"))
    assert f["meta"]["upstream"] == {"dataset": datasets.Value("string"), "row": datasets.Value("int64")}
    assert f["id"] == datasets.Value("string") and f["category"] == datasets.Value("string")
    row = ds[1]
    assert row["messages"][2] == {"role": "user", "content": "And for children? 子供には？"}
    assert row["labels"]["desirable"] is False and row["labels"]["severity"] == 3
    assert ds[0]["meta"]["review"]["tags"] == ["ok", "fr"]
    assert "prompt" not in ds.column_names and "response" not in ds.column_names  # one layout: messages


def test_roundtrip_is_identical_field_by_field(tmp_path: Path) -> None:
    _, orig, back, _ = _roundtrip(tmp_path, REALISTIC)
    _assert_same(orig, back)
    # missing key vs real null: s2 has no meta.score, p1 has meta.score = null, s1.review.notes = null
    assert "score" not in back[1].meta and back[2].meta == {"score": None}
    assert back[0].meta["review"] == {"round": 2, "notes": None, "tags": ["ok", "fr"]}
    assert "notes" not in back[1].meta["review"]
    assert back[3].meta == {} and back[3].labels == {"harm": "safe"}  # absent struct fields dropped


def test_null_paths_column_only_when_needed(tmp_path: Path) -> None:
    rows = [{"id": "a", "prompt": "q", "meta": {"k": 1}}, {"id": "b", "prompt": "r", "meta": {"j": "x"}}]
    _, orig, back, ds = _roundtrip(tmp_path, rows)
    _assert_same(orig, back)
    assert "meta_nulls" not in ds.column_names and "chosen" not in ds.column_names
    _, orig, back, ds = _roundtrip(tmp_path, REALISTIC)
    assert ds.features["meta_nulls"] == datasets.List(datasets.Value("string"))
    assert ds[2]["meta_nulls"] == ['["score"]'] and ds[1]["meta_nulls"] == []


def test_multimodal_parts_are_structs(tmp_path: Path) -> None:
    rows = [{"id": "m1", "messages": [
        {"role": "user", "content": [{"type": "image", "url": "https://example.org/sign.png", "mime_type": "image/png"},
                                     {"type": "text", "text": "What does this sign say?"}]},
        {"role": "assistant", "content": "It says 'no entry'."}]},
        {"id": "m2", "messages": [{"role": "user", "content": [{"type": "text", "text": "one"},
                                                              {"type": "text", "text": "two"}]}]},
        {"id": "t1", "prompt": "plain text"}]
    _, orig, back, ds = _roundtrip(tmp_path, rows)
    _assert_same(orig, back)
    part = ds.features["messages"].feature["content"].feature
    assert set(part) == {"type", "text", "path", "url", "base64", "mime_type"}
    assert ds[0]["messages"][0]["content"][0]["url"] == "https://example.org/sign.png"
    assert ds[2]["messages"][0]["content"] == [{"type": "text", "text": "plain text", "path": None, "url": None,
                                               "base64": None, "mime_type": None}]


def test_inconsistent_fields_fall_back_to_json_and_say_so(tmp_path: Path) -> None:
    """labels.score is an integer in one record and a float in another (Arrow would turn 1 into
    1.0), meta.x is text in one and a number in another: both fields are JSON text, reported."""
    rows = [{"id": "a", "prompt": "q", "labels": {"score": 1}, "meta": {"x": "text", "y": 1}},
            {"id": "b", "prompt": "r", "labels": {"score": 0.5}, "meta": {"x": 2}}]
    res, orig, back, ds = _roundtrip(tmp_path, rows)
    _assert_same(orig, back)
    assert ds.features["labels"] == datasets.Value("string") and ds.features["meta"] == datasets.Value("string")
    assert len(res.notes) == 2 and "labels stored as JSON text" in res.notes[0]
    assert "labels.score is integer in one record and float in another" in res.notes[0]
    assert "meta.x is text in one record and integer in another" in res.notes[1]
    assert res.to_json()["notes"] == res.notes


def test_fallback_is_printed_by_convert_cli(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"id": "a", "prompt": "q", "meta": {"x": "t"}},
                                         {"id": "b", "prompt": "r", "meta": {"x": [1]}}])
    out = tmp_path / "out.hfds"
    p = run_cli("data", "convert", str(src), str(out), "--to", "hf", "--no-register", "--no-progress",
                env_extra={"REDLINE_HOME": str(tmp_path / "home")})
    assert p.returncode == 0, p.stderr
    assert "2 written, 0 rejected" in p.stdout
    assert "note: meta stored as JSON text" in p.stdout and "meta.x is text in one record and list" in p.stdout


def test_records_to_dataset_types_and_warns(tmp_path: Path) -> None:
    recs = read_records(_write(tmp_path / "in.jsonl", REALISTIC))
    ds = records_to_dataset(recs)
    assert ds.features["labels"]["desirable"] == datasets.Value("bool")
    again = [r for r in records_from_dataset(ds)]
    assert [record_json(r) for r in again] == [record_json(r) for r in recs]
    _assert_same(recs, again)
    mixed = read_records(_write(tmp_path / "m.jsonl", [{"id": "a", "prompt": "q", "labels": {"s": 1}},
                                                       {"id": "b", "prompt": "r", "labels": {"s": "x"}}]))
    with pytest.warns(UserWarning, match="labels stored as JSON text"):
        ds = records_to_dataset(mixed)
    assert [record_json(r) for r in records_from_dataset(ds)] == [record_json(r) for r in mixed]


def test_old_json_text_folders_still_read(tmp_path: Path) -> None:
    """A folder written before (flat string columns, JSON text) reads as it did."""
    ds = datasets.Dataset.from_list([{"id": "a", "system": None, "prompt": "q", "response": "r",
                                      "messages": None, "labels": '{"harm": "safe"}', "meta": '{"k": [1, null]}'}])
    path = tmp_path / "old"
    ds.save_to_disk(str(path))
    (r,) = read_records(path, "hf")
    assert r.response == "r" and r.labels == {"harm": "safe"} and r.meta == {"k": [1, None]}


def test_foreign_struct_nulls_are_kept(tmp_path: Path) -> None:
    """Only a Redline-typed folder (its description says so) reads a null struct field as an
    absent key; another dataset's nulls stay values (nothing dropped unasked)."""
    ds = datasets.Dataset.from_list([{"prompt": "q", "meta": {"a": 1, "b": None}},
                                     {"prompt": "r", "meta": {"a": None, "b": "x"}}])
    recs = list(records_from_dataset(ds))
    assert [r.meta for r in recs] == [{"a": 1, "b": None}, {"a": None, "b": "x"}]
    typed = records_to_dataset(recs)
    assert "typed layout" in typed.info.description
    assert [r.meta for r in records_from_dataset(typed)] == [r.meta for r in recs]


def test_any_meta_and_labels_roundtrip_property() -> None:
    """Whatever the labels and meta (typed, or JSON text where they cannot be typed), records come
    back from a dataset identical field by field."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from redline.data.records import Record
    from redline.data.schema import Message

    scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                       st.floats(allow_nan=False), st.text(max_size=5))
    key = st.text(max_size=3)
    value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(key, inner, max_size=3)), max_leaves=8)
    label = st.one_of(st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=4))
    # meta whose keys keep one type each (typed, with keys missing here and null there) or anything
    null_or = lambda s: st.one_of(st.none(), s)  # noqa: E731
    typed_meta = st.fixed_dictionaries({}, optional={
        "n": null_or(st.integers(-(2**63), 2**63 - 1)), "s": null_or(st.text(max_size=4)),
        "d": null_or(st.fixed_dictionaries({}, optional={"x": null_or(st.floats(allow_nan=False)),
                                                          "y": st.lists(null_or(st.text(max_size=2)), max_size=2)})),
        "l": st.lists(st.fixed_dictionaries({}, optional={"k": null_or(st.booleans())}), max_size=3)})
    record = st.builds(lambda i, meta, labels: Record(id=str(i), messages=[Message(role="user", content="q")],
                                                      meta=meta, labels=labels),
                       st.integers(0, 10**6), st.one_of(typed_meta, st.dictionaries(key, value, max_size=4)),
                       st.dictionaries(st.sampled_from(["a", "b", "c"]), label, max_size=3))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(record, min_size=1, max_size=4))
    def check(recs: list[Record]) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ds = records_to_dataset(recs)
        back = list(records_from_dataset(ds))
        assert [record_json(r) for r in back] == [record_json(r) for r in recs]
        assert [r.content_hash() for r in back] == [r.content_hash() for r in recs]

    check()


def test_trl_sees_the_typed_messages_as_conversational(tmp_path: Path) -> None:
    """TRL's own check takes the folder's ``messages`` column as chat data (no JSON decoding)."""
    try:
        from trl.data_utils import is_conversational
    except Exception:  # noqa: BLE001 - trl (and torch) are optional here
        pytest.skip("trl is not installed (pip install trl; CPU torch is enough)")
    _, _, _, ds = _roundtrip(tmp_path, REALISTIC)
    assert all(is_conversational({"messages": row["messages"]}) for row in ds)
    assert is_conversational({"chosen": ds[2]["chosen"], "rejected": ds[2]["rejected"]})
