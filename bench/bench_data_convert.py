"""`redline data convert` JSONL → Parquet over N rows (default 1,000,000): rows/s and peak RSS.

Streams (record batches of 8,192 rows), so RSS should stay flat as N grows: run with
``--rows 100000,1000000`` to see it. Runs the real CLI in a child process; prints per-run numbers
and medians. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_gen import timed_child, write_jsonl  # noqa: E402


def run_once(src: Path, out: Path, home: Path) -> tuple[float, float]:
    return timed_child(["data", "convert", str(src), str(out), "--no-progress", "--no-register"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        for n in [int(x) for x in args.rows.split(",")]:
            src = write_jsonl(Path(td) / f"in{n}.jsonl", n)
            walls, rsss = [], []
            for _ in range(args.runs):
                out = Path(td) / f"out{n}.parquet"
                wall, rss = run_once(src, out, Path(td))
                walls.append(wall)
                rsss.append(rss)
            w = statistics.median(walls)
            print(f"convert JSONL → Parquet, {n:,} rows ({src.stat().st_size / 2**20:.0f} MiB → "
                  f"{out.stat().st_size / 2**20:.0f} MiB): median {w:.1f} s = {n / w:,.0f} rows/s, "
                  f"peak RSS {statistics.median(rsss):.0f} MiB  (runs: {', '.join(f'{x:.1f}s' for x in walls)})")


if __name__ == "__main__":
    main()
