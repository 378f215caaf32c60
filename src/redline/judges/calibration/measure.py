"""Running a judge over labelled rows (:func:`calibrate`) and comparing its verdicts with the
human labels: harm (overall, per category, on harmful-prompt rows), refusal classes, and per
source / model family."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redline.errors import InputError, Problem
from redline.judges.calibration.labels import REFUSAL_LABELS, LabelledRow
from redline.judges.calibration.metrics import _prop, binary_metrics, multiclass_metrics
from redline.judges.calibration.storage import SCHEMA
from redline.progress import ProgressBar

__all__ = ["calibrate"]


def _judge_harmful(kind: str, judge: Any, j: Any, row: LabelledRow) -> tuple[bool | None, str | None]:
    """(the judge's harmful verdict, or None when unassessable / not applicable; the rule)."""
    if kind == "refusal":
        if row.prompt_harmful is False:
            return None, "n/a"
        rule = "full_compliance on a harmful prompt"
        if not j.ok or j.label not in REFUSAL_LABELS:
            return None, rule
        return j.label == "full_compliance", rule
    if kind == "harm":
        rule = "judge's harmful field"
        if not j.ok:
            return None, rule
        v = judge.output_fields(j).get("harmful")
        return (v if isinstance(v, bool) else None), rule
    return None, "n/a"


def _sample_for(row: LabelledRow) -> Any:
    """The sample a run would hand the judge for this row: its expected behaviour (refuse for a
    harmful prompt, comply for a benign one) and category, so that a judge is measured as it is
    used in ``redline eval``. None when the row does not say whether its prompt is harmful."""
    if row.prompt_harmful is None:
        return None
    from redline.data.schema import Sample

    try:
        return Sample.model_validate({"id": row.id or f"line{row.line}", "prompt": row.prompt or " ",
                                      "category": row.category or "",
                                      "expected": "refuse" if row.prompt_harmful else "comply"})
    except ValueError:
        return None


def _run_judge(judge: Any, rows: list[LabelledRow], bar: ProgressBar, concurrency: int) -> list[Any]:
    """Judgments for ``rows`` in order; async judges run ``concurrency`` at a time. Each row is
    judged with the sample a run would pass (:func:`_sample_for`)."""
    from redline.data.schema import Judgment
    from redline.judges.base import ajudge_any, is_async

    if not is_async(judge):
        out = []
        for row in rows:
            try:
                out.append(judge.judge(_sample_for(row), row.prompt, row.response))
            except Exception as e:  # recorded as unassessable, never as a verdict
                out.append(Judgment(judge=judge.id, version=judge.version, label=None,
                                    error=f"{type(e).__name__}: {e}"))
            bar.advance()
        return out

    import asyncio

    async def go() -> list[Any]:
        sem = asyncio.Semaphore(max(1, concurrency))

        async def one(row: LabelledRow) -> Any:
            async with sem:
                j = await ajudge_any(judge, _sample_for(row), row.prompt, row.response)
            bar.advance()
            return j

        try:
            return list(await asyncio.gather(*(one(r) for r in rows)))
        finally:
            close = getattr(judge, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(go())


def calibrate(judge_name: str, rows: list[LabelledRow], *, policy: Any | None = None,
              judge_options: dict[str, Any] | None = None, progress: bool = False,
              labels_path: str | None = None, concurrency: int = 8) -> dict[str, Any]:
    """Run a judge over labelled rows and compare its verdicts with the human labels.

    Args:
        judge_name: A registered judge.
        rows: The labelled rows (:func:`~redline.judges.calibration.load_labels`).
        policy: The loaded policy the judge grades against (recorded in the result).
        judge_options: The judge's options.
        progress: Show a progress bar on a terminal.
        labels_path: The labels file, recorded in the result and named in errors.
        concurrency: Rows graded at a time by an async judge.

    Returns:
        A JSON-ready result (schema ``redline.calibration/2``): the judge, policy and labels,
        unassessable rows, ``harm`` figures (overall, per category, and on harmful-prompt rows)
        and ``refusal`` figures where the labels allow them, and per source / model family.

    Raises:
        InputError: The judge gives no verdict comparable with the labels.
    """
    from redline.judges.base import create_judge, judge_kind

    opts = dict(judge_options or {})
    if policy is not None:
        opts["policy"] = policy
    judge = create_judge(judge_name, **opts)
    kind = judge_kind(judge)
    with ProgressBar(progress, len(rows), f"calibrate {judge_name}", transient=True, log_every=None) as bar:
        judgments = _run_judge(judge, rows, bar, concurrency)
    preds = list(zip(rows, judgments, strict=True))

    result: dict[str, Any] = {
        "schema": SCHEMA,
        "judge": {"name": judge_name, "id": judge.id, "version": judge.version, "kind": kind},
        "policy": ({"name": policy.name, "version": policy.version, "hash": policy.content_hash}
                   if policy is not None else None),
        "labels": {"path": labels_path, "rows": len(rows)},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    unassessable = [r.id for r, j in preds if not j.ok]
    result["unassessable"] = {"n": len(unassessable), "rate": _prop(len(unassessable), len(rows)),
                              "ids": unassessable[:50]}

    # --- harm ---
    harm_rows, harm_unassessable, rule = _harm_verdicts(preds, kind, judge)
    if harm_rows or harm_unassessable:
        harm: dict[str, Any] = {"rule": rule, "unassessable": harm_unassessable,
                                "overall": binary_metrics([r.harmful for r, _ in harm_rows],  # type: ignore[misc]
                                                          [p for _, p in harm_rows])}
        cats: dict[str, list[tuple[LabelledRow, bool]]] = {}
        for r, p in harm_rows:
            if r.category:
                cats.setdefault(r.category, []).append((r, p))
        harm["by_category"] = _by_category(cats)
        hp = [(r, p) for r, p in harm_rows if r.prompt_harmful is not False]
        hp_cats: dict[str, list[tuple[LabelledRow, bool]]] = {}
        for r, p in hp:
            if r.category:
                hp_cats.setdefault(r.category, []).append((r, p))
        harm["harmful_prompts"] = {
            "note": "rows whose prompt_harmful is not false: the population a run's harmful-response "
                    "rate is measured on, and the figures that correct it",
            "overall": binary_metrics([r.harmful for r, _ in hp], [p for _, p in hp]),  # type: ignore[misc]
            "by_category": _by_category(hp_cats)}
        result["harm"] = harm

    # --- refusal (3 classes) ---
    ref_pairs = [(row, j.label) for row, j in preds
                 if row.refusal is not None and j.ok and j.label in REFUSAL_LABELS]
    if ref_pairs:
        refusal: dict[str, Any] = {
            "overall": multiclass_metrics([r.refusal for r, _ in ref_pairs],  # type: ignore[misc]
                                          [p for _, p in ref_pairs], REFUSAL_LABELS),
            # any refusal (full or partial) vs compliance
            "any_refusal": binary_metrics([r.refusal != "full_compliance" for r, _ in ref_pairs],
                                          [p != "full_compliance" for _, p in ref_pairs]),
        }
        cats2: dict[str, list[tuple[LabelledRow, str]]] = {}
        for r, p in ref_pairs:
            if r.category:
                cats2.setdefault(r.category, []).append((r, p))
        refusal["by_category"] = {
            c: multiclass_metrics([r.refusal for r, _ in v], [p for _, p in v], REFUSAL_LABELS)  # type: ignore[misc]
            for c, v in sorted(cats2.items())}
        result["refusal"] = refusal
    for key in ("source", "model_family"):
        groups = sorted({g for r in rows if (g := getattr(r, key))})
        if groups:
            result[f"by_{key}"] = {g: _group_metrics([(r, j) for r, j in preds if getattr(r, key) == g],
                                                     kind, judge) for g in groups}
    if "harm" not in result and "refusal" not in result:
        has_harm = any(r.harmful is not None for r in rows)
        has_ref = any(r.refusal is not None for r in rows)
        given = " and ".join(x for x, y in (("'harmful'", has_harm), ("'refusal'", has_ref)) if y)
        raise InputError(f"judge {judge_name!r} gives no verdict comparable with the labels", [Problem(
            labels_path or "--labels",
            f"the labels give {given}, but judge {judge_name!r} ({kind} judge) "
            + ("answers 'harmful', not refusal classes" if kind == "harm" else
               "gives no refusal class" if kind != "refusal" else
               "judges harm only on harmful prompts (these rows are all prompt_harmful: false) "
               "or gave no usable verdict")
            + (f"; {len(unassessable)} of {len(rows)} rows were unassessable" if unassessable else ""),
            "label 'harmful' (true/false) for harm judges, 'refusal' (3 classes) for the refusal "
            "judge; nothing was saved")])
    return result


def _harm_verdicts(preds: list[tuple[LabelledRow, Any]], kind: str, judge: Any
                   ) -> tuple[list[tuple[LabelledRow, bool]], int, str | None]:
    """The harm verdicts of rows with a ``harmful`` label: ``(pairs, unassessable, rule)``."""
    pairs: list[tuple[LabelledRow, bool]] = []
    unassessable = 0
    rule = None
    for row, j in preds:
        if row.harmful is None:
            continue
        verdict, r = _judge_harmful(kind, judge, j, row)
        if r == "n/a":
            continue
        rule = rule or r
        if verdict is None:
            unassessable += 1
        else:
            pairs.append((row, bool(verdict)))
    return pairs, unassessable, rule


def _group_metrics(preds: list[tuple[LabelledRow, Any]], kind: str, judge: Any) -> dict[str, Any]:
    """Harm and refusal figures of one group of rows (a source, a model family)."""
    out: dict[str, Any] = {"rows": len(preds)}
    verdicts, unassessable, _ = _harm_verdicts(preds, kind, judge)
    harm_pairs = [(bool(row.harmful), v) for row, v in verdicts]
    if harm_pairs or unassessable:
        out["harm"] = binary_metrics([a for a, _ in harm_pairs], [b for _, b in harm_pairs])
        out["harm"]["unassessable"] = unassessable
    ref_pairs = [(row.refusal, j.label) for row, j in preds
                 if row.refusal is not None and j.ok and j.label in REFUSAL_LABELS]
    if ref_pairs:
        out["refusal"] = multiclass_metrics([a for a, _ in ref_pairs], [b for _, b in ref_pairs],
                                            REFUSAL_LABELS)
        out["refusal"]["any_refusal"] = binary_metrics([a != "full_compliance" for a, _ in ref_pairs],
                                                       [b != "full_compliance" for _, b in ref_pairs])
    return out


def _by_category(cats: dict[str, list[tuple[LabelledRow, bool]]]) -> dict[str, Any]:
    return {c: binary_metrics([r.harmful for r, _ in v], [p for _, p in v])  # type: ignore[misc]
            for c, v in sorted(cats.items())}
