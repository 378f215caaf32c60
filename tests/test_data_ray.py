"""`redline data profile|convert --executor ray` on a real local Ray cluster (issue 15, part 1).

One cluster per module (conftest's `ray_cluster`: `ray start --head` on 127.0.0.1 with 2 CPUs).
The Ray runs must give the local runs' reports, outputs and quarantine files; the input is split
into several byte ranges (read tasks) so that line numbers across ranges are exercised.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from tests._ray import needs_ray
from tests.helpers import invoke

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Data's own context settings

_WORDS = ("how can i what is the best way to explain why people tell me about write a short story poem "
          "history of science money home school work city night day friend family doctor law").split()


def _write_data(path: Path, n: int = 1200) -> Path:
    """Rows with exact and near duplicates, a repeated id, PII, French, and unreadable lines."""
    rnd = random.Random(7)
    recent: list[str] = []
    lines = []
    for i in range(n):
        u = rnd.random()
        if recent and u < 0.06:
            text = rnd.choice(recent)
        elif recent and u < 0.12:
            text = rnd.choice(recent) + " " + rnd.choice(_WORDS)
        else:
            text = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(7, 20)))
            if u < 0.14:
                text += f" mail me at user{i}@example.com"
            if u > 0.93:
                text = "comment puis-je expliquer pourquoi les gens écrivent une histoire " + text
            recent.append(text)
        row = {"id": f"r{i:05d}" if i != 700 else "r00003", "prompt": text, "category": ["hate", "privacy"][i % 2],
               "expected": "refuse" if i % 3 else "comply", "language": "fr" if u > 0.93 else "en",
               "labels": {"harm": "unsafe" if i % 4 else "safe"}}
        lines.append(json.dumps(row, ensure_ascii=False))
        if i in (100, 650, 1100):
            lines += ["{not json", "", '{"id": "x", "category": "no prompt"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_data(tmp_path_factory.mktemp("raydata") / "data.jsonl")


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte ranges of ~32 KiB: the test file is read by several read tasks."""
    from redline.data import ray_data

    monkeypatch.setattr(ray_data, "CHUNK_BYTES", 32 << 10)


def _no_paths(rep: dict, *paths: Path) -> str:
    text = json.dumps(rep, sort_keys=True)
    for p in paths:
        text = text.replace(str(p), "<path>")
    return text


def test_line_chunks_start_at_lines_with_their_numbers(tmp_path: Path) -> None:
    from redline.data.ray_data import line_chunks

    lines = [("\ufeff" if i == 5 else "") + "x" * (i % 37) for i in range(400)]
    p = tmp_path / "f.jsonl"
    p.write_text("\n".join(lines), encoding="utf-8")  # no newline at the end
    raw = p.read_bytes()
    chunks = line_chunks(p, 200)
    assert len(chunks) > 10 and chunks[0][:2] == (0, chunks[1][0]) and chunks[-1][1] == len(raw)
    for (s, e, line), nxt in zip(chunks, [*chunks[1:], None], strict=True):
        assert s == 0 or raw[s - 1:s] == b"\n"
        assert raw[:s].count(b"\n") + 1 == line
        assert not raw[s:].startswith(b"\xef\xbb\xbf") or s == 0
        if nxt is not None:
            assert e == nxt[0]


@needs_ray
def test_profile_same_report_quarantine_and_redaction(data: Path, tmp_path: Path, workspace: Path,
                                                      ray_cluster: str, small_ranges: None) -> None:
    lines = data.read_text(encoding="utf-8").splitlines()
    leaked = [json.loads(x) for x in lines[40:400:9] if x.startswith('{"id": "r')]
    for i, row in enumerate(leaked):  # some copied, some edited a little (near), some new
        row["id"] = f"e{i}"
        row["prompt"] = row["prompt"] + (" please" if i % 3 == 1 else "") if i % 3 != 2 else f"an unrelated prompt {i}"
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(json.dumps(r) + "\n" for r in leaked), encoding="utf-8")
    outs = {}
    for how in ("local", "ray"):
        d = tmp_path / how
        d.mkdir()
        args = ["data", "profile", str(data), "--out", str(d / "rep.json"), "--html", str(d / "rep.html"),
                "--redact", str(d / "redacted.jsonl"), "--quarantine", str(d / "rejected.jsonl"), "--no-progress",
                "--against", str(heldout)]
        r = invoke(*args, *(["--executor", "ray", "--ray-address", ray_cluster] if how == "ray" else []))
        assert r.exit_code == 2, r.output  # rejected rows: exit 2, as locally
        outs[how] = (d, r.output)
    (ld, lout), (rd, rout) = outs["local"], outs["ray"]
    local = json.loads((ld / "rep.json").read_text())
    onray = json.loads((rd / "rep.json").read_text())
    assert local["duplicates"]["near"]["pairs"] > 20 and local["duplicates"]["exact"]["clusters"] > 20
    assert local["rejected"]["count"] == 6 and local["duplicate_ids"]["count"] == 1 and local["pii"]["rows"]["count"]
    leak = local["leakage"][0]
    assert leak["exact"]["rows"] >= 10 and leak["near"]["rows"] > leak["exact"]["rows"]
    assert _no_paths(onray, rd, ld) == _no_paths(local, ld, rd)
    assert lout.replace(str(ld), "<path>") == rout.replace(str(rd), "<path>")
    for name in ("rejected.jsonl", "redacted.jsonl"):
        assert (rd / name).read_bytes() == (ld / name).read_bytes()
    assert (rd / "rep.html").read_text().replace(str(rd), "<path>") == \
        (ld / "rep.html").read_text().replace(str(ld), "<path>")


@needs_ray
def test_near_duplicate_pairs_equal_the_local_ones(data: Path, ray_cluster: str,
                                                    small_ranges: None) -> None:
    """The groupby on LSH band keys finds exactly the pairs of the local near_duplicate_pairs."""
    from redline.data.dedup import DupIndex, near_duplicate_pairs
    from redline.data.formats import FieldMap
    from redline.data.io import open_input
    from redline.data.profile import ProfileOptions, dedup_text
    from redline.data.ray_data import _ProfileBatch, near_pairs, ray_data, read_dataset

    dup = DupIndex()
    lines: list[int] = []
    for item in open_input(data):
        if not hasattr(item, "reason"):
            dup.add(dedup_text(item))
            lines.append(item._source[2])
    local = {(lines[a], lines[b]) for a, b in near_duplicate_pairs(dup.signatures(), 0.7).tolist()}
    assert len(local) > 20
    opts = ProfileOptions(language=False, pii=False)
    with ray_data(ray_cluster) as ray:
        facts = read_dataset(ray, data, "jsonl", FieldMap()).map_batches(
            _ProfileBatch(str(data), "jsonl", FieldMap(), opts, False), batch_format="pyarrow").materialize()
        keys, _, pairs = near_pairs(ray, facts, 0.7, 2)
        onray = {(keys[a], keys[b]) for a, b in pairs.tolist()}
    assert onray == local


@needs_ray
def test_convert_same_output_counts_and_quarantine(data: Path, tmp_path: Path, workspace: Path,
                                                   ray_cluster: str, small_ranges: None) -> None:
    for to in ("jsonl", "csv"):  # jsonl: written on the cluster in parts; csv: by the driver
        res = {}
        for how in ("local", "ray"):
            out = tmp_path / f"{how}.{to}"
            r = invoke("data", "convert", str(data), str(out), "--no-progress", "--no-register",
                       *(["--executor", "ray", "--ray-address", ray_cluster] if how == "ray" else []))
            assert r.exit_code == 2, r.output
            res[how] = (out, r.output)
        (lo, lout), (ro, rout) = res["local"], res["ray"]
        assert ro.read_bytes() == lo.read_bytes()
        assert Path(f"{ro}.rejected.jsonl").read_bytes() == Path(f"{lo}.rejected.jsonl").read_bytes()
        assert rout.replace(str(ro), "<out>") == lout.replace(str(lo), "<out>")
        assert "6 rejected" in rout
    # a format Ray Data does not read as lines (CSV, through its own reader on the cluster)
    src = tmp_path / "local.csv"
    r1 = invoke("data", "profile", str(src), "--out", str(tmp_path / "l.json"), "--no-progress")
    r2 = invoke("data", "profile", str(src), "--out", str(tmp_path / "r.json"), "--no-progress",
                "--executor", "ray", "--ray-address", ray_cluster)
    assert r1.exit_code == r2.exit_code == 0, r2.output
    assert (tmp_path / "l.json").read_text() == (tmp_path / "r.json").read_text()


def test_without_ray_the_clear_error(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    for args in (["data", "profile", str(data)], ["data", "convert", str(data), str(tmp_path / "o.jsonl")]):
        r = invoke(*args, "--executor", "ray", "--no-progress")
        assert r.exit_code == 2
        assert "--executor ray needs Ray, which is not installed" in r.output
        assert "pip install redline[ray]" in r.output
    assert not (tmp_path / "o.jsonl").exists()
    r = invoke("data", "profile", str(data), "--executor", "spark", "--no-progress")
    assert r.exit_code == 2 and "ray" in r.output and "local" in r.output
    r = invoke("data", "profile", str(data), "--ray-address", "127.0.0.1:1", "--no-progress")  # without --executor ray
    assert r.exit_code == 2 and "address" in r.output, r.output
