"""`redline data profile` over N short texts (default 1,000,000) on the cores given (default 2).

Runs the real CLI in a child process pinned to the cores and prints wall time and the child's peak
RSS (ru_maxrss) per run and their medians. Everything is on: exact + near duplicates (MinHash LSH),
PII, language id, scripts, lengths, labels. Targets from issue 5: < 5 min, < 4 GB. Asserts nothing.

``--executor ray`` (or ``both``) profiles on a Ray cluster (issue 15): a head node started here
(``ray start --head`` on 127.0.0.1 with ``--cores`` CPUs, outside the timed child), so the peak
RSS printed is the driver's alone (the command), not the cluster's workers'. ``--rows`` takes
several sizes (``--rows 50000,200000``): the driver's memory should stay flat on Ray.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_gen import timed_child, write_jsonl  # noqa: E402


def run_once(data: Path, out: Path, cores: int, extra: list[str]) -> tuple[float, float]:
    return timed_child(["data", "profile", str(data), "--out", str(out), "--no-progress", *extra], cores)


@contextlib.contextmanager
def ray_head(cores: int) -> Iterator[str]:
    """A Ray head node on 127.0.0.1 for the bench (its own process group, killed after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--num-cpus", str(cores), "--node-ip-address", "127.0.0.1", "--port", str(port),
                             "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the Ray head never opened its port") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"  # names the dead head
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000000", help="rows; several sizes comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--extra", default="", help="extra profile flags, e.g. '--no-language'")
    ap.add_argument("--executor", choices=("local", "ray", "both"), default="local")
    args = ap.parse_args()
    executors = ["local", "ray"] if args.executor == "both" else [args.executor]
    with tempfile.TemporaryDirectory() as td, contextlib.ExitStack() as stack:
        address = stack.enter_context(ray_head(args.cores)) if "ray" in executors else None
        for rows in (int(r) for r in args.rows.split(",")):
            data = write_jsonl(Path(td) / "data.jsonl", rows)
            print(f"profile: {rows:,} rows ({data.stat().st_size / 2**20:.0f} MiB JSONL), {args.cores} cores")
            reports = {}
            for ex in executors:
                flags = args.extra.split() + (["--executor", "ray", "--ray-address", address] if ex == "ray" else [])
                walls, rsss = [], []
                for i in range(args.runs):
                    wall, rss = run_once(data, Path(td) / f"rep-{ex}.json", args.cores, flags)
                    walls.append(wall)
                    rsss.append(rss)
                    print(f"  {ex:5} run {i + 1}: {wall:7.1f} s  peak RSS {rss:7.0f} MiB  ({rows / wall:,.0f} rows/s)")
                rep = json.loads((Path(td) / f"rep-{ex}.json").read_text())
                reports[ex] = {k: v for k, v in rep.items() if k != "file"}
                d = rep["duplicates"]
                print(f"  {ex:5} median: {statistics.median(walls):.1f} s ({rows / statistics.median(walls):,.0f} "
                      f"rows/s), peak RSS {statistics.median(rsss):.0f} MiB (target < 300 s, < 4096 MiB for 1M local)")
                print(f"  found: {d['exact']['extra_copies']:,} exact extra copies, {d['near']['clusters']:,} near "
                      f"clusters ({d['near']['rows']:,} rows), {rep.get('pii', {}).get('rows', {}).get('count', '–')} "
                      f"PII rows, languages {rep.get('language', {}).get('detected', {})}")
            if len(reports) == 2:
                print(f"  reports equal (local vs ray): {reports['local'] == reports['ray']}")


if __name__ == "__main__":
    main()
