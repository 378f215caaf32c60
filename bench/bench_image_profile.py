"""`redline data profile` over N records with one small PNG each (default 100,000) on the cores given
(default 2).

The images are generated into a temporary folder (never committed), deterministically: an 8×8 grid of
random greys per image scaled to 32×32, plus 1% exact copies (the same bytes in another file), 1%
near duplicates (the same picture resized to 36×36), 0.5% JPEGs with EXIF GPS + camera make/model,
0.2% truncated (broken) PNGs and 0.1% references to files that do not exist. Runs the real CLI in a
child process pinned to the cores and prints wall time and the child's peak RSS (ru_maxrss) per run and
their medians, and what the profile found against what was planted. Target from issue 14: < 5 min,
flat memory. Asserts nothing.

    python bench/bench_image_profile.py --images 100000 --runs 3
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_gen import timed_child  # noqa: E402


def generate(folder: Path, n: int) -> tuple[Path, dict[str, int]]:
    """Write ``n`` records (JSONL) with one image each into ``folder``; returns the file and what was planted."""
    import numpy as np
    from PIL import Image

    planted = {"exact": 0, "near": 0, "gps": 0, "broken": 0, "missing": 0}
    rng = np.random.default_rng(14)
    cats = ["violent_crimes", "privacy", "hate", "self_harm", "cyber_abuse"]
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "ExampleCam", "Model 1"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    gps_bytes = exif.tobytes()
    img_dir = folder / "img"
    img_dir.mkdir()
    originals: dict[int, tuple[bytes, Any]] = {}  # plain PNGs of the last 1,000 rows, by row
    with open(folder / "data.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            name = f"img/{i:06d}.png"
            roll = i % 1000
            src = originals.get(i - 500)  # dups copy a plain image 500 rows back, each a different one
            grid = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            img = Image.fromarray(grid, "L").resize((32, 32), Image.Resampling.NEAREST)
            buf = io.BytesIO()
            if roll < 10 and src is not None:  # the same bytes in a file of its own
                data = src[0]
                planted["exact"] += 1
            elif 10 <= roll < 20 and src is not None:  # the same picture, resized
                src[1].resize((36, 36), Image.Resampling.BILINEAR).save(buf, "PNG")
                data = buf.getvalue()
                planted["near"] += 1
            elif 20 <= roll < 25:
                name = f"img/{i:06d}.jpg"
                img.convert("RGB").save(buf, "JPEG", quality=85, exif=gps_bytes)
                data = buf.getvalue()
                planted["gps"] += 1
            else:
                img.save(buf, "PNG")
                data = buf.getvalue()
                if roll >= 28:
                    originals[i] = (data, img)
            originals.pop(i - 1000, None)
            if 25 <= roll < 27:
                data = data[: len(data) // 2]
                planted["broken"] += 1
            if roll == 27:
                name = f"img/missing_{i}.png"
                planted["missing"] += 1
            else:
                (folder / name).write_bytes(data)
            row = {"id": f"r{i}", "category": cats[i % len(cats)], "expected": "comply" if i % 2 else "refuse",
                   "messages": [{"role": "user", "content": [
                       {"type": "text", "text": f"Follow the instructions in image number {i}."},
                       {"type": "image", "path": name}]}]}
            f.write(json.dumps(row) + "\n")
    return folder / "data.jsonl", planted


def run_once(data: Path, out: Path, cores: int, extra: list[str]) -> tuple[float, float]:
    return timed_child(["data", "profile", str(data), "--out", str(out), "--no-progress", *extra], cores)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--extra", default="", help="extra profile flags, e.g. --extra='--no-images'")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        t0 = time.perf_counter()
        data, planted = generate(Path(td), args.images)
        print(f"generated {args.images:,} records / images in {time.perf_counter() - t0:.0f} s; planted {planted}")
        print(f"profile: {args.images:,} images, {args.cores} cores, flags {args.extra or '(defaults)'}")
        walls, rsss = [], []
        for i in range(args.runs):
            wall, rss = run_once(data, Path(td) / "rep.json", args.cores, args.extra.split())
            walls.append(wall)
            rsss.append(rss)
            print(f"  run {i + 1}: {wall:7.1f} s  peak RSS {rss:7.0f} MiB  ({args.images / wall:,.0f} images/s)")
        im = json.loads((Path(td) / "rep.json").read_text()).get("images")
        print(f"median: {statistics.median(walls):.1f} s, peak RSS {statistics.median(rsss):.0f} MiB (target < 300 s)")
        if im is None:
            print("no images section (--no-images)")
            return
        d = im["duplicates"]
        print(f"found: {d['exact']['extra_copies']:,} exact extra copies, {d['near']['clusters']:,} near clusters "
              f"({d['near']['images']:,} images), GPS {im['exif']['gps']['count']:,}, "
              f"decode errors {im['decode_errors']['count']:,}, missing {im['missing']['count']:,}; "
              f"formats {im['formats']}")


if __name__ == "__main__":
    main()
