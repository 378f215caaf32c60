"""Finished evaluation runs, loaded for the learning loop: their summary and a stream of results.

A run directory (written by ``redline eval``) holds ``run.json`` (the run's identity),
``results.jsonl`` (one record per sample), ``summary.json`` (``manifest``, ``metrics``,
``calibrated``) and ``report.html``. :func:`load_run` reads the small files; results are only
ever streamed (:meth:`Run.iter_results`), so runs of any size load in constant memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.data.limits import iter_lines
from redline.errors import InputError, Problem
from redline.workspace import Workspace

__all__ = ["Run", "load_run", "run_from_row", "sample_key"]

#: canonical JSON (sorted keys, no spaces) of a sample's messages, hashed into its key
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sample_key(rec: dict[str, Any]) -> str:
    """The identity of a result record's sample: its id and a hash of its messages.

    Two runs answered the same sample when the keys are equal; a sample whose id was reused for
    different content gets a different key (and is not paired).

    Args:
        rec: A result record (``{"sample": {"id", "messages", ...}, ...}``).

    Returns:
        ``"<id>#<16 hex digits of SHA-256 of the messages as canonical JSON>"``.
    """
    sample = rec["sample"]
    blob = _CANONICAL.encode(sample.get("messages"))
    return f"{sample['id']}#{hashlib.sha256(blob.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


@dataclass
class Run:
    """A finished evaluation run.

    Attributes:
        dir: The run directory.
        summary: The content of ``summary.json``.
        identity: The ``identity`` block of ``run.json`` (empty when that file is missing).
    """

    dir: Path
    summary: dict[str, Any]
    identity: dict[str, Any] = field(default_factory=dict)
    db: Any = field(default=None, repr=False)
    """The workspace database holding the results, when the directory is on another machine."""

    @property
    def name(self) -> str:
        """The run directory's name."""
        return self.dir.name

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's manifest (suite, target, params, policy, judges…), from ``summary.json``."""
        return self.summary.get("manifest") or {}

    @property
    def metrics(self) -> dict[str, Any]:
        """The run's metrics (``overall``, ``by_category``…), from ``summary.json``."""
        return self.summary.get("metrics") or {}

    @property
    def target(self) -> str:
        """The name of the evaluated target (e.g. ``openai:gpt-x``)."""
        return str((self.manifest.get("target") or {}).get("name") or self.identity.get("target") or "?")

    @property
    def results_path(self) -> Path:
        """The run's ``results.jsonl``."""
        return self.dir / "results.jsonl"

    def iter_results(self) -> Iterator[dict[str, Any]]:
        """Stream the run's result records, one dict at a time.

        Like the runner when it resumes, the first record of a sample id counts and later
        duplicates are skipped; a torn last line (a killed run) is skipped. A run read from the
        workspace database (:func:`run_from_row`) streams its records from there.

        Yields:
            Result records, in file order.

        Raises:
            InputError: A line that is not a result record (naming the file and line).
        """
        if self.db is not None:
            yield from self.db.iter_records(str(self.dir))
            return
        seen: set[str] = set()
        path = self.results_path
        with open(path, "rb") as f:
            for lineno, raw in iter_lines(f):
                if isinstance(raw, int):
                    raise InputError(f"{path} is damaged", [Problem(
                        f"{path}:{lineno}", f"a line of {raw} bytes, too long for a result record",
                        "re-run the evaluation into a new directory")])
                if not raw.strip():
                    continue
                if not raw.endswith(b"\n"):
                    return  # torn write at the end of a killed run
                try:
                    rec = json.loads(raw.decode("utf-8"))  # str: json skips detecting the encoding
                    sid = rec["sample"]["id"]
                except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
                    raise InputError(f"{path} is damaged", [Problem(
                        f"{path}:{lineno}", "not a result record written by Redline",
                        "delete that line and resume the run (`redline eval` with the same "
                        "options) to redo its sample")]) from None
                if sid in seen:
                    continue
                seen.add(sid)
                yield rec

    @staticmethod
    def sample_key(rec: dict[str, Any]) -> str:
        """The pairing key of a record's sample (see :func:`sample_key`).

        Args:
            rec: A result record.

        Returns:
            ``"<id>#<hash of the messages>"``.
        """
        return sample_key(rec)


def run_from_row(row: dict[str, Any], db: Any) -> Run:
    """A run read from the workspace database: its row's summary, its records from ``results``
    (a PostgreSQL workspace copies them when a run ends), for a run directory on another machine.

    Args:
        row: The run's ``runs`` row, with its summary.
        db: The workspace database (:class:`redline.store.db.WorkspaceDB`).

    Returns:
        The run (``dir`` is the recorded path, which need not exist here).
    """
    try:
        summary = json.loads(row.get("summary") or "{}")
        judges = json.loads(row.get("judges") or "{}")
    except ValueError:
        summary, judges = {}, {}
    identity = {k: row.get(k) for k in ("suite", "suite_hash", "target", "policy", "policy_hash")}
    identity["judges"] = judges
    return Run(dir=Path(row["run_id"]), summary=summary if isinstance(summary, dict) else {},
               identity=identity, db=db)


def _from_db(spec: str | Path, ws: Workspace) -> Run | None:
    """A finished run that only the (server) workspace database holds, by path or name; None when it
    holds none. Raises for a name several machines used, or a run whose records are not in it."""
    path = Path(spec)
    if path.is_absolute():
        row = ws.db.get_run(str(path))
        rows = [row] if row else []
    elif len(path.parts) == 1:
        rows = ws.db.runs_named(str(path))
    else:
        return None
    if not rows:
        return None
    if len(rows) > 1:
        raise InputError(f"several runs are called {spec}", [Problem(
            str(spec), "recorded by: " + "; ".join(f"{r['run_id']} on {r.get('host') or '?'}" for r in rows),
            "give the run's full path (`redline runs` lists them)")])
    row = rows[0]
    if not row.get("summary") or not ws.db.has_records(row["run_id"]):
        raise InputError(f"{row['run_id']} is not a finished run in the workspace database", [Problem(
            row["run_id"], f"its results are only in its directory on {row.get('host') or 'another machine'} "
            f"(status {row['status']})", "finish the run there (re-run the same `redline eval` command), "
            "or read it on that machine")])
    return run_from_row(row, ws.db)


def _resolve(spec: str | Path, ws: Workspace | None) -> Path:
    path = Path(spec)
    if path.is_dir():
        return path
    if not path.is_absolute() and len(path.parts) == 1:
        ws = ws or Workspace.default()
        cand = ws.runs_dir / path
        if cand.is_dir():
            return cand
        where = f"{path} (not a directory here nor under {ws.runs_dir})"
    else:
        where = str(path)
    raise InputError(f"no run at {spec}", [Problem(
        where, "no such run directory",
        "give a run directory written by `redline eval` (or its name under the runs folder; "
        "`redline runs` lists them)")])


def load_run(spec: str | Path, ws: Workspace | None = None) -> Run:
    """Load a finished run: its summary and identity (results are streamed later).

    A run directory this machine cannot see is read from the workspace database when that is
    a server database holding its records (a team's PostgreSQL; see docs/deploy.md).

    Args:
        spec: A run directory, or the name of one under the workspace's runs folder.
        ws: The workspace (default: the current one).

    Returns:
        The run.

    Raises:
        InputError: No such directory, or not a finished run (no ``summary.json`` or
            ``results.jsonl``, or an unreadable ``summary.json``), naming the path and the fix.
    """
    try:
        d = _resolve(spec, ws)
    except InputError:
        # not on this machine: a workspace on a database server (PostgreSQL) holds the records
        ws = ws or Workspace.default()
        found = None if ws.db_url.startswith("sqlite") else _from_db(spec, ws)
        if found is None:
            raise
        return found
    summary_path = d / "summary.json"
    missing = [p.name for p in (summary_path, d / "results.jsonl") if not p.is_file()]
    if missing:
        raise InputError(f"{d} is not a finished run", [Problem(
            str(d), f"no {' and no '.join(missing)}",
            "finish the run first (re-run the same `redline eval` command to resume it)")])
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        if not isinstance(summary, dict) or not isinstance(summary.get("manifest"), dict):
            raise ValueError("no manifest")
    except (ValueError, OSError) as e:
        raise InputError(f"{summary_path} is unreadable", [Problem(
            str(summary_path), f"not a run summary written by Redline ({e})",
            "re-run the same `redline eval` command to rewrite it")]) from None
    identity: dict[str, Any] = {}
    try:
        identity = json.loads((d / "run.json").read_text(encoding="utf-8")).get("identity") or {}
    except (OSError, ValueError, AttributeError):
        identity = {}
    return Run(dir=d, summary=summary, identity=identity)
