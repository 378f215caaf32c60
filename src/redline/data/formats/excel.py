"""``excel``: .xlsx workbooks, read only (openpyxl read-only mode streams the rows).

The first sheet (or the sheet named by ``--json-key``) with a header row; columns map like CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import (
    FieldMap,
    Item,
    Rejected,
    parse_rows,
    register_format,
    row_to_record,
)
from redline.errors import InputError, Problem


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    if v is not None and not isinstance(v, str | bool):
        return str(v)  # dates and times
    return v


def _iter_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: not an .xlsx workbook", [Problem(
            str(path), str(e).splitlines()[0] if str(e) else type(e).__name__,
            "save the file as .xlsx (Excel 2007+) or export CSV")]) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(f"{path}: no sheet {sheet!r}", [Problem(str(path), f"sheets: {wb.sheetnames}",
                                                                     "pass --json-key SHEET")])
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [str(h).strip() if h is not None else "" for h in header]
        while names and names[-1] == "":
            names.pop()
        n = 0
        for sheet_row, cells in enumerate(rows, 2):
            vals = [_cell(c) for c in cells]
            if not any(v not in (None, "") for v in vals):
                continue
            n += 1
            extra = [v for v in vals[len(names):] if v not in (None, "")]
            named = [v for h, v in zip(names, vals, strict=False) if h == ""]
            if extra or any(v not in (None, "") for v in named):
                yield n, Rejected(f"{path}:sheet row {sheet_row}", n, "a cell has no column header", vals)
                continue
            yield n, {h: v for h, v in zip(names, vals[: len(names)], strict=False) if h}
    finally:
        wb.close()


@register_format("excel")
class ExcelFormat:
    name = "excel"
    extensions = (".xlsx", ".xlsm")
    description = "Excel workbook (read only; first sheet, header row)"

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        return parse_rows(path, _iter_rows(path, fmap.json_key), fmap, row_to_record, "data row ")

    def open_writer(self, path: Path) -> Any:
        raise InputError("Excel is read-only", [Problem(
            str(path), "Redline does not write .xlsx", "write csv or parquet instead (--to csv)")])
