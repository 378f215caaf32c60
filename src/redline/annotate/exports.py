"""What a labelling project produces: consensus labels back into records, TRL training data
(SFT, DPO, KTO) and the adjudicated casebook as a policy pack.

Every exported row carries its provenance: the annotators and their vendors, how many labels,
the policy name/version/hash the labels were made under, and how the label was decided
(``gold`` answer, ``adjudicated`` by a reviewer, or a consensus method with its confidence).

Per item, the label is decided in this order: a reviewer's adjudication wins; then a gold item's
answer; else the consensus of the annotators' labels, field by field (majority vote,
Dawid–Skene, or model-assisted — :mod:`redline.annotate.consensus`), with conditional fields
(``category``/``severity`` only when ``harmful``, ``margin`` only when not a tie) cleared when
their condition does not hold for the consensus. Items with no label are not exported and are
counted (``unlabelled``).

Preference labels name ORIGINAL candidate indices (the web form and the batch import undo the
order each annotator saw), so chosen/rejected here are free of position bias.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.data.records import Record
from redline.errors import InputError, Problem
from redline.files import atomic_path

if TYPE_CHECKING:
    from redline.annotate.service import Annotations

EXPORTS: tuple[str, ...] = ("records", "sft", "dpo", "kto")
METHODS: tuple[str, ...] = ("majority", "dawid-skene", "model", "median")

__all__ = ["EXPORTS", "METHODS", "Decided", "ExportResult", "casebook_pack", "check_judge", "decide",
           "export_project", "labelled_rows", "resolve_judge"]


@dataclass
class Decided:
    """The label an item ends up with, and where it came from."""

    item_id: str
    record: Record
    values: dict[str, Any]
    how: str  # "adjudicated" | "gold" | a consensus method
    confidence: dict[str, float | None] = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)  # the annotators' Label objects
    reviewer: str | None = None
    judges: dict[str, str] = field(default_factory=dict)  # field → judge whose probabilities it used
    rationale: str | None = None  # the adjudicating reviewer's rationale

    def provenance(self, project: Any) -> dict[str, Any]:
        """Describe where this decided label came from, for an exported row's metadata.

        Args:
            project: The project the item belongs to (its name, task and policy are recorded).

        Returns:
            A JSON-ready dict: project, task, item, annotators, vendors, label sources, policy
            name/version/hash, the method and per-field confidences (rounded to 4 places) with
            their minimum, plus the judges used, the adjudicating reviewer and their rationale,
            and the annotators' notes (``[{"username", "note"}]``) when there are any.
        """
        conf = [c for c in self.confidence.values() if c is not None]
        return {
            "project": project.name, "task": project.task, "item_id": self.item_id,
            "annotators": sorted({lab.username for lab in self.labels}),
            "vendors": sorted({lab.vendor or "in-house" for lab in self.labels}),
            "n_labels": len(self.labels),
            "sources": sorted({str(lab.source) for lab in self.labels}),  # web, cli, import:<file>
            "policy": {"name": project.policy_name, "version": project.policy_version, "hash": project.policy_hash},
            "label_policy_versions": sorted({lab.policy_version for lab in self.labels}),
            "method": self.how,
            "confidence": {k: None if v is None else round(float(v), 4) for k, v in self.confidence.items()},
            "min_confidence": round(min(conf), 4) if conf else None,
            **({"judges": dict(self.judges)} if self.judges else {}),
            **({"adjudicated_by": self.reviewer} if self.reviewer else {}),
            **({"rationale": self.rationale} if self.rationale else {}),
            # the annotators' free-text notes, in label order (the note field is never a label)
            **({"notes": notes} if (notes := [
                {"username": lab.username, "note": n.strip()} for lab in self.labels
                if isinstance(n := lab.values.get("note"), str) and n.strip()]) else {}),
            # the anchoring experiment: per label, whether a model suggestion was visible, and which
            **({"suggestions": sug} if (sug := [
                {"username": lab.username, "shown": lab.suggestion_arm == "shown", "arm": lab.suggestion_arm,
                 "suggestion": lab.suggestion} for lab in self.labels
                if getattr(lab, "suggestion_arm", None)]) else {}),
        }


@dataclass
class ExportResult:
    """What an export of a project wrote.

    Attributes:
        out: The file written.
        kind: The export kind, one of ``EXPORTS``.
        written: Rows written.
        items: Items with a decided label.
        unlabelled: Items nobody has labelled yet (not exported).
        not_exportable: Items left out, counted by reason (e.g. ties).
    """

    out: Path
    kind: str
    written: int = 0  # rows written
    items: int = 0  # items with a decided label
    unlabelled: int = 0  # items nobody has labelled yet (not exported)
    not_exportable: dict[str, int] = field(default_factory=dict)  # reason → items (e.g. ties)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (``kind`` under ``"as"``, ``written`` under ``"rows"``)."""
        return {"out": str(self.out), "as": self.kind, "rows": self.written, "items": self.items,
                "unlabelled": self.unlabelled, "not_exportable": self.not_exportable}


# -- deciding labels --------------------------------------------------------------------------


def _hashable(v: Any) -> Any:
    return ",".join(map(str, v)) if isinstance(v, list) else v


def _field_ratings(spec: Any, labels: list[Any]) -> list[tuple[str, str, Any]]:
    """``(item, annotator, value)`` of one field. An explicit "none" answer (an always-asked field
    with a None option, like the prompt-label ``category`` "none") is a vote for "none", not a
    missing label — otherwise one annotator's category would outvote two who said "none"."""
    from redline.annotate.project_quality import NONE_LABEL, _none_is_answer

    none_votes = _none_is_answer(spec)
    out = []
    for lab in labels:
        if spec.name not in lab.values and not none_votes:
            continue
        v = lab.values.get(spec.name)
        if v is None:
            if not none_votes or spec.name not in lab.values:
                continue
            v = NONE_LABEL
        out.append((lab.item_id, lab.username, _hashable(v)))
    return out


def _field_consensus(method: str, spec: Any, labels: list[Any], model_probs: dict[str, dict[Any, float]] | None
                     ) -> dict[str, tuple[Any, float | None]]:
    from redline.annotate.consensus import run_consensus
    from redline.annotate.project_quality import NONE_LABEL

    ratings = _field_ratings(spec, labels)
    if not ratings:
        return {}
    if method == "model" and not model_probs:
        method = "dawid-skene"  # no judge opinion for this field: annotators only
    if method == "median" and spec.level == "nominal":
        method = "majority"  # a median needs ranks
    res = run_consensus(method, ratings, model_probs=model_probs)
    return {str(i): (None if ic.label == NONE_LABEL else ic.label, ic.confidence) for i, ic in res.items.items()}


def check_judge(name: str) -> None:
    """``name`` is a registered judge (``prefix:arg`` for parametrised ones), else InputError
    (exit 2) naming it, with the closest names and the list of valid ones."""
    import difflib

    from redline.judges.base import judge_names

    names = judge_names()
    prefix, colon, arg = name.partition(":")
    if name in names or (colon and arg and f"{prefix}:" in names):
        return
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise InputError(f"unknown judge {name!r}", [Problem(
        "--judge", f"no judge named {name!r}", f"{hint}use one of: {', '.join(names)} (see `redline judges`)")])


def resolve_judge(svc: Annotations, project: str, judge: str | None) -> str:
    """The judge of model-assisted consensus: ``judge`` (checked against the registry), else the
    project's ``settings.judge``; neither → InputError (model-assisted consensus without a judge
    would silently be Dawid–Skene)."""
    if judge:
        check_judge(judge)
        return judge
    own = svc.get_project(project).settings.judge
    if own:
        return own
    raise InputError("--method model needs a judge", [Problem(
        "--judge", f"no --judge given and project {project!r} has no judge",
        "pass --judge NAME (e.g. harm, refusal; see `redline judges`), or use --method dawid-skene")])


def _judge_field(judge: str) -> str:
    return "refusal" if judge == "refusal" else "harmful"


def _judge_probs(svc: Annotations, project: str, fields: list[str], judge: str
                 ) -> tuple[dict[str, dict[str, dict[Any, float]]], dict[str, str]]:
    """``{field: {item_id: {label: p}}}`` from an offline judge run (model-assisted consensus),
    and which judge scored each field: ``judge`` scores its field (``refusal`` → ``refusal``, any
    other judge → ``harmful``), the built-in judge scores the other one (``harm`` / ``refusal``);
    fields no judge scores are left out (annotators only). InputError when ``judge``'s field is
    not in the project or the judge scored no item (no responses)."""
    # not `from redline.annotate import project_quality`: the package exports a function of that name
    from redline.annotate.project_quality import _JUDGE_FOR, judge_probabilities

    jf = _judge_field(judge)
    p = svc.get_project(project)
    if jf not in fields:
        raise InputError(f"judge {judge!r} cannot score project {project!r}", [Problem(
            "--judge", f"{judge!r} scores the `{jf}` field; a {p.task} project has no such field",
            "use --method dawid-skene (model-assisted consensus needs responses judged for harm/refusal)")])
    out: dict[str, dict[str, dict[Any, float]]] = {}
    used: dict[str, str] = {}
    for f in fields:
        name = judge if f == jf else _JUDGE_FOR.get(f)
        if name is None:
            continue
        got = judge_probabilities(svc, project, f, name)
        if got:
            out[f], used[f] = got, name
    if jf not in out:
        raise InputError(f"judge {judge!r} scored no item of project {project!r}", [Problem(
            "--judge", "no item has a response the judge could score",
            "use --method dawid-skene, or label items that have responses")])
    return out, used


def decide(svc: Annotations, project: str, *, method: str = "dawid-skene", judge: str | None = None
           ) -> tuple[list[Decided], int]:
    """The decided label of every labelled item (see the module docstring), and how many items
    have no label at all."""
    from redline.annotate.schema import field_applies, task_fields

    if method not in METHODS:
        raise InputError(f"unknown consensus method {method!r}", [Problem(
            "--method", f"{method!r}", f"use one of {', '.join(METHODS)}")])
    p = svc.get_project(project)
    items = svc.items(project, include_gold=True)
    labels = svc.labels(project)
    by_item: dict[str, list[Any]] = defaultdict(list)
    for lab in labels:
        by_item[lab.item_id].append(lab)
    adj = {a.item_id: a for a in svc.adjudications(project)}
    fields = task_fields(p.task, p.schema)
    voted = [f for f in fields if f.level != "none"]
    probs: dict[str, dict[str, dict[Any, float]]] = {}
    used: dict[str, str] = {}
    if method == "model":
        probs, used = _judge_probs(svc, project, [f.name for f in voted], resolve_judge(svc, project, judge))
    per_field: dict[str, dict[str, tuple[Any, float | None]]] = {}
    for f in voted:
        per_field[f.name] = _field_consensus(method, f, labels, probs.get(f.name))
    out: list[Decided] = []
    unlabelled = 0
    for it in items:
        labs = by_item.get(it.item_id, [])
        a = adj.get(it.item_id)
        if a is not None:
            out.append(Decided(it.item_id, it.record, dict(a.values), "adjudicated",
                               dict.fromkeys(a.values, 1.0), labs, a.reviewer, rationale=a.rationale))
            continue
        if it.is_gold and it.gold is not None:
            out.append(Decided(it.item_id, it.record, dict(it.gold), "gold", dict.fromkeys(it.gold, 1.0), labs))
            continue
        if not labs:
            unlabelled += 1
            continue
        values: dict[str, Any] = {}
        conf: dict[str, float | None] = {}
        for f in fields:
            if not field_applies(f, values):
                values[f.name] = None
                continue
            if f.name in per_field and it.item_id in per_field[f.name]:
                v, c = per_field[f.name][it.item_id]
                values[f.name], conf[f.name] = v, c
            else:
                values[f.name] = None
        # honest provenance: "model" only where a judge's opinion went into this item's consensus
        judged = {f: j for f, j in used.items() if it.item_id in probs.get(f, {}) and values.get(f) is not None}
        how = method if method != "model" or judged else "annotators-only"
        out.append(Decided(it.item_id, it.record, values, how, conf, labs, judges=judged))
    return out, unlabelled


# -- records and calibration rows -------------------------------------------------------------

_LABEL_TYPES = (str, bool, int, float)


def _record(d: Decided, project: Any, exported: str) -> Record:
    rec = d.record.model_copy(deep=True)
    labs = {k: v for k, v in d.values.items() if isinstance(v, _LABEL_TYPES)}
    rec.labels = {**rec.labels, **labs}
    if "category" in labs and isinstance(labs["category"], str) and project.task == "prompt-label":
        rec.category = labs["category"]
    prov = d.provenance(project)
    prov["exported"] = exported
    rec.meta = {**rec.meta, "annotation": prov, "policy_hash": project.policy_hash}
    return rec


def labelled_rows(svc: Annotations, project: str, *, method: str = "dawid-skene", judge: str | None = None,
                  ) -> list[dict[str, Any]]:
    """The project's decided labels as ``redline calibrate`` label rows (``prompt``/``messages``,
    ``response``, ``harmful``, ``refusal``, ``category``, ``prompt_harmful``): response-label
    items with a response and at least one of ``harmful``/``refusal``."""
    from redline.data.records import dump_messages

    p = svc.get_project(project)
    if p.task != "response-label":
        raise InputError(f"project {project!r} is a {p.task} project", [Problem(
            project, "calibration needs response labels (harmful / refusal)",
            "calibrate against a response-label project")])
    decided, _ = decide(svc, project, method=method, judge=judge)
    rows = []
    for d in decided:
        rec = d.record
        if rec.response is None or (d.values.get("harmful") is None and d.values.get("refusal") is None):
            continue
        row: dict[str, Any] = {"id": d.item_id}
        if rec.is_simple():
            row["prompt"] = rec.prompt
        else:
            row["messages"] = dump_messages(rec.prompt_messages)
        row["response"] = rec.response
        for k in ("harmful", "refusal"):
            if d.values.get(k) is not None:
                row[k] = d.values[k]
        cat = d.values.get("category") or rec.category
        if cat:
            row["category"] = cat
        if rec.expected is not None:
            row["prompt_harmful"] = rec.expected.value != "comply"
        row["annotation"] = d.provenance(p)
        rows.append(row)
    return rows


# -- TRL exports ------------------------------------------------------------------------------


def _sft_response(d: Decided) -> str | None:
    """The response of an sft-write item: the adjudicated one, else the earliest response written
    with the consensus behaviour."""
    if d.how in ("adjudicated", "gold"):
        r = d.values.get("response")
        return r if isinstance(r, str) and r.strip() else None
    beh = d.values.get("behaviour")
    for lab in sorted(d.labels, key=lambda x: (x.created, x.id)):
        r = lab.values.get("response")
        if isinstance(r, str) and r.strip() and (beh is None or lab.values.get("behaviour") == beh):
            return r
    return None


def _revision(d: Decided, response: str) -> dict[str, Any]:
    """A revise item's draft and the edit that made ``response`` (the label that wrote it)."""
    for lab in sorted(d.labels, key=lambda x: (x.created, x.id)):
        if lab.values.get("response") == response and "draft" in lab.values:
            return {"draft": lab.values["draft"], "final": response, "drafter": lab.values.get("drafter"),
                    "edit_distance": lab.values.get("edit_distance"),
                    "edit_similarity": lab.values.get("edit_similarity"), "reason": lab.values.get("reason")}
    return {}


def _pairs(d: Decided) -> list[Record]:
    """Preference pairs (chosen = the decided choice, rejected = each other candidate)."""
    from redline.annotate.schema import candidates
    from redline.data.schema import Message, TextPart

    cands = candidates(d.record)
    ch = d.values.get("choice")
    if ch in (None, "tie") or not str(ch).isdigit() or int(ch) >= len(cands):
        return []
    best = int(ch)
    prompt = d.record.prompt_messages
    return [Record(id=f"{d.item_id}:{best}>{j}", messages=prompt,
                   chosen=[Message(role="assistant", content=[TextPart(text=cands[best])])],
                   rejected=[Message(role="assistant", content=[TextPart(text=cands[j])])])
            for j in range(len(cands)) if j != best]


def _with_metadata(writer: Any, meta_of: Callable[[Record], dict[str, Any]]) -> Any:
    """The TRL format writers (``redline.data.formats.trl_*``) write the training columns only;
    provenance goes into a ``metadata`` column of every row (TRL ignores extra columns), through
    the JSONL writer's ``extra`` hook."""
    if not hasattr(writer, "extra"):
        raise TypeError(f"{type(writer).__name__} has no `extra` hook for the metadata column")
    writer.extra = lambda r: {"metadata": meta_of(r)}
    return writer


def _records_format(out: Path) -> str:
    """The data format of a records export, by ``out``'s extension; else InputError naming
    export's own options (``--to FORMAT`` or a known extension)."""
    from redline.data.formats import detect_format, formats

    try:
        return detect_format(out)
    except InputError:
        names = ", ".join(sorted(formats()))
        raise InputError(f"cannot tell the format of {out}", [Problem(
            f"--out {out}", f"the extension {out.suffix or '(none)'!r} is not a data format",
            f"pass --to FORMAT (one of {names}) or use a known extension such as .jsonl, .csv or .parquet")]) from None


def export_project(svc: Annotations, project: str, kind: str, out: Path, *, method: str = "dawid-skene",
                   judge: str | None = None, fmt: str | None = None) -> ExportResult:
    """Write the project's decided labels as ``records`` (any data format, by ``fmt`` or the file
    extension), or as TRL ``sft`` / ``dpo`` / ``kto`` JSONL with provenance in ``metadata``."""
    from redline.data.formats import get_format

    if kind not in EXPORTS:
        raise InputError(f"unknown export {kind!r}", [Problem("--as", f"{kind!r}", f"use one of {', '.join(EXPORTS)}")])
    p = svc.get_project(project)
    need = {"sft": ("sft-write", "revise"), "dpo": ("preference",), "kto": ("preference", "response-label")}
    if kind in need and p.task not in need[kind]:
        raise InputError(f"cannot export a {p.task} project as {kind}", [Problem(
            project, f"{kind} needs a {' or '.join(need[kind])} project",
            "export records (--as records), or choose the matching project")])
    decided, unlabelled = decide(svc, project, method=method, judge=judge)
    res = ExportResult(out=out, kind=kind, unlabelled=unlabelled)
    exported = datetime.now(UTC).isoformat(timespec="seconds")
    rows: list[tuple[Record, dict[str, Any]]] = []

    def skip(reason: str) -> None:
        res.not_exportable[reason] = res.not_exportable.get(reason, 0) + 1

    for d in decided:
        prov = {**d.provenance(p), "exported": exported}
        if kind == "records":
            rows.append((_record(d, p, exported), prov))
        elif kind == "sft":
            resp = _sft_response(d)
            if resp is None:
                skip("no response written")
                continue
            from redline.data.schema import Message, TextPart

            rec = Record(id=d.item_id, messages=[*d.record.prompt_messages,
                                                 Message(role="assistant", content=[TextPart(text=resp)])])
            rows.append((rec, {**prov, "behaviour": d.values.get("behaviour"), **_revision(d, resp)}))
        elif p.task == "preference":
            pairs = _pairs(d)
            if not pairs:
                skip("tie or no choice")
                continue
            rows += [(r, {**prov, "margin": d.values.get("margin")}) for r in pairs]
        else:  # kto from response labels: a harmless response is desirable, a harmful one is not
            harmful = d.values.get("harmful")
            if d.record.response is None or not isinstance(harmful, bool):
                skip("no response or no harmful label")
                continue
            rec = d.record.model_copy(deep=True)
            rec.labels = {"desirable": not harmful}
            rows.append((rec, prov))
        res.items += 1
    fmt_name = {"sft": "trl_sft", "dpo": "trl_dpo", "kto": "trl_kto"}.get(kind) or fmt or _records_format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        writer = get_format(fmt_name).open_writer(tmp)
        meta: dict[int, dict[str, Any]] = {}
        if kind != "records":
            writer = _with_metadata(writer, lambda r: meta[id(r)])
        try:
            for rec, prov in rows:
                meta[id(rec)] = prov
                writer.write(rec)
                res.written += 2 if kind == "kto" and rec.chosen is not None else 1
        except ValueError as e:
            writer.close()
            raise InputError(f"cannot write {out} as {fmt_name}", [Problem(str(out), str(e),
                                                                           "choose another format")]) from None
        writer.close()
    return res


# -- casebook pack -----------------------------------------------------------------------------


def casebook_pack(svc: Annotations, project: str, *, name: str | None = None) -> tuple[str, int]:
    """A policy pack (YAML text) that ``extends`` the project's policy with the adjudicated cases
    promoted to the casebook, and the number of cases."""
    import yaml

    p = svc.get_project(project)
    if p.schema.get("kind") == "rubric":  # a rubric cannot be extended; its cases are scores, not nodes
        raise InputError(f"project {project!r} scores with a rubric", [Problem(
            project, "the casebook export writes a harm-policy pack that extends the project's policy",
            f"add worked cases to the rubric pack's `casebook` by hand ({p.policy_ref}), then "
            "`redline policy lint` it")])
    cases = svc.casebook(project)
    base = p.policy_ref
    if Path(base).exists():
        base = str(Path(base).resolve())
    doc: dict[str, Any] = {
        "name": name or f"{p.policy_name}-{project}-casebook",
        "version": f"{p.policy_version}+casebook.{len(cases)}",
        "description": f"{p.policy_name} {p.policy_version} with the {len(cases)} adjudicated case(s) of "
                       f"annotation project {project}.",
        "extends": base,
        "changelog": [{"version": f"{p.policy_version}+casebook.{len(cases)}",
                       "date": datetime.now(UTC).date().isoformat(),
                       "changes": [f"add {len(cases)} adjudicated case(s) from annotation project {project}"]}],
        "casebook": [c.model_dump(mode="json", exclude_none=True) for c in cases],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), len(cases)

