"""The format plug-in point: the :class:`Format` protocol, shared bases, field mapping, helpers.

A format reads a file into :class:`Record` objects — or :class:`Rejected` rows that say where and
why — and writes records. A format is a plug-in of kind ``"format"`` (:mod:`redline.plugins`):
adding one is one file (in this package, listed in ``formats/__init__.py``, or in another package
through the ``redline.formats`` entry point). A JSON-row format declares only its mapping::

    @plugin("format", "myformat")
    class MyFormat(JsonRowFormat):
        '''My rows ({question, answer}) as JSONL'''  # the description

        to_record = staticmethod(parse)  # def parse(row: dict, n: int) -> Record (ValueError: rejected)
        to_row = staticmethod(dump)      # def dump(record: Record) -> dict (or a list of dicts)

Any other object with ``extensions``, ``description``, ``read(path, fmap)`` and
``open_writer(path)`` (see :class:`Format`) works too; :class:`RowFormat` is the base the
built-ins share.
"""

from __future__ import annotations

import difflib
import inspect
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from redline.data.limits import (
    BadLine,
    LimitError,
    check_value,
    iter_json_lines,
    json_error,
    loads_json,
    loads_json_document,
    needs_check,
)
from redline.data.records import Record, dump_messages
from redline.errors import InputError, Problem


def record_where(rec: Any) -> tuple[str, int] | None:
    """``("file:row 3", 3)``: where a reader found a record, as shown (None: not from a file)."""
    src = getattr(rec, "_source", None)
    return None if src is None else (f"{src[0]}:{src[1]}{src[2]}", src[2])


@dataclass
class Rejected:
    """A row that could not be read or mapped (it goes to the quarantine file).

    Its location travels as data — ``path``, ``unit`` and ``row`` (``row 12`` of a CSV file,
    ``item 3`` of a JSON array; for JSON Lines the unit is ``""`` and the row is the line),
    ``file_line`` where the reader knows it, and ``field`` when one field is at fault — so no
    one re-parses ``where``, which is only how the location is shown. Build one with :meth:`at`.
    """

    where: str  # as shown: "file.csv:row 12 (line 13)" / "file.jsonl:7"
    line: int | None  # line (JSONL) or data-row number (CSV, Parquet, Excel, JSON array item)
    reason: str
    raw: Any = None
    path: str | None = None
    unit: str = ""
    row: int | None = None
    file_line: int | None = None
    field: str | None = None

    @classmethod
    def at(cls, path: Path | str, row: int, reason: str, raw: Any = None, *, unit: str = "",
           file_line: int | None = None, field: str | None = None) -> Rejected:
        """Row ``row`` (counted in ``unit``: ``""`` a line, ``"row "``, ``"item "`` …) of ``path``.

        Args:
            path: the file.
            row: the row's number in ``unit`` (its line for JSON Lines).
            reason: why it was refused.
            raw: the row as read, for the quarantine file.
            unit: what ``row`` counts, as shown before the number.
            file_line: the file line the row starts on, when known (shown as ``(line N)``).
            field: the field at fault, if one is.
        """
        where = f"{path}:{unit}{row}" + (f" (line {file_line})" if unit and file_line is not None else "")
        return cls(where, row, reason, raw, path=str(path), unit=unit, row=row,
                   file_line=row if not unit else file_line, field=field)

    @classmethod
    def of_record(cls, rec: Any, reason: str, raw: Any = None) -> Rejected | None:
        """A refused record at the row a reader found it on (None: not read from a file).

        Args:
            rec: A :class:`~redline.data.records.Record` (its private ``_source``).
            reason: Why it is refused.
            raw: What the quarantine file keeps of it.
        """
        src = getattr(rec, "_source", None)
        return None if src is None else cls.at(src[0], src[2], reason, raw, unit=src[1])

    def on_file_line(self, line: int) -> Rejected:
        """This row located by its file line: ``f.csv:row 1 (line 2)`` → ``f.csv:2 (row 1)``, line 2."""
        return Rejected(f"{self.path}:{line} ({self.unit}{self.row})", line, self.reason, self.raw,
                        path=self.path, unit=self.unit, row=self.row, file_line=line, field=self.field)

    def to_json(self) -> dict[str, Any]:
        """The quarantine file's line: ``where``, ``line``, ``reason``, ``raw``."""
        raw = self.raw
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        return {"where": self.where, "line": self.line, "reason": self.reason, "raw": raw}


Item = Record | Rejected


class RejectedSummary:
    """Counts the refused rows of a stream and keeps the first ``keep`` (where, reason) for a report."""

    def __init__(self, keep: int):
        self.count = 0
        self.rows: list[dict[str, Any]] = []
        self._keep = keep

    def records(self, items: Iterable[Item], on_progress: Callable[[int], None] | None = None) -> Iterator[Record]:
        """The records of ``items``; each refused row is counted (and kept while there is room)."""
        for item in items:
            if on_progress is not None:
                on_progress(1)
            if isinstance(item, Rejected):
                self.count += 1
                if len(self.rows) < self._keep:
                    self.rows.append({"where": item.where, "reason": item.reason})
                continue
            yield item

    def to_json(self) -> dict[str, Any]:
        """``{"count", "rows"}`` as the reports write it."""
        return {"count": self.count, "rows": self.rows}


class RecordWriter(Protocol):
    """What :meth:`Format.open_writer` returns."""

    def write(self, record: Record) -> None:
        """Write one record; raise ValueError when the format cannot express it."""

    def close(self) -> None:
        """Finish the file (a writer may hold its last rows until then)."""


@runtime_checkable
class Format(Protocol):
    """What a format offers: its name, the file extensions it claims, one line of description,
    a streaming reader and a writer."""

    name: str
    extensions: tuple[str, ...]

    @property
    def description(self) -> str:
        """One line describing the format (shown by ``redline data formats`` and ``redline plugins``)."""

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        """Stream the file's records, a row that cannot be read or mapped yielded as :class:`Rejected`.

        Args:
            path: The file (or folder) to read.
            fmap: Column renames, constants and value maps applied to each row before parsing.

        Returns:
            An iterator of :class:`Record` and :class:`Rejected` items, in file order.

        Raises:
            InputError: The file as a whole cannot be read (missing, not the format, over a limit).
        """

    def open_writer(self, path: Path) -> RecordWriter:
        """Create ``path`` and return a writer of records to it; call its ``close`` to finish the file."""


class RowFormat:
    """The shared base of the built-in formats: a file read as numbered rows, each mapped to a record.

    A subclass declares what differs: :meth:`rows` (the container: CSV, Parquet, JSON Lines …),
    :meth:`to_record` (one field-mapped row → :class:`Record`, default :func:`row_to_record`),
    ``unit`` (how a row is named in ``file:UNIT N`` locations) and :meth:`open_writer`. Its
    ``description`` is the first line of the class docstring (also what ``redline plugins`` shows).
    """

    #: set by :func:`get_format` to the name the format is registered under
    name: str = ""
    extensions: tuple[str, ...] = ()
    #: the word before a row number in a location: ``""`` (a line), ``"row "``, ``"item "`` …
    unit: str = ""
    #: the record fields a written row keeps (``None``: all of them); ``labels.X`` / ``meta.X`` keep
    #: one key. ``convert`` notes every other field a written record had (nothing is lost unsaid).
    keeps: tuple[str, ...] | None = None

    @property
    def description(self) -> str:
        """One line for ``redline data formats``: the class docstring's first line."""
        return (inspect.getdoc(type(self)) or "").splitlines()[0]

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """``(row number, row | Rejected)`` for every row of the file."""
        raise NotImplementedError

    @staticmethod
    def to_record(row: dict[str, Any], n: int) -> Record:
        """One field-mapped row → a record; raises ValueError (or a pydantic error) to reject it."""
        return row_to_record(row, n)

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        """Records (or :class:`Rejected` rows) of ``path``, streaming."""
        return parse_rows(path, self.rows(path, fmap), fmap, self.to_record, self.unit)

    def open_writer(self, path: Path) -> RecordWriter:
        """A writer of records to ``path``."""
        raise NotImplementedError


class JsonRowFormat(RowFormat):
    """A format whose rows are JSON objects, in JSON Lines or a JSON array (``--json-key``).

    A subclass declares only :meth:`to_record` (row → record) and :meth:`to_row` (record → one
    object, or a list of them); reading and writing JSON Lines are shared.
    """

    def rows(self, path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
        """The file's objects: a JSON array (``fmap.json_key``) for ``.json`` or a file starting
        with ``[``, else JSON Lines."""
        return iter_json_or_jsonl(path, fmap)

    @staticmethod
    def to_row(r: Record) -> dict[str, Any] | list[dict[str, Any]]:
        """One record → the object (or objects) written for it; ValueError when it does not fit."""
        raise NotImplementedError

    def open_writer(self, path: Path) -> RecordWriter:
        """A JSON Lines writer of :meth:`to_row`'s object(s) for each record."""
        return JsonlWriter(path, self.to_row)


_INSTANCES: dict[str, Format] = {}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")  # trl-dpo, label-studio


def formats() -> dict[str, Format]:
    """Every installed format (built-ins and entry points ``redline.formats``), by name."""
    from redline import plugins

    return {n: get_format(n) for n in plugins.names("format")}


def get_format(name: str) -> Format:
    """The format registered as ``name`` (``-`` and ``_`` alike, any case); unknown names raise
    :class:`InputError`."""
    from redline import plugins

    name = _normalise(name)
    if name not in _INSTANCES:
        known = plugins.names("format")
        if name not in known:
            raise InputError(f"unknown format {name!r}", [Problem(
                "--from/--to", f"no format named {name!r}", f"use one of {', '.join(known)}")])
        fmt = plugins.create("format", name)
        fmt.name = name
        _INSTANCES[name] = fmt
    return _INSTANCES[name]


def detect_format(path: Path) -> str:
    """The format for a path by its extension (a folder is a Hugging Face ``save_to_disk`` folder)."""
    if path.is_dir():
        return "hf"
    name = path.name.lower()
    known = formats()
    for fname, f in known.items():
        if any(name.endswith(ext) for ext in f.extensions):
            return fname
    raise InputError(f"{path}: cannot tell the format", [Problem(
        str(path), f"unknown extension {path.suffix!r}",
        f"pass --from/--to with one of {', '.join(sorted(known))}")])


# -- field mapping ---------------------------------------------------------------------------


@dataclass
class FieldMap:
    """``renames``: record field ← source column (``--map prompt=question``);
    ``constants``: record field → fixed value for every row (``--set source=vendor-a``);
    ``values``: per field, old value → new value (mapping file only, e.g. vendor category names
    → policy category ids); ``json_key``: which list of a JSON file holds the rows."""

    renames: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    json_key: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        """Map one source row to record fields: renames, then constants, then value tables.

        Args:
            row: The row as read from the file; it is not modified.

        Returns:
            A new dict with the mapping applied, or ``row`` itself when the map is empty. Renames
            read the original row (one column may feed several fields); a rename whose source
            column is missing is skipped; a value table matches the value's string form.
        """
        if not self.renames and not self.constants and not self.values:
            return row
        src, row = row, dict(row)
        # every rename reads the source row, so one column may feed several fields
        # (``--map category=tags --map expected=tags``) and swaps work; a source column that is
        # not itself a target is moved (it does not stay behind in ``meta``)
        for source in set(self.renames.values()) - set(self.renames):
            row.pop(source, None)
        for target, source in self.renames.items():
            if source in src:
                row[target] = src[source]
        for target, value in self.constants.items():
            row[target] = value
        for target, table in self.values.items():
            v = row.get(target)
            if isinstance(v, str | int | float) and str(v) in table:
                row[target] = table[str(v)]
        return row

    @classmethod
    def parse(cls, maps: list[str] | None = None, sets: list[str] | None = None,
              map_file: Path | None = None, json_key: str | None = None) -> FieldMap:
        """From ``--map a=b`` / ``--set a=v`` flags and a YAML mapping file (``{map: {}, set: {}}``)."""
        fm = cls(json_key=json_key)
        problems: list[Problem] = []
        if map_file is not None:
            from redline.data.limits import load_yaml

            doc = load_yaml(map_file, "mapping file") or {}  # limits: size, depth, aliases (docs/limits.md)
            bad_type = [k for k in ("map", "set", "values") if isinstance(doc, dict) and doc.get(k) is not None
                        and not isinstance(doc[k], dict)]
            if isinstance(doc, dict) and doc.get("json_key") is not None and not isinstance(doc["json_key"], str):
                bad_type.append("json_key")
            if not isinstance(doc, dict) or set(doc) - {"map", "set", "values", "json_key"}:
                problems.append(Problem(str(map_file), "expected the keys 'map', 'set', 'values', 'json_key'",
                                        "write e.g. {map: {prompt: question, category: hazard}}"))
            elif bad_type:
                problems.append(Problem(f"{map_file} ({bad_type[0]})", f"'{bad_type[0]}' must be "
                                        + ("a name" if bad_type[0] == "json_key" else "a mapping"),
                                        "write e.g. {map: {prompt: question}, set: {source: vendor-a}, "
                                        "values: {category: {vcr: violent_crimes}}, json_key: rows}"))
            elif not all(isinstance(t, dict) for t in (doc.get("values") or {}).values()):
                problems.append(Problem(f"{map_file} (values)", "each entry must map old value → new value",
                                        "write e.g. {values: {category: {vcr: violent_crimes}}}"))
            else:
                for k, v in (doc.get("map") or {}).items():
                    if isinstance(v, str) and v.strip():
                        fm.renames[str(k)] = v.strip()
                    else:
                        problems.append(Problem(f"{map_file} (map.{k})", f"the source column must be a name, not {v!r}",
                                                f"write {k}: COLUMN"))
                fm.constants.update({str(k): v for k, v in (doc.get("set") or {}).items()})
                fm.values.update({str(k): {str(a): b for a, b in t.items()}
                                  for k, t in (doc.get("values") or {}).items()})
                fm.json_key = fm.json_key or doc.get("json_key")
        for flag, items, target in (("--map", maps, fm.renames), ("--set", sets, fm.constants)):
            for item in items or []:
                k, sep, v = item.partition("=")
                if not sep or not k.strip() or not v.strip():
                    problems.append(Problem(f"{flag} {item}", "expected FIELD=VALUE",
                                            f"e.g. {flag} prompt=question" if flag == "--map"
                                            else f"e.g. {flag} source=vendor-a"))
                    continue
                target[k.strip()] = v.strip()
        for what, keys in (("--map", fm.renames), ("--set", fm.constants), ("values", fm.values)):
            for k in keys:
                if k not in MAP_TARGETS and not k.startswith(("meta.", "labels.")):
                    close = difflib.get_close_matches(k, MAP_TARGETS, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    problems.append(Problem(
                        f"{what} {k}" if map_file is None else f"{map_file} / {what} {k}",
                        f"unknown record field {k!r}",
                        f"{hint}use one of {', '.join(NATIVE_FIELDS)}, a format's own key, or meta.NAME / labels.NAME"))
        if problems:
            raise InputError("bad field mapping", problems)
        return fm


# -- flat rows (JSONL native, CSV, Parquet, Excel, HF) ----------------------------------------

NATIVE_FIELDS = ("id", "messages", "prompt", "response", "system", "chosen", "rejected", "labels",
                 "category", "expected", "language", "source", "meta")
# fields a mapping may target: the record's own, and the row keys the chat/training formats read
MAP_TARGETS = (*NATIVE_FIELDS, "conversations", "instruction", "input", "output", "history", "completion", "label",
               "target", "choices", "metadata", "data", "annotations", "predictions", "images", "image", "text")
FLAT_COLUMNS = ("id", "system", "prompt", "response", "messages", "chosen", "rejected", "category",
                "expected", "language", "source", "labels", "meta")


def _maybe_json(v: Any, want: type, name: str) -> Any:
    if isinstance(v, str):
        s = v.strip()
        if (want is list and s.startswith("[")) or (want is dict and s.startswith("{")):
            try:
                return loads_json(s)
            except LimitError as e:
                raise ValueError(f"field '{name}': {e}") from None
            except json.JSONDecodeError as e:
                raise ValueError(f"field '{name}': not valid JSON ({e.msg})") from None
        if want is dict:
            raise ValueError(f"field '{name}': expected a JSON object")
    return v


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str) and v == "":
        return True
    try:  # NaN from spreadsheets / pandas
        return isinstance(v, float) and v != v
    except TypeError:
        return False


def row_to_record(row: dict[str, Any], n: int) -> Record:
    """A flat row (already field-mapped) → Record. Unknown columns go to ``meta``;
    ``labels.X`` / ``meta.X`` columns go into ``labels`` / ``meta``; a judge's verdict
    (``redline judge`` output) and an eval result's outcome go into ``labels``
    (:mod:`redline.data.verdicts`). Raises ValueError."""
    from redline.data.verdicts import eval_result_row, is_eval_result, judge_output_labels

    row = eval_result_row(row) if is_eval_result(row) else judge_output_labels(row)
    data: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    for k, v in row.items():
        if _is_missing(v):
            continue
        k = str(k)
        if k in NATIVE_FIELDS:
            data[k] = v
        elif k.startswith("labels."):
            labels[k[7:]] = v
        elif k.startswith("meta."):
            meta[k[5:]] = v
        else:
            meta[k] = v
    for name in ("messages",):
        if name in data:
            data[name] = _maybe_json(data[name], list, name)
    for name in ("chosen", "rejected"):
        if name in data and isinstance(data[name], str) and data[name].lstrip().startswith("[{"):
            try:
                data[name] = loads_json(data[name])
            except LimitError as e:
                raise ValueError(f"field '{name}': {e}") from None
            except json.JSONDecodeError:
                pass  # a text completion that happens to start with "[{"
    for name in ("labels", "meta"):
        if name in data:
            data[name] = _maybe_json(data[name], dict, name)
            if not isinstance(data[name], dict):
                raise ValueError(f"field '{name}': expected an object")
    if labels:
        data["labels"] = {**data.get("labels", {}), **labels}
    if meta:
        data["meta"] = {**data.get("meta", {}), **meta}
    if not any(k in data for k in ("messages", "prompt", "system", "response")):
        raise ValueError("no prompt: give 'prompt' or 'messages' (or map a column: --map prompt=COLUMN)")
    if "id" not in data:
        data["id"] = str(n)
    elif not isinstance(data["id"], str):
        v = data["id"]
        data["id"] = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
    return Record.model_validate(data)


def record_to_flat(r: Record) -> dict[str, str | None]:
    """Record → the flat string columns of :data:`FLAT_COLUMNS` (structured values as JSON)."""
    out: dict[str, str | None] = dict.fromkeys(FLAT_COLUMNS)
    out["id"] = r.id
    if r.is_simple():
        out["system"] = r.system
        out["prompt"] = r.prompt
        out["response"] = r.response
        if r.chosen is not None and r.rejected is not None:
            out["chosen"] = r.chosen[0].text
            out["rejected"] = r.rejected[0].text
    else:
        out["messages"] = json.dumps(dump_messages(r.messages), ensure_ascii=False)
        if r.chosen is not None and r.rejected is not None:
            out["chosen"] = json.dumps(dump_messages(r.chosen), ensure_ascii=False)
            out["rejected"] = json.dumps(dump_messages(r.rejected), ensure_ascii=False)
    out["category"] = r.category
    out["expected"] = r.expected.value if r.expected is not None else None
    out["language"] = r.language
    out["source"] = r.source
    out["labels"] = json.dumps(r.labels, ensure_ascii=False, sort_keys=True) if r.labels else None
    out["meta"] = json.dumps(r.meta, ensure_ascii=False, sort_keys=True) if r.meta else None
    return out


def describe_error(e: Exception) -> str:
    """One line for a validation error."""
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(record)"
        more = f" (+{len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        return f"field '{loc}': {msg}{more}"
    return str(e)


def _failed_field(e: Exception) -> str | None:
    """The field a validation error names, if it names one."""
    if isinstance(e, ValidationError) and e.errors():
        return ".".join(str(x) for x in e.errors()[0]["loc"]) or None
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    return None


def parse_rows(path: Path, rows: Iterator[tuple[int, dict[str, Any] | Rejected]], fmap: FieldMap,
               parse: Callable[[dict[str, Any], int], Record], unit: str = "") -> Iterator[Item]:
    """Apply the field map and ``parse`` to each row; a failure becomes a :class:`Rejected`."""
    for n, row in rows:
        if isinstance(row, Rejected):
            yield row
            continue
        try:
            rec = parse(fmap.apply(row), n)
        except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as e:
            reason = describe_error(e) if not isinstance(e, KeyError) else f"missing field {e}"
            missing = [f"{t}={src}" for t, src in fmap.renames.items() if src not in row]
            if missing:
                cols = ", ".join(map(str, list(row)[:20]))
                reason += f" — mapped column(s) not in this row: {', '.join(missing)} (its columns: {cols})"
            yield Rejected.at(path, n, reason, row, unit=unit, field=_failed_field(e))
            continue
        rec._source = (str(path), unit, n)  # where it came from, for a later quarantine (convert)
        yield rec


# -- containers: JSONL and JSON ---------------------------------------------------------------


def iter_jsonl_rows(path: Path, lines: Iterable[tuple[int, Any]] | None = None,
                    ) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    """``(line_no, dict | Rejected)`` for every non-blank line; BOM on line 1 accepted; the limits
    of :mod:`redline.data.limits` (depth, integer digits, lone surrogates, line size) apply.
    ``lines``: the ``(line_no, value | BadLine)`` of a part of the file, parsed elsewhere (the
    Ray profile's byte ranges); default: :func:`~redline.data.limits.iter_json_lines` of ``path``."""
    for lineno, obj in iter_json_lines(path) if lines is None else lines:
        if isinstance(obj, BadLine):
            reason = obj.reason if obj.kind == "json" or not obj.fix else f"{obj.reason}; {obj.fix}"
            yield lineno, Rejected.at(path, lineno, reason, obj.raw)
        elif not isinstance(obj, dict):
            yield lineno, Rejected.at(path, lineno, "a line must be a JSON object", obj)
        else:
            yield lineno, obj


def iter_json_rows(path: Path, key: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    """Items of a JSON array — the file itself, or the list under ``key`` (or the only list of
    objects in a top-level object). JSON is not a streaming format: the file is loaded whole.
    An item past a limit (:mod:`redline.data.limits`) is a rejected item; a document the parser
    itself cannot read (nested past ~1,000 levels, a too long integer) is refused with its line."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
        doc = loads_json_document(text)
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8", [Problem(str(path), f"byte {e.start + 1}: {e.reason}",
                                                        "re-encode the file as UTF-8")]) from None
    except LimitError as e:
        raise InputError(f"{path}: {e.reason}", [Problem(f"{path}:{e.line}" if e.line else str(path), e.reason,
                                                         e.fix)]) from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON", [Problem(f"{path}:{e.lineno}", json_error(e),
                                                           "fix the JSON (or use JSONL: one object per line)")]) from None
    items: Any = doc
    if isinstance(doc, dict):
        lists = [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if key is not None:
            if key not in doc or not isinstance(doc[key], list):
                raise InputError(f"{path}: no list {key!r}", [Problem(
                    str(path), f"the top-level object has no list {key!r}", f"use one of {lists or list(doc)}")])
            items = doc[key]
        elif len(lists) == 1:
            items = doc[lists[0]]
        else:
            raise InputError(f"{path}: which list holds the rows?", [Problem(
                str(path), f"the top-level object has {len(lists)} lists of objects: {lists}",
                "pass --json-key NAME")])
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON array", [Problem(str(path), "the file is not an array of objects",
                                                                    "write [ {...}, {...} ] or use JSONL")])
    depth, surrogates = needs_check(text)  # each item is checked as a JSONL line would be
    del text
    for i, obj in enumerate(items, 1):
        if isinstance(obj, dict):
            try:
                check_value(obj, depth, surrogates)
            except LimitError as e:
                yield i, Rejected.at(path, i, f"{e.reason}; {e.fix}" if e.fix else e.reason,
                                     None if "nested" in e.reason else obj, unit="item ")  # too deep to write back
                continue
            yield i, obj
        else:
            yield i, Rejected.at(path, i, "an item must be a JSON object", obj, unit="item ")


def sniff_json_array(path: Path) -> bool:
    """True when the file is a JSON document (array/object) rather than JSON Lines."""
    if path.suffix.lower() == ".json":
        return True
    if path.suffix.lower() == ".jsonl":
        return False
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def iter_json_or_jsonl(path: Path, fmap: FieldMap) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    """``(number, row | Rejected)`` from a JSON array (see :func:`iter_json_rows`, using ``fmap.json_key``)
    or from JSON Lines (see :func:`iter_jsonl_rows`), as :func:`sniff_json_array` decides."""
    return iter_json_rows(path, fmap.json_key) if sniff_json_array(path) else iter_jsonl_rows(path)


class JsonlWriter:
    """Writes one JSON object per line; ``to_obj`` maps a record to the object (or a list of them).

    ``extra`` (optional, also settable after ``open_writer``) returns columns merged into every
    object written for a record, e.g. ``{"metadata": {...}}`` for provenance next to a training
    format's own columns.
    """

    def __init__(self, path: Path, to_obj: Callable[[Record], Any],
                 extra: Callable[[Record], dict[str, Any]] | None = None):
        self._f = open(path, "w", encoding="utf-8", newline="\n")
        self._to_obj = to_obj
        self.extra = extra

    def write(self, record: Record) -> None:
        """Write the record's object(s), one line each, with ``extra``'s columns merged in.

        Raises:
            ValueError: ``to_obj`` cannot express the record in this format.
        """
        obj = self._to_obj(record)
        more = self.extra(record) if self.extra is not None else None
        for o in obj if isinstance(obj, list) else [obj]:
            self._f.write(json.dumps({**o, **more} if more else o, ensure_ascii=False) + "\n")

    def write_lines(self, text: str) -> None:
        """Append lines this writer's ``write`` made elsewhere (a Ray worker's part of the output)."""
        self._f.write(text)

    def close(self) -> None:
        """Close the file."""
        self._f.close()


class JsonArrayWriter:
    """Writes a JSON array, one item per line, without holding the items in memory."""

    def __init__(self, path: Path, to_obj: Callable[[Record], Any]):
        self._f: io.TextIOWrapper = open(path, "w", encoding="utf-8", newline="\n")
        self._to_obj = to_obj
        self._n = 0
        self._f.write("[")

    def write(self, record: Record) -> None:
        """Append the record's object(s) to the array, one item a line.

        Raises:
            ValueError: ``to_obj`` cannot express the record in this format.
        """
        obj = self._to_obj(record)
        for o in obj if isinstance(obj, list) else [obj]:
            self._f.write(("\n" if self._n == 0 else ",\n") + json.dumps(o, ensure_ascii=False))
            self._n += 1

    def close(self) -> None:
        """Close the array (``]``) and the file; the file is not valid JSON before this."""
        self._f.write("\n]\n")
        self._f.close()
