"""Data sets recorded in the workspace: content hash, row counts and labels (what ``redline sql``
queries as ``datasets`` and ``labels``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.data.formats import FieldMap
    from redline.data.io import Quarantine


@dataclass
class ScannedFile:
    """What :func:`scan_file` found in a data file.

    Attributes:
        fmt: The format it was read as.
        rows: Readable records.
        rejected: Unreadable rows.
        content_hash: ``sha256:…`` over the records' canonical JSON, one per line.
        labels: ``(record_id, name, value, annotator, policy_hash)`` of every record's labels.
    """

    fmt: str
    rows: int = 0
    rejected: int = 0
    content_hash: str = ""
    labels: list[tuple[Any, ...]] = field(default_factory=list)


def scan_file(path: Path, fmt: str | None = None, fmap: FieldMap | None = None,
              quarantine: Quarantine | None = None) -> ScannedFile:
    """Read a data file through: count its rows, hash its records and collect their labels.

    Args:
        path: The data file (or datasets folder).
        fmt: Its format (None: by extension).
        fmap: Field mapping applied while reading.
        quarantine: Where the rows that cannot be read are written, with their reasons.

    Returns:
        The counts, content hash and labels.

    Raises:
        RedlineError: The file cannot be read at all (missing, unknown format, bad mapping).
    """
    import hashlib

    from redline.data.formats import Rejected, detect_format
    from redline.data.io import label_rows, open_input

    res = ScannedFile(fmt or detect_format(path))
    h = hashlib.sha256()
    for item in open_input(path, res.fmt, fmap, quarantine):
        if isinstance(item, Rejected):
            res.rejected += 1
            continue
        res.rows += 1
        h.update(item.canonical_json().encode())
        h.update(b"\n")
        res.labels.extend(label_rows(item))
    res.content_hash = "sha256:" + h.hexdigest()
    return res


def register_dataset(db: str | None, path: Path, fmt: str, rows: int, rejected: int, content_hash: str,
                     labels: Iterable[tuple[Any, ...]] = ()) -> None:
    """Record a data set and its labels in the workspace (replacing an earlier record of ``path``).

    Args:
        db: Workspace database URL (None: the default workspace).
        path: The data file.
        fmt: Its format.
        rows: Readable records.
        rejected: Unreadable rows.
        content_hash: ``sha256:…`` of the records.
        labels: ``(record_id, name, value, annotator[, policy_hash])`` of the records' labels.
    """
    from redline.workspace import Workspace

    Workspace.default(db).db.register_dataset(path, path.name, fmt, rows, rejected, content_hash, labels)
