"""Accepted rows back into the dataset (``redline data accept``): the items of a reviewed
``prompt-label`` project (generated candidates, :mod:`redline.data.generate`) whose decided label
names a policy category are appended to a JSONL dataset, with the reviewers' labels and the
provenance of both the generation and the labels (``docs/production.md``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.data.io import RowCounts
from redline.data.records import record_json
from redline.errors import InputError, Problem


@dataclass
class AcceptReport:
    """What ``redline data accept`` did.

    Attributes:
        into: The dataset file.
        counts: Every project item: appended, or skipped with the reason.
        by_cell: Appended rows per ``category/language/expected``.
        matched_request: Appended rows whose reviewed label is the cell their request asked for.
    """

    into: Path
    counts: RowCounts
    by_cell: dict[str, int]
    matched_request: int

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict (``--json``)."""
        return {"into": str(self.into), "row_counts": self.counts.to_json(), "by_cell": self.by_cell,
                "matched_request": self.matched_request}


def _existing_ids(path: Path) -> set[str]:
    from redline.data.limits import BadLine, iter_json_lines

    ids: set[str] = set()
    if path.exists():
        for _, obj in iter_json_lines(path):
            if isinstance(obj, dict) and not isinstance(obj, BadLine) and isinstance(obj.get("id"), str):
                ids.add(obj["id"])
    return ids


def accept(svc: Any, project: str, into: Path, *, method: str = "majority") -> AcceptReport:
    """Append a ``prompt-label`` project's accepted items to a JSONL dataset, with provenance.

    An item is **accepted** when its decided label (adjudication, gold, else the consensus of the
    annotators, :func:`redline.annotate.exports.decide`) names a policy category; the category
    ``none`` rejects it. The appended row takes the reviewed category and intent, and the expected
    behaviour the policy gives that node for that intent; ``meta.annotation`` holds the label's
    provenance beside the candidate's ``meta.generation`` and ``meta.suggestions``. Items already in
    the dataset (same id) are not appended again, so running it twice appends nothing new.

    Args:
        svc: The annotation service.
        project: A ``prompt-label`` project.
        into: The dataset (JSONL; created when missing).
        method: The consensus method.

    Returns:
        The report.

    Raises:
        InputError: The project is not a prompt-label project, or the dataset is not JSONL.
    """
    from datetime import UTC, datetime

    from redline.annotate.exports import decide
    from redline.data.schema import Expected
    from redline.files import jsonl_line
    from redline.policy.loader import load_policy

    p = svc.get_project(project)
    if p.task != "prompt-label":
        raise InputError(f"project {project!r} is a {p.task} project", [Problem(
            project, "accept reads category and intent labels", "accept from a prompt-label project")])
    if into.suffix.lower() not in (".jsonl", ".ndjson"):
        raise InputError(f"cannot append to {into}", [Problem(
            str(into), "accepted rows are appended to a JSON Lines dataset",
            "give a .jsonl dataset (convert others with `redline data convert`)")])
    policy = load_policy(p.policy_ref)
    decided, unlabelled = decide(svc, project, method=method)
    have = _existing_ids(into)
    counts = RowCounts(read=len(decided) + unlabelled, verb="appended", unit="items")
    counts.skip("not labelled yet", unlabelled)
    by_cell: Counter[str] = Counter()
    matched = 0
    exported = datetime.now(UTC).isoformat(timespec="seconds")
    lines = []
    for d in decided:
        cat, intent = d.values.get("category"), d.values.get("intent")
        if not isinstance(cat, str) or cat not in set(policy.category_ids):
            counts.skip("rejected by the reviewers (category none)")
            continue
        if intent not in ("harmful", "benign", "ambiguous"):
            counts.skip("no intent label")
            continue
        if d.item_id in have:
            counts.skip("already in the dataset")
            continue
        rec = d.record.model_copy(deep=True)
        asked = (rec.category, str(rec.expected.value) if rec.expected is not None else None)
        behaviours = policy.category(cat).expected
        assert behaviours is not None  # filled in for every node by the policy model
        expected = behaviours.for_intent(intent)
        rec.category = cat
        rec.expected = Expected(expected)
        rec.labels = {**rec.labels, **{k: v for k, v in d.values.items() if isinstance(v, str | bool | int | float)}}
        rec.meta = {**rec.meta, "intent": intent, "annotation": {**d.provenance(p), "exported": exported}}
        matched += asked == (cat, expected)
        by_cell[f"{cat}/{rec.language or '-'}/{expected}"] += 1
        lines.append(jsonl_line(record_json(rec)))
        have.add(d.item_id)
    into.parent.mkdir(parents=True, exist_ok=True)
    with open(into, "a", encoding="utf-8") as f:
        f.writelines(lines)
    counts.written = len(lines)
    return AcceptReport(into=into, counts=counts, by_cell=dict(sorted(by_cell.items())), matched_request=matched)
