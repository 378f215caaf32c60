"""Reading any format into records, converting between formats, and the quarantine file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.data.formats import FieldMap, Item, Rejected, detect_format, get_format
from redline.data.formats.base import record_where
from redline.data.records import Record, record_json
from redline.errors import InputError, Problem
from redline.files import jsonl_line, temp_path

#: output formats whose writers embed image parts as ``data:`` URLs (``--strip-exif`` writes inline)
EMBEDS_IMAGES = frozenset({"openai"})


def quarantine_path(out: Path) -> Path:
    """``OUT.rejected.jsonl`` next to the output."""
    return out.with_name(out.name + ".rejected.jsonl")


class Quarantine:
    """Appends rejected rows (where, line, reason, raw row) to a JSONL file, opened on first use."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._f: Any = None
        if path.exists():
            path.unlink()

    def add(self, rej: Rejected) -> None:
        """Append one rejected row as a JSON line (the file is created on the first call)."""
        if self._f is None:
            self._f = open(self.path, "w", encoding="utf-8")
        self._f.write(jsonl_line(rej.to_json(), default=str))  # a lone surrogate: written as a \\u escape
        self.count += 1

    def close(self) -> None:
        """Close the file, if one was opened."""
        if self._f is not None:
            self._f.close()


@dataclass
class RowCounts:
    """Where every row a command read went: ``read = written + rejected + skipped``.

    The one summary of the rule every row-reading command follows (docs/data.md, "Counts"):
    each row read is written (or checked, judged … — ``verb`` says which), rejected (to a
    quarantine file, with its reason) or skipped with a counted reason; nothing else.
    :meth:`line` renders it the same way everywhere; :meth:`to_json` is the ``counts`` object
    of the commands' ``--json`` output.

    Attributes:
        read: Rows read from the input (blank lines and blank rows are not rows).
        written: Rows that went through (written, checked, profiled, judged …).
        rejected: Rows refused, each with its reason (in a quarantine file or the report).
        skipped: Rows deliberately left out, counted by reason.
        verb: What ``written`` means for this command, as the line shows it.
        unit: What a row is called at the head of the line (``rows``, ``samples`` …).
    """

    read: int = 0
    written: int = 0
    rejected: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    verb: str = "written"
    unit: str = "rows"

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` rows skipped for ``reason`` (nothing is counted for ``n`` = 0).

        Args:
            reason: Why, in a few words (e.g. ``"category outside the policy"``).
            n: How many rows.
        """
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    @property
    def n_skipped(self) -> int:
        """Rows skipped, all reasons together."""
        return sum(self.skipped.values())

    @property
    def balanced(self) -> bool:
        """Whether ``read == written + rejected + skipped`` (it always should)."""
        return self.read == self.written + self.rejected + self.n_skipped

    def line(self) -> str:
        """``rows: 12 read = 9 written + 2 rejected + 1 skipped (1 category outside the policy)``."""
        text = (f"{self.unit}: {self.read} read = {self.written} {self.verb} + {self.rejected} rejected + "
                f"{self.n_skipped} skipped")
        if self.skipped:
            text += " (" + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items(),
                                                                     key=lambda kv: (-kv[1], kv[0]))) + ")"
        return text

    @classmethod
    def from_json(cls, d: dict[str, Any], unit: str = "rows") -> RowCounts:
        """The counts back from :meth:`to_json` (a report's ``row_counts``).

        Args:
            d: The ``row_counts`` object.
            unit: What a row is called at the head of the line.
        """
        return cls(read=d["read"], written=d["written"], rejected=d["rejected"],
                   skipped=dict(d.get("skipped_by_reason") or {}), verb=d.get("verb", "written"), unit=unit)

    def to_json(self) -> dict[str, Any]:
        """``{"read", "written", "rejected", "skipped", "skipped_by_reason", "verb"}``."""
        return {"read": self.read, "written": self.written, "rejected": self.rejected,
                "skipped": self.n_skipped, "skipped_by_reason": dict(self.skipped), "verb": self.verb}


def open_input(path: str | Path, fmt: str | None = None, fmap: FieldMap | None = None,
               quarantine: Quarantine | None = None) -> Iterator[Item]:
    """Records (and :class:`Rejected` rows) of a file in any registered format, streaming.

    Duplicate ids are not an error here (checks report them); a missing file is. With
    ``quarantine``, every :class:`Rejected` row is also written there as it passes.
    """
    p = Path(path)
    if not p.exists():
        from redline.data.suites import builtin_suites

        raise InputError(f"{p}: no such file", [Problem(
            str(p), "the file does not exist",
            f"check the path, or name a built-in suite ({', '.join(builtin_suites())})")])
    f = get_format(fmt or detect_format(p))
    items = f.read(p, fmap or FieldMap())
    return items if quarantine is None else _quarantined(items, quarantine)


def _quarantined(items: Iterator[Item], q: Quarantine) -> Iterator[Item]:
    """``items`` unchanged, each :class:`Rejected` row also written to ``q``."""
    for item in items:
        if isinstance(item, Rejected):
            q.add(item)
        yield item


def read_records(path: str | Path, fmt: str | None = None, fmap: FieldMap | None = None) -> list[Record]:
    """All records of a file; raises :class:`InputError` listing every row that cannot be read."""
    out: list[Record] = []
    problems: list[Problem] = []
    for item in open_input(path, fmt, fmap):
        if isinstance(item, Rejected):
            problems.append(Problem(item.where, item.reason))
        else:
            out.append(item)
    if problems:
        raise InputError(f"{path}: {len(problems)} row(s) cannot be read", problems)
    return out


@dataclass
class ConvertResult:
    """What :func:`convert` did: row counts, the output and quarantine paths, and a content hash.

    Attributes:
        read: Rows parsed into records (written plus unwritable).
        written: Records written to the output.
        rejected: Rows in the quarantine file (unreadable plus unwritable).
        unreadable: Rows that could not be read or mapped to a record.
        unwritable: Records the output format cannot express.
        out: The output path; ``None`` when nothing was written (no output file is left).
        quarantine: The ``OUT.rejected.jsonl`` path (reported only when rows were rejected).
        content_hash: ``sha256:`` of the written records' canonical JSON, one per line.
        reasons: Rejected-row counts by reason, the row-specific detail stripped.
        notes: What the output format wrote differently than asked, with why (e.g. ``hf``: a
            field stored as JSON text because Arrow cannot type it), and the fields it has no
            place for; nothing is lost unsaid.
        dropped: Written records by field the output format has no place for (``labels.X`` and
            ``meta.X`` name one key), e.g. ``{"category": 12}`` for ``openai``.
        exif: With ``strip_exif``: the images looked at, stripped (with GPS / device ids) and the
            folder of the stripped copies (:class:`redline.data.image_health.StripResult`).
    """

    read: int = 0  # rows parsed into records (written + unwritable)
    written: int = 0
    rejected: int = 0  # unreadable + unwritable, all in the quarantine file
    unreadable: int = 0  # rows that could not be read or mapped
    unwritable: int = 0  # records the output format cannot express
    out: Path | None = None  # None when nothing was written (no output file is left)
    quarantine: Path | None = None
    content_hash: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    exif: dict[str, Any] | None = None
    _labels: Any = None  # a temporary file of label rows (JSON lines), when collected

    @property
    def rows(self) -> int:
        """Input rows seen: every one is either written or quarantined."""
        return self.read + self.unreadable

    def counts(self) -> RowCounts:
        """The rows as :class:`RowCounts`: every row read is written or rejected (convert skips none)."""
        return RowCounts(read=self.rows, written=self.written, rejected=self.rejected)

    def iter_labels(self) -> Iterator[tuple[str, str, Any, str | None, str | None]]:
        """The written records' label rows (see :func:`label_rows`), streamed from a spool file."""
        if self._labels is None:
            return
        self._labels.seek(0)
        for line in self._labels:
            rid, name, value, annotator, policy_hash = json.loads(line)
            yield rid, name, value, annotator, policy_hash
        self._labels.close()
        self._labels = None

    def to_json(self) -> dict[str, Any]:
        """The result as the ``convert`` report writes it (paths as strings; ``quarantine`` only
        when rows were rejected)."""
        return {"rows": self.rows, "read": self.read, "written": self.written, "rejected": self.rejected,
                "out": None if self.out is None else str(self.out),
                "unreadable": self.unreadable, "unwritable": self.unwritable,
                "quarantine": str(self.quarantine) if self.rejected else None,
                "content_hash": self.content_hash, "rejected_by_reason": self.reasons, "notes": self.notes,
                "dropped_fields": self.dropped, "exif": self.exif,
                "row_counts": self.counts().to_json()}


def _policy_hash_of(meta: dict[str, Any]) -> str | None:
    """The policy a record's labels were made under: ``meta.policy_hash`` or ``meta.policy.hash``."""
    h = meta.get("policy_hash")
    if h is None and isinstance(meta.get("policy"), dict):
        h = meta["policy"].get("hash")
    return None if h is None else str(h)


def label_rows(r: Record) -> list[tuple[str, str, Any, str | None, str | None]]:
    """``(record_id, label name, value, annotator, policy_hash)`` for the workspace ``labels``
    table: one row per annotator when ``meta['annotations']`` lists several (Label Studio), else
    the record's labels. ``policy_hash`` is the policy the labels were made under, when the
    record says (``meta.policy_hash`` / ``meta.policy.hash``, or per annotation)."""
    ph = _policy_hash_of(r.meta)
    anns = r.meta.get("annotations") if isinstance(r.meta.get("annotations"), list) else None
    if anns:
        return [(r.id, str(k), v, None if a.get("annotator") is None else str(a["annotator"]),
                 _policy_hash_of(a) or ph)
                for a in anns if isinstance(a, dict) for k, v in (a.get("labels") or {}).items()]
    return [(r.id, k, v, None, ph) for k, v in r.labels.items()]


def _dropped_fields(rec: Record, keeps: tuple[str, ...]) -> list[str]:
    """The fields of ``rec`` (with a value) that a format keeping only ``keeps`` does not write.

    ``labels.X`` / ``meta.X`` in ``keeps`` keep that one key: the other keys are then named
    (``labels.harmful``); otherwise ``labels`` / ``meta`` is named whole.
    """
    out: list[str] = []
    for f, v in record_json(rec).items():
        if f in keeps:
            continue
        if isinstance(v, dict) and any(k.startswith(f + ".") for k in keeps):
            out += [f"{f}.{k}" for k in v if f"{f}.{k}" not in keeps]
        else:
            out.append(f)
    return out


def _reason_kind(reason: str) -> str:
    """The reason without its row-specific detail, for the summary's counts.

    Cuts at the first ``: `` or `` (`` outside quotes — ``no assistant turn (response) …`` →
    ``no assistant turn``, ``field '(root)': not an object`` → ``field '(root)'`` — never inside
    a quoted name, so a summary line always names the whole field.
    """
    text = reason.splitlines()[0] if reason else ""
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote is not None:
            quote = None if ch == quote else quote
        elif ch in "'\"" and (i == 0 or text[i - 1] in " ([{=,"):  # an apostrophe opens nothing
            quote = ch
        elif text.startswith((": ", " ("), i) or (ch == ":" and i == len(text) - 1):
            text = text[:i]
            break
    return text.strip()[:200]


class ConvertSink:
    """The per-row part of :func:`convert`: each item written (or quarantined) and counted.

    The local conversion feeds it the whole stream; the Ray conversion
    (:mod:`redline.data.ray_data`) one per batch on the cluster, writing to a part of the output,
    and adds the parts up in order with :meth:`add_part`.
    """

    def __init__(self, to: str, src: Path, writer: Any, res: ConvertResult,
                 quarantine: Callable[[Rejected], None], digest: Callable[[bytes], None],
                 keeps: tuple[str, ...] | None = None, stripper: Any = None):
        """Write to ``writer`` and count into ``res``.

        Args:
            to: The output format's name (for the reasons).
            src: The input (where a record without a source row is said to be).
            writer: The output format's record writer.
            res: The counts, reasons, dropped fields and the label spool (``res._labels``).
            quarantine: Takes each rejected row.
            digest: Takes each written record's canonical JSON line (the content hash).
            keeps: The fields the output format keeps (None: all).
            stripper: An :class:`~redline.data.image_health.ExifStripper` (``--strip-exif``).
        """
        self.to, self.src, self.writer, self.res = to, src, writer, res
        self.quarantine, self.digest, self.keeps, self.stripper = quarantine, digest, keeps, stripper

    def add(self, item: Item) -> None:
        """Write one record (or quarantine a rejected row, or a record the format cannot express)."""
        res, to = self.res, self.to
        if isinstance(item, Rejected):
            self.quarantine(item)
            res.unreadable += 1
            kind = _reason_kind(item.reason)
            res.reasons[kind] = res.reasons.get(kind, 0) + 1
            return
        res.read += 1
        rec: Record = item
        if self.stripper is not None and rec.has_images:
            rec = self.stripper.strip(rec)
        try:
            self.writer.write(rec)
        except ValueError as e:
            reason = f"cannot be written as {to}: {e}"
            where, line = record_where(rec) or (f"{self.src}", None)
            self.quarantine(Rejected(f"{where} (id {rec.id})", line, reason, rec.model_dump(mode="json")))
            res.unwritable += 1
            kind = f"cannot be written as {to}: {_reason_kind(str(e))}"
            res.reasons[kind] = res.reasons.get(kind, 0) + 1
            return
        res.written += 1
        if self.keeps is not None:
            for f in _dropped_fields(rec, self.keeps):
                res.dropped[f] = res.dropped.get(f, 0) + 1
        if res._labels is not None and (rec.labels or rec.meta.get("annotations")):
            for row in label_rows(rec):
                res._labels.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.digest(rec.canonical_json().encode() + b"\n")

    def add_part(self, part: ConvertPart) -> None:
        """Add a part converted elsewhere (its lines appended to the output, in order)."""
        res = self.res
        self.writer.write_lines(part.text)
        for rej in part.rejected:
            self.quarantine(rej)
        self.digest(part.canonical.encode())
        if res._labels is not None:
            res._labels.write(part.labels)
        res.read += part.read
        res.written += part.written
        res.unreadable += part.unreadable
        res.unwritable += part.unwritable
        for d, more in ((res.reasons, part.reasons), (res.dropped, part.dropped)):
            for k, v in more.items():
                d[k] = d.get(k, 0) + v


@dataclass
class ConvertPart:
    """A batch converted on a Ray worker: its output lines, rejected rows and counts, in order."""

    text: str = ""
    canonical: str = ""
    labels: str = ""
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    written: int = 0
    unreadable: int = 0
    unwritable: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Input rows of the part."""
        return self.read + self.unreadable


def convert(src: str | Path, out: str | Path, to: str | None = None, frm: str | None = None,
            fmap: FieldMap | None = None, on_progress: Callable[[int], None] | None = None,
            collect_labels: bool = False, strip_exif: bool = False, *,
            parts: Iterable[ConvertPart] | None = None, items: Iterable[Item] | None = None) -> ConvertResult:
    """Convert ``src`` to ``out`` in format ``to``; rows that cannot be read or written go to
    ``OUT.rejected.jsonl``. Writes to a temporary path and renames it on success, so an
    interrupted conversion leaves no half-written output. With ``collect_labels`` the written
    records' labels are spooled to a temporary file (memory stays flat) for ``iter_labels()``.
    Image parts' local files are embedded only from inside ``src``'s folder (and the folders an
    enclosing :func:`redline.data.images.image_access` allows); others are rejected rows.
    With ``strip_exif`` every image that carries EXIF metadata is written again without it to
    ``OUT.images/`` and the written records point at the copy (the originals are untouched; see
    :class:`redline.data.image_health.ExifStripper`).

    ``items`` (the input's records and rejected rows, read elsewhere) or ``parts`` (batches
    already converted to ``to``'s lines, :class:`ConvertPart`) take the place of reading ``src``:
    the Ray conversion (:mod:`redline.data.ray_data`) passes them in file order."""
    from redline.data.images import image_access

    with image_access(src):
        return _convert(Path(src), Path(out), to, frm, fmap, on_progress, collect_labels, strip_exif,
                        parts, items)


def _convert(src: Path, out: Path, to: str | None, frm: str | None, fmap: FieldMap | None,
             on_progress: Callable[[int], None] | None, collect_labels: bool,
             strip_exif: bool = False, parts: Iterable[ConvertPart] | None = None,
             items: Iterable[Item] | None = None) -> ConvertResult:
    to = to or detect_format(out)
    writer_fmt = get_format(to)
    if items is None:
        items = open_input(src, frm, fmap) if parts is None else iter(())
    if out.resolve() == src.resolve():
        raise InputError("output would overwrite the input", [Problem(str(out), "same path as the input",
                                                                      "write to another file")])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(out)
    res = ConvertResult(out=out, quarantine=quarantine_path(out))
    if collect_labels:
        res._labels = tempfile.TemporaryFile("w+", encoding="utf-8")
    q = Quarantine(quarantine_path(out))
    h = hashlib.sha256()
    writer = None
    ok = False
    keeps = getattr(writer_fmt, "keeps", None)
    stripper = None
    if strip_exif:
        from redline.data.image_health import ExifStripper

        # a format that embeds images (data URLs) gets the stripped copies inline: a path relative
        # to the output's folder would not resolve while writing (relative paths are the input's)
        stripper = ExifStripper(out, inline=to in EMBEDS_IMAGES)
    try:
        writer = writer_fmt.open_writer(tmp)
        sink = ConvertSink(to, src, writer, res, q.add, h.update, keeps, stripper)
        if parts is None:
            for item in items:
                sink.add(item)
                if on_progress is not None:
                    on_progress(1)
        else:
            for part in parts:
                sink.add_part(part)
                if on_progress is not None:
                    on_progress(part.rows)
        writer.close()
        res.notes = [str(n) for n in getattr(writer, "notes", None) or []]
        if res.dropped:
            res.notes.append(f"{to} rows have no place for these fields, so they were not written: " + ", ".join(
                f"{f} ({n} record{'s' if n != 1 else ''})" for f, n in sorted(res.dropped.items()))
                + (" — a row's id is its position when read back" if "id" in res.dropped else "")
                + "; keep them with a format that holds every field (jsonl, csv, parquet, hf)")
        ok = True
    finally:
        q.close()
        if not ok:
            try:
                if writer is not None:
                    writer.close()
            except Exception:  # noqa: BLE001 - best effort on the error path
                pass
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
    res.rejected = q.count
    if stripper is not None:
        res.exif = stripper.result.to_json()
    res.content_hash = "sha256:" + h.hexdigest()
    if res.written == 0 and stripper is not None and stripper.created:
        shutil.rmtree(stripper.folder, ignore_errors=True)  # no output: no copies beside it
    if res.written == 0:
        # nothing to write: no empty output (an existing OUT is left as it was)
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        res.out = None
        if res._labels is not None:
            res._labels.close()
            res._labels = None
        return res
    if out.is_dir() and not tmp.is_dir():
        shutil.rmtree(out)
    if tmp.is_dir() and out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    os.replace(tmp, out)
    finish = getattr(writer, "finish", None)  # files a format writes beside its output (label_studio)
    if finish is not None:
        res.notes += [str(n) for n in finish(out) or []]
    return res
