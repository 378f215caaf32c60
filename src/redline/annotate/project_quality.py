"""Project-level quality over the annotation service: ratings, consensus, review queue, summary.

Everything here reads a project through :class:`redline.annotate.service.Annotations` and calls
the pure functions of :mod:`~redline.annotate.agreement`, :mod:`~redline.annotate.consensus`
and :mod:`~redline.annotate.quality`.

- Agreement is computed on every field of the task whose ``level`` is not ``"none"``, at that
  level; an ordinal field with text options (``completion_quality``, ``margin``) uses the
  options' order, and values outside it (``"n/a"``) count as missing. Labels on gold items are
  left out of agreement and consensus (they measure accuracy instead).
- Consensus is computed on every agreement field (``consensus.by_field``); the review queue
  takes an item when any field is contested and only once its labelling is complete. The
  headline consensus field (and the annotator table's agreement-with-consensus) is the task's
  main field: ``intent`` (prompt-label),
  ``harmful`` (response-label), ``choice`` (preference), ``behaviour`` (sft-write).
- Judge probabilities (``method="model"`` and the consensus-vs-judge check) come from running a
  registered offline judge over the items' responses: ``harm`` for ``harmful``
  (P(True) = ``harm_score``), ``refusal`` for ``refusal`` (the model's class probabilities).
  The consensus-vs-judge check of the review queue runs only the project's judge
  (``ProjectSettings.judge``, :func:`queue_judge`); a project without one has no judge entries.
- An explicit "none" answer (an option whose value is None and that is always asked, like the
  prompt-label ``category`` "none") is the category ``"(none)"``, not a missing value; a
  conditional field left empty (``category`` when not harmful) is missing.
- Gold accuracy is per field (``ANNOTATOR.gold_by_field``). The headline ``gold_accuracy``
  (and the gold drift series) counts a gold label correct when it matches the gold answer on
  the task's primary field(s) (:data:`GOLD_PRIMARY`): ``harmful`` (response-label),
  ``category`` and ``intent`` (prompt-label), ``choice`` (preference), ``behaviour``
  (sft-write). ``gold_exact_accuracy`` is the secondary, stricter figure: every agreement field
  of the gold answer matches (subjective fields such as ``completion_quality`` included).

``project_quality`` returns the dict that the dashboard and the HTML report render::

    {"project", "task", "vendor", "generated" (ISO UTC),
     "policy": {"name", "version", "hash"},
     "progress": {"items", "target_labels", "labels", "open", "skipped", "items_complete",
                  "gold_labels", "fraction"},   # Annotations.progress (in-house: include_gold)
     "fields": [{"name", "label", "level", "options": {str(value): label}}],
     "agreement": {"by_field": {field: REPORT},
                   "by_category": {category or "(none)": {field: REPORT}},
                   "by_policy_version": {version: {field: REPORT}},  # "version@hash8" when
                                           # two policies share a version number
                   "by_vendor": {vendor or "in-house": {field: REPORT}}},
     "annotators": [ANNOTATOR, ...],          # sorted by username
     "drift": {username: {"gold": [WINDOW, ...], "consensus": [WINDOW, ...]}},
     "consensus": {"field", "method", "items", "mean_confidence", "low_confidence", "ties",
                   "label_counts": {str(label): n}, "judge", "judge_disagreements", "queue",
                   "queue_by_field": {field: n queued items contested on it},
                   "by_field": {field: {"method", "items", "mean_confidence", "low_confidence",
                                        "ties", "label_counts"}}},
     "flags": [{"username", "reasons": [str]}],
     "threshold": float}

``REPORT`` is :func:`redline.annotate.agreement.agreement_report` (``level``, ``n_items``,
``n_single``, ``n_raters``, ``n_ratings``, and ``{"value", "ci"}`` for ``alpha``,
``fleiss_kappa``, ``gwet_ac1``, ``percent_agreement``, ``cohen_kappa`` (+ ``pairs``)).
``ANNOTATOR`` is :class:`redline.annotate.quality.AnnotatorStats` as a dict (``username``,
``vendor``, ``active``, ``paused_reason``, ``labels``, ``gold_n``, ``gold_correct``,
``gold_accuracy``, ``gold_ci`` (primary fields), ``gold_exact_correct``, ``gold_exact_accuracy``,
``gold_exact_ci`` (all fields exact), ``gold_by_field`` ({field: {``n``, ``correct``,
``accuracy``, ``ci``}}), ``consensus_n``, ``consensus_agreement``, ``consensus_ci``,
``median_seconds``, ``assigned``, ``skipped``, ``skip_rate``, ``flagged``, ``flag_reasons``).
``WINDOW`` is :class:`redline.annotate.quality.DriftWindow` as a dict (``start``, ``end``,
``n``, ``correct``, ``rate``, ``baseline``, ``baseline_source``, ``lcl``, ``ucl``, ``p_value``,
``flagged``, ``cusum``, ``flag_rule``; the drift rule — p-chart tail or one-sided CUSUM against
the annotator's own baseline — is documented in :mod:`redline.annotate.quality`). Values are None where undefined. Gold answers never appear; with ``vendor`` every
number is computed from that vendor's labels only, and gold results (``gold_n``, accuracy, the
gold drift series) only from labels made before today (UTC), so that they cannot be watched
change item by item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from redline.annotate.agreement import agreement_report
from redline.annotate.consensus import ConsensusResult, run_consensus
from redline.annotate.quality import Observation, annotator_table, control_chart, flag_annotators
from redline.annotate.schema import FieldSpec, task_fields
from redline.errors import InputError, Problem

if TYPE_CHECKING:
    from redline.annotate.rows import Label
    from redline.annotate.service import Annotations

__all__ = [
    "METHODS",
    "QueueEntry",
    "agreement_fields",
    "judge_probabilities",
    "judge_probabilities_by_field",
    "labelling_complete",
    "main_field",
    "project_consensus",
    "project_quality",
    "project_ratings",
    "queue_judge",
    "review_queue",
]

METHODS: tuple[str, ...] = ("dawid-skene", "majority", "model", "median")
_MAIN = {"prompt-label": "intent", "response-label": "harmful", "preference": "choice",
         "sft-write": "behaviour", "revise": "behaviour"}
_JUDGE_FOR = {"harmful": "harm", "refusal": "refusal"}


def agreement_fields(svc: Annotations, project: str) -> list[FieldSpec]:
    """The task's fields with a measurement level (agreement and consensus apply to them)."""
    p = svc.get_project(project)
    return [f for f in task_fields(p.task, p.schema) if f.level != "none"]


def main_field(task: str, schema: dict[str, Any] | None = None) -> str:
    """Name the field that stands for a task's label (e.g. ``"harmful"`` for response-label).

    Args:
        task: The project's task name.
        schema: The project's schema: a rubric-score project's main field is its first criterion.

    Returns:
        The main field of a built-in task, else ``"category"``.
    """
    if task == "rubric-score" and schema and schema.get("criteria"):
        return str(schema["criteria"][0]["id"])
    return _MAIN.get(task, "category")


def _spec(svc: Annotations, project: str, field: str) -> FieldSpec:
    specs = {f.name: f for f in agreement_fields(svc, project)}
    if field not in specs:
        raise InputError(f"no agreement field {field!r}", [Problem(
            "--field", f"{field!r} is not a labelled field of this task",
            f"use one of: {', '.join(specs) or '(none)'}")])
    return specs[field]


def _order(spec: FieldSpec) -> list[Any] | None:
    """Ordinal text options in order (without "n/a"/None); None for numeric ordinal fields."""
    if spec.level != "ordinal":
        return None
    vals = [o.value for o in spec.options if o.value is not None and o.value != "n/a"]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return None
    return vals


#: the value of an explicit "none" answer (an option whose value is None, e.g. the prompt-label
#: category "none"), so that it counts as an answer rather than a missing value
NONE_LABEL = "(none)"


def _none_is_answer(spec: FieldSpec) -> bool:
    return spec.when is None and any(o.value is None for o in spec.options)


def _value(spec: FieldSpec, order: list[Any] | None, v: Any) -> Any:
    if v is None:
        return NONE_LABEL if _none_is_answer(spec) else None
    if isinstance(v, list):
        v = tuple(v)
    if order is not None and v not in order:
        return None  # "n/a" on an ordinal scale: missing
    if spec.level in ("ordinal", "interval") and order is None:
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    return v


def _ratings_from(labels: Sequence[Label], spec: FieldSpec) -> list[tuple[str, str, Any]]:
    order = _order(spec)
    return [(lb.item_id, lb.username, _value(spec, order, lb.values.get(spec.name)))
            for lb in labels if not lb.is_gold]


def project_ratings(svc: Annotations, project: str, field: str, *, vendor: str | None = None,
                    policy_hash: str | None = None) -> list[tuple[str, str, Any]]:
    """``(item_id, username, value)`` of ``field`` for the non-gold labels of ``project``."""
    spec = _spec(svc, project, field)
    labels = svc.labels(project, vendor=vendor, policy_hash=policy_hash, include_gold=True)
    return _ratings_from(labels, spec)


def judge_probabilities(svc: Annotations, project: str, field: str, judge: str | None = None,
                        *, item_ids: Sequence[str] | None = None) -> dict[str, dict[Any, float]]:
    """Class probabilities of ``field`` from an offline judge run over the items' responses.

    ``harm`` gives ``{True: harm_score, False: 1 - harm_score}``; ``refusal`` gives its model's
    class probabilities. Items without a response, or where the judge fails, are left out.
    """
    from redline.judges.base import create_judge

    name = judge or _JUDGE_FOR.get(field)
    if name is None:
        raise InputError(f"no judge for field {field!r}", [Problem(
            "--judge", f"there is no built-in judge for {field!r}",
            "model-assisted consensus works for `harmful` (harm) and `refusal` (refusal)")])
    try:
        j = create_judge(name, policy=svc.policy(project))
    except InputError:
        raise
    wanted = set(item_ids) if item_ids is not None else None
    out: dict[str, dict[Any, float]] = {}
    for it in svc.items(project):
        if wanted is not None and it.item_id not in wanted:
            continue
        response = it.record.response
        if not response or not response.strip():
            continue
        prompt = it.record.prompt
        if field == "refusal" and hasattr(getattr(j, "_model", None), "predict_proba"):
            probs = j._model.predict_proba(response)  # type: ignore[attr-defined]
            out[it.item_id] = {str(k): float(v) for k, v in probs.items()}
            continue
        v = j.judge(None, prompt, response)
        if not v.ok:
            continue
        if field == "harmful":
            s = v.score if v.score is not None else (1.0 if v.fields.get("harmful") else 0.0)
            out[it.item_id] = {True: float(s), False: 1.0 - float(s)}
        else:
            out[it.item_id] = {v.label: 1.0}
    return out


def judge_probabilities_by_field(svc: Annotations, project: str, judge: str | None = None
                                 ) -> dict[str, dict[str, dict[Any, float]]]:
    """``{field: {item_id: {label: p}}}`` for every field of the task a judge can score:
    ``harmful`` (``harm``) and ``refusal`` (``refusal``). ``judge`` names one judge to run (its
    field only: ``harm`` or another harm-convention judge → ``harmful``, ``refusal`` →
    ``refusal``); None runs both built-in ones."""
    names = {s.name for s in agreement_fields(svc, project)}
    if judge is None:
        wanted = {f: j for f, j in _JUDGE_FOR.items() if f in names}
    else:
        f = "refusal" if judge == "refusal" else "harmful"
        wanted = {f: judge} if f in names else {}
    return {f: judge_probabilities(svc, project, f, j) for f, j in wanted.items()}


def project_consensus(svc: Annotations, project: str, method: str = "dawid-skene",
                      judge: str | None = None, *, field: str | None = None,
                      vendor: str | None = None) -> ConsensusResult:
    """Consensus of ``field`` (default: the task's main field) by ``method``."""
    if method not in METHODS:
        raise InputError(f"unknown consensus method {method!r}", [Problem(
            "--method", f"{method!r} is not a method", f"use one of: {', '.join(METHODS)}")])
    p = svc.get_project(project)
    field = field or main_field(p.task, p.schema)
    spec = _spec(svc, project, field)
    ratings = project_ratings(svc, project, field, vendor=vendor)
    return _consensus(svc, project, spec, ratings, method, judge)


def _consensus(svc: Annotations, project: str, spec: FieldSpec,
               ratings: list[tuple[str, str, Any]], method: str,
               judge: str | None) -> ConsensusResult:
    if method == "median" and spec.level == "nominal":
        method = "majority"  # a median needs ranks: nominal fields fall back to the majority vote
    probs = None if method in ("majority", "dawid-skene", "median") else judge_probabilities(
        svc, project, spec.name, judge, item_ids=sorted({r[0] for r in ratings}))
    return run_consensus("model" if probs is not None else method, ratings,
                         classes=_classes(spec, ratings), model_probs=probs)


def _method_for(name: str, method: str, judge: str | None) -> str:
    """``method``, except that model-assisted consensus falls back to Dawid-Skene on a field no
    judge scores (``judge`` None/"auto": the built-in ones; a name: ``refusal`` scores
    ``refusal``, any other judge ``harmful``)."""
    if method != "model":
        return method
    if judge in (None, "auto"):
        return method if name in _JUDGE_FOR else "dawid-skene"
    return method if name == ("refusal" if judge == "refusal" else "harmful") else "dawid-skene"


def _classes(spec: FieldSpec, ratings: list[tuple[str, str, Any]]) -> list[Any] | None:
    opts = [NONE_LABEL if o.value is None else o.value for o in spec.options
            if o.value is not None or _none_is_answer(spec)]
    seen = {v for _, _, v in ratings if v is not None}
    if not opts or any(v not in opts for v in seen):
        return None
    return [v for v in opts if v in seen] or None


@dataclass
class QueueEntry:
    """One item for a reviewer.

    ``reason`` names the first kind that applies and the fields it applies to ("disagreement on
    category, intent"); ``reasons`` lists the kinds ("disagreement", "low confidence",
    "consensus-vs-judge"); ``detail`` says everything ("disagreement on category; low confidence
    on category"); ``fields`` are the contested fields and ``per_field`` their consensus
    (``{field: {"label", "confidence", "n_labels", "reasons", "judge_label"}}``). ``label`` and
    ``judge_label`` are those of the task's main field; ``confidence`` is the lowest confidence
    over the contested fields. ``complete``: the item's labelling is done (submitted labels ≥ the
    project's overlap, or no further annotator can be assigned to it)."""

    item_id: str
    reason: str
    confidence: float
    n_labels: int
    label: Any = None
    judge_label: Any = None
    reasons: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    detail: str = ""
    complete: bool = True
    per_field: dict[str, dict[str, Any]] = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (``dataclasses.asdict``)."""
        return asdict(self)


_KINDS = ("disagreement", "low confidence", "consensus-vs-judge")


def labelling_complete(svc: Annotations, project: str) -> dict[str, bool]:
    """``{item_id: complete}`` for the project's normal items: an item is complete when it has
    at least ``overlap`` submitted labels, or when nobody holds an open assignment on it and no
    active annotator who has not seen it yet may get it (the item's vendor reservation
    respected). Computed over every vendor: completeness is a property of the item."""
    p = svc.get_project(project)
    submitted: Counter[str] = Counter()
    open_: Counter[str] = Counter()
    seen: dict[str, set[str]] = {}
    for a in svc.assignments(project):
        seen.setdefault(a.item_id, set()).add(a.username)
        if a.status == "submitted":
            submitted[a.item_id] += 1
        elif a.status == "open":
            open_[a.item_id] += 1
    pool = [u for u in svc.list_users() if u.role == "annotator" and u.active]
    out = {}
    for it in svc.items(project):
        if submitted[it.item_id] >= p.overlap:
            out[it.item_id] = True
            continue
        if open_[it.item_id]:
            out[it.item_id] = False
            continue
        who = seen.get(it.item_id, set())
        free = [u for u in pool if u.username not in who
                and (it.vendor is None or u.vendor == it.vendor)]
        out[it.item_id] = not free
    return out


def queue_judge(svc: Annotations, project: str, judge: str | None = "auto") -> str | None:
    """The judge whose disagreement with the consensus sends items to the review queue:
    ``"auto"`` is the project's ``settings.judge`` (None when unset — weak offline judges would
    flood the queue), any other value is taken as given."""
    if judge == "auto":
        return svc.get_project(project).settings.judge
    return judge


def review_queue(svc: Annotations, project: str, *, vendor: str | None = None,
                 min_confidence: float = 0.7, method: str = "dawid-skene",
                 judge: str | None = "auto", field: str | None = None,
                 include_adjudicated: bool = False, include_incomplete: bool = False,
                 consensus: ConsensusResult | dict[str, ConsensusResult] | None = None
                 ) -> list[QueueEntry]:
    """Items for a reviewer. Every agreement field of the task is checked (``field``: only that
    one): the labels disagree, its consensus confidence < ``min_confidence`` (or a tie), or the
    judge's top class differs from the consensus (``judge="auto"``: the project's
    ``settings.judge``, none when unset; a judge name: that judge on its field — ``refusal`` on
    ``refusal``, any other on ``harmful``; None: no judge). An item
    is queued when any field is contested. Only items whose labelling is complete (see
    :func:`labelling_complete`) unless ``include_incomplete``; adjudicated items are left out
    unless ``include_adjudicated``. Lowest confidence first."""
    p = svc.get_project(project)
    main = main_field(p.task, p.schema)
    specs = {s.name: s for s in agreement_fields(svc, project)}
    names = [field] if field else list(specs)
    if field:
        _spec(svc, project, field)
    if isinstance(consensus, ConsensusResult):
        consensus = {field or main: consensus}
    consensus = dict(consensus or {})
    labels = svc.labels(project, vendor=vendor, include_gold=True)
    jobs: dict[str, str] = {}
    qjudge = queue_judge(svc, project, judge)
    if qjudge is not None:
        f = "refusal" if qjudge == "refusal" else "harmful"
        if f in names:
            jobs = {f: qjudge}
    complete = labelling_complete(svc, project)
    done = set() if include_adjudicated else {a.item_id for a in svc.adjudications(project)}
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        spec = specs[name]
        ratings = _ratings_from(labels, spec)
        if not any(v is not None for _, _, v in ratings):
            continue
        res = consensus.get(name)
        if res is None:
            res = _consensus(svc, project, spec, ratings, _method_for(name, method, judge),
                             None if judge == "auto" else judge)
        jprobs: dict[str, dict[Any, float]] = {}
        if name in jobs and res.items:
            jprobs = judge_probabilities(svc, project, name, jobs[name], item_ids=[str(i) for i in res.items])
        given: dict[Hashable, set[Any]] = {}
        for i, _, v in ratings:
            if v is not None:
                given.setdefault(i, set()).add(v)
        for item_id, c in res.items.items():
            iid = str(item_id)
            if iid in done or (not include_incomplete and not complete.get(iid, True)):
                continue
            kinds = []
            if c.n_labels >= 2 and len(given.get(item_id, ())) > 1:
                kinds.append("disagreement")
            if c.confidence < min_confidence or c.tie:
                kinds.append("low confidence")
            jl = None
            if item_id in jprobs:
                jp = jprobs[item_id]
                jl = max(jp, key=lambda k: jp[k])
                if jl != c.label:
                    kinds.append("consensus-vs-judge")
            if kinds or name == main:
                found.setdefault(iid, {})[name] = {
                    "label": c.label, "confidence": c.confidence, "n_labels": c.n_labels,
                    "reasons": kinds, "judge_label": jl}
    out = []
    for iid, per in found.items():
        contested = {f: d for f, d in per.items() if d["reasons"]}
        if not contested:
            continue
        by_kind = {k: [f for f in names if k in (contested.get(f) or {}).get("reasons", ())]
                   for k in _KINDS}
        parts = [f"{k} on {', '.join(fs)}" for k, fs in by_kind.items() if fs]
        m = per.get(main) or {}
        out.append(QueueEntry(
            iid, parts[0], min(d["confidence"] for d in contested.values()),
            max(d["n_labels"] for d in per.values()), m.get("label"), m.get("judge_label"),
            tuple(k for k in _KINDS if by_kind[k]), tuple(f for f in names if f in contested),
            "; ".join(parts), complete.get(iid, True), contested))
    out.sort(key=lambda e: (e.confidence, e.item_id))
    return out


def _consensus_summary(res: ConsensusResult, min_confidence: float) -> dict[str, Any]:
    confs = [c.confidence for c in res.items.values()]
    return {"method": res.method, "items": len(confs),
            "mean_confidence": sum(confs) / len(confs) if confs else None,
            "low_confidence": sum(c < min_confidence for c in confs),
            "ties": sum(c.tie for c in res.items.values()),
            "label_counts": dict(Counter(str(v) for v in res.labels().values()))}


#: the fields a gold label is judged on for the headline gold accuracy
GOLD_PRIMARY = {"response-label": ("harmful",), "prompt-label": ("category", "intent"),
                "preference": ("choice",), "sft-write": ("behaviour",),
                "revise": ("behaviour",)}


def _gold_fields(gold: dict[str, Any], values: dict[str, Any], names: list[str]) -> dict[str, bool]:
    """Per agreement field of the gold answer: does the label match it?"""
    return {n: gold.get(n) == values.get(n) for n in names if n in gold}


def _gold_correct(gold: dict[str, Any], values: dict[str, Any], names: list[str],
                  task: str | None = None) -> bool:
    """Right on the task's primary field(s) of the gold answer (every field when ``task`` is
    None or the answer has none of them)."""
    per = _gold_fields(gold, values, names)
    primary = [n for n in GOLD_PRIMARY.get(task or "", ()) if n in per]
    return all(per[n] for n in primary) if primary else all(per.values())


def _reports(labels: Sequence[Label], specs: list[FieldSpec], n_boot: int,
             seed: int) -> dict[str, Any]:
    out = {}
    for s in specs:
        out[s.name] = agreement_report(_ratings_from(labels, s), s.level,  # type: ignore[arg-type]
                                       n_boot=n_boot, seed=seed, order=_order(s))
    return out


def project_quality(svc: Annotations, project: str, vendor: str | None = None, *,
                    field: str | None = None, method: str = "dawid-skene",
                    judge: str | None = "auto", threshold: float = 0.7, n_boot: int = 500,
                    seed: int = 0, window: timedelta = timedelta(days=1),
                    min_confidence: float = 0.7) -> dict[str, Any]:
    """The quality summary of a project (keys in the module docstring)."""
    p = svc.get_project(project)
    specs = agreement_fields(svc, project)
    field = field or main_field(p.task, p.schema)
    labels = svc.labels(project, vendor=vendor, include_gold=True)
    normal = [lb for lb in labels if not lb.is_gold]
    items = {it.item_id: it for it in svc.items(project, include_gold=True)}
    # in-house: data labels, gold labels apart; a vendor: the blind counters
    prog = svc.progress(project, vendor=vendor, include_gold=vendor is None)

    def grouped(key: Any) -> dict[str, Any]:
        groups: dict[str, list[Label]] = {}
        for lb in normal:
            groups.setdefault(key(lb), []).append(lb)
        return {g: _reports(ls, specs, n_boot, seed) for g, ls in sorted(groups.items())}

    def category(lb: Label) -> str:
        it = items.get(lb.item_id)
        return (it.category if it is not None else None) or "(none)"

    # a policy edited without a new version number is still another policy: "version@hash"
    hashes_of: dict[str, set[str]] = {}
    for lb in labels:
        hashes_of.setdefault(lb.policy_version, set()).add(lb.policy_hash)
    version_key = {lb.policy_hash: (lb.policy_version if len(hashes_of[lb.policy_version]) == 1
                                    else f"{lb.policy_version}@{lb.policy_hash[:8]}") for lb in labels}
    agreement = {
        "by_field": _reports(normal, specs, n_boot, seed),
        "by_category": grouped(category),
        "by_policy_version": grouped(lambda lb: version_key[lb.policy_hash]),
        "by_vendor": grouped(lambda lb: lb.vendor or "in-house"),
    }
    # consensus of every agreement field (the main one drives the annotator table) and the queue
    per_field: dict[str, ConsensusResult] = {}
    for s in specs:
        ratings = _ratings_from(normal, s)
        if not any(v is not None for _, _, v in ratings):
            continue
        per_field[s.name] = _consensus(svc, project, s, ratings, _method_for(s.name, method, judge),
                                       None if judge == "auto" else judge)
    res = per_field.get(field) if normal else None
    queue = review_queue(svc, project, vendor=vendor, min_confidence=min_confidence,
                         judge=judge, consensus=per_field) if per_field else []
    cons_labels = res.labels() if res is not None else {}
    n_labels = {i: c.n_labels for i, c in res.items.items()} if res is not None else {}
    spec = _spec(svc, project, field)
    order = _order(spec)
    names = [s.name for s in specs]
    obs = []
    gold_events, cons_events = [], []
    # a vendor's view counts gold results only for labels made before today (UTC): a manager
    # who watched gold_n live would see which of an annotator's items had just been gold
    cutoff = (svc.now().replace(hour=0, minute=0, second=0, microsecond=0)
              if vendor is not None else None)
    for lb in labels:
        it = items.get(lb.item_id)
        v = _value(spec, order, lb.values.get(field))
        if (lb.is_gold and it is not None and it.gold is not None
                and (cutoff is None or lb.created < cutoff)):
            by_gold_field = _gold_fields(it.gold, lb.values, names)
            ok = _gold_correct(it.gold, lb.values, names, p.task)
            obs.append(Observation(lb.username, lb.item_id, v, lb.created, lb.duration_s, True, ok,
                                   by_gold_field))
            gold_events.append((lb.username, lb.created, ok))
        else:
            obs.append(Observation(lb.username, lb.item_id, v, lb.created, lb.duration_s))
            if lb.item_id in cons_labels and n_labels.get(lb.item_id, 0) >= 2 and v is not None:
                cons_events.append((lb.username, lb.created, v == cons_labels[lb.item_id]))
    skips: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for a in svc.assignments(project, vendor=vendor):
        if a.status == "skipped":
            skips[a.username] += 1
        elif a.status == "submitted":
            done[a.username] += 1
    users = {u.username: {"vendor": u.vendor, "active": u.active, "paused_reason": u.paused_reason}
             for u in svc.list_users(vendor) if u.role == "annotator" or u.username in done}
    table = annotator_table(obs, consensus=cons_labels, n_labels=n_labels, skips=skips,
                            done=done, users=users)
    gold_chart = control_chart(gold_events, window=window)
    cons_chart = control_chart(cons_events, window=window)
    drift_obj = {u: {"gold": gold_chart.get(u, []), "consensus": cons_chart.get(u, [])}
                 for u in sorted(set(gold_chart) | set(cons_chart))}
    flagged = flag_annotators(table, threshold, drift=drift_obj)
    confs = [c.confidence for c in res.items.values()] if res is not None else []
    jname = queue_judge(svc, project, judge)
    return {
        "project": p.name,
        "task": p.task,
        "vendor": vendor,
        "generated": datetime.now(UTC).isoformat(),
        "policy": {"name": p.policy_name, "version": p.policy_version, "hash": p.policy_hash},
        "progress": {"items": prog.items, "target_labels": prog.target_labels,
                     "labels": prog.labels, "open": prog.open, "skipped": prog.skipped,
                     "items_complete": prog.done_items, "gold_labels": prog.gold_labels,
                     "fraction": (min(1.0, prog.labels / prog.target_labels)
                                  if prog.target_labels else 0.0)},
        "fields": [{"name": s.name, "label": s.label, "level": s.level,
                    # how each stored value (as label_counts keys it) reads on the form
                    "options": {str(o.value): o.label for o in s.options}} for s in specs],
        "agreement": agreement,
        "annotators": [s.to_dict() for s in table],
        "drift": {u: {m: [w.to_dict() for w in ws] for m, ws in d.items()}
                  for u, d in drift_obj.items()},
        "consensus": {
            "field": field, "method": method, "items": len(confs),
            "mean_confidence": sum(confs) / len(confs) if confs else None,
            "low_confidence": sum(c < min_confidence for c in confs),
            "ties": sum(c.tie for c in res.items.values()) if res is not None else 0,
            "label_counts": dict(Counter(str(v) for v in cons_labels.values())),
            "judge": jname,
            "judge_disagreements": sum("consensus-vs-judge" in e.reasons for e in queue),
            "queue": len(queue),
            "queue_by_field": {s.name: sum(s.name in e.fields for e in queue) for s in specs},
            "by_field": {f: _consensus_summary(r, min_confidence) for f, r in per_field.items()},
        },
        "flags": [{"username": s.username, "reasons": list(s.flag_reasons)} for s in flagged],
        "threshold": threshold,
    }
