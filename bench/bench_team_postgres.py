"""What a team workspace on PostgreSQL costs, against the default SQLite file (docs/deploy.md).

Medians of 3 (each figure from fresh databases on one throw-away PostgreSQL server, started as
tests/_pg.py does, reached over its local Unix socket):

1. recording a finished run of 1,000 and 10,000 results (``record_start`` + ``record_end``, what
   `redline eval` does): SQLite as shipped (the records stay in the run directory), SQLite with
   the records copied (as PostgreSQL does; for comparison) and PostgreSQL;
2. the database's growth per 10,000 results (PostgreSQL: ``pg_total_relation_size`` of
   ``results``, indexes and TOAST included; SQLite: the file after a WAL checkpoint);
3. concurrent writers: 1, 2 and 4 processes each recording runs of 1,000 results at once into
   one PostgreSQL database, results per second in all;
4. `redline runs` (a new process, as a user runs it) over 1,000 recorded runs.

Records are shaped like `redline eval`'s (tests/_compare_runs.py: a prompt, a ~600-character
response, two judgments, usage): ~1.2 KB a line of results.jsonl.

    PYTHONPATH=src python bench/bench_team_postgres.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests._compare_runs import record, write_run  # noqa: E402

RESPONSE = ("Here is a general overview of the topic with background, context and the main safety "
            "considerations to keep in mind; it stays at the level of public information. ") * 4
CATS = ["violent_crimes", "hate", "privacy", "self_harm", "cyber_abuse"]


def make_run(d: Path, n: int) -> Path:
    """A run directory of ``n`` results, as `redline eval` leaves it."""
    recs = (record(f"s{i:06d}", CATS[i % len(CATS)], "refuse" if i % 2 else "comply",
                   "event" if i % 17 == 0 else "ok", response=RESPONSE) for i in range(n))
    return write_run(d, recs)


def ident() -> dict[str, Any]:
    return {"suite": "synthetic", "suite_hash": "suite1", "target": "synthetic", "policy": "default",
            "policy_hash": "pol123", "judges": {"refusal": "1", "harm": "2"}}


def record_run(db: Any, run_dir: Path) -> float:
    """Seconds to record a finished run (start, then end with its summary)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["manifest"].setdefault("redline_version", "bench")
    summary["metrics"].setdefault("overall", {})
    o = summary["metrics"]["overall"]
    for k in ("harmful_rate", "over_refusal_rate", "unassessable_rate"):
        o.setdefault(k, {"rate": 0.0})
    o.setdefault("samples", 0)
    t0 = time.perf_counter()
    db.record_start(run_dir, ident(), datetime.now(UTC))
    db.record_end(run_dir, "completed", summary)
    return time.perf_counter() - t0


def open_db(url: str, copy_records: bool = False) -> Any:
    from redline.store.db import WorkspaceDB

    class CopyingDB(WorkspaceDB):  # SQLite with the records copied, as a server database does
        stores_records = True  # type: ignore[assignment]

    return (CopyingDB if copy_records else WorkspaceDB)(url)


def pg_size(db: Any) -> int:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_total_relation_size('results')")).scalar_one())


def sqlite_size(db: Any, path: Path) -> int:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def _writer(url: str, dirs: list[str], ready: Any, go: Any, out: Any) -> None:
    from redline.store.db import WorkspaceDB

    db = WorkspaceDB(url)  # imports and the connection before the clock starts
    ready.put(1)
    go.wait()
    t0 = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
    for d in dirs:
        record_run(db, Path(d))
    out.put((t0, time.monotonic()))
    db.engine.dispose()


def writers(server: str, tmp: Path, procs: int, runs_each: int, n: int) -> float:
    """Results per second when ``procs`` processes record ``runs_each`` runs of ``n`` each at once."""
    from tests._pg import new_database

    url = new_database(server, "w")
    open_db(url).engine.dispose()  # the schema made beforehand: writers only record
    base = tmp / f"w{procs}-{time.monotonic_ns()}"
    template = make_run(base / "template", n)
    dirs = []
    for p in range(procs):
        mine = []
        for r in range(runs_each):
            d = base / f"p{p}-r{r}"
            d.mkdir(parents=True)
            for f in ("results.jsonl", "summary.json", "run.json"):
                os.link(template / f, d / f)
            mine.append(str(d))
        dirs.append(mine)
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    ps = [ctx.Process(target=_writer, args=(url, mine, ready, go, out)) for mine in dirs]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get()
    go.set()
    spans = [out.get() for _ in ps]
    for p in ps:
        p.join()
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return procs * runs_each * n / wall


def fill_runs(db: Any, count: int) -> None:
    """``count`` finished runs in the ``runs`` table (summaries of a 17-category run)."""
    from redline.store.tables import runs

    summary = json.dumps({"manifest": {"redline_version": "bench"}, "metrics": {"by_category": {
        c: {"harmful_rate": {"rate": 0.1, "k": 1, "n": 10}} for c in CATS * 3}}})
    t = datetime.now(UTC)
    rows = [{"run_id": f"/data/runs/run-{i:05d}", "started": t - timedelta(minutes=i), "finished": t,
             "status": "completed", "suite": "synthetic", "target": f"model-{i % 7}", "policy": "default",
             "policy_hash": "pol123", "judges": '{"refusal": "1"}', "samples": 1000, "harmful_rate": 0.1,
             "over_refusal_rate": 0.05, "unassessable_rate": 0.0, "redline_version": "bench",
             "summary": summary, "host": f"machine-{i % 3}"} for i in range(count)]
    if rows:
        with db.engine.begin() as conn:
            conn.execute(runs.insert(), rows)


def runs_cmd(url: str, cwd: Path) -> float:
    env = dict(os.environ, REDLINE_DB=url, REDLINE_HOME=str(cwd / "home"),
               PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "redline", "runs"], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--writer-runs", type=int, default=3, help="runs of 1,000 results per writer process")
    ap.add_argument("--parts", default="record,writers,runs", help="which measurements (comma-separated)")
    args = ap.parse_args()
    from tests._pg import new_database, start_postgres

    try:
        server, stop = start_postgres()
    except BaseException as e:  # pytest.skip outside pytest
        sys.exit(f"cannot start PostgreSQL: {e}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        with tempfile.TemporaryDirectory() as t:
            tmp = Path(t)
            parts = set(args.parts.split(","))
            sizes = [int(s) for s in args.sizes.split(",")] if "record" in parts else []
            for n in sizes:
                run_dir = make_run(tmp / f"run{n}", n)
                kb = (run_dir / "results.jsonl").stat().st_size / 1024
                print(f"\n{n:,} results (results.jsonl {kb:,.0f} KB)")
                for name in ("sqlite", "sqlite+records", "postgresql"):
                    times, sizes_b = [], []
                    for r in range(args.reps):
                        if name == "postgresql":
                            db = open_db(new_database(server, "r"))
                            before = pg_size(db)
                        else:
                            path = tmp / f"{name}-{n}-{r}.db"
                            db = open_db(f"sqlite:///{path}", copy_records=name == "sqlite+records")
                            before = sqlite_size(db, path)
                        times.append(record_run(db, run_dir))
                        after = pg_size(db) if name == "postgresql" else sqlite_size(db, path)
                        sizes_b.append(after - before)
                        db.engine.dispose()
                    per10k = statistics.median(sizes_b) / n * 10_000 / 1e6
                    print(f"  {name:15s} record: {statistics.median(times):6.3f} s   "
                          f"database growth: {per10k:5.1f} MB per 10k results")
            print("\nconcurrent writers into one PostgreSQL database (runs of 1,000 results)")
            base = None
            for procs in (1, 2, 4) if "writers" in parts else ():
                rates = [writers(server, tmp, procs, args.writer_runs, 1000) for _ in range(args.reps)]
                rate = statistics.median(rates)
                base = base or rate
                print(f"  {procs} process{'es' if procs > 1 else '  '}: {rate:8,.0f} results/s ({rate / base:.2f}x)")
            print("\n`redline runs` (a new process, start-up included) over 0 and 1,000 recorded runs")
            for name in ("sqlite", "postgresql") if "runs" in parts else ():
                for count in (0, 1000):
                    url = (f"sqlite:///{tmp / f'runs{count}.db'}" if name == "sqlite"
                           else new_database(server, "runs"))
                    db = open_db(url)
                    fill_runs(db, count)
                    db.engine.dispose()
                    runs_cmd(url, tmp)  # warm the file cache
                    walls = [runs_cmd(url, tmp) for _ in range(args.reps)]
                    print(f"  {name:10s} {count:5,} runs: {statistics.median(walls):.2f} s")
    finally:
        stop()
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
