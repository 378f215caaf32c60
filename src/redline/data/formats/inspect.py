"""``inspect``: Inspect AI data sets (samples) and Inspect AI evaluation logs (``.eval``, ``.json``).

**Data set samples** — ``{"id", "input", "target", "metadata", "choices"?}`` as JSON Lines (or a
JSON array). ``input`` is a string (one user message) or a list of chat messages
(``{"type": "image", "image": …}`` parts for images). ``metadata.category/expected/language/source``
map to the record fields, ``metadata.labels`` to the labels, ``metadata.response`` to a final
assistant turn; the rest of ``metadata``, ``target`` (unless it is the record's ``expected``) and
``choices`` go to ``meta``. The writer writes these rows (``inspect_ai.dataset.json_dataset`` reads
them) with the record's ``expected`` behaviour as the ``target`` (``meta.target`` wins when the
record came from Inspect with one); a record without ``expected`` gets no ``target``.

**Evaluation logs** — an ``.eval`` log (a zip: ``header.json``, ``samples/ID_epoch_N.json``, …) or a
JSON log (``{"version", "eval", "samples", …}``), read with ``inspect_ai.log`` where Inspect AI is
installed and from the documented file layout otherwise (the same records either way). One record
per sample and epoch: the whole conversation (``messages``, the model's answer as the final
assistant turn), the sample's ``metadata`` as above, each scorer's value as a label
(``labels[SCORER]``, unless the sample already has a label of that name) and
``meta["inspect"]``: ``eval_id``, ``run_id``, ``task``, ``model``, ``sample_id``, ``epoch``,
``uuid`` and the full ``scores`` (value, answer, explanation, metadata), plus ``error`` /
``limit`` when the sample has them (and ``previous``: the ``meta.inspect`` of an earlier run
that the sample's metadata carried). Events, the store, usage and timings are not read unless
asked for with a mapping whose source is a path into the sample: ``--map meta.events=events``,
``--map response=output.completion``, ``--map labels.grade=scores.model_graded_qa.value``. A
mapping whose source a sample lacks rejects that sample (with the reason); a sample the log's
header lists but the file lacks (an unfinished run) is a rejected row too, so
``read = written + rejected`` accounts for every sample the eval had.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from redline.data.formats._chat import _inspect_part, inspect_messages
from redline.data.formats.base import (
    NATIVE_FIELDS,
    FieldMap,
    Item,
    JsonRowFormat,
    Rejected,
    describe_error,
    iter_json_or_jsonl,
    row_to_record,
)
from redline.data.limits import (
    MAX_LINE_BYTES,
    LimitError,
    check_value,
    loads_json_document,
    needs_check,
)
from redline.data.records import Record
from redline.data.schema import TextPart
from redline.errors import InputError, Problem
from redline.plugins import plugin

_FIELDS = ("category", "expected", "language", "source")
#: record fields a mapping sets on the record (the other targets rename keys of the raw sample)
_RECORD_TARGETS = frozenset(NATIVE_FIELDS)
#: sample keys the reader of a log leaves out unless a mapping asks for them (they can be large)
_HEAVY = ("events", "events_data", "store")
_ZSTD = 93  # zip compression method of Inspect's .eval logs


# -- messages ------------------------------------------------------------------------------------


def _messages(raw: Any, field: str, reasoning: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inspect chat messages → ``{role, content}`` dicts a :class:`Record` takes.

    Text and image parts are kept; a reasoning part (``ContentReasoning``) is moved to
    ``reasoning`` (``{"turn", "reasoning"}``); anything a record cannot hold (a tool call, audio,
    video, a document) raises ValueError naming the message.
    """
    if isinstance(raw, str):
        if not raw.strip():
            raise ValueError(f"field '{field}': empty")
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"field '{field}': expected a string or a non-empty list of chat messages")
    out: list[dict[str, Any]] = []
    for i, m in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(m, dict):
            raise ValueError(f"field '{where}': expected an object with 'role' and 'content'")
        if m.get("tool_calls") or m.get("role") == "tool":
            raise ValueError(f"tool calls are not supported (field '{where}', an agent transcript); map the "
                             "fields to keep instead, e.g. --map prompt=input --map response=output.completion")
        content = m.get("content")
        if isinstance(content, list):
            parts: list[Any] = []
            for j, p in enumerate(content):
                kind = p.get("type") if isinstance(p, dict) else None
                if kind == "text":
                    parts.append({"type": "text", "text": p.get("text", "")})
                elif kind == "image":
                    parts.append(_inspect_part(p))
                elif kind == "reasoning":
                    reasoning.append({"turn": i, "reasoning": p.get("reasoning", "")})
                elif isinstance(p, str):
                    parts.append(p)
                else:
                    raise ValueError(f"a {kind or type(p).__name__} part is not supported (field "
                                     f"'{where}.content[{j}]'; text and images are)")
            content = parts if parts else ""
        out.append({"role": m.get("role"), "content": content})
    return out


# -- data set samples ------------------------------------------------------------------------------


#: metadata keys with a meaning of their own in a Redline export
_RESERVED = frozenset((*_FIELDS, "labels", "response", "meta"))


def _split_metadata(md: Any, flat: dict[str, Any]) -> None:
    """``metadata`` → the record fields, labels and ``meta.*`` keys of a flat row."""
    if md is None:
        return
    if not isinstance(md, dict):
        raise ValueError("field 'metadata': expected an object")
    md = dict(md)
    for k in _FIELDS:
        v = md.pop(k, None)
        if v not in (None, ""):
            flat[k] = v
    labels = md.pop("labels", None) or {}
    if not isinstance(labels, dict):
        raise ValueError("field 'metadata.labels': expected an object")
    for k, v in labels.items():
        flat[f"labels.{k}"] = v
    response = md.pop("response", None)
    if isinstance(response, str) and response:
        flat["response"] = response
    nested = md.pop("meta", None)  # meta keys named like a record field (see _dump)
    if isinstance(nested, dict):
        for k, v in nested.items():
            flat[f"meta.{k}"] = v
    elif nested is not None:
        md["meta"] = nested
    for k, v in md.items():
        flat[f"meta.{k}"] = v


def _keep_target(target: Any, expected: Any) -> bool:
    """Whether ``target`` says something the record does not: not empty, not the ``expected`` value."""
    if target in (None, "", []):
        return False
    return not (isinstance(target, str) and expected is not None and target == str(expected))


def _dataset_flat(row: dict[str, Any], n: int, conversation: bool = True) -> dict[str, Any]:
    """A data set sample → a flat row (record fields, ``labels.X``, ``meta.X``); ``conversation=False``:
    a mapping supplies the prompt (``input`` is not read)."""
    msgs = _messages(row.get("input"), "input", []) if conversation else []
    flat: dict[str, Any] = {"id": row.get("id", n), "messages": msgs}
    _split_metadata(row.get("metadata"), flat)
    if "response" in flat and conversation:
        flat["messages"].append({"role": "assistant", "content": flat.pop("response")})
    for k, v in row.items():
        if k in ("id", "input", "metadata") or v in (None, "", []):
            continue
        if k == "target" and not _keep_target(v, flat.get("expected")):
            continue
        flat[f"meta.{k}"] = v
    return flat


# -- log samples -----------------------------------------------------------------------------------


def _resolve_attachments(v: Any, attachments: dict[str, str]) -> Any:
    """``attachment://HASH`` strings replaced by the sample's attachment (as Inspect's reader does)."""
    if isinstance(v, str):
        if v.startswith("attachment://"):
            return attachments.get(v[len("attachment://"):], v)
        return v
    if isinstance(v, list):
        return [_resolve_attachments(x, attachments) for x in v]
    if isinstance(v, dict):
        return {k: _resolve_attachments(x, attachments) for k, x in v.items()}
    return v


def _score_label(value: Any) -> Any:
    return value if isinstance(value, str | bool | int | float) else None


def _log_flat(sample: dict[str, Any], header: dict[str, Any], conversation: bool = True) -> dict[str, Any]:
    """A log sample (and the log's header) → a flat row (record fields, ``labels.X``, ``meta.X``).

    ``conversation=False``: a mapping supplies the prompt, so the sample's messages are not read
    (an agent transcript with tool calls can still be read that way); the answer is then
    ``output.completion``.
    """
    ev = _obj(header.get("eval"))
    epochs = _epochs(header)
    sid, epoch = sample.get("id"), sample.get("epoch", 1)
    reasoning: list[dict[str, Any]] = []
    output = sample.get("output") or {}
    completion = output.get("completion") if isinstance(output, dict) else None
    answer = completion if isinstance(completion, str) and completion else None
    msgs: list[dict[str, Any]] = []
    if conversation:
        raw_msgs = sample.get("messages") or sample.get("input")
        msgs = _messages(raw_msgs, "messages" if sample.get("messages") else "input", reasoning)
        if msgs[-1]["role"] != "assistant" and answer is not None:
            msgs.append({"role": "assistant", "content": answer})  # the answer, when messages stop short
    flat: dict[str, Any] = {"id": str(sid) if epochs == 1 else f"{sid}#{epoch}", "messages": msgs}
    if not conversation and answer is not None:
        flat["response"] = answer
    _split_metadata(sample.get("metadata"), flat)
    if "response" in flat and conversation:  # metadata.response of a Redline export: the model's answer wins
        resp = flat.pop("response")
        if msgs[-1]["role"] != "assistant":
            msgs.append({"role": "assistant", "content": resp})
        elif resp != _text(msgs[-1]["content"]):
            flat["meta.response"] = resp
    elif "response" in flat and answer is not None and flat["response"] != answer:
        flat["meta.response"] = flat.pop("response")
        flat["response"] = answer
    target = sample.get("target")
    if _keep_target(target, flat.get("expected")):
        flat["meta.target"] = target
    if sample.get("choices"):
        flat["meta.choices"] = sample["choices"]
    scores = {}
    for name, s in (sample.get("scores") or {}).items():
        if not isinstance(s, dict):
            continue
        scores[name] = {k: s[k] for k in ("value", "answer", "explanation", "metadata") if s.get(k) is not None}
        value = s.get("value")
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for k, v in items:
            label = name if k is None else f"{name}.{k}"
            if _score_label(v) is not None and f"labels.{label}" not in flat:
                flat[f"labels.{label}"] = v
    info: dict[str, Any] = {k: ev[k] for k in ("eval_id", "run_id", "task", "model") if ev.get(k) is not None}
    info.update(sample_id=sid, epoch=epoch)
    if sample.get("uuid"):
        info["uuid"] = sample["uuid"]
    if scores:
        info["scores"] = scores
    for k in ("error", "limit"):
        if sample.get(k):
            info[k] = sample[k]
    if reasoning:
        info["reasoning"] = reasoning
    if "meta.inspect" in flat:  # a record from an earlier Inspect run, exported and run again
        info["previous"] = flat["meta.inspect"]
    flat["meta.inspect"] = info
    return flat


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


# -- mapping ---------------------------------------------------------------------------------------


_MISSING = object()


def _at(obj: Any, path: str) -> Any:
    """The value at a dotted ``path`` of a sample (``output.completion``, ``scores.match.value``,
    ``output.choices.0.message``); a key that itself has dots is found too. ``_MISSING`` if absent."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, dot, rest = path.partition(".")
    if isinstance(obj, dict) and head in obj:
        return _at(obj[head], rest) if dot else obj[head]
    if isinstance(obj, list) and head.isdigit() and int(head) < len(obj):
        return _at(obj[int(head)], rest) if dot else obj[int(head)]
    return _MISSING


def _apply_map(flat: dict[str, Any], sample: dict[str, Any], fmap: FieldMap) -> dict[str, Any]:
    """Apply ``fmap``'s record-field renames (sources are paths into the sample), constants and value
    tables to a flat row. Raises ValueError when a mapped source is not in the sample."""
    for target, source in fmap.renames.items():
        if not (target in _RECORD_TARGETS or target.startswith(("meta.", "labels."))):
            continue  # renamed in the raw sample already
        v = _at(sample, source)
        if v is _MISSING:
            raise ValueError(f"--map {target}={source}: this sample has no {source!r}")
        head = source.partition(".")[0]
        if head == "metadata" and source != "metadata":
            flat.pop(f"meta.{source[9:]}", None)  # moved, not copied
        elif source == head:  # a top-level key that would otherwise land in meta (target, choices …)
            flat.pop(f"meta.{head}", None)
        if target == "messages":
            flat["messages"] = _messages(v, source, [])
            if "response" in flat and flat["messages"][-1]["role"] == "assistant":
                del flat["response"]  # the mapped conversation has its own answer
        elif target == "response":
            msgs = flat.get("messages") or []
            if msgs and len(msgs) > 1 and msgs[-1]["role"] == "assistant":
                flat["messages"] = msgs[:-1]
            flat["response"] = _text(v) if isinstance(v, list) else v
        elif target == "prompt":  # the prompt replaces the conversation; its system prompt and answer stay
            old = flat.pop("messages", None) or []
            if "response" not in flat and len(old) > 1 and old[-1]["role"] == "assistant":
                flat["response"] = old[-1]["content"]
            if isinstance(v, list):  # Inspect's chat-message input
                flat["messages"] = _messages(v, source, [])
            else:
                if "system" not in flat and old and old[0]["role"] == "system":
                    flat["system"] = old[0]["content"]
                flat["prompt"] = v
        elif target == "system":
            msgs = [m for i, m in enumerate(flat.pop("messages", None) or []) if not (i == 0 and m["role"] == "system")]
            if msgs:
                flat["messages"] = msgs
            flat["system"] = v
        elif target in ("labels", "meta"):
            if not isinstance(v, dict):
                raise ValueError(f"--map {target}={source}: expected an object, not {type(v).__name__}")
            for k, x in v.items():
                flat[f"{target}.{k}"] = x
        else:
            flat[target] = v
    rest = FieldMap(constants=fmap.constants, values=fmap.values)
    return rest.apply(flat)


def _raw_renames(row: dict[str, Any], fmap: FieldMap) -> dict[str, Any]:
    """The renames whose target is an Inspect sample key (``input``, ``target``, ``metadata`` …),
    applied to the raw sample (``--map input=question`` reads a file whose prompts are ``question``)."""
    raw = {t: s for t, s in fmap.renames.items() if not (t in _RECORD_TARGETS or t.startswith(("meta.", "labels.")))}
    return FieldMap(renames=raw).apply(row) if raw else row


def _record(flat: dict[str, Any], n: int) -> Record:
    """The record of a flat row (a mapped ``system`` goes before the messages, ``response`` after)."""
    return row_to_record(flat, n)


# -- reading logs ----------------------------------------------------------------------------------


def _is_log_document(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("eval"), dict) and "version" in doc


def _json_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")


def _zip_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, at most ``limit`` (LimitError past it); zstd members (Inspect's) too."""
    if info.compress_type != _ZSTD:
        with z.open(info) as f:
            data = f.read(limit + 1)
    else:
        try:
            import zstandard
        except ImportError:  # pragma: no cover - a core dependency
            raise LimitError("this .eval log is zstd-compressed and the 'zstandard' package is missing",
                             "pip install zstandard (or inspect-ai)") from None
        fp = z.fp
        assert fp is not None
        fp.seek(info.header_offset)
        head = fp.read(30)
        if head[:4] != b"PK\x03\x04":
            raise LimitError(f"{info.filename}: not a zip member", "the log is damaged")
        start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        fp.seek(start)
        raw = fp.read(info.compress_size)
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as r:
            data = r.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"{info.filename} expands past {limit} bytes",
                         "raise REDLINE_MAX_LINE_BYTES (docs/limits.md)")
    return data


def _member_json(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    """A member's JSON, with the limits; a damaged member raises LimitError (a ValueError) saying so."""
    try:
        raw = _zip_member(z, info, MAX_LINE_BYTES)
    except LimitError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile, zlib and zstandard each raise their own errors
        raise LimitError(f"{info.filename} is damaged ({type(e).__name__}: {e})"[:300],
                         "copy the log again from where Inspect wrote it") from None
    text = raw.decode("utf-8")
    return check_value(loads_json_document(text), *needs_check(text))


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The .eval zip; a damaged one is an InputError."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: the .eval log is damaged", [Problem(
            str(path), f"{type(e).__name__}: {e}"[:300], "copy the log again from where Inspect wrote it")]) from None


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _int(v: Any, default: int = 1) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else default


def _sample_key(sid: Any, epoch: Any) -> tuple[str, int]:
    return str(sid), _int(epoch)


def _epochs(header: dict[str, Any]) -> int:
    return min(_int(_obj(_obj(header.get("eval")).get("config")).get("epochs")), 100_000)


def _expected_keys(header: dict[str, Any]) -> list[tuple[str, int]]:
    """(sample id, epoch) of every sample the eval ran, from the header (empty when it does not say)."""
    ids = _obj(_obj(header.get("eval")).get("dataset")).get("sample_ids")
    ids = [i for i in ids if isinstance(i, str | int)] if isinstance(ids, list) else []
    return [_sample_key(i, e) for i in ids for e in range(1, _epochs(header) + 1)]


Loader = Callable[[], Any]  # a sample's JSON object; raises LimitError/ValueError (unreadable) or IndexError (absent)


def _documented_eval(path: Path, z: zipfile.ZipFile) -> tuple[dict[str, Any], list[tuple[tuple[str, int], Loader]]]:
    """Header and (key, loader) of each sample of an .eval zip, read from the documented layout."""
    names = {i.filename: i for i in z.infolist()}
    header: dict[str, Any] = {}
    for name in ("header.json", "_journal/start.json"):
        if name in names:
            try:
                header = _member_json(z, names[name])
            except (LimitError, ValueError) as e:
                raise InputError(f"{path}: cannot read {name}", [Problem(f"{path}:{name}", str(e),
                                                                         "check the log")]) from None
            if not isinstance(header, dict):
                raise InputError(f"{path}: cannot read {name}", [Problem(
                    f"{path}:{name}", f"expected an object, found {type(header).__name__}", "check the log")])
            break
    else:
        raise InputError(f"{path}: not an Inspect .eval log", [Problem(
            str(path), "the zip has no header.json or _journal/start.json",
            "pass an .eval log written by Inspect AI (or the right --from)")])
    out: list[tuple[tuple[str, int], Loader]] = []
    for name, info in names.items():
        if name.startswith("samples/") and name.endswith(".json"):
            stem, _, ep = name[len("samples/"):-len(".json")].rpartition("_epoch_")
            key = (stem, int(ep)) if stem and ep.isdigit() else (name, 0)
            out.append((key, partial(_member_json, z, info)))
    return header, out


def _same(x: Any) -> Any:
    return x


def _documented_json(path: Path, doc: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[tuple[str, int], Loader]]]:
    """Header and (key, loader) of each sample of a JSON log (already loaded)."""
    out: list[tuple[tuple[str, int], Loader]] = []
    samples = doc.get("samples")
    if samples is not None and not isinstance(samples, list):
        raise InputError(f"{path}: the log's 'samples' is not a list", [Problem(
            f"{path} (samples)", f"expected a list of samples, found {type(samples).__name__}", "check the log")])
    for s in samples or []:
        key = _sample_key(s.get("id"), s.get("epoch")) if isinstance(s, dict) else ("?", 0)
        out.append((key, partial(_same, s)))
    return {k: v for k, v in doc.items() if k != "samples"}, out


def inspect_ai_available() -> bool:
    """Whether Inspect AI's own log reader (``inspect_ai.log``) is importable here."""
    import importlib.util

    return importlib.util.find_spec("inspect_ai") is not None


def _via_inspect_ai(path: Path, need: set[str]) -> tuple[dict[str, Any], list[tuple[tuple[str, int], Loader]]] | None:
    """Header and (key, loader) of each sample, read with Inspect AI's own reader (``inspect_ai.log``);
    None when that reader cannot be used here (an import error, a version without ``exclude_fields``)."""
    import inspect as pyinspect

    try:
        from inspect_ai.log import read_eval_log, read_eval_log_sample
    except Exception:  # noqa: BLE001 - a broken install: the documented layout is read instead
        return None
    if "exclude_fields" not in pyinspect.signature(read_eval_log_sample).parameters:
        return None  # an older inspect_ai: the documented layout is read instead
    exclude = {k for k in _HEAVY if k not in need} or None
    try:
        head = read_eval_log(str(path), header_only=True)
    except Exception as e:  # noqa: BLE001 - whatever inspect_ai raises for a file it cannot read
        raise InputError(f"{path}: Inspect AI cannot read this log", [Problem(
            str(path), f"{type(e).__name__}: {e}"[:500], "check that it is an Inspect log (or the right --from)")]) from None
    header: dict[str, Any] = head.model_dump(mode="json", exclude_none=True)
    keys = _expected_keys(header)
    if path.suffix.lower() == ".eval" and keys:
        ids = {str(i): i for i in head.eval.dataset.sample_ids or []}

        def load(sid: str, epoch: int) -> Any:
            s = read_eval_log_sample(str(path), id=ids[sid], epoch=epoch, resolve_attachments="core",
                                     exclude_fields=exclude)  # IndexError: not in the log
            return s.model_dump(mode="json", exclude_none=True)
        return header, [(k, partial(load, *k)) for k in keys]
    log = read_eval_log(str(path), resolve_attachments="core", exclude_fields=exclude)
    return header, [(_sample_key(s.id, s.epoch), partial(s.model_dump, mode="json", exclude_none=True))
                    for s in log.samples or []]


def _read_log(path: Path, fmap: FieldMap, doc: dict[str, Any] | None) -> Iterator[Item]:
    """Records (and rejected samples) of an eval log, one sample in memory at a time (.eval)."""
    need = {s.partition(".")[0] for s in fmap.renames.values()}
    via = _via_inspect_ai(path, need) if inspect_ai_available() else None
    own = via is not None
    if via is not None:
        header, samples = via
    elif doc is not None or not zipfile.is_zipfile(path):
        header, samples = _documented_json(path, doc if doc is not None else _log_document(path) or {})
    else:
        header, samples = _documented_eval(path, _open_zip(path))
    keys = _expected_keys(header)
    order = {k: i for i, k in enumerate(keys)}
    seen: set[tuple[str, int]] = set()
    n = 0
    # in the eval's own order (data set order × epoch), whatever order the samples were written in
    for key, load in sorted(samples, key=lambda kv: order.get(kv[0], len(order))):
        where = f" (sample {key[0]}, epoch {key[1]})"
        try:
            sample = load()
        except IndexError:
            continue  # not in the log: reported below
        except (LimitError, ValueError) as e:
            n += 1
            seen.add(key)
            yield Rejected.at(path, n, f"{e}{where}", None, unit="sample ")
            continue
        n += 1
        seen.add(key)
        if not isinstance(sample, dict):
            yield Rejected.at(path, n, f"a sample must be a JSON object{where}", sample, unit="sample ")
            continue
        try:
            if not own:
                sample = _resolve_attachments({k: v for k, v in sample.items() if k not in _HEAVY or k in need},
                                              sample.get("attachments") or {})
            sample.pop("attachments", None)
            conv = not any(t in ("prompt", "messages") for t in fmap.renames)
            rec = _record(_apply_map(_log_flat(_raw_renames(sample, fmap), header, conv), sample, fmap), n)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            reason = describe_error(e) if not isinstance(e, KeyError) else f"missing field {e}"
            yield Rejected.at(path, n, f"{reason}{where}", {k: v for k, v in sample.items() if k not in _HEAVY},
                              unit="sample ")
            continue
        rec._source = (str(path), "sample ", n)
        yield rec
    status = header.get("status")
    for key in keys:
        if key not in seen:
            n += 1
            yield Rejected.at(path, n, f"not in the log (sample {key[0]}, epoch {key[1]}; the eval's status is "
                              f"{status!r}: it did not finish all {len(keys)} sample(s))", {"id": key[0], "epoch": key[1]},
                              unit="sample ")


def _dump(r: Record) -> dict[str, Any]:
    prompt = r.prompt_messages
    if len(prompt) == 1 and prompt[0].role == "user" and [type(p) for p in prompt[0].content] == [TextPart]:
        inp: Any = prompt[0].text  # a plain text prompt: Inspect's string input
    else:
        inp = inspect_messages(prompt)
    meta = dict(r.meta)
    out: dict[str, Any] = {"id": r.id, "input": inp}
    target = meta.pop("target", None)
    if target is None and r.expected is not None:
        target = r.expected.value  # the expected behaviour: refuse / safe_complete / comply
    if target is not None:
        out["target"] = target
    if "choices" in meta:
        out["choices"] = meta.pop("choices")
    md: dict[str, Any] = {}
    for k in _FIELDS:
        v = getattr(r, k)
        if v is not None:
            md[k] = str(v.value if hasattr(v, "value") else v)
    if r.response is not None:
        md["response"] = r.response
    if r.labels:
        md["labels"] = r.labels
    # meta keys that read back as record fields (meta.source, meta.labels …) go under metadata.meta,
    # so they neither overwrite the record's own fields nor come back as them
    clash = {k: meta.pop(k) for k in list(meta) if k in _RESERVED}
    md.update(meta)
    if clash:
        md["meta"] = clash
    if md:
        out["metadata"] = md
    return out


@plugin("format", "inspect")
class InspectFormat(JsonRowFormat):
    """Inspect AI samples ({id, input, target, metadata}) as JSONL; reads .eval and JSON eval logs"""

    extensions = (".eval",)

    @staticmethod
    def to_record(row: dict[str, Any], n: int) -> Record:
        """A data set sample (already field-mapped) → a record; ValueError rejects it."""
        return _record(_dataset_flat(row, n), n)

    to_row = staticmethod(_dump)

    def read(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        """Records of an Inspect data set (JSONL / JSON array) or of an eval log (``.eval``, JSON).

        Args:
            path: The file.
            fmap: Renames (a source may be a dotted path into the sample, e.g. ``output.completion``),
                constants and value tables; applied to the record fields after the sample is read.

        Returns:
            Records and :class:`Rejected` rows in the eval's (or the file's) order.

        Raises:
            InputError: The file is not an Inspect data set or log.
        """
        if path.is_file() and zipfile.is_zipfile(path):
            return _read_log(path, fmap, None)
        if path.suffix.lower() == ".eval":
            raise InputError(f"{path}: not an Inspect .eval log", [Problem(
                str(path), "an .eval log is a zip file; this one is not (cut short, or another kind of file)",
                "pass the whole log as Inspect wrote it (or convert a JSON log: inspect log convert --to json)")])
        doc = _log_document(path) if path.is_file() and _json_head(path).startswith(b"{") else None
        if doc is not None:
            return _read_log(path, fmap, doc)
        return self._read_dataset(path, fmap)

    def _read_dataset(self, path: Path, fmap: FieldMap) -> Iterator[Item]:
        for n, row in iter_json_or_jsonl(path, fmap):
            if isinstance(row, Rejected):
                yield row
                continue
            try:
                conv = not any(t in ("prompt", "messages") for t in fmap.renames)
                rec = _record(_apply_map(_dataset_flat(_raw_renames(row, fmap), n, conv), row, fmap), n)
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                reason = describe_error(e) if not isinstance(e, KeyError) else f"missing field {e}"
                yield Rejected.at(path, n, reason, row, unit=self.unit)
                continue
            rec._source = (str(path), self.unit, n)
            yield rec


def _log_document(path: Path) -> dict[str, Any] | None:
    """The JSON log at ``path`` (None when the file is a JSON document but not an eval log)."""
    if path.suffix.lower() == ".jsonl":
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
        doc = loads_json_document(text)
    except (UnicodeDecodeError, json.JSONDecodeError, LimitError):
        return None  # the data set reader reports it
    return doc if _is_log_document(doc) else None
