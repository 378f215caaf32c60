"""``hf``: Hugging Face ``datasets`` — ``save_to_disk`` folders, and Dataset objects in Python.

Reading iterates the dataset in batches (a ``DatasetDict`` is read split by split, the split name
in ``meta['split']``); columns map like CSV columns, nested ``messages`` columns included.

Writing gives real Arrow types, so ``datasets.load_from_disk`` loads typed data:

- ``messages`` (every record; also ``chosen`` / ``rejected`` when the file has preference pairs):
  a list of ``{role, content}`` structs; ``content`` is a string when every message of the file is
  one text part, else a list of part structs ``{type, text, path, url, base64, mime_type}``;
- ``id``, ``category``, ``expected``, ``language``, ``source``: strings;
- ``labels``: a struct of the label names when each name has one type (bool, integer, float,
  string) in every record;
- ``meta``: a struct (nested structs and lists) when Arrow can type every key consistently;
  a ``meta_nulls`` column (list of JSON paths) then marks the values that are a real ``null``,
  since a struct gives every row every key (a key a row does not have reads as null);
- otherwise ``labels`` / ``meta`` fall back to JSON text, and the writer says so in ``notes``
  (``redline data convert`` prints them; :func:`records_to_dataset` warns).

The writer spools each record to a temporary file while it records every field's shape, decides
the schema on ``close`` and writes Arrow record batches (memory stays flat). Reading a folder
written this way gives back the same records field by field. ``datasets`` is imported only when
this format is used.

Python API: :func:`records_from_dataset` and :func:`records_to_dataset`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import (
    FieldMap,
    Item,
    Rejected,
    RowFormat,
    parse_rows,
    row_to_record,
)
from redline.data.records import Record, record_json
from redline.errors import InputError, Problem
from redline.plugins import plugin

BATCH_ROWS = 4096
#: the fields of an image/text part struct (``content`` as a list of parts)
PART_FIELDS = ("type", "text", "path", "url", "base64", "mime_type")
#: how many distinct keys one object of ``meta`` may have across the file before it is JSON text
MAX_STRUCT_FIELDS = 1000
_INT64 = (-(2**63), 2**63 - 1)
#: the ``DatasetInfo.description`` of a typed folder: it tells the reader that a null field of
#: ``labels`` / ``meta`` is a key the record does not have (a foreign dataset's nulls are kept)
TYPED_MARK = "Redline records, typed layout v1"
DESCRIPTION = (f"{TYPED_MARK} (docs/formats.md, 'Hugging Face and TRL'): a null field of labels or meta "
               "is a key the record does not have, unless meta_nulls lists its JSON path.")

# -- reading ----------------------------------------------------------------------------------


def _strip_part_nulls(msgs: Any) -> Any:
    """A part struct has every part field; an absent one reads as None (parts never hold None)."""
    if not isinstance(msgs, list):
        return msgs
    out = []
    for m in msgs:
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            m = {**m, "content": [{k: v for k, v in p.items() if v is not None} if isinstance(p, dict) else p
                                  for p in m["content"]]}
        out.append(m)
    return out


def _drop_absent(v: Any, nulls: set[str], path: list[Any]) -> Any:
    """``v`` with the struct keys that read as None but were absent removed (``nulls``: the JSON
    paths of the values that are a real null)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            p = [*path, k]
            if x is None and json.dumps(p, ensure_ascii=False) not in nulls:
                continue
            out[k] = _drop_absent(x, nulls, p)
        return out
    if isinstance(v, list):
        return [_drop_absent(x, nulls, [*path, i]) for i, x in enumerate(v)]
    return v


def _untype(row: dict[str, Any], typed: bool) -> dict[str, Any]:
    """A dataset row back to what :func:`row_to_record` reads: the parts' absent fields are
    dropped; in a Redline-typed dataset (``typed``) also the labels' absent names and the meta
    keys a record did not have."""
    for k in ("messages", "chosen", "rejected"):
        if isinstance(row.get(k), list):
            row[k] = _strip_part_nulls(row[k])
    if not typed:
        return row
    nulls = row.pop("meta_nulls", None)
    if isinstance(row.get("labels"), dict):
        row["labels"] = {k: v for k, v in row["labels"].items() if v is not None}
    if isinstance(row.get("meta"), dict):
        row["meta"] = _drop_absent(row["meta"], set(nulls or ()), [])
    return row


def _iter_dataset_rows(ds: Any, split: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    n = 0
    typed = TYPED_MARK in str(getattr(getattr(ds, "info", None), "description", None) or "")
    for batch in ds.iter(batch_size=BATCH_ROWS):
        cols = list(batch)
        for i in range(len(batch[cols[0]]) if cols else 0):
            n += 1
            row = _untype({c: batch[c][i] for c in cols}, typed)
            if split is not None:
                row.setdefault("meta.split", split)
            yield n, row


def records_from_dataset(ds: Any, fmap: FieldMap | None = None, name: str = "<dataset>") -> Iterator[Item]:
    """Records (or Rejected rows) from a ``datasets.Dataset`` or ``DatasetDict``.

    Args:
        ds: The dataset (a ``DatasetDict`` is read split by split, the split in ``meta['split']``).
        fmap: Column renames, constants and value maps applied to each row.
        name: How locations name the dataset.

    Returns:
        An iterator of :class:`Record` and :class:`Rejected` items.
    """
    fmap = fmap or FieldMap()
    if hasattr(ds, "keys") and not hasattr(ds, "column_names") or type(ds).__name__ == "DatasetDict":
        for split in ds:
            yield from parse_rows(Path(f"{name}[{split}]"), _iter_dataset_rows(ds[split], split), fmap,
                                  row_to_record, "row ")
        return
    yield from parse_rows(Path(name), _iter_dataset_rows(ds), fmap, row_to_record, "row ")


# -- shapes: what Arrow type a field of the whole file gets ------------------------------------


class _Conflict(Exception):
    """A value whose type does not fit the others of its field (the message says where)."""


def _kind(t: Any) -> str:
    return t if isinstance(t, str) else t[0]


def _infer(v: Any, path: str) -> Any:
    """The shape of one JSON value: ``"null" | "bool" | "int" | "float" | "str"``,
    ``("list", item)`` or ``("struct", {key: shape})``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        if not _INT64[0] <= v <= _INT64[1]:
            raise _Conflict(f"{path} is an integer beyond 64 bits")
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        item: Any = "null"
        for i, x in enumerate(v):
            item = _unify(item, _infer(x, f"{path}[{i}]"), f"{path}[]")
        return ("list", item)
    if isinstance(v, dict):
        if len(v) > MAX_STRUCT_FIELDS:
            raise _Conflict(f"{path} has over {MAX_STRUCT_FIELDS} keys")
        if any(not isinstance(k, str) or not k for k in v):
            raise _Conflict(f"{path} has an empty or non-text key")
        return ("struct", {k: _infer(x, f"{path}.{k}") for k, x in v.items()})
    raise _Conflict(f"{path} holds a {type(v).__name__}")


def _unify(a: Any, b: Any, path: str) -> Any:
    """One shape for both (``null`` fits anything); :class:`_Conflict` when there is none (an
    integer and a float conflict too: Arrow would turn 1 into 1.0)."""
    if a == "null":
        return b
    if b == "null" or a == b:
        return a
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        names = {"str": "text", "int": "integer", "float": "float", "bool": "boolean", "list": "list",
                 "struct": "object"}
        raise _Conflict(f"{path} is {names[ka]} in one record and {names[kb]} in another")
    if ka == "list":
        return ("list", _unify(a[1], b[1], f"{path}[]"))
    fields = dict(a[1])
    for k, t in b[1].items():
        fields[k] = _unify(fields[k], t, f"{path}.{k}") if k in fields else t
    if len(fields) > MAX_STRUCT_FIELDS:
        raise _Conflict(f"{path} has over {MAX_STRUCT_FIELDS} distinct keys across the records")
    return ("struct", fields)


def _arrow_type(t: Any, path: str) -> Any:
    import pyarrow as pa

    k = _kind(t)
    if k == "list":
        return pa.list_(_arrow_type(t[1], f"{path}[]"))
    if k == "struct":
        if not t[1]:
            raise _Conflict(f"{path} is always an empty object (Arrow has no struct without fields)")
        return pa.struct([(n, _arrow_type(x, f"{path}.{n}")) for n, x in t[1].items()])
    return {"null": pa.null(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string()}[k]


def _null_paths(v: Any, path: list[Any], out: list[str]) -> None:
    """The JSON paths (inside objects) of the values that are a real null."""
    if isinstance(v, dict):
        for k, x in v.items():
            if x is None:
                out.append(json.dumps([*path, k], ensure_ascii=False))
            else:
                _null_paths(x, [*path, k], out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _null_paths(x, [*path, i], out)


class _Field:
    """The running shape of ``labels`` or ``meta`` over the records written so far."""

    def __init__(self, name: str, scalars_only: bool = False):
        self.name = name
        self.shape: Any = ("struct", {})
        self.fallback: str | None = None  # why the field is JSON text, once it is
        self.present = False
        self._scalars_only = scalars_only

    def see(self, v: dict[str, Any], rid: str) -> None:
        if not v:
            return
        self.present = True
        if self.fallback is not None:
            return
        try:
            t = _infer(v, self.name)
            if self._scalars_only and any(_kind(x) in ("list", "struct") for x in t[1].values()):
                raise _Conflict(f"{self.name} holds a list or object")
            self.shape = _unify(self.shape, t, self.name)
        except _Conflict as e:
            self.fallback = f"{e} (record {rid})"

    def arrow_type(self) -> Any:
        import pyarrow as pa

        if self.fallback is None:
            try:
                return _arrow_type(self.shape, self.name)
            except _Conflict as e:
                self.fallback = str(e)
        return pa.string()


def _message_type(parts: bool) -> Any:
    import pyarrow as pa

    content = pa.list_(pa.struct([(f, pa.string()) for f in PART_FIELDS])) if parts else pa.string()
    return pa.list_(pa.struct([("role", pa.string()), ("content", content)]))


def _as_parts(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]
             if isinstance(m["content"], str) else m["content"]} for m in msgs]


class _HfWriter:
    """Spools records (JSON lines in a temporary folder), tracks each field's shape, and on
    ``close`` writes typed Arrow batches and turns them into a ``save_to_disk`` folder.

    Attributes:
        notes: What the file could not type (a field stored as JSON text, and why), for the report.
    """

    def __init__(self, path: Path | None):
        self._path = path
        self._tmp = Path(tempfile.mkdtemp(prefix="redline-hf-"))
        self._spool: Any = open(self._tmp / "records.jsonl", "w+", encoding="utf-8")  # noqa: SIM115
        self._n = 0
        self._parts = False  # some message is not exactly one text part
        self._pairs = False
        self._any_null = False
        self._labels = _Field("labels", scalars_only=True)
        self._meta = _Field("meta")
        self.notes: list[str] = []

    def write(self, record: Record) -> None:
        """Spool the record and fold its fields' shapes into the file's.

        Args:
            record: The record.
        """
        d = record_json(record)
        for k in ("messages", "chosen", "rejected"):
            if k in d:
                self._pairs = self._pairs or k != "messages"
                self._parts = self._parts or any(not isinstance(m["content"], str) for m in d[k])
        self._labels.see(d.get("labels") or {}, record.id)
        self._meta.see(d.get("meta") or {}, record.id)
        if not self._any_null and d.get("meta"):
            found: list[str] = []
            _null_paths(d["meta"], [], found)
            self._any_null = bool(found)
        self._spool.write(json.dumps(d, ensure_ascii=False) + "\n")
        self._n += 1

    def _schema(self) -> Any:
        import pyarrow as pa

        msg = _message_type(self._parts)
        cols: list[tuple[str, Any]] = [("id", pa.string()), ("messages", msg)]
        if self._pairs:
            cols += [("chosen", msg), ("rejected", msg)]
        cols += [(c, pa.string()) for c in ("category", "expected", "language", "source")]
        for f in (self._labels, self._meta):
            if f.present:
                cols.append((f.name, f.arrow_type()))
                if f.fallback is not None:
                    self.notes.append(f"{f.name} stored as JSON text (Arrow cannot type it consistently: "
                                      f"{f.fallback}); it reads back unchanged")
        if self._meta.present and self._meta.fallback is None and self._any_null:
            cols.append(("meta_nulls", pa.list_(pa.string())))
        return pa.schema(cols)

    def _row(self, d: dict[str, Any], schema: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"id": d["id"]}
        for k in ("messages", "chosen", "rejected"):
            if k in d:
                row[k] = _as_parts(d[k]) if self._parts else d[k]
        for k in ("category", "expected", "language", "source"):
            row[k] = d.get(k)
        for f in (self._labels, self._meta):
            v = d.get(f.name)
            if f.present:
                row[f.name] = (json.dumps(v, ensure_ascii=False, sort_keys=True) if v else None) \
                    if f.fallback is not None else (v or {})
        if "meta_nulls" in schema.names:
            found: list[str] = []
            _null_paths(d.get("meta") or {}, [], found)
            row["meta_nulls"] = found
        return row

    def write_arrow(self, arrow_path: Path) -> None:
        """Write the spooled records as one Arrow stream file of typed record batches.

        Args:
            arrow_path: The ``.arrow`` file to write.
        """
        import pyarrow as pa

        schema = self._schema()
        self._spool.seek(0)
        with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
            batch: list[dict[str, Any]] = []
            for line in self._spool:
                batch.append(self._row(json.loads(line), schema))
                if len(batch) >= BATCH_ROWS:
                    w.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch or self._n == 0:
                w.write_table(pa.Table.from_pylist(batch, schema=schema))
        self._spool.close()

    def close(self) -> None:
        """Write the typed dataset to ``path`` (replacing what is there) and remove the spool."""
        import datasets

        if self._spool.closed and not self._tmp.exists():
            return
        try:
            arrow = self._tmp / "data.arrow"
            self.write_arrow(arrow)
            assert self._path is not None
            ds = datasets.Dataset.from_file(str(arrow))
            ds.info.description = DESCRIPTION
            if self._path.exists():
                shutil.rmtree(self._path) if self._path.is_dir() else self._path.unlink()
            quiet = datasets.utils.are_progress_bars_disabled()
            datasets.utils.disable_progress_bars()  # the command shows its own progress
            try:
                ds.save_to_disk(str(self._path))
            finally:
                if not quiet:
                    datasets.utils.enable_progress_bars()
            del ds
        finally:
            self._spool.close()
            shutil.rmtree(self._tmp, ignore_errors=True)


def records_to_dataset(records: Iterable[Record]) -> Any:
    """A ``datasets.Dataset`` of the records, with real types (see the module docstring).

    Args:
        records: The records.

    Returns:
        The dataset, in memory. A field stored as JSON text (no consistent Arrow type) is
        reported with a :class:`UserWarning`.
    """
    import datasets

    w = _HfWriter(None)
    try:
        for r in records:
            w.write(r)
        arrow = w._tmp / "data.arrow"
        w.write_arrow(arrow)
        ds = datasets.Dataset.from_file(str(arrow), in_memory=True)
        ds.info.description = DESCRIPTION
    finally:
        w._spool.close()
        shutil.rmtree(w._tmp, ignore_errors=True)
    for note in w.notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return ds


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
        """A writer that spools the records and, on ``close``, replaces ``path`` with a typed
        ``save_to_disk`` folder (its ``notes`` say which field, if any, had to be JSON text)."""
        return _HfWriter(path)
