"""``redline judge``: stream a JSONL file of responses through one judge."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from redline.data.schema import Message
from redline.errors import InputError, Problem
from redline.judges.base import create_judge


def _prompt_of(rec: dict[str, Any]) -> str | None:
    if isinstance(rec.get("prompt"), str):
        return rec["prompt"]
    msgs = rec.get("messages")
    if isinstance(msgs, list) and msgs:
        parsed = [Message.model_validate(m) for m in msgs]
        users = [m for m in parsed if m.role == "user"]
        return (users[-1] if users else parsed[-1]).text
    return None


def judge_file(judge_name: str, input_path: Path, output_path: Path,
               progress: bool = False) -> dict[str, Any]:
    """Judge every record; bad rows go to ``OUTPUT.rejected.jsonl`` with line and reason.

    Streams: memory is constant in the file size.
    """
    if not input_path.is_file():
        raise InputError(f"input {input_path} not found", [Problem(
            str(input_path), "no such file", "give a JSONL file with id, prompt/messages and response")])
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise InputError("--output is the input file", [Problem(
            str(output_path), "writing there would destroy the input", "choose another --output")])
    judge = create_judge(judge_name)
    tmp_out = output_path.with_name(f".{output_path.name}.tmp")
    quarantine = output_path.with_name(output_path.name + ".rejected.jsonl")
    stats = {"judged": 0, "unassessable": 0, "rejected": 0, "quarantine": str(quarantine)}
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
                j = judge.judge(None, prompt, rec.get("response") or "")
                rec.update(judge.output_fields(j))
                if not j.ok:
                    rec[f"{judge.id}_error"] = j.error
                    stats["unassessable"] += 1
                rec[f"{judge.id}_judge_version"] = j.version
                fout.write(json.dumps(rec, ensure_ascii=False) + "\n")
                stats["judged"] += 1
        os.replace(tmp_out, output_path)  # the output appears whole, or not at all
    finally:
        if qf is not None:
            qf.close()
        if bar is not None:
            bar.stop()
        if tmp_out.exists():
            tmp_out.unlink()
    return stats
