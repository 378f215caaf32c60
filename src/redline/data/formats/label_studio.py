"""``label_studio``: Label Studio tasks (import) and JSON exports.

A task is ``{"id", "data": {...}, "annotations": [{"completed_by", "result": [...]}], "predictions"}``.
``data`` maps like a CSV row (``text`` is taken as the prompt when there is no ``prompt``; the
record id is ``data.id``, Label Studio's own task id only when there is none).

Reading: every annotation is kept. Results of type ``choices``, ``textarea``, ``rating`` and
``number`` become ``labels[from_name]`` from the first annotation that was not cancelled; every
annotation's labels are in ``meta['annotations']`` (``[{annotator, labels}]``, when annotators are
named or there are several; results of other types are kept there as ``results``, raw), label
names the annotators disagree on in ``meta['label_disagreement']``. The annotator is Label Studio's
``completed_by`` (its user id, or the e-mail when the export expands it) — or, for an annotation
Redline wrote, the annotator Redline named (``data.redline.annotators``, by the annotation's
``import_id``). Choice values are text in Label Studio; the types Redline wrote
(``data.redline.label_types``: ``boolean``, ``integer``, ``number``, ``string``) are restored. A
task every annotator skipped (``was_cancelled``) gets ``meta['skipped'] = true`` (partly skipped:
``meta['cancelled_annotations']``).

Writing produces an importable JSON array of tasks — ``data`` holds the record's columns, its
``meta`` (an object), a ``dialogue`` (the whole conversation, system prompt first, for display)
and ``redline`` (label types, annotators) — the labels as pre-filled annotations (choice values as
text: ``"true"``, ``"3"``), and a labelling config (``OUT.label_config.xml``) whose controls match
them: human-readable choices with the stored value as ``alias``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from redline.data.formats.base import (
    FieldMap,
    Item,
    JsonRowFormat,
    parse_rows,
    record_to_flat,
    row_to_record,
)
from redline.data.records import Record
from redline.plugins import plugin

#: choices are offered for a text label with at most this many distinct values (else a text area)
MAX_CHOICES = 30
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _typed(text: Any, kind: str | None) -> Any:
    """A choice's text back in the type Redline wrote it with (unchanged when it does not parse)."""
    if not isinstance(text, str) or kind in (None, "string"):
        return text
    s = text.strip()
    if kind == "boolean" and s.lower() in ("true", "false"):
        return s.lower() == "true"
    try:
        if kind == "integer":
            return int(s)
        if kind == "number":
            return float(s)
    except ValueError:
        pass
    return text


def _result_labels(results: list[Any], types: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """``(labels, other results)`` of one annotation: the results that are labels, typed, and the
    rest (regions, unknown types) kept raw."""
    labels: dict[str, Any] = {}
    other: list[Any] = []
    for res in results or []:
        if not isinstance(res, dict):
            other.append(res)
            continue
        name, value, kind = res.get("from_name"), res.get("value") or {}, res.get("type")
        if not name or not isinstance(value, dict):
            other.append(res)
            continue
        if kind == "choices" and value.get("choices"):
            ch = value["choices"]
            labels[name] = _typed(ch[0], types.get(name)) if len(ch) == 1 else ",".join(map(str, ch))
        elif kind == "textarea" and value.get("text"):
            labels[name] = _typed("\n".join(map(str, value["text"])), types.get(name))
        elif kind == "rating" and "rating" in value:
            labels[name] = value["rating"]
        elif kind == "number" and isinstance(value.get("number"), int | float):
            labels[name] = value["number"]
        else:
            other.append(res)
    return labels, other


def _annotator(ann: dict[str, Any], redline: dict[str, Any] | None) -> Any:
    """Who made an annotation: the annotator Redline wrote it for (by import id), else ``completed_by``."""
    if redline is not None:
        key = ann["import_id"] if "import_id" in ann else ann.get("id")
        if key is not None:
            names = redline.get("annotators")
            return names.get(str(key)) if isinstance(names, dict) else None
    who = ann.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return who


def _parse(task: dict[str, Any], n: int) -> Record:
    if not isinstance(task.get("data"), dict):
        raise ValueError("field 'data': missing (a Label Studio task is {\"data\": {...}, \"annotations\": [...]})")
    data = dict(task["data"])
    redline = data.get("redline")
    if isinstance(redline, dict) and ("label_types" in redline or "annotators" in redline):
        del data["redline"]  # what Redline wrote about the task (label types, annotators)
        data.pop("dialogue", None)  # the display copy of the conversation Redline wrote
    else:
        redline = None
    types = (redline or {}).get("label_types") or {}
    if "prompt" not in data and "messages" not in data and "text" in data:
        data["prompt"] = data.pop("text")
    if "id" not in data and task.get("id") is not None:
        data["id"] = task["id"]
    rec = row_to_record(data, n)
    per_annotator: list[dict[str, Any]] = []
    anns = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
    for ann in anns:
        if ann.get("was_cancelled"):
            continue
        labs, other = _result_labels(ann.get("result") or [], types if isinstance(types, dict) else {})
        entry: dict[str, Any] = {"annotator": _annotator(ann, redline), "labels": labs}
        if other:
            entry["results"] = other
        per_annotator.append(entry)
    cancelled = sum(1 for a in anns if a.get("was_cancelled"))
    if anns and cancelled == len(anns):
        rec.meta["skipped"] = True  # every annotator skipped the task: unlabelled on purpose
    elif cancelled:
        rec.meta["cancelled_annotations"] = cancelled
    if per_annotator:
        first: dict[str, Any] = next((a["labels"] for a in per_annotator if a["labels"]), {})
        rec.labels = {**first, **rec.labels}
        if len(per_annotator) > 1 or per_annotator[0]["annotator"] is not None or "results" in per_annotator[0] \
                or not per_annotator[0]["labels"]:
            rec.meta["annotations"] = per_annotator
        names = sorted({k for a in per_annotator for k in a["labels"]})
        split = [k for k in names if len({repr(a["labels"].get(k)) for a in per_annotator}) > 1]
        if split:  # `labels` holds the first annotator's; the others are in meta.annotations
            rec.meta["label_disagreement"] = split
    return rec


def _type_of(v: Any) -> str:
    return _TYPES.get(type(v), "string")


def _text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _dialogue(r: Record) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.text or "(image)"} for m in r.messages]


def _spool_task(r: Record) -> dict[str, Any]:
    """A record as a task before its results are shaped (that waits for every record's labels)."""
    flat = record_to_flat(r)
    data: dict[str, Any] = {k: v for k, v in flat.items() if v is not None and k not in ("labels", "meta")}
    meta = {k: v for k, v in r.meta.items() if k not in ("annotations", "label_disagreement")}
    if meta:
        data["meta"] = meta
    data["dialogue"] = _dialogue(r)
    raw = r.meta.get("annotations")
    anns = [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []
    if not anns and r.labels:
        anns = [{"annotator": None, "labels": r.labels}]
    return {"data": data, "anns": [{"annotator": a.get("annotator"),
                                    "labels": a.get("labels") if isinstance(a.get("labels"), dict) else {},
                                    "results": a.get("results") if isinstance(a.get("results"), list) else []}
                                   for a in anns]}


def _human(value: str) -> str:
    s = value.replace("_", " ").strip()
    return s[:1].upper() + s[1:] if s else value


class _Controls:
    """What each label name becomes in Label Studio, decided from every record's values."""

    def __init__(self) -> None:
        self.types: dict[str, set[str]] = {}
        self.values: dict[str, dict[str, None]] = {}  # name → distinct texts (in order, capped)

    def add(self, labels: dict[str, Any]) -> None:
        for k, v in labels.items():
            self.types.setdefault(k, set()).add(_type_of(v))
            seen = self.values.setdefault(k, {})
            if len(seen) <= MAX_CHOICES:
                seen[_text(v)] = None

    def kind(self, name: str) -> str:
        """``choices``, ``number`` or ``textarea`` for a label name."""
        types = self.types.get(name, set())
        if "number" in types and types <= {"number", "integer"}:
            return "number"
        if types == {"boolean"} or (types in ({"integer"}, {"string"})
                                    and len(self.values.get(name, {})) <= MAX_CHOICES):
            return "choices"
        return "textarea"

    def file_types(self) -> dict[str, str]:
        """Label names with one type in the whole file (a new annotation of any task gets it)."""
        return {k: next(iter(t)) for k, t in self.types.items() if len(t) == 1}

    def options(self, name: str) -> list[tuple[str, str]]:
        """``(shown, stored)`` choices of a label name."""
        texts = list(self.values.get(name, {}))
        if self.types.get(name) == {"boolean"}:
            return [("Yes", "true"), ("No", "false")]
        if self.types.get(name) == {"integer"}:
            return [(t, t) for t in sorted(texts, key=int)]
        return [(_human(t), t) for t in texts]

    def config(self, pairs: bool) -> str:
        """The labelling config: the conversation (system prompt first), then a control per label."""
        lines = ["<View>", '  <Header value="Conversation (system prompt, user and assistant turns)"/>',
                 '  <Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="role" '
                 'textKey="content"/>']
        if pairs:
            lines += ['  <Header value="Chosen"/>', '  <Text name="chosen" value="$chosen"/>',
                      '  <Header value="Rejected"/>', '  <Text name="rejected" value="$rejected"/>']
        for name in self.types:
            q = quoteattr(name)
            lines.append(f"  <Header value={quoteattr(_human(name))}/>")
            kind = self.kind(name)
            if kind == "choices":
                lines.append(f'  <Choices name={q} toName="dialogue" choice="single" showInline="true">')
                for shown, stored in self.options(name):
                    alias = "" if shown == stored else f" alias={quoteattr(stored)}"
                    lines.append(f"    <Choice value={quoteattr(shown)}{alias}/>")
                lines.append("  </Choices>")
            elif kind == "number":
                lines.append(f'  <Number name={q} toName="dialogue"/>')
            else:
                lines.append(f'  <TextArea name={q} toName="dialogue" maxSubmissions="1"/>')
        lines.append("</View>")
        return "\n".join(lines) + "\n"

    def result(self, name: str, v: Any) -> dict[str, Any]:
        """One label as an annotation result matching the config's control."""
        kind = self.kind(name)
        value: dict[str, Any] = ({"choices": [_text(v)]} if kind == "choices" else
                                 {"number": v} if kind == "number" else {"text": [_text(v)]})
        return {"from_name": name, "to_name": "dialogue", "type": kind, "value": value}


class LabelStudioWriter:
    """Writes the task array and the labelling config that fits it.

    Records are spooled to a temporary file (memory stays flat) while every label's values are
    seen; :meth:`close` then writes the tasks with results shaped for the config's controls, and
    :meth:`finish` writes the config beside the output.
    """

    def __init__(self, path: Path):
        self._path = path
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._controls = _Controls()
        self._pairs = False
        self.config = ""
        self.notes: list[str] = []

    def write(self, record: Record) -> None:
        """Spool one record as a task."""
        task = _spool_task(record)
        for a in task["anns"]:
            self._controls.add(a["labels"])
        self._pairs = self._pairs or record.chosen is not None
        self._spool.write(json.dumps(task, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Write the JSON array of tasks (results as the config's controls expect them)."""
        ctl = self._controls
        file_types = ctl.file_types()
        self._spool.seek(0)
        with open(self._path, "w", encoding="utf-8", newline="\n") as f:
            f.write("[")
            for i, line in enumerate(self._spool):
                spooled = json.loads(line)
                data = spooled["data"]
                if self._pairs:  # every task has every key the config shows
                    data.setdefault("chosen", "")
                    data.setdefault("rejected", "")
                own = {k: _type_of(v) for a in spooled["anns"] for k, v in a["labels"].items()}
                annotators = {str(j): a["annotator"] for j, a in enumerate(spooled["anns"], 1)
                              if a["annotator"] is not None}
                data["redline"] = {"label_types": {**file_types, **own}, "annotators": annotators}
                task: dict[str, Any] = {"data": data}
                if spooled["anns"]:
                    task["annotations"] = [{"id": j, "result": [ctl.result(k, v) for k, v in a["labels"].items()]
                                            + a["results"]} for j, a in enumerate(spooled["anns"], 1)]
                f.write(("\n" if i == 0 else ",\n") + json.dumps(task, ensure_ascii=False))
            f.write("\n]\n")
        self._spool.close()
        self.config = ctl.config(self._pairs)

    def finish(self, out: Path) -> list[str]:
        """Write the labelling config beside the finished output ``out``.

        Args:
            out: The task file, at its final path.

        Returns:
            A note naming the config file.
        """
        cfg = out.with_name(out.name + ".label_config.xml")
        cfg.write_text(self.config, encoding="utf-8")
        return [f"labelling config for these tasks: {cfg} (create the Label Studio project with it)"]


@plugin("format", "label_studio")
class LabelStudioFormat(JsonRowFormat):
    """Label Studio tasks / JSON export (data + choices annotations)"""

    unit = "task "

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        """Records of a task file or JSON export, annotations turned into ``labels`` (see the module doc).

        Args:
            path: A JSON array (or JSON Lines) of Label Studio tasks.
            fmap: The field map, applied to each task's ``data`` object rather than to the task.

        Returns:
            An iterator of :class:`Record` and :class:`Rejected` items (a task without ``data`` is rejected).
        """

        def parse(task: dict[str, Any], n: int) -> Record:  # the field map applies to the task's data
            if isinstance(task.get("data"), dict):
                task = {**task, "data": fmap.apply(task["data"])}
            return _parse(task, n)

        return parse_rows(path, self.rows(path, fmap), FieldMap(), parse, self.unit)

    def open_writer(self, path: Path) -> LabelStudioWriter:
        """A writer of an importable JSON array of tasks plus its labelling config (see the module doc)."""
        return LabelStudioWriter(path)
