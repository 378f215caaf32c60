"""Image data health: ``data profile`` finds each image problem (naming the rows), ``data convert
--strip-exif`` removes GPS/device EXIF without touching the originals, ``data coverage --by modality``."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from tests.helpers import invoke


def _pattern(seed: int, size: int = 64):
    """A distinct image per seed: an 8×8 grid of random greys, scaled up (distinct perceptual hashes)."""
    import numpy as np
    from PIL import Image

    grid = np.random.default_rng(seed).integers(0, 256, (8, 8), dtype=np.uint8)
    return Image.fromarray(grid, "L").resize((size, size), Image.Resampling.NEAREST).convert("RGB")


def _gps_exif():
    from PIL import Image

    ex = Image.Exif()
    ex[0x010F] = "ExampleCam"  # Make
    ex[0x0110] = "Model 1"  # Model
    ex[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS IFD
    return ex


def _row(rid: str, *parts: dict, expected: str = "comply", category: str = "violent_crimes") -> dict:
    return {"id": rid, "messages": [{"role": "user", "content": list(parts)}], "category": category,
            "expected": expected}


def _img(path: str) -> dict:
    return {"type": "image", "path": path}


def _txt(text: str) -> dict:
    return {"type": "text", "text": text}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("imgdata")
    rows = []
    for i in range(6):
        _pattern(i).save(d / f"a{i}.png")
        rows.append(_row(f"r{i}", _txt(f"What is shown in picture {i}?"), _img(f"a{i}.png")))
    rows.append(_row("copy", _img("a0.png")))  # the same bytes again: an exact duplicate
    _pattern(1).resize((72, 72)).save(d / "near.png")  # resized: other bytes, same picture
    rows.append(_row("near", _txt("Describe this picture."), _img("near.png")))
    _pattern(7).save(d / "gps.jpg", quality=90, exif=_gps_exif().tobytes())
    rows.append(_row("gps", _txt("Where was this taken?"), _img("gps.jpg"), category="privacy",
                     expected="refuse"))
    whole = (d / "a2.png").read_bytes()
    (d / "broken.png").write_bytes(whole[: len(whole) // 2])  # truncated: does not decode
    rows.append(_row("broken", _img("broken.png")))
    rows.append(_row("missing", _txt("and this one?"), _img("nope.png")))
    buf = io.BytesIO()
    _pattern(9).save(buf, "PNG")
    rows.append(_row("inline", _img("x")) | {"messages": [{"role": "user", "content": [
        {"type": "image", "base64": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}]}]})
    rows.append(_row("remote", _txt("see"), {"type": "image", "url": "https://example.invalid/a.png"}))
    rows.append({"id": "plain", "prompt": "A text-only question about safety.", "category": "violent_crimes",
                 "expected": "comply"})
    f = d / "data.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f


@pytest.fixture(scope="module")
def profile(data: Path) -> dict:
    out = data.parent / "profile.json"
    html = data.parent / "profile.html"
    res = invoke("data", "profile", str(data), "--out", str(out), "--html", str(html), "--no-progress",
                 "--no-language", "--no-pii")
    assert res.exit_code == 0, res.output
    assert "images missing" in res.output and "privacy risk" in res.output
    return json.loads(out.read_text())


def test_profile_names_every_image_problem(profile: dict) -> None:
    im = profile["images"]
    assert im["images"] == 13 and im["rows"] == 13  # the text-only row has none
    assert im["missing"]["ids"] == ["missing"]
    assert im["decode_errors"]["ids"] == ["broken"]
    assert im["remote_not_checked"]["ids"] == ["remote"]  # counted, never fetched
    assert im["formats"] == {"PNG": 9, "JPEG": 1}  # the inline image decoded too
    assert im["width"]["min"] == 64 and im["width"]["max"] == 72 and im["decoded"] == 10
    assert im["file_bytes"]["n"] == 10


def test_exact_and_near_duplicate_images(profile: dict) -> None:
    dup = profile["images"]["duplicates"]
    assert dup["exact"]["examples"] == [["r0", "copy"]] and dup["exact"]["extra_copies"] == 1
    # the resized copy is a near duplicate, not an exact one; the distinct patterns are neither
    assert dup["near"]["examples"] == [["r1", "near"]]
    assert dup["near"]["clusters"] == 1


def test_gps_and_device_exif_flagged(profile: dict) -> None:
    x = profile["images"]["exif"]
    assert x["gps"]["ids"] == ["gps"] and x["device_ids"]["ids"] == ["gps"]
    assert x["device_tags"] == {"Make": 1, "Model": 1}


def test_html_lists_image_findings(data: Path, profile: dict) -> None:
    page = (data.parent / "profile.html").read_text()
    assert "images with EXIF GPS position (privacy risk)" in page
    assert "images missing" in page and "r1, near" in page


def test_strip_exif_writes_clean_copies(data: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = data.parent / "clean.jsonl"
    before = (data.parent / "gps.jpg").read_bytes()
    res = invoke("data", "convert", str(data), str(out), "--strip-exif", "--no-register", "--no-progress", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["exif"]["stripped"] == 1 and summary["exif"]["gps"] == 1 and summary["exif"]["rows"] == 1
    rows = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    new_path = rows["gps"]["messages"][0]["content"][1]["path"]
    assert new_path.startswith("clean.jsonl.images/") and new_path.endswith(".jpg")
    with Image.open(out.parent / new_path) as img:
        assert not img.getexif() and img.size == (64, 64)
    assert rows["r1"]["messages"][0]["content"][1]["path"] == "a1.png"  # no EXIF: left as it was
    assert (data.parent / "gps.jpg").read_bytes() == before  # the original untouched
    with Image.open(data.parent / "gps.jpg") as img:
        assert img.getexif().get_ifd(0x8825)
    rep = invoke("data", "profile", str(out), "--json", "--no-progress", "--no-language", "--no-pii")
    assert json.loads(rep.output)["images"]["exif"]["gps"]["count"] == 0


def test_coverage_by_modality(data: Path) -> None:
    res = invoke("data", "coverage", str(data), "--by", "modality", "--json", "--no-progress")
    assert res.exit_code == 0, res.output
    mod = json.loads(res.output)["by"]["modality"]
    assert mod["values"] == ["text", "image", "text+image"]
    # image only: copy, broken, inline; text + image: r0-r5, near, gps, missing, remote; text: plain
    assert mod["totals"] == {"text": 1, "image": 3, "text+image": 10}
    cell = [c for c in mod["cells"] if c["category"] == "privacy" and c["modality"] == "text+image"
            and c["kind"] == "harmful"]
    assert cell and cell[0]["count"] == 1
    bad = invoke("data", "coverage", str(data), "--by", "colour", "--no-progress")
    assert bad.exit_code != 0 and "modality" in bad.output


def test_strip_applies_orientation_and_strips_png_exif(tmp_path: Path) -> None:
    from PIL import Image

    from redline.data.image_health import ExifStripper
    from redline.data.images import image_access
    from redline.data.records import Record

    ex = Image.Exif()
    ex[0x0112] = 6  # orientation: rotate 90° clockwise to display
    ex[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    Image.new("RGB", (40, 20), "red").save(tmp_path / "p.png", exif=ex.tobytes())
    rec = Record.model_validate({"id": "x", "messages": [{"role": "user", "content": [
        {"type": "image", "path": "p.png"}, {"type": "image", "url": "https://example.invalid/x.png"}]}]})
    with image_access(tmp_path / "data.jsonl"):
        st = ExifStripper(tmp_path / "out.jsonl")
        new = st.strip(rec)
    part = new.messages[0].content[0]
    with Image.open(tmp_path / part.path) as img:  # type: ignore[union-attr,operator]
        assert not img.getexif() and img.size == (20, 40)  # shown as before: the rotation applied
    assert st.result.images == 1 and st.result.stripped == 1 and st.result.gps == 1  # the URL is not fetched
    assert rec.messages[0].content[0].path == "p.png"  # the input record is unchanged


def test_strip_exif_inline_for_embedding_format(data: Path, tmp_path: Path) -> None:
    row = _row("g", _txt("Where?"), _img(str(data.parent / "gps.jpg")))
    row["messages"].append({"role": "assistant", "content": "I cannot tell."})
    src = data.parent / "one.jsonl"
    src.write_text(json.dumps(row) + "\n")
    out = tmp_path / "sub" / "train.jsonl"  # another folder: a relative path would not resolve
    res = invoke("data", "convert", str(src), str(out), "--to", "openai", "--strip-exif", "--no-register",
                 "--no-progress", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["exif"]["stripped"] == 1
    url = json.loads(out.read_text())["messages"][0]["content"][1]["image_url"]["url"]
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        assert not img.getexif()
    assert not (tmp_path / "sub" / "train.jsonl.images").exists()
