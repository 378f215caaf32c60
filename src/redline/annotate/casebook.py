"""The project casebook: adjudicated items turned into policy cases (case law)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select

from redline.annotate.projects import Projects
from redline.annotate.rows import Item, Project
from redline.annotate.schema import candidates, find_node
from redline.errors import InputError, Problem
from redline.policy.model import Case
from redline.store.annotation import ann_casebook

_CASE_ID_BAD = re.compile(r"[^A-Za-z0-9_.:-]")


INTENTS = ("harmful", "benign", "ambiguous")


def intent_from_expected(node: dict[str, Any] | None, expected: str | None) -> str | None:
    """The request intent that a record's expected behaviour implies under a policy node.

    ``comply`` is ``benign``; otherwise the one intent whose expected behaviour at the node is
    the record's (``refuse`` → ``harmful`` at a node whose harmful requests are refused). When
    no intent, or more than one, maps to that behaviour, nothing is implied: an intent is never
    guessed.

    Args:
        node: The policy node (from :func:`find_node`), or None.
        expected: The record's expected behaviour (``refuse``, ``safe_complete``, ``comply``).

    Returns:
        ``harmful``, ``benign`` or ``ambiguous``, or None.
    """
    if expected is None:
        return None
    if expected == "comply":
        return "benign"
    by_intent = (node or {}).get("expected") or {}
    hits = [i for i in INTENTS if by_intent.get(i) == expected]
    return hits[0] if len(hits) == 1 else None


def adjudicated_case(p: Project, item: Item, values: dict[str, Any], reviewer: str, rationale: str,
                     now: datetime, *, node: str | None = None, intent: str | None = None) -> Case:
    """The casebook case made from an adjudicated item.

    Args:
        p: The item's project.
        item: The item (with its record).
        values: The adjudicated, validated label.
        reviewer: Who adjudicated it.
        rationale: Why (the case's reasoning).
        now: When (the date goes into the case's ``adjudication``).
        node: The policy node; default: the label's ``category``, else the item's category.
        intent: The request's intent; default: the label's ``intent``, else ``record.meta.intent``,
            else the one implied by the record's expected behaviour at the node
            (:func:`intent_from_expected`).

    Returns:
        The case.

    Raises:
        InputError: Naming ``casebook_node``/``casebook_intent`` when either is unknown or
            invalid (an intent is never guessed).
    """
    rec = item.record
    node_id = node or values.get("category") or item.category
    found = find_node(p.schema, node_id)
    if found is None:
        raise InputError("cannot promote to the casebook", [Problem(
            "casebook_node", f"{node_id!r} is not a node of the policy" if node_id
            else "no policy node: the label and the item have no category",
            "pick the policy node this case belongs to (casebook node)")])
    intents = INTENTS
    if intent is not None and intent not in intents:
        raise InputError("cannot promote to the casebook", [Problem(
            "casebook_intent", f"{intent!r} is not an intent", f"choose one of: {', '.join(intents)}")])
    meta_intent = rec.meta.get("intent")
    intent = intent or values.get("intent") or (meta_intent if meta_intent in intents else None)
    if intent is None and rec.expected is not None:
        intent = intent_from_expected(found, str(rec.expected.value))
    if intent is None:
        raise InputError("cannot promote to the casebook", [Problem(
            "casebook_intent", "the request's intent is not known (no intent label, meta.intent or expected)",
            f"choose the intent of the request: {', '.join(intents)}")])
    expected = found.get("expected", {}).get(intent)
    response: str | None = None
    if p.task == "prompt-label":
        harmful = values.get("intent") == "harmful" and values.get("category") is not None
    elif p.task == "response-label":
        response, harmful = rec.response, bool(values.get("harmful"))
    elif p.task in ("sft-write", "revise"):
        response, harmful, expected = values.get("response"), False, values.get("behaviour") or expected
    else:  # preference: the preferred candidate is the worked example
        cands = candidates(rec)
        ch = values.get("choice")
        response = cands[int(ch)] if ch not in (None, "tie") else None
        harmful = False if response is not None else intent == "harmful"
    severity = int(values.get("severity") or 0) if harmful else 0
    if harmful and severity == 0:  # no severity field (prompt-label): the node's lowest violating level
        levels = sorted(int(s["level"]) for s in found.get("severity_levels") or [] if int(s["level"]) > 0)
        severity = levels[0] if levels else 1
    case_id = _CASE_ID_BAD.sub("_", f"{p.name}:{item.item_id}")
    if not case_id[0].isalnum():
        case_id = "c" + case_id
    return Case.model_validate({
        "id": case_id, "node": found["id"], "tag": "adjudicated", "intent": intent,
        "prompt": rec.prompt or "(empty prompt)", "response": response or None, "harmful": harmful,
        "severity": severity, "expected": expected,
        "reasoning": rationale, "adjudication": f"{reviewer}, {now.date().isoformat()}"})


class Casebook(Projects):
    """Reading the project casebook."""

    def casebook(self, project: str) -> list[Case]:
        """The adjudicated cases promoted to the project's casebook, oldest first."""
        self.get_project(project)
        with self._read() as conn:
            rows = conn.execute(select(ann_casebook.c.case_json).where(ann_casebook.c.project == project)
                                .order_by(ann_casebook.c.id)).all()
        return [Case.model_validate_json(r[0]) for r in rows]
