"""``hf``: Hugging Face ``datasets`` — ``save_to_disk`` folders, and Dataset objects in Python.

Reading iterates the dataset in batches (a ``DatasetDict`` is read split by split, the split name
in ``meta['split']``); columns map like CSV columns, nested ``messages`` columns included.
Writing streams the flat string columns to a temporary Parquet file and turns it into a
``save_to_disk`` folder. ``datasets`` is imported only when this format is used.

Python API: :func:`records_from_dataset` and :func:`records_to_dataset`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import (
    FLAT_COLUMNS,
    FieldMap,
    Item,
    Rejected,
    RowFormat,
    parse_rows,
    record_to_flat,
    row_to_record,
)
from redline.data.formats.parquet import ParquetWriter
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.plugins import plugin

BATCH_ROWS = 4096


def _iter_dataset_rows(ds: Any, split: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    n = 0
    for batch in ds.iter(batch_size=BATCH_ROWS):
        cols = list(batch)
        for i in range(len(batch[cols[0]]) if cols else 0):
            n += 1
            row = {c: batch[c][i] for c in cols}
            if split is not None:
                row.setdefault("meta.split", split)
            yield n, row


def records_from_dataset(ds: Any, fmap: FieldMap | None = None, name: str = "<dataset>") -> Iterator[Item]:
    """Records (or Rejected rows) from a ``datasets.Dataset`` or ``DatasetDict``."""
    fmap = fmap or FieldMap()
    if hasattr(ds, "keys") and not hasattr(ds, "column_names") or type(ds).__name__ == "DatasetDict":
        for split in ds:
            yield from parse_rows(Path(f"{name}[{split}]"), _iter_dataset_rows(ds[split], split), fmap,
                                  row_to_record, "row ")
        return
    yield from parse_rows(Path(name), _iter_dataset_rows(ds), fmap, row_to_record, "row ")


def records_to_dataset(records: Iterable[Record]) -> Any:
    """A ``datasets.Dataset`` with the flat string columns (``messages``/``labels``/``meta`` as JSON)."""
    import datasets

    def gen() -> Iterator[dict[str, Any]]:
        for r in records:
            yield record_to_flat(r)

    feats = datasets.Features({c: datasets.Value("string") for c in FLAT_COLUMNS})
    with tempfile.TemporaryDirectory(prefix="redline-hf-") as cache:
        ds = datasets.Dataset.from_generator(gen, features=feats, cache_dir=cache, keep_in_memory=True)
    return ds


class _HfWriter:
    def __init__(self, path: Path):
        self._path = path
        self._tmp = Path(tempfile.mkdtemp(prefix="redline-hf-"))
        self._pq = ParquetWriter(self._tmp / "data.parquet")

    def write(self, record: Record) -> None:
        self._pq.write(record)

    def close(self) -> None:
        import datasets

        self._pq.close()
        try:
            ds = datasets.Dataset.from_parquet(str(self._tmp / "data.parquet"), cache_dir=str(self._tmp / "cache"))
            if self._path.exists():
                shutil.rmtree(self._path) if self._path.is_dir() else self._path.unlink()
            ds.save_to_disk(str(self._path))
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


@plugin("format", "hf")
class HfFormat(RowFormat):
    """Hugging Face datasets save_to_disk folder"""

    unit = "row "

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        """Records of a ``save_to_disk`` folder (a ``DatasetDict`` split by split), in batches.

        Args:
            path: The folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``.
            fmap: The field map applied to each row.

        Returns:
            An iterator of :class:`Record` and :class:`Rejected` items.

        Raises:
            InputError: ``path`` is not a ``datasets`` folder.
        """
        import datasets

        try:
            ds = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as e:
            raise InputError(f"{path}: not a datasets folder", [Problem(
                str(path), str(e).splitlines()[0], "pass a folder written by Dataset.save_to_disk")]) from None
        return records_from_dataset(ds, fmap, str(path))

    def open_writer(self, path: Path) -> _HfWriter:
        """A writer that stages the flat columns in Parquet and, on ``close``, replaces ``path`` with a
        ``save_to_disk`` folder."""
        return _HfWriter(path)
