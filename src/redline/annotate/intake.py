"""Records and gold answers → validated rows of the items table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from redline.annotate.base import dumps
from redline.annotate.schema import candidates, validate_values
from redline.data.records import Record
from redline.errors import InputError, Problem


def item_rows(project: str, task: str, schema: dict[str, Any], records: Iterable[Record],
              gold: Iterable[tuple[Record, dict[str, Any]]], *, start: int, existing: set[str],
              now: datetime) -> list[dict[str, Any]]:
    """Validate records (and gold answers) of a project and make them rows of ``ann_items``.

    Args:
        project: The project's name.
        task: The project's task type (what each record must hold to be labelled).
        schema: The project's label schema (gold answers are validated against it).
        records: The data items.
        gold: ``(record, answer)`` pairs: gold items and their answers.
        start: The ``seq`` of the first row.
        existing: Item ids the project already has (a repeat is a duplicate).
        now: The creation time stamped on the rows.

    Returns:
        The rows, data first then gold, numbered from ``start``.

    Raises:
        InputError: Naming every bad record, answer and duplicate id.
    """
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    dups: list[str] = []

    def add(rec: Record, answer: dict[str, Any] | None, kind: str, n: int) -> None:
        where, item = f"{kind}[{n}]", (kind, n)
        if not isinstance(rec, Record):
            problems.append(Problem(where, f"{type(rec).__name__} is not a Record", "give Record objects",
                                    item=item))
            return
        if rec.id in seen or rec.id in existing:
            dups.append(rec.id)
            return
        seen[rec.id] = 1
        if task in ("response-label", "rubric-score") and rec.response is None:
            problems.append(Problem(f"{where} ({rec.id})", "no response to label",
                                    "give records that end with an assistant turn (or 'response')", item=item))
        if task == "preference" and len(candidates(rec)) < 2:
            problems.append(Problem(f"{where} ({rec.id})", "fewer than 2 candidate responses",
                                    "give meta.responses (2+) or chosen/rejected", item=item))
        clean = None
        if answer is not None:
            try:
                clean = validate_values(task, schema, answer, rec)
            except InputError as e:
                problems.extend(Problem(f"{where} ({rec.id}) {p.where}", p.message, p.fix, item=item)
                                for p in e.problems)
        rows.append({"project": project, "item_id": rec.id, "seq": start + len(rows),
                     "record_json": rec.model_dump_json(), "category": rec.category,
                     "is_gold": answer is not None, "gold_json": dumps(clean) if clean is not None else None,
                     "origin": "gold" if answer is not None else "data", "vendor": None, "created": now})

    for n, rec in enumerate(records):
        add(rec, None, "records", n)
    for n, pair in enumerate(gold):
        try:
            rec, answer = pair
        except (TypeError, ValueError):
            problems.append(Problem(f"gold[{n}]", "not a (record, answer) pair", "give (Record, dict) pairs",
                                    item=("gold", n)))
            continue
        if not isinstance(answer, dict):
            problems.append(Problem(f"gold[{n}]", "the answer is not a mapping", "give field → value",
                                    item=("gold", n)))
            continue
        add(rec, answer, "gold", n)
    if dups:
        shown = ", ".join(repr(d) for d in list(dict.fromkeys(dups))[:20])
        problems.insert(0, Problem("items", f"duplicate item id(s): {shown}",
                                   "give every record a unique id"))
    if problems:
        raise InputError(f"cannot add the items of project {project!r}", problems)
    return rows
