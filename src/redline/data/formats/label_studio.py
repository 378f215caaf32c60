"""``label_studio``: Label Studio tasks (import) and JSON exports.

A task is ``{"id", "data": {...}, "annotations": [{"completed_by", "result": [...]}], "predictions"}``.
``data`` maps like a CSV row (``text`` is taken as the prompt when there is no ``prompt``).
Annotation results of type ``choices`` (and ``textarea``, ``rating``) become ``labels[from_name]``
from the first annotation that was not cancelled; each annotator's labels are kept in
``meta['annotations']`` (``[{annotator, labels}]``, when annotators are named or there are several),
label names the annotators disagree on in ``meta['label_disagreement']``. A task every annotator
skipped (``was_cancelled``) gets ``meta['skipped'] = true`` (partly skipped:
``meta['cancelled_annotations']``). Writing produces an importable JSON array of tasks, the labels as
pre-filled ``choices`` annotations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redline.data.formats.base import (
    FieldMap,
    Item,
    JsonArrayWriter,
    JsonRowFormat,
    parse_rows,
    record_to_flat,
    row_to_record,
)
from redline.data.records import Record
from redline.plugins import plugin


def _result_labels(results: list[Any]) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for res in results or []:
        if not isinstance(res, dict):
            continue
        name, value, kind = res.get("from_name"), res.get("value") or {}, res.get("type")
        if not name:
            continue
        if kind == "choices" and value.get("choices"):
            ch = value["choices"]
            labels[name] = ch[0] if len(ch) == 1 else ",".join(map(str, ch))
        elif kind == "textarea" and value.get("text"):
            labels[name] = "\n".join(value["text"])
        elif kind == "rating" and "rating" in value:
            labels[name] = value["rating"]
    return labels


def _parse(task: dict[str, Any], n: int) -> Record:
    if not isinstance(task.get("data"), dict):
        raise ValueError("field 'data': missing (a Label Studio task is {\"data\": {...}, \"annotations\": [...]})")
    data = dict(task["data"])
    if "prompt" not in data and "messages" not in data and "text" in data:
        data["prompt"] = data.pop("text")
    if "id" not in data and task.get("id") is not None:
        data["id"] = task["id"]
    rec = row_to_record(data, n)
    per_annotator: list[dict[str, Any]] = []
    for ann in task.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("was_cancelled"):
            continue
        labs = _result_labels(ann.get("result") or [])
        if labs:
            who = ann.get("completed_by")
            if isinstance(who, dict):
                who = who.get("email") or who.get("id")
            per_annotator.append({"annotator": who, "labels": labs})
    anns = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
    cancelled = sum(1 for a in anns if a.get("was_cancelled"))
    if anns and cancelled == len(anns):
        rec.meta["skipped"] = True  # every annotator skipped the task: unlabelled on purpose
    elif cancelled:
        rec.meta["cancelled_annotations"] = cancelled
    if per_annotator:
        rec.labels = {**per_annotator[0]["labels"], **rec.labels}
        if len(per_annotator) > 1 or per_annotator[0]["annotator"] is not None:
            rec.meta["annotations"] = per_annotator
        names = sorted({k for a in per_annotator for k in a["labels"]})
        split = [k for k in names if len({repr(a["labels"].get(k)) for a in per_annotator}) > 1]
        if split:  # `labels` holds the first annotator's; the others are in meta.annotations
            rec.meta["label_disagreement"] = split
    return rec


def _dump(r: Record) -> dict[str, Any]:
    flat = record_to_flat(r)
    data: dict[str, Any] = {k: v for k, v in flat.items() if v is not None and k not in ("labels", "meta")}
    for k, v in r.meta.items():
        if k != "annotations":
            data.setdefault(k, v)
    task: dict[str, Any] = {"data": data}
    to_name = "prompt" if "prompt" in data else "messages"
    anns = r.meta.get("annotations") if isinstance(r.meta.get("annotations"), list) else None
    if not anns and r.labels:
        anns = [{"annotator": None, "labels": r.labels}]
    if anns:
        task["annotations"] = [{
            **({"completed_by": a["annotator"]} if a.get("annotator") is not None else {}),
            "result": [{"from_name": k, "to_name": to_name, "type": "choices", "value": {"choices": [v]}}
                       for k, v in a["labels"].items()],
        } for a in anns]
    return task


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

    def open_writer(self, path: Path) -> JsonArrayWriter:
        """A writer of an importable JSON array of tasks, labels as pre-filled ``choices`` annotations."""
        return JsonArrayWriter(path, _dump)
