"""``redline judge``: stream a JSONL file of responses through one judge.

Offline judges grade inline, one record at a time. Judges with an async path (``policy-llm``,
``guard:*``, ensembles) grade through an order-keeping sliding window: a bounded set of records
in flight, each written as soon as it and all records before it are graded. Output order is the
input order either way, and memory stays constant. The output file appears whole or not at all
(written to a temporary file, renamed at the end); verdicts of network-bound judges are in the
verdict cache as they arrive, so re-running after an interruption asks only for what is missing.

With ``executor="ray"`` the records go in numbered shards to Ray actors that build the judge
once; this process still reads and checks every line (the same quarantine file and counts),
ships the cached verdicts it has with each shard, stores the new ones as shards return, and
writes the output in input order (a bounded number of finished shards wait for a slower one).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from pathlib import Path
from typing import Any

from redline.data.limits import iter_lines, too_long_reason
from redline.data.schema import Expected, Message, Sample
from redline.errors import InputError, Problem
from redline.files import atomic_path, jsonl_line
from redline.judges.base import (
    aclose_judge,
    ajudge_any,
    check_options,
    create_judge,
    is_async,
    judge_kind,
)
from redline.progress import ProgressBar


def prompt_of(rec: dict[str, Any]) -> str | None:
    """The prompt a judge grades a record's response against.

    Args:
        rec: A record with ``prompt`` (a string) or ``messages`` (chat messages).

    Returns:
        ``prompt``; else the text of the last user message (of the last message when none is
        from the user), after the text drawn in its image when ``meta.rendered_text`` says (as
        :attr:`redline.data.schema.Sample.judge_prompt`); None when the record has neither.

    Raises:
        ValueError: ``messages`` holds an invalid message (a pydantic ``ValidationError``).
    """
    if isinstance(rec.get("prompt"), str):
        return rec["prompt"]
    msgs = rec.get("messages")
    if isinstance(msgs, list) and msgs:
        parsed = [Message.model_validate(m) for m in msgs]
        users = [m for m in parsed if m.role == "user"]
        text = (users[-1] if users else parsed[-1]).text
        meta = rec.get("meta")
        rendered = meta.get("rendered_text") if isinstance(meta, dict) else None
        return f"{rendered}\n\n{text}".strip() if isinstance(rendered, str) and rendered.strip() else text
    return None


def _sample_of(rec: dict[str, Any]) -> Sample:
    """The record as a Sample, for judges that read the conversation and category."""
    msgs = rec.get("messages")
    if not (isinstance(msgs, list) and msgs):
        msgs = [{"role": "user", "content": rec["prompt"]}]
    cat = rec.get("category")
    return Sample(id=str(rec["id"]), messages=msgs, category=cat if isinstance(cat, str) else "",
                  expected=Expected.refuse)


def judge_file(judge_name: str, input_path: Path, output_path: Path,
               progress: bool = False, options: dict[str, str] | None = None,
               policy: str = "default", concurrency: int = 16, use_cache: bool = True,
               cache_dir: Path | None = None, executor: str = "local",
               executor_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Judge every record; bad rows go to ``OUTPUT.rejected.jsonl`` with line and reason.

    Streams: memory is constant in the file size. ``options`` are judge options
    (``--option``); cacheable judges' verdicts go through the verdict cache in ``cache_dir``
    (default: the workspace home). ``executor`` ``ray`` grades on a Ray cluster (see the
    module docstring); the output, quarantine file and counts are the local run's.
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
    pool: Any = None
    if executor != "local":  # before any output is written
        from redline.executors import create_executor

        pool = create_executor(executor, executor_options)
    pol = load_policy(policy)
    judge: Any = create_judge(judge_name, **{**options, "policy": pol})
    # Harm verdicts depend on the policy: each record says which one (name@version + content hash).
    policy_stamp = ({"policy": f"{pol.name}@{pol.version}", "policy_hash": pol.content_hash}
                    if judge_kind(judge) == "harm" else {})
    vcache = None
    if use_cache and getattr(judge, "cache_verdicts", False):
        from redline.judges.cache import VerdictCache, with_cache
        from redline.workspace import Workspace

        vcache = VerdictCache((cache_dir or Workspace.default().home) / "verdicts.sqlite")
        judge = with_cache(judge, vcache)
    concurrent = is_async(judge)
    from redline.data.io import quarantine_path

    quarantine = quarantine_path(output_path)
    stats: dict[str, Any] = {"judged": 0, "unassessable": 0, "rejected": 0,
                             "quarantine": str(quarantine)}
    # Stale rejects of an earlier run into the same --output must not be read as this run's.
    quarantine.unlink(missing_ok=True)

    def emit(fout: Any, rec: dict[str, Any], j: Any) -> None:
        rec.update(judge.output_fields(j))
        if not j.ok:
            rec[f"{judge.id}_error"] = j.error
            stats["unassessable"] += 1
        rec[f"{judge.id}_judge_version"] = j.version
        rec.update(policy_stamp)
        fout.write(jsonl_line(rec))  # a lone surrogate (a cut emoji's escape) is written escaped
        stats["judged"] += 1

    bar = ProgressBar(progress, input_path.stat().st_size, f"judge {judge_name}", unit="bytes",
                      transient=True, log_every=None)
    qf: Any = None

    def records(fin: Any) -> Any:
        """``(record, prompt)`` for every good line; bad ones go to the quarantine file."""
        nonlocal qf
        for lineno, line in iter_lines(fin):  # the BOM of line 1 dropped; an over-long line is its length
            bar.advance(line if isinstance(line, int) else len(line))
            raw = b"" if isinstance(line, int) else line
            if not isinstance(line, int) and not raw.strip():
                continue
            reason = None
            prompt = None
            try:
                if isinstance(line, int):
                    raise ValueError(too_long_reason(line))
                rec = json.loads(raw)
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                if "id" not in rec:
                    reason = "missing field 'id'"
                elif not isinstance(rec.get("response"), str | None):
                    reason = "field 'response' must be a string"
                elif "response" not in rec:
                    reason = "missing field 'response'"
                prompt = prompt_of(rec) if reason is None else None
                if reason is None and prompt is None:
                    reason = "missing field 'prompt' or 'messages'"
                if reason is None and concurrent:
                    _sample_of(rec)  # validated here, so a bad record is rejected, not judged
            except (ValueError, TypeError) as e:
                reason = f"invalid record: {str(e).splitlines()[0][:200]}"
            if reason is not None:
                if qf is None:
                    qf = open(quarantine, "w", encoding="utf-8")  # noqa: SIM115 - closed below
                qf.write(json.dumps({"line": lineno, "reason": reason,
                                     "raw": raw.decode("utf-8", "replace").rstrip("\n")},
                                    ensure_ascii=False) + "\n")
                stats["rejected"] += 1
                continue
            assert prompt is not None
            yield rec, prompt

    async def sliding(fin: Any, fout: Any) -> None:
        """Order-keeping sliding window: up to ``window`` records in flight (the judge's own
        semaphore caps requests at ``concurrency``); each finished head is written at once and
        its slot refilled, so one slow verdict holds back at most ``window`` records, never a
        whole batch, and memory stays constant."""
        window = max(1, concurrency) * 4 + 16
        pending: deque[tuple[dict[str, Any], asyncio.Task[Any]]] = deque()
        try:
            for rec, prompt in records(fin):
                pending.append((rec, asyncio.ensure_future(
                    ajudge_any(judge, _sample_of(rec), prompt, rec.get("response") or ""))))
                while pending and (len(pending) >= window or pending[0][1].done()):
                    head, t = pending.popleft()
                    emit(fout, head, await t)
            while pending:
                head, t = pending.popleft()
                emit(fout, head, await t)
        finally:
            for _, t in pending:
                t.cancel()
            if pending:
                await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
            await aclose_judge(judge)

    try:
        # the output appears whole, or not at all
        with (bar, atomic_path(output_path) as tmp_out, open(input_path, "rb") as fin,
              open(tmp_out, "w", encoding="utf-8") as fout):
            if pool is not None:
                _judge_on_pool(pool, records(fin), lambda rec, j: emit(fout, rec, j), judge, vcache,
                               (judge_name, options, pol, vcache is not None))
                stats["executor"] = {"name": pool.name, **pool.stats}
            elif concurrent:
                asyncio.run(sliding(fin, fout))
            else:
                for rec, prompt in records(fin):
                    emit(fout, rec, judge.judge(None, prompt, rec.get("response") or ""))
    finally:
        if not concurrent:
            closer = getattr(judge, "close", None)
            if callable(closer):
                closer()
        if vcache is not None:
            vcache.close()
            stats["verdict_cache"] = vcache.stats()
        if qf is not None:
            qf.close()
    return stats


#: Finished shards that may wait for a slower earlier one before no new shard is sent.
MAX_WAITING_SHARDS = 64


def _judge_on_pool(pool: Any, records: Any, emit: Any, judge: Any, vcache: Any, work_args: tuple[Any, ...]) -> None:
    """Grade ``records`` (``(record, prompt)``) on an executor's actor pool, emitting in input order.

    Args:
        pool: The executor (it has ``run_units``, as :class:`redline.executors.ray.RayExecutor`).
        records: The checked records, in input order.
        emit: Writes one record with its judgment.
        judge: This process's judge (verdict-cached when ``vcache`` is set).
        vcache: The verdict cache, or None.
        work_args: :class:`JudgeWork`'s arguments.

    Raises:
        InputError: The executor cannot run ``redline judge``.
    """
    from redline.executors.shards import shards, verdicts_for

    if not hasattr(pool, "run_units"):
        raise InputError(f"--executor {pool.name} cannot run `redline judge`", [Problem(
            "--executor", pool.name, "use --executor ray, or leave --executor out")])
    concurrent = is_async(judge)
    waiting: dict[int, tuple[list[Any], list[Any]]] = {}
    next_seq = 0

    def payload(items: list[tuple[dict[str, Any], str]]) -> dict[str, Any]:
        sent, verdicts = [], {}
        for rec, prompt in items:
            sent.append(({k: rec[k] for k in ("id", "prompt", "messages", "category", "response", "meta")
                          if k in rec}, prompt))
            if vcache is not None:
                verdicts.update(verdicts_for([judge], vcache, _sample_of(rec) if concurrent else None,
                                             prompt, rec.get("response") or ""))
        return {"items": sent, "verdicts": verdicts}

    def on_result(seq: int, items: list[Any], out: dict[str, Any], gained: dict[str, int]) -> None:
        nonlocal next_seq
        if vcache is not None:
            for key, j in out["verdicts"]:
                vcache.put(key, j)
        waiting[seq] = (items, out["judgments"])
        while next_seq in waiting:
            done_items, judgments = waiting.pop(next_seq)
            for (rec, _), j in zip(done_items, judgments, strict=True):
                emit(rec, j)
            next_seq += 1

    pool.run_units(JudgeWork, work_args, shards(records, pool.shard_size), payload=payload,
                   on_result=on_result, hold=lambda: len(waiting) >= MAX_WAITING_SHARDS)


class JudgeWork:
    """A Ray actor's work for ``redline judge``: the judge built once, then shards of records."""

    def __init__(self, judge_name: str, options: dict[str, str], policy: Any, cache_verdicts: bool) -> None:
        """Build the judge (once per actor).

        Args:
            judge_name: The judge.
            options: Its options (``concurrency`` included).
            policy: The loaded policy (shipped from the driver).
            cache_verdicts: Whether the driver keeps a verdict cache (shipped verdicts are used,
                new ones returned).
        """
        from redline.executors.shards import ShippedVerdicts
        from redline.judges.cache import with_cache

        self.store = ShippedVerdicts() if cache_verdicts else None
        self.judge = with_cache(create_judge(judge_name, **{**options, "policy": policy}),
                                self.store)  # type: ignore[arg-type]  # the stand-in has get/put
        self.concurrent = is_async(self.judge)

    async def run_shard(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Grade one shard's records as the local path does (async judges concurrently).

        Args:
            payload: ``{"items": [(record, prompt), ...], "verdicts": {key: judgment}}``.

        Returns:
            ``{"judgments": [...], "verdicts": [(key, judgment), ...]}`` in the shard's order.
        """
        from redline.executors.shards import drain

        items = payload["items"]
        if self.store is not None:
            self.store.shipped = dict(payload.get("verdicts") or {})
        if self.concurrent:
            judgments = list(await asyncio.gather(*(
                ajudge_any(self.judge, _sample_of(rec), prompt, rec.get("response") or "") for rec, prompt in items)))
        else:
            judgments = [self.judge.judge(None, prompt, rec.get("response") or "") for rec, prompt in items]
        return {"judgments": judgments, "verdicts": drain(self.store)}
