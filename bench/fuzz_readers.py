"""Fuzz every reader with generated hostile files (`make fuzz`; issue 19, "make it stay fixed").

The structure-aware generators of tests/fuzz_inputs.py (hypothesis strategies for JSONL, JSON, CSV,
TSV, XLSX, policy YAML and mapping YAML, with vendor-batch and suite/profile targets) produce
``--inputs`` files (default 10,000). Each is read in a worker process, so that the driver can
measure what a run costs and survive what it does:

- a **traceback**: any exception other than Redline's clear ``RedlineError`` (or a worker that dies);
- a **hang**: a run that takes longer than ``--timeout`` seconds (default 60; the worker is killed);
- **memory**: the peak resident size of each run (the worker's high-water mark, reset before every
  run through /proc/self/clear_refs), against ``--max-rss-mb`` (default 1024).

Prints one JSON summary (inputs, by target, tracebacks, hangs, peak RSS, wall time) and exits 1
unless there were no tracebacks, no hangs and no run over the memory limit. Failing inputs are
saved under ``--save`` with their traceback.

    python bench/fuzz_readers.py --inputs 10000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (the peak) to the current RSS
    except OSError:
        pass


def _rss_peak_kb() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _worker(conn: Any, xlsx_limit: int) -> None:
    import resource

    try:  # a safety net far above the 1 GB being measured: a runaway run fails instead of the machine
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))
    except (ValueError, OSError):
        pass
    from tests import fuzz_inputs as fz

    from redline.data import limits

    limits.MAX_XLSX_BYTES = xlsx_limit  # generated zip bombs are tens of MB, not hundreds
    root = Path(tempfile.mkdtemp(prefix="redline-fuzz-"))
    (root / "batch").mkdir()
    batch = fz.BatchProject(root / "batch")
    n = 0
    while True:
        msg = conn.recv()
        if msg is None:
            return
        n += 1
        work = root / f"w{n % 2}"
        work.mkdir(exist_ok=True)
        for p in work.iterdir():
            p.unlink()
        _rss_reset()
        t0 = time.perf_counter()
        try:
            outcome, tb = fz.run_case(msg, work, batch), None
        except BaseException as e:  # noqa: BLE001 - every escape is what we count
            outcome, tb = "traceback", "".join(traceback.format_exception(type(e), e, e.__traceback__))[-6000:]
        conn.send((outcome, tb, _rss_peak_kb(), time.perf_counter() - t0))


class Pool:
    """One worker process; restarted after a hang or a death."""

    def __init__(self, xlsx_limit: int):
        self.ctx = mp.get_context("fork")
        self.xlsx_limit = xlsx_limit
        self.proc: Any = None
        self.conn: Any = None
        self.start()

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.xlsx_limit), daemon=True)
        self.proc.start()
        self.conn = parent

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.start()

    def run(self, case: Any, timeout: float) -> tuple[str, str | None, int, float]:
        self.conn.send(case)
        t0 = time.perf_counter()
        if not self.conn.poll(timeout):
            self.kill()
            return "hang", None, 0, time.perf_counter() - t0
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            code = self.proc.exitcode
            self.kill()
            return "traceback", f"worker died (exit code {code})", 0, time.perf_counter() - t0

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as a hang")
    ap.add_argument("--max-rss-mb", type=float, default=1024.0)
    ap.add_argument("--seed", type=int, default=None, help="fixed seed (default: random)")
    ap.add_argument("--save", type=Path, default=Path(tempfile.gettempdir()) / "redline-fuzz-failures")
    ap.add_argument("--xlsx-limit", type=int, default=10_000_000,
                    help="REDLINE_MAX_XLSX_BYTES in the workers (the generated bombs are 2-20 MB)")
    args = ap.parse_args()

    from hypothesis import HealthCheck, Phase, given, seed, settings
    from tests import fuzz_inputs as fz

    pool = Pool(args.xlsx_limit)
    counts: Counter[str] = Counter()
    by_target: dict[str, Counter[str]] = {}
    peak = {"kb": 0, "target": None}
    slowest = {"s": 0.0, "target": None}
    failures: list[dict[str, Any]] = []
    over_memory = 0
    t_start = time.perf_counter()

    def one(case: Any) -> None:
        nonlocal over_memory
        outcome, tb, kb, secs = pool.run(case, args.timeout)
        counts["inputs"] += 1
        counts[outcome] += 1
        by_target.setdefault(case.target, Counter())[outcome] += 1
        if kb > peak["kb"]:
            peak.update(kb=kb, target=case.target)
        if secs > slowest["s"]:
            slowest.update(s=round(secs, 2), target=case.target)
        if kb > args.max_rss_mb * 1024:
            over_memory += 1
        if outcome in ("traceback", "hang") or kb > args.max_rss_mb * 1024:
            args.save.mkdir(parents=True, exist_ok=True)
            stem = args.save / f"{len(failures):04d}-{case.target}-{outcome}"
            stem.with_suffix(Path(case.name).suffix).write_bytes(case.data)
            stem.with_suffix(".txt").write_text(f"target: {case.target}\nfile: {case.name}\npeak_kb: {kb}\n"
                                                f"seconds: {secs:.1f}\n\n{tb or outcome}\n", encoding="utf-8")
            failures.append({"target": case.target, "outcome": outcome, "saved": str(stem),
                             "error": (tb or outcome).strip().splitlines()[-1][:300]})
        if counts["inputs"] % 500 == 0:
            print(f"{counts['inputs']} inputs, {counts['traceback']} tracebacks, {counts['hang']} hangs, "
                  f"peak {peak['kb'] // 1024} MB, {time.perf_counter() - t_start:.0f} s", file=sys.stderr, flush=True)

    run = settings(max_examples=args.inputs, deadline=None, database=None, phases=[Phase.generate],
                   suppress_health_check=list(HealthCheck))(given(fz.any_case)(one))
    if args.seed is not None:
        run = seed(args.seed)(run)
    try:
        run()
    finally:
        pool.close()
    wall = time.perf_counter() - t_start
    summary = {
        "inputs": counts["inputs"], "read": counts["read"], "refused_clearly": counts["refused"],
        "tracebacks": counts["traceback"], "hangs_over_timeout": counts["hang"], "timeout_s": args.timeout,
        "runs_over_memory_limit": over_memory, "max_rss_mb_limit": args.max_rss_mb,
        "peak_rss_mb": round(peak["kb"] / 1024, 1), "peak_rss_target": peak["target"],
        "slowest_run_s": slowest["s"], "slowest_target": slowest["target"], "wall_s": round(wall, 1),
        "by_target": {k: dict(v) for k, v in sorted(by_target.items())},
        "failures": failures[:50], "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    print(json.dumps(summary, indent=2))
    ok = counts["inputs"] >= min(args.inputs, 1) and not counts["traceback"] and not counts["hang"] and not over_memory
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
