"""A project's files: the items of a new project read from data files (rows that cannot be used go
to a quarantine file, named by file line), and a project's decided labels written as a calibration
labels file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from redline.errors import InputError, Problem, RedlineError

if TYPE_CHECKING:
    from redline.annotate.rows import Project, ProjectSettings
    from redline.annotate.service import Annotations
    from redline.data.formats import Rejected
    from redline.data.records import Record
    from redline.policy.model import Policy
    from redline.policy.rubric import Rubric


def _row_of(pr: Problem) -> tuple[str, int, str] | None:
    """``(kind, index, rest of where)`` of a problem with one row of ``records``/``gold``."""
    if pr.item is None:
        return None
    kind, idx = pr.item
    head = f"{kind}[{idx}]"
    return kind, idx, pr.where[len(head):] if pr.where.startswith(head) else ""


@dataclass
class ItemFiles:
    """The items of a new project and the rows refused so far, from a data file and a gold file.

    Attributes:
        data: The data file.
        gold: The gold file, if any.
        records: Usable items of ``data`` (each id once).
        gold_records: Usable gold items (ids unique across both files).
        rejected: Refused rows of ``data`` (unreadable, duplicate id, unfit for the task).
        gold_rejected: Refused rows of ``gold``.
    """

    data: Path
    gold: Path | None
    records: list[Record] = field(default_factory=list)
    gold_records: list[Record] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    gold_rejected: list[Rejected] = field(default_factory=list)

    @classmethod
    def read(cls, data: Path, gold: Path | None = None) -> ItemFiles:
        """Read both files (any supported format); rows with an id already used are refused.

        Args:
            data: The items to label.
            gold: Gold items (records whose ``labels`` hold the answer), if any.

        Returns:
            The usable items and the refused rows of each file.

        Raises:
            RedlineError: A file cannot be read at all.
        """
        files = cls(data, gold)
        files.records, files.rejected = read_items(data)
        if gold is not None:
            files.gold_records, files.gold_rejected = read_items(gold)
        dup, gdup = dedupe_items(files.records, files.gold_records, data, gold)
        files.rejected += dup
        files.gold_rejected += gdup
        return files


@dataclass
class CreatedProject:
    """What :func:`create_project_from_files` made.

    Attributes:
        project: The new project.
        rejected: Rows of the data file that went to ``quarantine``.
        gold_rejected: Rows of the gold file that went to ``gold_quarantine``.
        quarantine: The data file's quarantine file (written, possibly empty).
        gold_quarantine: The gold file's quarantine file (None without a gold file).
    """

    project: Project
    rejected: int
    gold_rejected: int
    quarantine: Path
    gold_quarantine: Path | None


def create_project_from_files(svc: Annotations, name: str, files: ItemFiles, quarantine: Path, *,
                              policy: Policy | Rubric, policy_ref: str, task: str, overlap: int,
                              gold_rate: dict[str, float], settings: ProjectSettings) -> CreatedProject:
    """Create a project from the items of ``files``; rows the task cannot use are refused like
    unreadable ones, and every refused row is written to a quarantine file (rewritten from scratch).

    ``files.records`` and ``files.gold_records`` are left holding the items that went in.

    Args:
        svc: The annotation service.
        name: The project's name.
        files: The items read by :meth:`ItemFiles.read`.
        quarantine: Where the data file's refused rows go.
        policy: The policy the label schema is compiled from.
        policy_ref: How the policy was named (built-in name or resolved path).
        task: prompt-label | response-label | preference | sft-write.
        overlap: Independent labels per item.
        gold_rate: Share of served items that are gold, per category (``*``: all).
        settings: Blurring, exposure budget and the review-queue judge.

    Returns:
        The project and where the refused rows went.

    Raises:
        InputError: No usable item is left (no project is created), or a problem that is not about
            one row; problems name the file and line of the row.
    """
    from redline.data.formats import Rejected
    from redline.data.io import quarantine_path

    data, gold = files.data, files.gold
    recs, grecs, bad, gbad = files.records, files.gold_records, files.rejected, files.gold_rejected
    gq = quarantine_path(gold) if gold is not None else None
    for attempt in (1, 2):
        gold_pairs = [(r.model_copy(update={"labels": {}}), dict(r.labels)) for r in grecs]
        if not recs:  # nothing to label: no project (the name stays free); the reasons are quarantined
            write_quarantine(quarantine, at_file_lines(bad, data))
            if gq is not None and gbad:
                write_quarantine(gq, at_file_lines(gbad, gold))
            raise InputError(f"no project created: no usable item in {data}", [Problem(
                str(data), f"{len(bad)} row(s) rejected, none left to label" if bad else "the file has no rows",
                f"fix the rows listed in {quarantine} and run create again" if bad else "give a file with items")])
        try:
            proj = svc.create_project(name, policy=policy, policy_ref=policy_ref, task=task, records=recs,
                                      overlap=overlap, gold=gold_pairs, gold_rate=gold_rate, settings=settings)
            break
        except InputError as e:
            unfit = unfit_rows(e, {"records": recs, "gold": grecs}) if attempt == 1 else None
            if unfit is None:
                raise locate_problems(e, {"records": (recs, data), "gold": (grecs, gold)}) from None
            # rows the task cannot use are quarantined like unreadable rows; the rest goes in
            for kind, rows, sink in (("records", recs, bad), ("gold", grecs, gbad)):
                for i, reason in sorted(unfit[kind].items()):
                    r = rows[i]
                    where, line = item_source(r, gold if kind == "gold" and gold is not None else data)
                    raw = r.model_dump(mode="json")
                    sink.append(Rejected.of_record(r, reason, raw) or Rejected(where, line, reason, raw))
                rows[:] = [r for i, r in enumerate(rows) if i not in unfit[kind]]
    files.rejected, files.gold_rejected = at_file_lines(bad, data), at_file_lines(gbad, gold)
    write_quarantine(quarantine, files.rejected)
    if gq is not None:
        write_quarantine(gq, files.gold_rejected)
    return CreatedProject(proj, len(files.rejected), len(files.gold_rejected), quarantine, gq)


def read_items(path: Path) -> tuple[list[Record], list[Rejected]]:
    """Read a data file of any supported format.

    Args:
        path: The file.

    Returns:
        Its records, and the rows that cannot be read.

    Raises:
        RedlineError: The file cannot be read at all.
    """
    from redline.data.formats import Rejected
    from redline.data.images import image_access
    from redline.data.io import open_input
    from redline.data.messages import embed_local_images

    recs: list[Record] = []
    bad: list[Rejected] = []
    with image_access(path):  # local images are embedded, so the annotation UI can show them
        for item in open_input(path):
            if isinstance(item, Rejected):
                bad.append(item)
            elif not item.has_images:
                recs.append(item)
            else:
                try:
                    recs.append(item.model_copy(update={
                        k: embed_local_images(v) for k in ("messages", "chosen", "rejected")
                        if (v := getattr(item, k)) is not None}))
                except ValueError as e:
                    where, line = item_source(item, path)
                    bad.append(Rejected(where, line, str(e), path=str(path), row=line, field="messages"))
    return recs, bad


def item_source(r: Record, path: Path) -> tuple[str, int | None]:
    """Where a record came from: ``FILE:line`` and the line, or ``FILE (id ID)`` without a line.

    Args:
        r: A record read from ``path``.
        path: The file it was read from.

    Returns:
        The place, and its line when known.
    """
    from redline.data.formats.base import record_where

    return record_where(r) or (f"{path} (id {r.id})", None)


def dedupe_items(recs: list[Record], grecs: list[Record], data: Path,
                 gold: Path | None) -> tuple[list[Rejected], list[Rejected]]:
    """Refuse rows whose item id was already used (the first occurrence is kept; gold ids must
    differ from data ids too).

    ``recs`` and ``grecs`` are left holding the rows kept.

    Args:
        recs: The data file's records.
        grecs: The gold file's records.
        data: The data file.
        gold: The gold file (None: gold records come from ``data``).

    Returns:
        The refused rows of each file, naming both places.
    """
    from redline.data.formats import Rejected

    first: dict[str, str] = {}
    out: tuple[list[Rejected], list[Rejected]] = ([], [])
    for rows, path, sink in ((recs, data, out[0]), (grecs, gold or data, out[1])):
        keep = []
        for r in rows:
            where, line = item_source(r, path)
            if r.id in first:
                kind = "a data item" if rows is grecs and first[r.id].startswith(f"{data}:") else "an item"
                reason = (f"duplicate item id {r.id!r}: already {kind} at {first[r.id]} "
                          "(that one is kept) (fix: give every row a unique id)")
                raw = r.model_dump(mode="json")
                sink.append(Rejected.of_record(r, reason, raw) or Rejected(where, line, reason, raw))
                continue
            first[r.id] = where
            keep.append(r)
        rows[:] = keep
    return out


def unfit_rows(e: InputError, kinds: dict[str, list[Record]]) -> dict[str, dict[int, str]] | None:
    """The rows a project refuses, by list and index, from the service's error.

    Args:
        e: The service's error, whose problems name rows as ``records[3] (id): no response to label``.
        kinds: The lists the indexes refer to (``records``, ``gold``).

    Returns:
        Index → reason per list; None when a problem is not about one row (then the whole
        creation fails).
    """
    out: dict[str, dict[int, str]] = {k: {} for k in kinds}
    for pr in e.problems:
        row = _row_of(pr)
        if row is None or row[0] not in kinds or row[1] >= len(kinds[row[0]]):
            return None
        kind, idx, rest = row[0], row[1], row[2].strip()
        reason = f"item {rest}: {pr.message}" if rest else pr.message
        if pr.fix:
            reason += f" (fix: {pr.fix})"
        out[kind][idx] = "; ".join(filter(None, [out[kind].get(idx), reason]))
    return out


def locate_problems(e: InputError, kinds: dict[str, tuple[list[Record], Path | None]]) -> InputError:
    """The service's error with its rows named by file: ``records[3] (id) field`` → ``FILE:line (id) field``.

    Args:
        e: The service's error.
        kinds: Per list name (``records``, ``gold``): its rows and the file they came from.

    Returns:
        The same error, located.
    """
    probs = []
    for pr in e.problems:
        row = _row_of(pr)
        rows, path = kinds.get(row[0], ([], None)) if row else ([], None)
        if row and path is not None and row[1] < len(rows):
            where = item_source(rows[row[1]], path)[0] + row[2]
            probs.append(Problem(where, pr.message, pr.fix))
        else:
            probs.append(pr)
    return InputError(e.summary, probs)


def csv_row_lines(path: Path) -> dict[int, int]:
    """For a CSV/TSV file: data-row number → the file line it starts on.

    The data readers count rows; a quarantine names lines.

    Args:
        path: A data file.

    Returns:
        The mapping; empty when ``path`` is not a delimited text file.
    """
    import csv

    from redline.data.formats import detect_format, get_format

    try:
        delim = getattr(get_format(detect_format(path)), "delimiter", None)
    except RedlineError:
        return {}
    if not isinstance(delim, str):
        return {}
    out: dict[int, int] = {}
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delim)
        try:
            if next(reader, None) is None:
                return {}
        except csv.Error:
            return {}
        n = 0
        while True:  # counted exactly like redline.data.formats.csv: blank rows are not rows
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return out
            except csv.Error:
                n += 1
                out[n] = start
                continue
            if any(c.strip() for c in cells):
                n += 1
                out[n] = start


def at_file_lines(bad: list[Rejected], path: Path | None) -> list[Rejected]:
    """Quarantine entries whose ``line`` is the file line their ``where`` names.

    CSV readers give data-row numbers (``Rejected.unit == "row "``): ``f.csv:row 1 (line 2)``
    / ``f.csv:row 1`` become ``f.csv:2 (row 1)``, line 2 (the reader's ``file_line``, else
    the file's row-to-line map).

    Args:
        bad: Refused rows.
        path: The file they came from.

    Returns:
        The entries, located by line where that is known.
    """
    lines: dict[int, int] | None = None
    out = []
    for b in bad:
        if b.unit != "row " or b.row is None:
            out.append(b)
            continue
        line = b.file_line
        if line is None:
            if lines is None:
                lines = csv_row_lines(path) if path is not None and path.is_file() else {}
            line = lines.get(b.row)
        out.append(b if line is None else b.on_file_line(line))
    return out


def write_quarantine(path: Path, bad: list[Rejected]) -> None:
    """Write refused rows to a quarantine file, replacing one from an earlier run (it is stale).

    Args:
        path: The quarantine file.
        bad: The rows.
    """
    from redline.data.io import Quarantine

    q = Quarantine(path)
    try:
        for b in bad:
            q.add(b)
    finally:
        q.close()


def project_labels_file(project: str, method: str, db: str | None, policy: str) -> tuple[Path, str]:
    """Write a project's decided response labels as a calibration labels file under the workspace.

    For ``redline calibrate --project``.

    Args:
        project: The annotation project.
        method: Consensus method (majority | dawid-skene; model is refused).
        db: Workspace database URL (None: the default workspace).
        policy: The policy asked for (``default``: the project's own).

    Returns:
        The labels file, and the policy to calibrate with.

    Raises:
        InputError: ``method`` is ``model``, or the project has no decided label yet.
    """
    import json

    from redline.annotate.exports import labelled_rows
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    if method == "model":  # the judge's own probabilities would vote on the labels it is measured against
        raise InputError("--method model cannot be used for calibration", [Problem(
            "--method", "model-assisted consensus mixes a judge's probabilities into the labels, which would "
            "flatter the judge being calibrated", "use --method dawid-skene (default) or majority")])
    ws = Workspace.default(db)
    svc = Annotations(Workspace.default(db).db)
    rows = labelled_rows(svc, project, method=method)
    if not rows:
        raise InputError(f"project {project!r} has no decided harmful/refusal labels yet", [Problem(
            project, "no labelled item with a response", "label some items first (redline annotate status)")])
    path = ws.home / "annotate" / f"{project}.calibration-labels.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    return path, (svc.get_project(project).policy_ref if policy == "default" else policy)
