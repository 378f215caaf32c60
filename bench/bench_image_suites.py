"""Building the image suites (``redline suites --build-images``): all four, from nothing, median
of 3 (wall and CPU seconds), plus the images' sizes.

Target (issue 14): < 60 s on 2 cores. Each repeat builds into a new temporary workspace, so
nothing is reused.

    python bench/bench_image_suites.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    """Build every image suite ``--repeat`` times; print the medians and the sizes."""
    from redline.data.image_suites import IMAGE_SUITES, ensure_built

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    walls, cpus = [], []
    last = None
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            t0, c0 = time.perf_counter(), time.process_time()
            last = ensure_built(IMAGE_SUITES, Path(d))
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    print(f"build all image suites: median {statistics.median(walls):.1f} s wall, "
          f"{statistics.median(cpus):.1f} s CPU (runs: {', '.join(f'{w:.1f}' for w in walls)})")
    assert last is not None
    for name, info in last.suites.items():
        print(f"  {name}: {info['samples']} samples, {info['images']} images, "
              f"{info['image_bytes'] / 1e6:.2f} MB (mean {info['mean_bytes']} B, largest side {info['max_side']} px)"
              + (f", skipped {info['skipped']}" if info["skipped"] else ""))


if __name__ == "__main__":
    main()
