"""``parquet``: Apache Parquet via pyarrow, read and written in record batches (flat memory).

Reading accepts any columns (nested list/struct columns such as a ``messages`` column of
``{role, content}`` structs included) and maps them like CSV columns. Writing uses the string
columns of :data:`~redline.data.formats.base.FLAT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import FLAT_COLUMNS, FieldMap, Rejected, RowFormat, record_to_flat
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.plugins import plugin

BATCH_ROWS = 8192


def _iter_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: not a Parquet file", [Problem(str(path), str(e).splitlines()[0],
                                                                  "check the file (or pass --from)")]) from None
    n = 0
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            n += 1
            yield n, row


class ParquetWriter:
    """Writes the flat string columns in record batches of :data:`BATCH_ROWS`."""

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema([(c, pa.string()) for c in FLAT_COLUMNS])
        self._w = pq.ParquetWriter(path, self._schema, compression="zstd")
        self._buf: dict[str, list[str | None]] = {c: [] for c in FLAT_COLUMNS}
        self._n = 0

    def write(self, record: Record) -> None:
        """Buffer the record's flat columns; a full batch is written out."""
        for k, v in record_to_flat(record).items():
            self._buf[k].append(v)
        self._n += 1
        if self._n >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._n:
            self._w.write_table(self._pa.table(self._buf, schema=self._schema))
            self._buf = {c: [] for c in FLAT_COLUMNS}
            self._n = 0

    def close(self) -> None:
        """Write the buffered rows and finish the file (its footer is written only here)."""
        self._flush()
        self._w.close()


@plugin("format", "parquet")
class ParquetFormat(RowFormat):
    """Apache Parquet (pyarrow, streamed in record batches)"""

    extensions = (".parquet", ".pq")
    unit = "row "

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(row number, column → value)`` for every row, batch by batch; nested columns come as
        lists/dicts.

        Raises:
            InputError: The file is not Parquet.
        """
        return _iter_rows(path)

    def open_writer(self, path: Path) -> ParquetWriter:
        """A writer of the flat string columns (zstd-compressed)."""
        return ParquetWriter(path)
