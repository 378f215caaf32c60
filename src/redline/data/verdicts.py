"""Judge verdicts as record labels: reading ``redline judge`` output and eval results, and the
KTO ``desirable`` label a verdict implies.

``redline judge`` adds its verdict as top-level fields (``refusal``, ``refusal_score``;
``harmful``, ``harm_score``, ``harm_category``) next to ``<judge>_judge_version``. Read as a
plain row those would land in ``meta``; :func:`judge_output_labels` moves the verdicts
(``refusal``, ``harmful``, ``harm_category``) to ``labels``; scores and provenance (versions,
errors, policy) stay in ``meta``. An eval result row
(``results.jsonl``: ``{sample, response, judgments, outcome, ...}``) becomes a record with the
response as the final assistant turn, ``labels.outcome``, ``labels.over_refusal`` and one label
per judge (:func:`eval_result_row`).

:func:`desirable` decides a KTO label from those verdicts with the same rule as
:func:`redline.evals.outcome.decide`.
"""

from __future__ import annotations

from typing import Any

from redline.data.records import Record

#: the verdicts ``redline judge`` writes (the refusal judge's and the harm convention's); their
#: scores stay in ``meta`` (a score is not a label: every value would be its own class)
VERDICT_FIELDS = ("refusal", "harmful", "harm_category")
_RESULT_KEYS = {"sample", "judgments", "outcome"}


def _scalar(v: Any) -> bool:
    return isinstance(v, str | bool | int | float) and not (isinstance(v, float) and v != v)


def judge_output_labels(row: dict[str, Any]) -> dict[str, Any]:
    """Move a judged row's verdict fields into a ``labels`` object (a new row is returned).

    A row is judge output when it has a ``<judge>_judge_version`` key. Each verdict field of
    :data:`VERDICT_FIELDS` with a value joins ``labels``; a null verdict (unassessable) and a
    verdict whose name the row's own ``labels`` already uses stay where they are (in ``meta``
    once read), so nothing is lost.

    Args:
        row: A field-mapped row.

    Returns:
        The row, verdicts moved into ``labels`` (the same object when it is not judge output).
    """
    if not any(isinstance(k, str) and k.endswith("_judge_version") for k in row):
        return row
    own = row.get("labels")
    if own is not None and not isinstance(own, dict):
        return row  # a labels column as JSON text: row_to_record reads it; leave the verdicts in meta
    labels = dict(own or {})
    out = dict(row)
    for k in VERDICT_FIELDS:
        if k in out and _scalar(out[k]) and k not in labels and f"labels.{k}" not in out:
            labels[k] = out.pop(k)
    if labels:
        out["labels"] = labels
    return out


def is_eval_result(row: dict[str, Any]) -> bool:
    """Whether a row is a line of an eval run's ``results.jsonl``.

    Args:
        row: A row as read.

    Returns:
        True when it has ``sample`` (an object), ``judgments`` and ``outcome``.
    """
    return _RESULT_KEYS <= set(row) and isinstance(row.get("sample"), dict)


def eval_result_row(row: dict[str, Any]) -> dict[str, Any]:
    """An eval result as a record row: the sample's fields, the response as the final assistant
    turn, ``labels.outcome`` / ``labels.over_refusal`` / ``labels.<judge>`` (each judgment's label),
    and everything else (target, judgments in full, usage, …) in ``meta``.

    Args:
        row: A ``results.jsonl`` line (see :func:`is_eval_result`).

    Returns:
        A row :func:`redline.data.formats.base.row_to_record` reads.
    """
    s = dict(row["sample"])
    own = s.pop("meta", None)
    meta: dict[str, Any] = dict(own) if isinstance(own, dict) else ({} if own is None else {"sample.meta": own})
    out: dict[str, Any] = {k: s.pop(k) for k in ("id", "messages", "prompt", "category", "expected", "language",
                                                 "source") if k in s}
    meta.update({f"sample.{k}": v for k, v in s.items()})  # anything else the sample carried
    labels: dict[str, Any] = {}

    def keep(k: str, v: Any) -> None:  # a result field beside the sample's own meta, never over it
        meta[k if k not in meta else f"result.{k}"] = v

    for k, v in row.items():
        if k == "sample":
            continue
        if k == "response":
            if isinstance(v, str) and v.strip():
                out["response"] = v
            elif v is not None:
                keep("response", v)
        elif k in ("outcome", "over_refusal") and _scalar(v):
            labels[k] = v
        elif k == "judgments" and isinstance(v, list):
            keep("judgments", v)
            for j in v:
                if isinstance(j, dict) and isinstance(j.get("judge"), str) and _scalar(j.get("label")):
                    if j["judge"] in labels:
                        continue  # a judge listed twice: the first label; all are in meta.judgments
                    labels[j["judge"]] = j["label"]
        elif v is not None:
            keep(k, v)
    out["labels"] = labels
    out["meta"] = meta
    return out


def desirable(r: Record) -> bool:
    """The KTO label of a record: ``labels.desirable``, else what its verdicts imply.

    The rule is the eval outcome rule (:func:`redline.evals.outcome.decide`): a harmful response
    or an over-refusal is undesirable. From an eval result: ``labels.outcome`` and
    ``labels.over_refusal``. From ``redline judge`` output: for a harmful prompt (``expected``
    ``refuse`` / ``safe_complete``) ``labels.harmful`` when a harm judge graded it, else
    ``labels.refusal`` is not ``full_compliance``; for a benign prompt (``comply``)
    ``labels.refusal`` is ``full_compliance``.

    Args:
        r: The record.

    Returns:
        True for a desirable completion.

    Raises:
        ValueError: No label and no verdict that decides one (the reason says what is missing).
    """
    lab = r.labels
    if isinstance(lab.get("desirable"), bool):
        return bool(lab["desirable"])
    if lab.get("outcome") in ("harmful", "safe"):
        return lab["outcome"] == "safe" and lab.get("over_refusal") is not True
    if lab.get("outcome") == "unassessable":
        raise ValueError("the eval outcome is 'unassessable' (no verdict to label it desirable or not)")
    harmful, refusal = _as_bool(lab.get("harmful")), lab.get("refusal")
    if harmful is None and refusal is None:
        raise ValueError("no boolean labels.desirable and no judge verdict (labels.harmful / labels.refusal / "
                         "labels.outcome) to derive it from (KTO needs a desirable/undesirable label)")
    if refusal is not None and refusal not in REFUSAL_LABELS:
        raise ValueError(f"labels.refusal is {refusal!r}, not one of {', '.join(REFUSAL_LABELS)}")
    expected = r.expected.value if r.expected is not None else None
    if expected is None:
        if harmful is not None:
            return not harmful
        raise ValueError("labels.refusal needs 'expected' to tell desirable from undesirable "
                         "(refusing is right for a harmful prompt, wrong for a benign one): "
                         "give expected (e.g. --set expected=refuse) or labels.desirable")
    if expected != "comply":
        return not harmful if harmful is not None else refusal != "full_compliance"
    if refusal is None:
        raise ValueError("a benign prompt (expected 'comply') needs labels.refusal to tell an over-refusal "
                         "(labels.harmful alone cannot)")
    return refusal == "full_compliance"


REFUSAL_LABELS = ("full_compliance", "partial_refusal", "full_refusal")
_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _as_bool(v: Any) -> bool | None:
    """``labels.harmful`` as a boolean (CSV gives text); None when absent; ValueError otherwise."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _BOOL:
        return _BOOL[v.strip().lower()]
    raise ValueError(f"labels.harmful is {v!r}, not true or false")
