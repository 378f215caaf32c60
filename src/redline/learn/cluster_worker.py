"""The report's failure clusters computed in a child process, beside the run.

Clustering needs scikit-learn and scipy: ~1.3 s of CPU to import, then the clustering itself.
Imported in the run's own process (even in a thread) that time is taken from the event loop,
which holds the GIL while it sends requests and judges responses: measured with
``bench/bench_eval_throughput.py`` (1,000 samples, 100 ms latency, concurrency 64) the import
in a thread slowed the requests by about as much as it took. A child process imports them on
another core while the run goes on, and clusters the sampled failures when the run ends, while
the run writes its summary.

The protocol is one exchange over pipes: the run starts the worker once it has a failure
(:meth:`ClusterWorker.start`), gives it the sampled failures as JSON on stdin when the run
completes (:meth:`ClusterWorker.submit`), and reads the clusters (JSON) from stdout
(:meth:`ClusterWorker.result`). The child runs :func:`redline.learn.clusters.cluster_sampled`,
the same function as ``redline clusters``, so the clusters are the same as computed in-process.
Anything that goes wrong in the child (it cannot start, crashes, is killed) makes
:meth:`ClusterWorker.result` return None, and the caller clusters in-process as before.

The worker is used by the ``redline`` command's own process only (:func:`enable`, called by
:func:`redline.cli.main`): a long-lived Python process that runs evaluations through the library
(a notebook, the tests' in-process CLI) pays the import once and clusters in-process. Nor is it
started when scikit-learn is already imported in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.learn.clusters import FailureSampler

#: Whether runs in this process cluster in a child (set by :func:`enable`).
ENABLED = False


def enable() -> None:
    """Let this process's runs cluster their failures in a child process (the CLI's process)."""
    global ENABLED
    ENABLED = True


#: The child's niceness: it uses idle CPU and yields to the run (and the target) when busy.
NICE = 5

#: Set to 1 in the child unless the user set them: BLAS's own threads (one per core) fight the
#: run for the cores. Measured on this 2-core machine, loaded: clustering 500 + 250 failures took
#: 2.19 s wall (1.54 s CPU) with OpenBLAS's default threads and 0.44 s (0.21 s CPU) with one.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class ClusterWorker:
    """A child process that imports the clustering libraries now and clusters failures later."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._out: bytes | None = None
        self._rc: int | None = None

    @property
    def started(self) -> bool:
        """Whether the child was started (it may have died since)."""
        return self.proc is not None

    def start(self, *, force: bool = False) -> None:
        """Start the child (once) in the CLI's process unless scikit-learn is already imported
        here; never raises.

        Args:
            force: Start it in any process, scikit-learn imported or not.
        """
        if self.proc is not None or (not force and (not ENABLED or "sklearn" in sys.modules)):
            return
        import redline

        root = str(Path(redline.__file__).resolve().parents[1])  # the package's own copy in the child
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p))
        for var in BLAS_THREAD_VARS:  # one BLAS thread: see BLAS_THREAD_VARS
            env.setdefault(var, "1")
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own module, this interpreter
                [sys.executable, "-m", "redline.learn.cluster_worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        except OSError:
            self.proc = None

    def submit(self, run_dir: Path, failures: FailureSampler) -> bool:
        """Hand the sampled failures to the child (it clusters them and writes ``clusters.json``).

        Args:
            run_dir: The run directory.
            failures: The run's failures, sampled as its results were written.

        Returns:
            Whether the child took the work (False: not started, already given work, or no
            failure to cluster; then :meth:`close` stops it and nothing is written).
        """
        if self.proc is None or self._thread is not None or not any(
                r.seen for r in failures.kinds.values()):
            return False
        payload = json.dumps({
            "run_dir": str(run_dir), "max_failures": failures.cap, "seed": failures.seed,
            "sampled": {k: [r.seen, r.sample()] for k, r in failures.kinds.items()}},
            ensure_ascii=False).encode("utf-8", "surrogatepass")
        proc = self.proc

        def exchange() -> None:  # blocks on the pipes only: the GIL is free meanwhile
            try:
                out, _ = proc.communicate(payload)
                self._out, self._rc = out, proc.returncode
            except (OSError, ValueError):
                self._rc = -1

        self._thread = threading.Thread(target=exchange, name="redline-clusters", daemon=True)
        self._thread.start()
        return True

    def result(self) -> dict[str, Any] | None:
        """Wait for the child's clusters.

        Returns:
            The clusters (as :func:`redline.learn.clusters.cluster_failures`), or None when the
            child was not given work or failed (then cluster in-process).
        """
        if self._thread is None:
            return None
        self._thread.join()
        if self._rc != 0 or not self._out:
            return None
        try:
            out: dict[str, Any] = json.loads(self._out)
        except ValueError:
            return None
        return out

    def close(self) -> None:
        """Stop the child if it is still running (a run that ended without needing it)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        if self._thread is not None:
            self._thread.join()
        else:
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f is not None:
                    f.close()
            proc.wait()


def main() -> int:
    """The child: import the libraries, read one request from stdin, print the clusters.

    Returns:
        The exit status (0 also when the parent went away without sending work).
    """
    try:
        os.nice(NICE)
    except OSError:
        pass
    parent = os.getppid()

    def orphaned() -> None:  # the run was killed: stop at once instead of importing for nothing
        while True:
            time.sleep(0.2)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=orphaned, name="redline-clusters-parent", daemon=True).start()
    try:
        from redline.learn.clusters import cluster_sampled, import_libraries

        import_libraries()
        data = sys.stdin.buffer.read()
        if not data.strip():  # the run ended without wanting clusters (or the parent died)
            return 0
        req = json.loads(data)
        out = cluster_sampled(Path(req["run_dir"]), {k: (int(v[0]), v[1]) for k, v in req["sampled"].items()},
                              max_failures=int(req["max_failures"]), seed=int(req["seed"]), write=True)
        sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        sys.stdout.flush()
        return 0
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the run handles it
        return 130


if __name__ == "__main__":
    sys.exit(main())
