"""``csv`` and ``tsv``: one row per record, streaming with the csv module.

Reading: a header row; the columns of the native record (``id, prompt, response, system,
messages, chosen, rejected, category, expected, language, source, labels, meta``) map to record
fields (``messages``/``labels``/``meta`` as JSON text); ``labels.X`` / ``meta.X`` columns go into
labels / meta; any other column goes to ``meta``. An empty cell is a missing value. A UTF-8 BOM is
accepted. Writing: the fixed columns of :data:`~redline.data.formats.base.FLAT_COLUMNS`.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data import limits
from redline.data.formats.base import FLAT_COLUMNS, FieldMap, Rejected, RowFormat, record_to_flat
from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.plugins import plugin

csv.field_size_limit(min(sys.maxsize, 2**31 - 1, limits.MAX_LINE_BYTES))  # docs/limits.md


_BAD_BYTE = re.compile("[\udc80-\udcff]")


def _bad_bytes(cells: list[str]) -> str | None:
    """A description of the first undecodable byte in a row (read with ``surrogateescape``), or None."""
    joined = "".join(cells)
    if joined.isascii() or not _BAD_BYTE.search(joined):  # the fast common case: one C-level pass
        return None
    for i, c in enumerate(cells):
        m = _BAD_BYTE.search(c)
        if m:
            return f"byte 0x{ord(m.group()) - 0xDC00:02x} in cell {i + 1} is not UTF-8"
    return None


def iter_csv_rows(reader: Any) -> Iterator[tuple[int, Any]]:
    """``(line the row starts on, row)`` for every row of a ``csv.reader`` or ``csv.DictReader``;
    a malformed row is its :class:`csv.Error` in place of the row, and reading goes on.

    Args:
        reader: the reader, its header (if any) already read.
    """
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start, e
            continue
        yield start, row


def _iter_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    # surrogateescape: a stray non-UTF-8 byte rejects only its own row (a strict decoder would fail
    # on the whole 8 KiB chunk around it and could not resynchronise: every later row would be lost)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1, limits.MAX_LINE_BYTES))
    f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(f, delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as e:
        f.close()
        raise InputError(f"{path}: malformed header", [Problem(f"{path}:1", str(e), "fix the header row")]) from None
    if header is None:
        f.close()
        return
    bad = _bad_bytes(header)
    if bad:
        f.close()
        raise InputError(f"{path}: not UTF-8", [Problem(f"{path}:1 (header)", bad, "re-encode the file as UTF-8")])
    header = [h.strip() for h in header]
    dupes = {h for h, k in Counter(header).items() if k > 1}  # linear: 50,000 columns in milliseconds
    if dupes:
        f.close()
        raise InputError(f"{path}: duplicate column names", [Problem(
            f"{path}:1", f"columns {sorted(dupes)} appear more than once", "give every column a unique name")])
    n = 0
    with f:
        for start, cells in iter_csv_rows(reader):
            if isinstance(cells, csv.Error):
                n += 1
                hint = "; raise REDLINE_MAX_LINE_BYTES (docs/limits.md)" if "field limit" in str(cells) else ""
                yield n, Rejected.at(path, n, f"malformed CSV: {cells}{hint}", None, unit="row ", file_line=start)
                continue
            if not any(c.strip() for c in cells):
                continue
            n += 1
            bad = _bad_bytes(cells)
            if bad:
                yield n, Rejected.at(path, n,
                                     f"not UTF-8 ({bad}); re-encode the file as UTF-8",
                                     [c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in cells],
                                     unit="row ", file_line=start)
                continue
            if len(cells) != len(header):
                yield n, Rejected.at(path, n,
                                     f"{len(cells)} cells but the header has {len(header)} columns "
                                     "(a missing quote or delimiter?)", cells, unit="row ", file_line=start)
                continue
            yield n, dict(zip(header, cells, strict=True))


class _CsvWriter:
    def __init__(self, path: Path, delimiter: str):
        self._f = open(path, "w", encoding="utf-8", newline="")
        self._w = csv.DictWriter(self._f, fieldnames=list(FLAT_COLUMNS), delimiter=delimiter)
        self._w.writeheader()

    def write(self, record: Record) -> None:
        self._w.writerow({k: ("" if v is None else v) for k, v in record_to_flat(record).items()})

    def close(self) -> None:
        self._f.close()


@plugin("format", "csv")
class CsvFormat(RowFormat):
    """comma-separated values with a header row"""

    extensions: tuple[str, ...] = (".csv",)
    unit = "row "
    delimiter = ","

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(row number, header → cell | Rejected)`` per data row; a row with a bad byte or the wrong
        number of cells is rejected on its own."""
        return _iter_rows(path, self.delimiter)

    def open_writer(self, path: Path) -> _CsvWriter:
        """A writer of the flat columns (``FLAT_COLUMNS``, structured values as JSON) with a header row."""
        return _CsvWriter(path, self.delimiter)


@plugin("format", "tsv")
class TsvFormat(CsvFormat):
    """tab-separated values with a header row"""

    extensions = (".tsv", ".tab")
    delimiter = "\t"
