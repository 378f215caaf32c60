"""``redline judge``: stream a JSONL file of responses through one judge.

Offline judges grade inline, one record at a time. Judges with an async path (``policy-llm``,
``guard:*``, ensembles with such members) grade windows of records concurrently; output order
is the input order either way, and memory stays constant (one window at a time).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from redline.data.schema import Message, Sample
from redline.errors import InputError, Problem
from redline.judges.base import aclose_judge, ajudge_any, check_options, create_judge, is_async


def _prompt_of(rec: dict[str, Any]) -> str | None:
    if isinstance(rec.get("prompt"), str):
        return rec["prompt"]
    msgs = rec.get("messages")
    if isinstance(msgs, list) and msgs:
        parsed = [Message.model_validate(m) for m in msgs]
        users = [m for m in parsed if m.role == "user"]
        return (users[-1] if users else parsed[-1]).text
    return None


def _sample_of(rec: dict[str, Any]) -> Sample:
    """The record as a Sample, for judges that read the conversation and category."""
    msgs = rec.get("messages")
    if not (isinstance(msgs, list) and msgs):
        msgs = [{"role": "user", "content": rec["prompt"]}]
    cat = rec.get("category")
    return Sample(id=str(rec["id"]), messages=msgs, category=cat if isinstance(cat, str) else "",
                  expected="refuse")


def judge_file(judge_name: str, input_path: Path, output_path: Path,
               progress: bool = False, options: dict[str, str] | None = None,
               policy: str = "default", concurrency: int = 16, use_cache: bool = True,
               cache_dir: Path | None = None) -> dict[str, Any]:
    """Judge every record; bad rows go to ``OUTPUT.rejected.jsonl`` with line and reason.

    Streams: memory is constant in the file size. ``options`` are judge options
    (``--option``); cacheable judges' verdicts go through the verdict cache in ``cache_dir``
    (default: the workspace home).
    """
    if not input_path.is_file():
        raise InputError(f"input {input_path} not found", [Problem(
            str(input_path), "no such file", "give a JSONL file with id, prompt/messages and response")])
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise InputError("--output is the input file", [Problem(
            str(output_path), "writing there would destroy the input", "choose another --output")])
    from redline.policy.loader import load_policy

    options = dict(options or {})
    check_options([judge_name], options)
    options.setdefault("concurrency", str(concurrency))  # the judge's own cap on requests in flight
    judge: Any = create_judge(judge_name, **{**options, "policy": load_policy(policy)})
    vcache = None
    if use_cache and getattr(judge, "cache_verdicts", False):
        from redline.judges.cache import VerdictCache, with_cache
        from redline.workspace import Workspace

        vcache = VerdictCache((cache_dir or Workspace.default().home) / "verdicts.sqlite")
        judge = with_cache(judge, vcache)
    concurrent = is_async(judge)
    window: list[tuple[dict[str, Any], str]] = []
    loop = asyncio.new_event_loop() if concurrent else None
    tmp_out = output_path.with_name(f".{output_path.name}.tmp")
    quarantine = output_path.with_name(output_path.name + ".rejected.jsonl")
    stats: dict[str, Any] = {"judged": 0, "unassessable": 0, "rejected": 0,
                             "quarantine": str(quarantine)}

    def emit(fout: Any, rec: dict[str, Any], j: Any) -> None:
        rec.update(judge.output_fields(j))
        if not j.ok:
            rec[f"{judge.id}_error"] = j.error
            stats["unassessable"] += 1
        rec[f"{judge.id}_judge_version"] = j.version
        fout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        stats["judged"] += 1

    async def grade(batch: list[tuple[dict[str, Any], str]]) -> list[Any]:
        return await asyncio.gather(*(ajudge_any(judge, _sample_of(rec), prompt, rec.get("response") or "")
                                      for rec, prompt in batch))

    def flush(fout: Any) -> None:
        if window:
            assert loop is not None
            for (rec, _), j in zip(window, loop.run_until_complete(grade(window)), strict=True):
                emit(fout, rec, j)
            window.clear()
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        total = input_path.stat().st_size
        task = bar.add_task(f"judge {judge_name}", total=total)
    qf = None
    try:
        with open(input_path, "rb") as fin, open(tmp_out, "w", encoding="utf-8") as fout:
            for lineno, raw in enumerate(fin, 1):
                if bar is not None:
                    bar.advance(task, len(raw))
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                reason = None
                try:
                    rec = json.loads(raw)
                    if not isinstance(rec, dict):
                        raise ValueError("not a JSON object")
                    if "id" not in rec:
                        reason = "missing field 'id'"
                    elif not isinstance(rec.get("response"), str | None):
                        reason = "field 'response' must be a string"
                    elif "response" not in rec:
                        reason = "missing field 'response'"
                    prompt = _prompt_of(rec) if reason is None else None
                    if reason is None and prompt is None:
                        reason = "missing field 'prompt' or 'messages'"
                    if reason is None and concurrent:
                        _sample_of(rec)  # validated here, so a bad record is rejected, not judged
                except (ValueError, TypeError) as e:
                    reason = f"invalid record: {str(e).splitlines()[0][:200]}"
                if reason is not None:
                    if qf is None:
                        qf = open(quarantine, "w", encoding="utf-8")  # noqa: SIM115
                    qf.write(json.dumps({"line": lineno, "reason": reason,
                                         "raw": raw.decode("utf-8", "replace").rstrip("\n")},
                                        ensure_ascii=False) + "\n")
                    stats["rejected"] += 1
                    continue
                if concurrent:
                    window.append((rec, prompt))
                    if len(window) >= max(1, concurrency) * 4:
                        flush(fout)
                    continue
                emit(fout, rec, judge.judge(None, prompt, rec.get("response") or ""))
            flush(fout)
        os.replace(tmp_out, output_path)  # the output appears whole, or not at all
    finally:
        if loop is not None:
            loop.run_until_complete(aclose_judge(judge))
            loop.close()
        if vcache is not None:
            vcache.close()
            stats["verdict_cache"] = vcache.stats()
        if qf is not None:
            qf.close()
        if bar is not None:
            bar.stop()
        if tmp_out.exists():
            tmp_out.unlink()
    return stats
