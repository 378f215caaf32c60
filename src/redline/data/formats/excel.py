"""``excel``: .xlsx workbooks, read only (openpyxl read-only mode streams the rows).

The first sheet (or the sheet named by ``--json-key``) with a header row; columns map like CSV.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data import limits
from redline.data.formats.base import FieldMap, Rejected, RowFormat
from redline.errors import InputError, Problem
from redline.plugins import plugin


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    if v is not None and not isinstance(v, str | bool):
        return str(v)  # dates and times
    return v


def _iter_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    import openpyxl

    limits.check_zip(path)  # a zip bomb is refused before openpyxl expands it
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on a malformed file
        raise InputError(f"{path}: not an .xlsx workbook", [Problem(
            str(path), _describe(e), "save the file as .xlsx (Excel 2007+) or export CSV")]) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(f"{path}: no sheet {sheet!r}", [Problem(str(path), f"sheets: {wb.sheetnames}",
                                                                     "pass --json-key SHEET")])
        if not wb.worksheets:
            raise InputError(f"{path}: the workbook has no sheet", [Problem(
                str(path), "no worksheet in the workbook", "save a workbook with the data on its first sheet")])
        ws = wb[sheet] if sheet else wb.worksheets[0]
        merged = sorted(_merged_ranges(path, getattr(ws, "_worksheet_path", None)), reverse=True)
        active: list[tuple[int, int, int, int]] = []
        anchors: dict[tuple[int, int, int, int], Any] = {}
        rows = _guarded(path, ws.iter_rows(values_only=True))
        header = next(rows, None)
        if header is None:
            return
        names = [str(h).strip() if h is not None else "" for h in header]
        while names and names[-1] == "":
            names.pop()
        dupes = sorted(h for h, k in Counter(names).items() if h and k > 1)
        if dupes:  # a second column of the same name would silently replace the first
            raise InputError(f"{path}: duplicate column names", [Problem(
                f"{path}:sheet row 1", f"columns {dupes} appear more than once", "give every column a unique name")])
        n = 0
        for sheet_row, cells in enumerate(rows, 2):
            vals = [_cell(c) for c in cells]
            blank = not any(v not in (None, "") for v in vals)  # before merged values fill it
            while merged and merged[-1][0] <= sheet_row:  # ranges sorted by first row, descending
                active.append(merged.pop())
            active = [rng for rng in active if rng[2] >= sheet_row]
            for rng in active:  # a merged range's value belongs to every cell of it
                r0, c0, r1, c1 = rng
                if sheet_row == r0:
                    anchors[rng] = vals[c0 - 1] if c0 - 1 < len(vals) else None
                if len(vals) < c1:
                    vals += [None] * (c1 - len(vals))
                for c in range(c0, c1 + 1):
                    if (sheet_row, c) != (r0, c0) and vals[c - 1] is None:
                        vals[c - 1] = anchors.get(rng)
            if blank:
                continue
            n += 1
            extra = [v for v in vals[len(names):] if v not in (None, "")]
            named = [v for h, v in zip(names, vals, strict=False) if h == ""]
            if extra or any(v not in (None, "") for v in named):
                yield n, Rejected(f"{path}:sheet row {sheet_row}", n, "a cell has no column header", vals,
                                  path=str(path), unit="data row ", row=n)
                continue
            yield n, {h: v for h, v in zip(names, vals[: len(names)], strict=False) if h}
    finally:
        wb.close()


def _describe(e: BaseException) -> str:
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, ValueError) and "digits" in msg:
        return f"a number cell has more than {limits.INT_DIGITS} digits"
    return msg[:300]


def _guarded(path: Path, rows: Iterator[Any]) -> Iterator[Any]:
    """The sheet's rows; a malformed part of the workbook (bad XML, a number cell past the digit
    limit, …) ends the read with an InputError naming the sheet row instead of a traceback."""
    n = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on a malformed sheet
            raise InputError(f"{path}: cannot read the workbook after sheet row {n}", [Problem(
                f"{path}:sheet row {n + 1}", _describe(e),
                "fix the cell in Excel and save again, or export the sheet as CSV")]) from None
        n += 1
        yield row


def _merged_ranges(path: Path, sheet_xml: str | None) -> list[tuple[int, int, int, int]]:
    """``(min_row, min_col, max_row, max_col)`` of the sheet's merged cells (read-only worksheets do
    not expose them: read ``<mergeCells>`` from the sheet's XML, streaming)."""
    import zipfile
    import zlib
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    if not sheet_xml:
        return []
    out = []
    try:
        with zipfile.ZipFile(path) as z, z.open(sheet_xml.lstrip("/")) as f:
            for _, el in iterparse(f, events=("end",)):
                tag = el.tag.rsplit("}", 1)[-1]
                if tag == "mergeCell" and el.get("ref"):
                    c0, r0, c1, r1 = range_boundaries(el.get("ref"))
                    if r0 is not None and c0 is not None and r1 is not None and c1 is not None and r0 > 1:
                        out.append((r0, c0, r1, c1))  # header merges are left alone
                elif tag in ("row", "c", "v", "f", "is", "t"):
                    el.clear()
    except (KeyError, zipfile.BadZipFile, ValueError, OSError, EOFError, SyntaxError, zlib.error):
        return []  # a malformed sheet (SyntaxError: XML ParseError): reading its rows reports it
    return out


@plugin("format", "excel")
class ExcelFormat(RowFormat):
    """Excel workbook (read only; first sheet, header row)"""

    extensions = (".xlsx", ".xlsm")
    unit = "data row "

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(data row number, header → cell)`` for the first sheet, or the sheet ``fmap.json_key`` names;
        a merged cell's value fills every cell of its range and blank rows are skipped."""
        return _iter_rows(path, fmap.json_key)

    def open_writer(self, path: Path) -> Any:
        """Always refuses: the format is read-only.

        Raises:
            InputError: Always; write CSV or Parquet instead.
        """
        raise InputError("Excel is read-only", [Problem(
            str(path), "Redline does not write .xlsx", "write csv or parquet instead (--to csv)")])
