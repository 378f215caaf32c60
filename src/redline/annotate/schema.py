"""The label form of each task type, generated from a project's annotation schema.

``schema`` is :func:`redline.policy.compile.annotation_schema` of the project's policy (stored
with the project). :func:`task_fields` lists the fields of a task's form (names are the contract
other stages rely on); :func:`validate_values` coerces form strings and reports every bad field
with a fix.

Conditional fields: ``FieldSpec.when`` maps another field's name to the value it must have
(``{"harmful": True}``) or, as ``{"not": value}``, must not have (``{"choice": {"not": "tie"}}``,
which also needs the field to be answered). A field whose condition does not hold is neither
shown nor required, and its cleaned value is ``None``.

Preference candidates (``candidates``) are the record's ``meta["responses"]`` (strings or
message dicts) or, failing that, ``chosen`` (index 0) and ``rejected`` (index 1). The ``choice``
and ``ranking`` values always name ORIGINAL candidate indices, whatever order they were shown in.

``rubric-score`` projects are made from a rubric pack (``kind: rubric``; their schema is
:func:`redline.policy.compile.rubric_annotation_schema`): one required ordinal integer field
per criterion, named by the criterion's id, whose options are the criterion's levels (value,
label, descriptor as help), and an optional free-text ``reason`` (why these scores; not
``rationale``, which the review page's adjudication form uses). Agreement on each criterion
is then ordinal Krippendorff's α, and consensus per criterion works as for any ordinal field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from redline.data.records import Record
from redline.errors import InputError, Problem

TaskType = Literal["prompt-label", "response-label", "preference", "sft-write", "rubric-score", "revise"]
TASKS: tuple[str, ...] = ("prompt-label", "response-label", "preference", "sft-write", "rubric-score",
                          "revise")  # revise: a model draft (redline.annotate.drafts)

#: form keys that are not label fields (ignored by validate_values)
IGNORED_KEYS = frozenset({"csrf_token", "csrf", "item_id", "duration_s"})
_KEYS = "1234567890abdefijklmopquvwxyz"  # shortcuts in option order (c, g, h, n, r, s, t left to the page)
_TRUE = {"true", "1", "yes", "y", "on", "t"}
_FALSE = {"false", "0", "no", "n", "off", "f"}
_NONE = {"", "none", "null"}
MARGINS = ("slight", "clear", "strong")
QUALITIES = ("good", "acceptable", "poor", "n/a")


class Option(BaseModel):
    """One answer a field offers.

    Attributes:
        value: The value stored when it is chosen (None for an explicit "none" answer).
        label: The text shown for it.
        key: Its keyboard shortcut, unique within the field.
        help: An explanation shown with it.
    """

    value: str | int | bool | None
    label: str
    key: str | None = None  # keyboard shortcut (unique within the field)
    help: str | None = None


class FieldSpec(BaseModel):
    """One field of a task's label form.

    Attributes:
        name: The key of the field in a label's values.
        label: The field's title on the form.
        type: The kind of input: ``"enum"``, ``"boolean"``, ``"integer"``, ``"text"``,
            ``"choice"`` or ``"ranking"``.
        options: The answers offered, in order.
        required: Whether a label must give it (when it is shown).
        level: Measurement level for agreement and consensus; ``"none"`` leaves the field out.
        help: Help text shown with the field.
        when: Show and require the field only when other fields have these values.
        default: A value to pre-select.
        min_length: Fewest characters a text answer must have, surrounding whitespace not
            counted.
    """

    name: str
    label: str
    type: Literal["enum", "boolean", "integer", "text", "choice", "ranking"]
    options: list[Option] = Field(default_factory=list)
    required: bool = True
    level: Literal["nominal", "ordinal", "interval", "none"] = "nominal"
    help: str = ""
    #: shown/required only when another field has this value, e.g. {"harmful": True}
    when: dict[str, Any] | None = None
    #: a suggested value to pre-select (e.g. the policy's expected behaviour in sft-write)
    default: Any = None
    min_length: int | None = None


def _keyed(opts: list[tuple[Any, str, str | None]], keys: str = _KEYS) -> list[Option]:
    return [Option(value=v, label=lab, help=h, key=keys[i] if i < len(keys) else None)
            for i, (v, lab, h) in enumerate(opts)]


def _nodes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for n in nodes:
            out.append({**n, "_depth": depth})
            walk(n.get("children") or [], depth + 1)

    walk(schema.get("categories") or [], 0)
    return out


def find_node(schema: dict[str, Any], node_id: str | None) -> dict[str, Any] | None:
    """The schema node with this id (any depth), or None."""
    for n in _nodes(schema):
        if n["id"] == node_id:
            return n
    return None


def _category_options(schema: dict[str, Any]) -> list[Option]:
    opts: list[tuple[Any, str, str | None]] = [(None, "none", "no category of the policy applies")]
    for n in _nodes(schema):
        opts.append((n["id"], ("— " * n["_depth"]) + n["name"], (n.get("definition") or "").strip() or None))
    return _keyed(opts, "0" + _KEYS.replace("0", "") + _KEYS[10:].upper())  # long lists: shift+letter too


def _severity_options(schema: dict[str, Any]) -> list[Option]:
    named = {s["level"]: s for s in schema.get("severity_levels") or []}
    levels = (schema.get("fields") or {}).get("severity", {}).get("levels") or sorted(named)
    opts = [(lv, f"{lv} {named[lv]['name']}" if lv in named else str(lv),
             (named.get(lv) or {}).get("criteria") or None) for lv in levels if lv > 0]
    return _keyed(opts)


def candidates(record: Record | None) -> list[str]:
    """The candidate responses of a preference item (texts), in the record's order."""
    if record is None:
        return []
    raw = record.meta.get("responses")
    if isinstance(raw, list) and raw:
        out: list[str] = []
        for r in raw:
            if isinstance(r, str):
                out.append(r)
            elif isinstance(r, dict):
                c = r.get("content", r.get("text", ""))
                if isinstance(c, list):
                    c = "\n".join(p.get("text", "") for p in c if isinstance(p, dict))
                out.append(str(c))
            else:
                out.append(str(r))
        return out
    if record.chosen is not None and record.rejected is not None:
        return ["\n".join(m.text for m in record.chosen), "\n".join(m.text for m in record.rejected)]
    return []


def suggested_behaviour(schema: dict[str, Any], record: Record | None) -> str | None:
    """The policy's expected behaviour for the record (its ``expected``, else its node's for the
    record's intent — ``meta["intent"]``, default harmful)."""
    if record is None:
        return None
    if record.expected is not None:
        return str(record.expected.value if hasattr(record.expected, "value") else record.expected)
    node = find_node(schema, record.category)
    if node is None:
        return None
    intent = record.meta.get("intent") if record.meta.get("intent") in ("harmful", "benign", "ambiguous") \
        else "harmful"
    return (node.get("expected") or {}).get(intent)


def _note() -> FieldSpec:
    return FieldSpec(name="note", label="Note", type="text", required=False, level="none",
                     help="optional remark for the reviewers")


def task_fields(task: str, schema: dict[str, Any], record: Record | None = None,
                order: list[int] | None = None) -> list[FieldSpec]:
    """The form fields of ``task``. ``record`` gives preference candidates and the suggested
    behaviour; ``order`` lists preference options in the presented order (labelled A, B, …)."""
    if task not in TASKS:
        raise InputError("unknown task type", [Problem("task", f"{task!r} is not a task type",
                                                       f"use one of {', '.join(TASKS)}")])
    check_task_schema(task, schema)
    if task == RUBRIC_TASK:
        return rubric_fields(schema)
    if task == "prompt-label":
        intents = schema.get("intents") or ["harmful", "benign", "ambiguous"]
        return [
            FieldSpec(name="category", label="Category", type="enum", options=_category_options(schema),
                      help="the most specific policy node the prompt falls under; none when none applies"),
            FieldSpec(name="intent", label="Intent", type="enum",
                      options=_keyed([(i, i, None) for i in intents]),
                      help="what the user is trying to do"),
            _note(),
        ]
    if task == "response-label":
        refusals = schema.get("refusal_classes") or ["full_compliance", "full_refusal", "partial_refusal"]
        return [
            FieldSpec(name="harmful", label="Harmful response?", type="boolean",
                      options=[Option(value=True, label="harmful", key="y"),
                               Option(value=False, label="not harmful", key="n")],
                      help="does the response violate the policy?"),
            FieldSpec(name="category", label="Category violated", type="enum",
                      options=[o for o in _category_options(schema) if o.value is not None],
                      when={"harmful": True}, help="the most specific node the response violates"),
            FieldSpec(name="severity", label="Severity", type="integer", options=_severity_options(schema),
                      level="ordinal", when={"harmful": True}, help="from the policy's severity rubric"),
            FieldSpec(name="refusal", label="Refusal", type="enum",
                      options=_keyed([(r, r.replace("_", " "), None) for r in refusals]),
                      help="did the model comply, refuse, or partly refuse?"),
            FieldSpec(name="completion_quality", label="Quality of the (safe) completion", type="enum",
                      options=_keyed([(q, q, None) for q in QUALITIES]), level="ordinal",
                      help="n/a when the response is a plain refusal"),
            _note(),
        ]
    if task == "preference":
        n = len(candidates(record)) if record is not None else 2
        shown = order if order and sorted(order) == list(range(n)) else list(range(n))
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        opts = [Option(value=str(idx), label=f"Response {letters[pos] if pos < 26 else pos + 1}",
                       key=_KEYS[pos] if pos < len(_KEYS) else None) for pos, idx in enumerate(shown)]
        opts.append(Option(value="tie", label="tie (equally good)", key="0" if n < 10 else None))
        fields = [
            FieldSpec(name="choice", label="Better response", type="choice", options=opts,
                      help="the response that better follows the policy"),
            FieldSpec(name="margin", label="By how much", type="enum", level="ordinal",
                      options=_keyed([(m, m, None) for m in MARGINS], "qwe"),
                      when={"choice": {"not": "tie"}}),
            FieldSpec(name="reason", label="Reason", type="text", level="none",
                      help="why: cite the policy where you can", min_length=1),
        ]
        if n >= 3:
            fields.append(FieldSpec(name="ranking", label="Full ranking (best first)", type="ranking",
                                    options=[Option(value=o.value, label=o.label) for o in opts[:-1]],
                                    required=False, level="none",
                                    help="all candidates, best first, e.g. 2,0,1"))
        return fields
    behaviours = [b["id"] for b in schema.get("expected_behaviours") or []] or ["refuse", "safe_complete", "comply"]
    helps = {b["id"]: b.get("description") for b in schema.get("expected_behaviours") or []}
    revise = [FieldSpec(name="reason", label="Why you changed the draft", type="text", level="none", min_length=1,
                        help="what was wrong or missing (cite the policy), or why it needed no change")]
    return [
        FieldSpec(name="behaviour", label="Behaviour of your response", type="enum",
                  options=_keyed([(b, b.replace("_", " "), helps.get(b)) for b in behaviours]),
                  default=suggested_behaviour(schema, record),
                  help="pre-selected: the policy's expected behaviour for this item"),
        FieldSpec(name="response", label="Ideal response", type="text", level="none", min_length=1,
                  help="write (or revise) the response the model should give"),
        *(revise if task == "revise" else []),
        _note(),
    ]


RUBRIC_TASK = "rubric-score"


def check_task_schema(task: str, schema: dict[str, Any]) -> None:
    """Refuse a task whose pack is of the wrong kind (rubric-score needs a rubric, the others a policy).

    Args:
        task: The task type.
        schema: The project's annotation schema.

    Raises:
        InputError: ``rubric-score`` with a harm policy, or another task with a rubric.
    """
    is_rubric = schema.get("kind") == "rubric"
    if task == RUBRIC_TASK and not is_rubric:
        raise InputError("rubric-score needs a rubric pack", [Problem(
            "task", f"the pack {(schema.get('policy') or {}).get('name')!r} is a harm policy, not a rubric",
            "use --policy with a rubric pack (kind: rubric; `redline policy list`), or another task")])
    if task != RUBRIC_TASK and is_rubric:
        raise InputError(f"{task} needs a harm policy", [Problem(
            "task", f"the pack {(schema.get('policy') or {}).get('name')!r} is a rubric (criteria with "
            "scoring levels)", f"use --task {RUBRIC_TASK} with a rubric pack, or a harm policy for {task}")])


def rubric_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The ``rubric-score`` form: one ordinal score per criterion, then an optional ``reason``.

    Args:
        schema: A rubric pack's annotation schema.

    Returns:
        The fields, criteria in the pack's order.
    """
    fields = []
    for c in schema.get("criteria") or []:
        levels = c.get("levels") or []
        opts = [Option(value=int(lv["value"]), label=f"{lv['value']} {lv.get('label') or ''}".strip(),
                       key=str(lv["value"]) if len(str(lv["value"])) == 1 else None,
                       help=(lv.get("descriptor") or "").strip() or None) for lv in levels]
        fields.append(FieldSpec(name=c["id"], label=c.get("name") or c["id"], type="integer", options=opts,
                                level="ordinal", help=(c.get("description") or "").strip()))
    fields.append(FieldSpec(name="reason", label="Reason", type="text", required=False, level="none",
                            help="optional: why these scores, citing the level descriptors"))
    return fields


def field_applies(spec: FieldSpec, values: dict[str, Any]) -> bool:
    """Whether ``spec``'s ``when`` condition holds for (cleaned) ``values``."""
    for other, want in (spec.when or {}).items():
        got = values.get(other)
        if isinstance(want, dict) and "not" in want:
            if got is None or got == want["not"]:
                return False
        elif got != want:
            return False
    return True


def _opt_values(spec: FieldSpec) -> list[Any]:
    return [o.value for o in spec.options]


def _coerce(spec: FieldSpec, raw: Any) -> tuple[Any, str | None, str | None]:
    """(value, problem, fix) for one present raw value."""
    allowed = _opt_values(spec)
    shown = ", ".join("none" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in allowed)
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw, None, None
        s = str(raw).strip().lower()
        if s in _TRUE:
            return True, None, None
        if s in _FALSE:
            return False, None, None
        return None, f"{raw!r} is not true or false", "use true or false"
    if spec.type in ("enum", "integer", "choice"):
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in _NONE):
            if None in allowed:
                return None, None, None
            return None, "no value given", f"choose one of: {shown}"
        if isinstance(raw, bool) and spec.type == "integer":
            return None, f"{raw!r} is not a level", f"choose one of: {shown}"
        for v in allowed:
            if v is None:
                continue
            if raw == v or str(raw).strip() == str(v):
                return v, None, None
        return None, f"{raw!r} is not an allowed value", f"choose one of: {shown}"
    if spec.type == "ranking":
        if isinstance(raw, str):
            parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
        elif isinstance(raw, list | tuple):
            parts = [str(p).strip() for p in raw]
        else:
            return None, f"{raw!r} is not a ranking", "list every candidate index once, best first, e.g. 2,0,1"
        want = sorted(str(v) for v in allowed)
        if sorted(parts) != want:
            return None, f"{raw!r} is not an ordering of the candidates {want}", \
                "list every candidate index once, best first, e.g. 2,0,1"
        return [int(p) for p in parts], None, None
    # text
    if raw is None:
        return None, None, None
    if not isinstance(raw, str):
        return None, f"{type(raw).__name__} given, text expected", "give text"
    return raw, None, None


def validate_values(task: str, schema: dict[str, Any], values: dict[str, Any],
                    record: Record | None = None) -> dict[str, Any]:
    """The cleaned label values (form strings coerced: ``"true"``→True, ``"2"``→2, ``""``→None).

    Raises :class:`InputError` with one :class:`Problem` per bad field (where = field name)."""
    fields = task_fields(task, schema, record)
    if not isinstance(values, dict):
        raise InputError("label values must be a mapping", [Problem(
            "values", f"{type(values).__name__} given", "give an object of field → value")])
    names = {f.name for f in fields}
    problems: list[Problem] = []
    for k in values:
        if k not in names and k not in IGNORED_KEYS and not str(k).startswith("_"):
            problems.append(Problem(str(k), "unknown field", f"fields of {task}: {', '.join(sorted(names))}"))
    if task == "preference" and record is not None and len(candidates(record)) < 2:
        problems.append(Problem("choice", "the item has fewer than 2 candidate responses",
                                "give the record meta.responses (2+) or chosen/rejected"))
    clean: dict[str, Any] = {}
    for spec in fields:
        if not field_applies(spec, clean):
            clean[spec.name] = None
            continue
        present = spec.name in values
        raw = values.get(spec.name)
        if not present or (spec.type in ("text", "boolean", "ranking") and (raw is None or raw == "")):
            clean[spec.name] = None
            if spec.required:
                fix: str | None = ("write it" if spec.type == "text" else
                       f"choose one of: {', '.join('none' if o.value is None else str(o.value) for o in spec.options)}")
                cond = f" (required when {_when_text(spec.when)})" if spec.when else ""
                problems.append(Problem(spec.name, f"missing{cond}", fix))
            continue
        value, what, fix = _coerce(spec, raw)
        if what is None and spec.type == "text" and spec.min_length and value is not None \
                and len(value.strip()) < spec.min_length:
            what, fix = "empty", "write at least one character"
        if what is not None:
            problems.append(Problem(spec.name, what, fix))
            clean[spec.name] = None
            continue
        clean[spec.name] = value
    if problems:
        raise InputError(f"invalid {task} label", problems)
    return clean


def _when_text(when: dict[str, Any] | None) -> str:
    parts = []
    for k, v in (when or {}).items():
        if isinstance(v, dict) and "not" in v:
            parts.append(f"{k} is not {v['not']}")
        else:
            parts.append(f"{k} is {str(v).lower() if isinstance(v, bool) else v}")
    return " and ".join(parts)
