"""Vendor round-trip: batches of assigned items for an external labelling platform, and the
returned labels imported back.

``export_batch`` assigns items to a vendor's named annotators through the service, so the
project's rules hold for external work exactly as in the web UI (k-overlap, one annotator never
gets an item twice, gold injected at the project's rate, exposure budgets, vendor isolation).
Every row is keyed by an opaque ``task_id`` (a hash of project, item and annotator): gold rows
look exactly like the others — no item id, no metadata, no label field is exported that could
give them away. Formats:

* ``jsonl`` — one object per (annotator, item): ``task_id, vendor, annotator, prompt`` (or
  ``messages`` for conversations), ``response``, ``candidate_0 …`` (preference, in the order the
  annotator is to see them), then one empty key per label field and ``skip_reason``;
* ``csv`` — the same columns (structured values as JSON text);
* ``label-studio`` — a JSON array of Label Studio tasks (``data`` holds the same keys) plus a
  labelling config (``OUT.label_config.xml``) generated from the task schema. Import the
  annotations JSON that Label Studio exports.

``import_batch`` reads the returned file and, row by row, checks that the task id is one of the
project's assignments, that the annotator is a user of the row's vendor, and that the values pass
the task schema (:func:`redline.annotate.schema.validate_values`). Accepted rows become labels
attributed to the annotator (``source = "import:<file name>"``); every other row goes to the
quarantine file (``OUT.rejected.jsonl``: where (file:line), reason, raw row). Importing the same
file again is idempotent: a row whose label already exists with the same values is counted as
``already``, one with different values is rejected (a label is never silently replaced).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from redline.data.formats import FieldMap, Rejected
from redline.data.formats.base import record_where
from redline.data.formats.csv import iter_csv_rows
from redline.data.io import Quarantine, quarantine_path
from redline.data.records import dump_messages
from redline.errors import InputError, Problem, RedlineError
from redline.files import atomic_path, temp_path

if TYPE_CHECKING:
    from redline.annotate.rows import Assignment
    from redline.annotate.service import Annotations
    from redline.data.io import RowCounts

BATCH_FORMATS: tuple[str, ...] = ("csv", "jsonl", "label-studio")
_KEYS = ("task_id", "vendor", "annotator")

__all__ = ["BATCH_FORMATS", "BatchExport", "BatchImport", "export_batch", "import_batch", "task_id"]


def task_id(project: str, item_id: str, username: str) -> str:
    """The opaque key of one assignment in a batch (stable: exporting again gives the same key)."""
    return hashlib.sha256(f"{project}\x00{item_id}\x00{username}".encode()).hexdigest()[:20]


@dataclass
class BatchExport:
    """What :func:`export_batch` wrote.

    Attributes:
        out: The batch file.
        format: One of ``BATCH_FORMATS``.
        rows: Rows written, one per (annotator, item).
        per_annotator: Rows per annotator.
        config: The Label Studio labelling config written beside it, if any.
    """

    out: Path
    format: str
    rows: int = 0
    per_annotator: dict[str, int] = field(default_factory=dict)
    config: Path | None = None  # Label Studio labelling config

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (``config`` under ``"label_config"``)."""
        return {"out": str(self.out), "format": self.format, "rows": self.rows,
                "per_annotator": self.per_annotator,
                "label_config": None if self.config is None else str(self.config)}


@dataclass
class BatchImport:
    """What :func:`import_batch` made of a returned file.

    Attributes:
        path: The file read.
        rows: Rows read.
        imported: Rows that became labels.
        already: Rows whose identical label was already there (a re-import).
        skipped: Rows returned with a skip reason.
        rejected: Rows sent to the quarantine file.
        quarantine: The quarantine file.
        reasons: Rejected rows counted by reason.
        per_annotator: Imported labels per annotator.
    """

    path: Path
    rows: int = 0
    imported: int = 0
    already: int = 0  # identical label already there (re-import)
    skipped: int = 0  # rows returned with a skip reason
    rejected: int = 0
    quarantine: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    per_annotator: dict[str, int] = field(default_factory=dict)

    def counts(self) -> RowCounts:
        """The rows as :class:`~redline.data.io.RowCounts`: imported, rejected, or skipped (an
        identical label already there; an item the annotator skipped, whose skip is recorded)."""
        from redline.data.io import RowCounts

        rc = RowCounts(read=self.rows, written=self.imported, rejected=self.rejected, verb="imported")
        rc.skip("already imported (the same label, or the same skip)", self.already)
        rc.skip("skipped by the annotator (the skip is recorded)", self.skipped)
        return rc

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (``quarantine`` only when rows were rejected)."""
        return {"file": str(self.path), "rows": self.rows, "imported": self.imported, "already": self.already,
                "skipped": self.skipped, "rejected": self.rejected,
                "quarantine": str(self.quarantine) if self.rejected else None,
                "rejected_by_reason": self.reasons, "per_annotator": self.per_annotator,
                "row_counts": self.counts().to_json()}


# -- export -------------------------------------------------------------------------------------


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _assign(svc: Annotations, project: str, username: str, n: int) -> list[Assignment]:
    """Up to ``n`` open assignments for ``username``: the open ones first (unfinished work is sent
    again), then new ones from the service, under every rule of ``next_item``."""
    have = [a for a in svc.assignments(project, username=username) if a.status == "open"][:n]
    seen = {a.item_id for a in have}
    for _ in range(n - len(have)):
        a = svc.next_item(project, username, reuse_open=False)
        if a is None or a.item_id in seen:
            break
        seen.add(a.item_id)
        have.append(a)
    return have


def _order(a: Assignment, n: int) -> list[int]:
    return a.order if a.order and sorted(a.order) == list(range(n)) else list(range(n))


def _unpresent(values: dict[str, Any], a: Assignment) -> tuple[dict[str, Any], str | None]:
    """Preference answers name the letters shown (A, B, …): back to original candidate indices."""
    from redline.annotate.schema import candidates

    order = _order(a, len(candidates(a.item.record)))
    out = dict(values)

    def idx(letter: Any) -> str | None:
        s = str(letter).strip().upper()
        pos = _LETTERS.find(s) if len(s) == 1 else -1
        return str(order[pos]) if 0 <= pos < len(order) else None

    ch = out.get("choice")
    if ch not in (None, "") and str(ch).strip().lower() != "tie":
        got = idx(ch)
        if got is None:
            return out, (f"choice {ch!r}: answer with a letter shown ({', '.join(_LETTERS[:len(order)])}) "
                         "or tie")
        out["choice"] = got
    rk = out.get("ranking")
    if rk not in (None, "", []):
        parts = rk if isinstance(rk, list) else str(rk).replace(";", ",").split(",")
        got_all = [idx(p) for p in parts if str(p).strip()]
        if any(g is None for g in got_all):
            return out, f"ranking {rk!r}: list the letters shown, best first (e.g. B,A,C)"
        out["ranking"] = ",".join(g for g in got_all if g is not None)
    return out, None


def _fields(svc: Annotations, project: str) -> list[Any]:
    from redline.annotate.schema import task_fields

    p = svc.get_project(project)
    return task_fields(p.task, p.schema)


def _row(svc: Annotations, project: str, task: str, a: Assignment, vendor: str,
         field_names: list[str]) -> dict[str, Any]:
    rec = a.item.record
    row: dict[str, Any] = {"task_id": task_id(project, a.item_id, a.username), "vendor": vendor,
                           "annotator": a.username}
    if rec.is_simple():
        if rec.system is not None:
            row["system"] = rec.system
        row["prompt"] = rec.prompt
        if rec.response is not None:
            row["response"] = rec.response
    else:
        row["messages"] = dump_messages(rec.prompt_messages)
        if rec.response is not None:
            row["response"] = rec.response
    if task == "preference":  # in the order this annotator is to see them: A, B, …
        from redline.annotate.schema import candidates

        cands = candidates(rec)
        for pos, idx in enumerate(_order(a, len(cands))):
            row[f"candidate_{_LETTERS[pos]}"] = cands[idx]
    for name in field_names:
        row[name] = None
    row["skip_reason"] = None
    return row


def _ls_choice(o: Any) -> str:
    """One ``<Choice>``: the option's label shown, its stored value as ``alias`` (when they differ)."""
    # a boolean is stored as yes / no: Label Studio's UI reads an attribute "true" / "false" as a
    # boolean and then fails on it
    value = "" if o.value is None else ("yes" if o.value else "no") if isinstance(o.value, bool) else str(o.value)
    shown = o.label if o.label and o.label != value else value
    if o.label and o.label != value and o.label.strip().lower() == value.lower():
        shown = f"{o.label} ({value})"  # Label Studio compares choice values without case
    alias = f" alias={quoteattr(value)}" if shown != value else ""
    return f"    <Choice value={quoteattr(shown)}{alias}/>"


def _ls_config(fields: list[Any], n_candidates: int) -> str:
    """A Label Studio labelling config for the task's fields (choices, text areas, numbers): the
    whole conversation (system prompt first) as a dialogue, choices shown by their labels with the
    stored value as ``alias``."""
    lines = ["<View>", '  <Header value="Conversation (system prompt, user and assistant turns)"/>',
             '  <Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="role" textKey="content"/>']
    for pos in range(n_candidates):
        lines.append(f'  <Header value="Response {_LETTERS[pos]}"/>')
        lines.append(f'  <Text name="candidate_{_LETTERS[pos]}" value="$candidate_{_LETTERS[pos]}"/>')
    for f in fields:
        name = quoteattr(f.name)
        lines.append(f"  <Header value={quoteattr(f.label)}/>")
        if f.type == "choice":  # the letters the annotator sees
            lines.append(f'  <Choices name={name} toName="dialogue" choice="single" required="true">')
            for pos in range(n_candidates):
                lines.append(f'    <Choice value="Response {_LETTERS[pos]}" alias={quoteattr(_LETTERS[pos])}/>')
            lines.append('    <Choice value="Tie" alias="tie"/>')
            lines.append("  </Choices>")
        elif f.type in ("enum", "boolean", "integer") and f.options:
            req = ' required="true"' if f.required and not f.when else ""
            lines.append(f'  <Choices name={name} toName="dialogue" choice="single"{req}>')
            lines += [_ls_choice(o) for o in f.options]
            lines.append("  </Choices>")
        else:
            lines.append(f'  <TextArea name={name} toName="dialogue" maxSubmissions="1"/>')
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def _ls_dialogue(row: dict[str, Any]) -> list[dict[str, str]]:
    """The conversation of a batch row as Label Studio dialogue paragraphs (system prompt first)."""
    turns: list[dict[str, str]] = []
    if row.get("messages") is not None:
        for m in row["messages"]:
            c = m.get("content")
            text = c if isinstance(c, str) else "\n".join(p.get("text", "") for p in c or [] if isinstance(p, dict)
                                                          and p.get("type") == "text") or "(image)"
            turns.append({"role": str(m.get("role")), "content": text})
    else:
        if row.get("system") is not None:
            turns.append({"role": "system", "content": row["system"]})
        turns.append({"role": "user", "content": row.get("prompt") or ""})
    if row.get("response") is not None:
        turns.append({"role": "assistant", "content": row["response"]})
    return turns


def _check_writable(out: Path) -> None:
    tmp = temp_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8"):
            pass
        tmp.unlink()
    except OSError as e:
        raise InputError(f"cannot write {out}", [Problem(
            str(out), e.strerror or str(e), "choose a path in a writable folder (--out)")]) from None


def export_batch(svc: Annotations, project: str, vendor: str, annotators: list[str], fmt: str, out: Path,
                 *, per_annotator: int = 50) -> BatchExport:
    """Assign up to ``per_annotator`` items to each of ``annotators`` (users of ``vendor``) and
    write them as a batch file. Raises InputError for unknown/foreign annotators or formats."""
    if fmt not in BATCH_FORMATS:
        raise InputError(f"unknown batch format {fmt!r}", [Problem(
            "--format", f"{fmt!r} is not a batch format", f"use one of {', '.join(BATCH_FORMATS)}")])
    p = svc.get_project(project)
    problems = []
    for u in annotators:
        user = svc.get_user(u)
        if user is None:
            problems.append(Problem(f"--annotators {u}", "no such user",
                                    f"add it: redline annotate user add {u} --role annotator --vendor {vendor}"))
        elif user.vendor != vendor:
            problems.append(Problem(f"--annotators {u}", f"belongs to vendor {user.vendor or '(in-house)'}, "
                                    f"not {vendor}", "export a batch per vendor, naming its own annotators"))
        elif user.role != "annotator":
            problems.append(Problem(f"--annotators {u}", f"is a {user.role}, not an annotator",
                                    "name annotators only"))
        elif not user.active:
            problems.append(Problem(f"--annotators {u}", f"is paused ({user.paused_reason or 'no reason'})",
                                    f"resume it first: redline annotate user resume {u}"))
    if not annotators:
        problems.append(Problem("--annotators", "no annotators named", "give --annotators a,b"))
    if problems:
        raise InputError(f"cannot export a batch for vendor {vendor!r}", problems)
    fields = _fields(svc, project)
    names = [f.name for f in fields]
    _check_writable(out)  # before assigning anything: a batch that cannot be written assigns nothing
    res = BatchExport(out=out, format=fmt)
    rows: list[dict[str, Any]] = []
    for u in annotators:
        got = _assign(svc, project, u, per_annotator)
        res.per_annotator[u] = len(got)
        rows += [_row(svc, project, p.task, a, vendor, names) for a in got]
    rows.sort(key=lambda r: (r["annotator"], r["task_id"]))  # no position reveals anything either
    res.rows = len(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        if fmt == "jsonl":
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            seen: list[str] = []
            for r in rows:
                seen += [k for k in r if k not in seen]
            # item columns first (candidates together, A, B, C…), then the label columns, then skip_reason
            tail = [*names, "skip_reason"]
            cands = sorted((k for k in seen if k.startswith("candidate_")), key=lambda k: (len(k), k))
            head = [k for k in seen if k not in tail and not k.startswith("candidate_")]
            cols = [*head, *cands, *tail] if seen else [*_KEYS, "prompt", *tail]
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=cols)
                w.writeheader()
                for r in rows:
                    w.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                                for k, v in r.items()})
        else:
            tasks = []
            for r in rows:
                data = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
                        for k, v in r.items() if k not in names and k != "skip_reason"}
                if "prompt" not in data:
                    data["prompt"] = data.get("messages", "")
                data["dialogue"] = _ls_dialogue(r)
                tasks.append({"data": data})
            tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            res.config = out.with_name(out.name + ".label_config.xml")
            n_cand = max((sum(1 for k in r if k.startswith("candidate_")) for r in rows), default=2)
            res.config.write_text(_ls_config(fields, n_cand if p.task == "preference" else 0),
                                  encoding="utf-8")
    return res


# -- import -------------------------------------------------------------------------------------


@dataclass
class _Row:
    where: str
    line: int | None
    data: dict[str, Any]
    values: dict[str, Any] | None = None  # label values (Label Studio); None: read from data
    skipped: bool = False
    raw: Any = None  # the row exactly as read (CSV: every cell as text, "" when empty); None: data


def _detect(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        return "label-studio"
    raise InputError(f"{path}: cannot tell the batch format", [Problem(
        str(path), f"unknown extension {path.suffix!r}", "pass --format csv|jsonl|label-studio")])


def _csv_text(path: Path) -> str:
    """The file's text: UTF-8 with or without a BOM (Excel's "CSV UTF-8"). Any other encoding (Excel's
    plain "CSV" on Windows writes cp1252) is refused with the line of the first bad byte, instead of
    guessing an encoding and corrupting written responses."""
    from redline.data.limits import decode_utf8

    return decode_utf8(path.read_bytes(), path, "batch CSV",
                       'save it as "CSV UTF-8 (Comma delimited)" (Excel) or re-encode it as UTF-8, then import again')


def _dialect(header: str) -> str:
    """The delimiter: ``,``, or ``;`` / tab when the header only splits into the batch's columns
    that way (Excel in many European locales saves CSV with semicolons)."""
    for d in (",", ";", "\t"):
        if "task_id" in (c.strip().strip('"') for c in header.split(d)):
            return d
    return ","


def _check_header(path: Path, names: list[str]) -> None:
    """The first line must be the exported batch's header: with ``task_id`` and ``annotator``
    (else the file has no header row, and reading on would take its first row for one and lose
    it), and no column name twice (else one of the two columns would be dropped)."""
    clean = [n.strip() for n in names]
    missing = [k for k in ("task_id", "annotator") if k not in clean]
    if missing:
        shown = ", ".join(repr(n) for n in clean[:6]) + (", …" if len(clean) > 6 else "")
        raise InputError(f"{path}: no header row", [Problem(
            f"{path}:1", f"the first line is not the batch's header (no {' or '.join(missing)} column; "
                         f"it reads {shown}); nothing was imported",
            "keep the header row of the exported batch (task_id, vendor, annotator, …) as the first line")])
    seen: dict[str, int] = {}
    dups = []
    for i, n in enumerate(clean, 1):
        if n and n in seen:
            dups.append(f"{n!r} (columns {seen[n]} and {i})")
        seen.setdefault(n, i)
    if dups:
        raise InputError(f"{path}: a column name appears twice", [Problem(
            f"{path}:1", f"duplicate column {d}: one of them would be lost; nothing was imported",
            "give every column its own name (keep the exported batch's header)") for d in dups])


def _iter_csv(path: Path) -> Iterator[_Row | Rejected]:
    import io

    text = _csv_text(path)
    with io.StringIO(text, newline="") as f:
        reader = csv.DictReader(f, delimiter=_dialect(text.split("\n", 1)[0]))
        if reader.fieldnames is None:  # reads the header: line numbers below are the file's
            return
        _check_header(path, list(reader.fieldnames))
        for start, row in iter_csv_rows(reader):
            if isinstance(row, csv.Error):
                yield Rejected.at(path, start, f"malformed CSV ({row})", None)
                continue
            if None in row:  # more cells than header columns
                yield Rejected.at(path, start, "more cells than the header has columns", row)
                continue
            yield _Row(f"{path}:{start}", start, {k.strip(): (None if v is None or v.strip() == "" else v)
                                                  for k, v in row.items() if k is not None},
                       raw={k: ("" if v is None else v) for k, v in row.items() if k is not None})


def _iter_jsonl(path: Path) -> Iterator[_Row | Rejected]:
    from redline.data.formats.base import iter_jsonl_rows

    for n, row in iter_jsonl_rows(path):
        yield row if isinstance(row, Rejected) else _Row(f"{path}:{n}", n, row)


def _iter_label_studio(path: Path) -> Iterator[_Row | Rejected]:
    """Label Studio's JSON export, read with the ``label_studio`` format: a row per annotation that
    is not cancelled (the first one of a task is the label; another one is imported only when it
    agrees, else it is a rejected row, see :func:`import_batch`); a task every annotator cancelled
    is a skip; a cancelled annotation beside a submitted one is a rejected row that says so."""
    from redline.data.formats import get_format

    for item in get_format("label_studio").read(path, FieldMap()):
        if isinstance(item, Rejected):
            yield item
            continue
        where, line = record_where(item) or (str(path), None)
        data = {k: item.meta.get(k) for k in _KEYS}
        anns = item.meta.get("annotations")
        if not isinstance(anns, list) or not anns:
            anns = [{"labels": dict(item.labels)}] if item.labels or not item.meta.get("skipped") else []
        if not anns:
            yield _Row(where, line, data, values={}, skipped=True)
            continue
        for k, a in enumerate(anns, 1):
            w = where if len(anns) == 1 else f"{where} (annotation {k} of {len(anns)})"
            values = dict(a.get("labels") or {}) if isinstance(a, dict) else {}
            yield _Row(w, line, data, values=values, raw={"data": data, "annotation": a})
        for k in range(int(item.meta.get("cancelled_annotations") or 0)):
            yield Rejected(f"{where} (cancelled annotation {k + 1})", line,
                           "cancelled annotation beside a submitted one: the submitted one was imported", data)


def _duration(v: Any) -> tuple[float | None, str | None]:
    """``duration_s`` as seconds, or the reason it is not (empty = not given)."""
    import math

    if v is None or (isinstance(v, str) and not v.strip()):
        return None, None
    if isinstance(v, bool):
        return None, f"{v!r} is not a number of seconds"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None, f"{v!r} is not a number of seconds"
    if not math.isfinite(x) or x < 0:
        return None, f"{v!r} is not a number of seconds ≥ 0"
    return x, None


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    norm = {k: v for k, v in a.items() if v is not None}
    return norm == {k: v for k, v in b.items() if v is not None}


def import_batch(svc: Annotations, project: str, path: Path, *, fmt: str | None = None,
                 quarantine: Path | None = None) -> BatchImport:
    """Import a returned batch (see the module docstring). Never raises for a bad row: the row is
    quarantined with its file:line and reason, and counted."""
    from redline.annotate.schema import validate_values

    if not path.is_file():
        raise InputError(f"{path}: no such file", [Problem(str(path), "the file does not exist", "check the path")])
    fmt = fmt or _detect(path)
    if fmt not in BATCH_FORMATS:
        raise InputError(f"unknown batch format {fmt!r}", [Problem(
            "--format", f"{fmt!r} is not a batch format", f"use one of {', '.join(BATCH_FORMATS)}")])
    p = svc.get_project(project)
    fields = _fields(svc, project)
    names = [f.name for f in fields]
    # every assignment of the project, by its opaque key
    by_key = {task_id(project, a.item_id, a.username): a for a in svc.assignments(project)}
    users: dict[str, Any] = {}
    rejected_path = quarantine or quarantine_path(path)
    res = BatchImport(path=path, quarantine=rejected_path)
    q = Quarantine(rejected_path)
    source = f"import:{path.name}"
    rows = {"csv": _iter_csv, "jsonl": _iter_jsonl, "label-studio": _iter_label_studio}[fmt](path)

    specs = {f.name: f for f in fields}

    def reject(where: str, line: int | None, reason: str, raw: Any, kind: str | None = None) -> None:
        """Quarantine a row; ``kind`` (default: the reason up to its first colon, whole words
        only) is the line the summary counts it under."""
        q.add(Rejected(where, line, reason, raw))
        res.rejected += 1
        kind = kind or reason.split(": ", 1)[0]
        res.reasons[kind] = res.reasons.get(kind, 0) + 1

    def problem_text(pr: Problem) -> str:
        fix = pr.fix
        spec = specs.get(pr.where)
        if spec is not None and spec.type == "boolean" and fix and fix.startswith("choose one of"):
            fix = "write true or false"  # the schema lists Python's True, False for a missing boolean
        return f"{pr.where}: {pr.message}" + (f" (fix: {fix})" if fix else "")

    try:
        for row in rows:
            res.rows += 1
            if isinstance(row, Rejected):
                reject(row.where, row.line, row.reason, row.raw)
                continue
            d = row.data
            raw_row = row.raw if row.raw is not None else d
            key, vendor, who = (None if d.get(k) is None else str(d.get(k)) for k in _KEYS)
            if not key or not who:
                reject(row.where, row.line, "missing task_id or annotator: keep the columns of the exported "
                       "batch unchanged", raw_row)
                continue
            a = by_key.get(key)
            if who not in users:
                users[who] = svc.get_user(who)
            user = users[who]
            if user is None:
                reject(row.where, row.line, f"unknown annotator {who!r}: add the user or fix the name", raw_row,
                       "unknown annotator")
                continue
            if vendor is not None and user.vendor != vendor:
                reject(row.where, row.line, f"annotator {who!r} does not belong to vendor {vendor!r} "
                       f"(theirs: {user.vendor or 'in-house'})", raw_row, "annotator of another vendor")
                continue
            if a is None or a.username != who:
                reject(row.where, row.line, f"task_id {key!r} is not assigned to {who!r} in project {project!r}: "
                       "import only rows of batches exported from this project", raw_row,
                       "task_id not assigned to this annotator")
                continue
            raw_values = row.values if row.values is not None else {k: d.get(k) for k in names if k in d}
            skip_reason = d.get("skip_reason")
            if row.skipped or (skip_reason and not any(v not in (None, "") for v in raw_values.values())):
                if a.status == "skipped":
                    res.already += 1
                elif a.status == "submitted":
                    reject(row.where, row.line, "skipped, but the item was already labelled by this annotator", raw_row,
                           "skipped after labelling")
                else:
                    try:
                        svc.skip(project, who, a.item_id, str(skip_reason or "skipped on the vendor platform"))
                    except RedlineError as e:
                        reject(row.where, row.line, f"cannot skip: {e}", raw_row)
                        continue
                    res.skipped += 1
                    by_key[key] = a.model_copy(update={"status": "skipped"})
                continue
            if p.task == "preference":
                raw_values, why = _unpresent(raw_values, a)
                if why is not None:
                    reject(row.where, row.line, f"invalid label: {why}", raw_row)
                    continue
            try:
                values = validate_values(p.task, p.schema, raw_values, a.item.record)
            except InputError as e:
                bad = sorted({pr.where for pr in e.problems})
                reject(row.where, row.line, "invalid label: " + "; ".join(problem_text(pr) for pr in e.problems)
                       if e.problems else f"invalid label: {e.summary}", raw_row,
                       f"invalid label ({', '.join(bad)})" if bad else "invalid label")
                continue
            if a.status == "submitted":
                old = svc.labels(project, item_id=a.item_id, username=who)
                if old and _same(old[0].values, values):
                    res.already += 1
                else:
                    reject(row.where, row.line, f"already labelled by {who!r} with different values "
                           f"({json.dumps(old[0].values if old else None, ensure_ascii=False)}): a label is "
                           "never replaced by an import", raw_row, "already labelled with different values")
                continue
            if a.status == "skipped":
                reject(row.where, row.line, f"{who!r} skipped this item ({a.skip_reason}); it cannot be labelled now",
                       raw_row, "labelled after a skip")
                continue
            duration, why = _duration(d.get("duration_s"))
            if why is not None:
                reject(row.where, row.line, f"invalid duration_s: {why} (fix: seconds spent on the item, "
                       "e.g. 42.5, or leave the cell empty)", raw_row, "invalid duration_s")
                continue
            try:
                svc.submit(project, who, a.item_id, values, source=source, duration_s=duration)
            except RedlineError as e:
                reject(row.where, row.line, f"rejected by the project: {e}", raw_row, "rejected by the project")
                continue
            res.imported += 1
            res.per_annotator[who] = res.per_annotator.get(who, 0) + 1
            by_key[key] = a.model_copy(update={"status": "submitted"})  # a later row of this task sees it
    finally:
        q.close()
    return res

