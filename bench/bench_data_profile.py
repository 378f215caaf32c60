"""`redline data profile` over N short texts (default 1,000,000) on the cores given (default 2).

Runs the real CLI in a child process pinned to the cores and prints wall time and the child's peak
RSS (ru_maxrss) per run and their medians. Everything is on: exact + near duplicates (MinHash LSH),
PII, language id, scripts, lengths, labels. Targets from issue 5: < 5 min, < 4 GB. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_gen import timed_child, write_jsonl  # noqa: E402


def run_once(data: Path, out: Path, cores: int, extra: list[str]) -> tuple[float, float]:
    return timed_child(["data", "profile", str(data), "--out", str(out), "--no-progress", *extra], cores)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--extra", default="", help="extra profile flags, e.g. '--no-language'")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        data = write_jsonl(Path(td) / "data.jsonl", args.rows)
        print(f"profile: {args.rows:,} rows ({data.stat().st_size / 2**20:.0f} MiB JSONL), {args.cores} cores")
        walls, rsss = [], []
        for i in range(args.runs):
            wall, rss = run_once(data, Path(td) / "rep.json", args.cores, args.extra.split())
            walls.append(wall)
            rsss.append(rss)
            print(f"  run {i + 1}: {wall:7.1f} s  peak RSS {rss:7.0f} MiB  ({args.rows / wall:,.0f} rows/s)")
        rep = json.loads((Path(td) / "rep.json").read_text())
        d = rep["duplicates"]
        print(f"median: {statistics.median(walls):.1f} s, peak RSS {statistics.median(rsss):.0f} MiB "
              f"(target < 300 s, < 4096 MiB)")
        print(f"found: {d['exact']['extra_copies']:,} exact extra copies, {d['near']['clusters']:,} near clusters "
              f"({d['near']['rows']:,} rows), {rep.get('pii', {}).get('rows', {}).get('count', '–')} PII rows, "
              f"languages {rep.get('language', {}).get('detected', {})}")


if __name__ == "__main__":
    main()
