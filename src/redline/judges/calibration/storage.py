"""Storing and finding calibration results, keyed by judge id + version + policy hash: first the
workspace (``$REDLINE_HOME/calibrations``), then the calibrations shipped with Redline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from redline.files import write_atomic

__all__ = ["SCHEMA", "calibration_path", "find_calibration", "save_calibration", "shipped_dir"]

#: /2: ``harm.harmful_prompts`` (the population a run's harmful rate is measured on);
#: stored calibrations of another schema are never applied to a run
SCHEMA = "redline.calibration/2"
_SHIPPED = Path(__file__).resolve().parent.parent / "calibrations"


def shipped_dir() -> Path:
    """Where Redline's own calibrations of its built-in judges are shipped.

    Returns:
        The ``redline/judges/calibrations`` folder of the installed package.
    """
    return _SHIPPED


_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def _slug(s: str) -> str:
    return _SAFE.sub("_", s)[:120]


def _version_key(judge_id: str, version: str) -> str:
    """File-name prefix for one exact judge version: readable slugs plus a hash of the exact
    id and version, so that long versions that differ only at the end (policy-llm, guard:
    model names, policy hashes) never share a file, and slugging never merges two versions."""
    import hashlib

    h = hashlib.sha256(f"{judge_id}\x00{version}".encode()).hexdigest()[:12]
    return f"{_slug(judge_id)[:40]}--{_slug(version)[:80]}~{h}"


def calibration_path(directory: Path, judge_id: str, version: str, policy_hash: str | None) -> Path:
    """The file a calibration of one exact judge version under one policy is stored in.

    Args:
        directory: The calibrations folder (the workspace's, or :func:`shipped_dir`).
        judge_id: The judge's id.
        version: The judge's exact version.
        policy_hash: The policy's content hash (``sha256:…``), or None.

    Returns:
        ``<directory>/<judge slug>--<version slug>~<hash of both>--<policy hash>.json``.
    """
    ph = (policy_hash or "nopolicy").replace("sha256:", "")
    return directory / f"{_version_key(judge_id, version)}--{_slug(ph)[:64]}.json"


def _home_dir(home: Path | None) -> Path:
    if home is not None:
        return home
    from redline.workspace import Workspace

    return Workspace.default().home


def save_calibration(result: dict[str, Any], home: Path | None = None) -> Path:
    """Store a calibration result in the workspace, atomically.

    Args:
        result: A result of :func:`~redline.judges.calibration.calibrate`.
        home: The workspace home (default: the current workspace's).

    Returns:
        The file written, under ``<home>/calibrations/`` (see :func:`calibration_path`).
    """
    d = _home_dir(home) / "calibrations"
    d.mkdir(parents=True, exist_ok=True)
    pol = result.get("policy") or {}
    path = calibration_path(d, result["judge"]["id"], result["judge"]["version"], pol.get("hash"))
    write_atomic(path, json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return path


def _candidates(directory: Path, judge_id: str, version: str) -> list[Path]:
    if not directory.is_dir():
        return []
    prefix = f"{_version_key(judge_id, version)}--"
    return sorted(p for p in directory.glob("*.json") if p.name.startswith(prefix))


def find_calibration(judge_id: str, version: str, policy_hash: str | None = None,
                     home: Path | None = None) -> dict[str, Any] | None:
    """The stored calibration of exactly this judge id + version that has harmful labels.

    The workspace's come first, then the shipped ones; one measured under the same policy hash
    is preferred; calibrations of another schema are skipped.

    Args:
        judge_id: The judge's id.
        version: The judge's exact version.
        policy_hash: The run's policy hash, to prefer a calibration under the same policy.
        home: The workspace home (default: the current workspace's).

    Returns:
        The calibration, with ``source`` (its path) and ``policy_match`` added; None when
        there is none.
    """
    found: list[tuple[int, Path]] = []
    for rank, d in enumerate((_home_dir(home) / "calibrations", _SHIPPED)):
        for p in _candidates(d, judge_id, version):
            found.append((rank, p))
    if not found:
        return None
    ph = (policy_hash or "").replace("sha256:", "")

    def key(item: tuple[int, Path]) -> tuple[int, int]:
        rank, p = item
        return (0 if ph and p.stem.endswith("--" + _slug(ph)[:64]) else 1, rank)

    for _, p in sorted(found, key=key):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (data.get("schema") != SCHEMA or data.get("judge", {}).get("id") != judge_id
                or data.get("judge", {}).get("version") != version or "harm" not in data):
            continue  # another judge/version, an older format, or no harmful labels
        data["source"] = str(p)
        data["policy_match"] = bool(ph) and (data.get("policy") or {}).get("hash", "").replace(
            "sha256:", "") == ph
        return data
    return None
