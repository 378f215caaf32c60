"""What the Ray executor costs (issue 15): cluster start-up, connecting, and per-shard overhead.

Starts a head node on 127.0.0.1 (``ray start --head``, 2 CPUs), a zero-latency fake
OpenAI-compatible server, and runs ``redline eval --executor ray`` over the same suite with a
small and a large shard size; the difference per extra shard is the per-shard overhead (a Ray
task round trip, pickling the shard's samples and records, the driver's writes). Medians of
``--repeat`` runs. Run: ``PYTHONPATH=src python bench/bench_ray_executor.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import make_records, write_policy, write_suite  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def main() -> None:
    """Print the start-up, connect and per-shard figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env.update(REDLINE_HOME=str(tmp / "home"), REDLINE_RUNS=str(tmp / "runs"))
        policy = write_policy(tmp / "pol.yaml")
        suite = write_suite(tmp / "suite.jsonl", make_records(args.samples))
        srv = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_openai_server.py")],
                               stdout=subprocess.PIPE, text=True)
        assert srv.stdout is not None
        url = f"http://127.0.0.1:{int(srv.stdout.readline().split()[1])}/v1"
        port = _free_port()
        t0 = time.perf_counter()
        head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                                 "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port", str(port),
                                 "--include-dashboard=false", "--disable-usage-stats"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            _wait_port(port)
            print(f"ray start --head (to the GCS port open): {time.perf_counter() - t0:.1f} s")
            base = [sys.executable, "-m", "redline", "eval", "--target", "openai:bench", "--base-url", url,
                    "--suite", str(suite), "--policy", str(policy), "--no-progress", "--no-cache",
                    "--concurrency", "16"]
            local = []
            for i in range(args.repeat):
                t = time.perf_counter()
                subprocess.run([*base, "--out", str(tmp / f"l{i}")], env=env, check=True,
                               capture_output=True)
                local.append(time.perf_counter() - t)
            print(f"local executor, {args.samples} samples: {statistics.median(local):.2f} s")
            by_shard = {}
            for shard in (64, 8):
                times = []
                for i in range(args.repeat):
                    t = time.perf_counter()
                    subprocess.run([*base, "--out", str(tmp / f"r{shard}-{i}"), "--executor", "ray",
                                    "--ray-address", f"127.0.0.1:{port}", "--executor-option", "workers=2",
                                    "--executor-option", f"shard_size={shard}"],
                                   env=env, check=True, capture_output=True)
                    times.append(time.perf_counter() - t)
                by_shard[shard] = statistics.median(times)
                print(f"ray executor, shard_size={shard} ({-(-args.samples // shard)} shards): "
                      f"{by_shard[shard]:.2f} s")
            big, small = 64, 8
            extra = -(-args.samples // small) - -(-args.samples // big)
            print(f"ray fixed cost over local (connect, 2 actors, teardown): "
                  f"{by_shard[big] - statistics.median(local):.2f} s")
            print(f"per-shard overhead: {(by_shard[small] - by_shard[big]) / extra * 1000:.1f} ms")
        finally:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
            srv.terminate()
            current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"  # names the dead head
            if current.is_file() and current.read_text().strip().endswith(f":{port}"):
                current.unlink()


if __name__ == "__main__":
    main()
