"""Draft and revise: a model drafts the response of ``sft-write`` / ``revise`` items from the
policy's safe-completion elements; annotators revise it; several drafts feed a preference task.

- :func:`draft_prompt` compiles the drafter's instructions from the item's policy node (in the
  project's stored schema): its definition, the expected behaviour for the item's intent, the
  safe-completion description and its required elements (for a self-harm disclosure: empathy,
  crisis resources, no method detail).
- :func:`draft_items` asks a drafter (any ``target`` plug-in: ``openai:MODEL``, ``local``, …)
  through :func:`ask_model` — the workspace's response cache (the same cache and key as
  ``redline eval``), retries with backoff on transient errors — and stores each draft as soon as
  it arrives, so a killed run resumes where it stopped (items that have their drafts are not
  asked again). Failures are counted by reason, never dropped silently.
- The ``revise`` task shows the draft pre-filled; the label keeps the final response, a reason,
  the draft, the drafter and the edit distance (:func:`edit_stats`: character-level Levenshtein
  distance from rapidfuzz, and its normalised similarity).
- :func:`preference_project_from_drafts` turns items with two or more drafts into a
  ``preference`` project (candidates = the drafts), whose DPO export is the usual one (pairs with
  the margin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.annotate.schema import find_node, suggested_behaviour
from redline.data.records import Record
from redline.errors import InputError, Problem

if TYPE_CHECKING:
    from redline.annotate.rows import Project
    from redline.annotate.service import Annotations
    from redline.data.schema import Message

__all__ = ["DraftResult", "ModelReply", "ask_model", "draft_items", "draft_prompt", "edit_stats",
           "preference_project_from_drafts"]

DRAFT_TASKS = ("sft-write", "revise")

_DRAFT_RULES = (
    "You write the response an AI assistant should give to the conversation below, following the "
    "safety policy excerpt. Write only the response, addressed to the user. Never include "
    "operational detail that could cause harm (methods, quantities, step-by-step instructions).")


@dataclass
class ModelReply:
    """One answer of :func:`ask_model`.

    Attributes:
        text: The reply text (None when the request failed).
        error: Why it failed (None when it did not).
        cached: Whether it came from the response cache.
    """

    text: str | None
    error: str | None = None
    cached: bool = False


def ask_model(spec: str, requests: Sequence[tuple[str, list[Message]]], *, cache_path: Path | None,
              options: dict[str, Any] | None = None, temperature: float = 0.0, seeds: Sequence[int] | None = None,
              max_tokens: int = 512, concurrency: int = 4,
              on_reply: Callable[[str, ModelReply], None] | None = None) -> dict[str, ModelReply]:
    """Ask a ``target`` plug-in every conversation of ``requests``, through the response cache.

    Args:
        spec: The target spec (``openai:MODEL``, ``local``, …).
        requests: ``(request id, messages)`` pairs.
        cache_path: The response cache file (the workspace's ``cache.sqlite``); None: no cache.
        options: The target's own options (``base_url``, ``api_key``, …).
        temperature: Sampling temperature.
        seeds: One seed per request (default 0 for all): different seeds give different drafts
            of the same prompt, and distinct cache keys.
        max_tokens: Most tokens per reply.
        concurrency: Requests in flight at once.
        on_reply: Called with each reply as it arrives (e.g. to store it at once).

    Returns:
        The reply of each request id; a failed request has ``text`` None and its ``error``.

    Raises:
        InputError: A bad target spec or option, or a target that cannot serve (unreachable,
            unauthorised), with the error.
    """
    from redline.evals.cache import ResponseCache, cache_key
    from redline.evals.runner import RetryPolicy
    from redline.targets.base import (
        FatalTargetError,
        GenParams,
        SampleError,
        TransientError,
        create_target,
    )

    target = create_target(spec, **{k: v for k, v in (options or {}).items() if v is not None})
    cache = ResponseCache(cache_path) if cache_path is not None and getattr(target, "cacheable", True) else None
    retry = RetryPolicy()
    out: dict[str, ModelReply] = {}
    limit = min(concurrency, target.max_concurrency or concurrency)

    async def one(i: int, rid: str, msgs: list[Message], sem: asyncio.Semaphore) -> None:
        params = GenParams(max_tokens=max_tokens, temperature=temperature, seed=seeds[i] if seeds else 0)
        key = cache_key(target.cache_identity, params, msgs)
        got = cache.get(key) if cache is not None else None
        if got is not None:
            rep = ModelReply(got.text, cached=True)
        else:
            async with sem:
                rep = ModelReply(None, "no reply")
                for attempt in range(retry.max_retries + 1):
                    try:
                        gen = await target.generate(msgs, params, rid)
                        rep = ModelReply(gen.text)
                        if cache is not None:
                            cache.put(key, target.cache_identity, gen)
                        break
                    except TransientError as e:
                        rep = ModelReply(None, f"{e} (gave up after {attempt + 1} attempts)")
                        if attempt < retry.max_retries:
                            await asyncio.sleep(retry.delay(attempt, e.retry_after))
                    except SampleError as e:
                        rep = ModelReply(None, str(e))
                        break
        if rep.text is not None and not rep.text.strip():
            rep = ModelReply(None, "empty reply", rep.cached)
        out[rid] = rep
        if on_reply is not None:
            on_reply(rid, rep)

    async def main() -> None:
        sem = asyncio.Semaphore(max(1, limit))
        try:
            await asyncio.gather(*(one(i, rid, m, sem) for i, (rid, m) in enumerate(requests)))
        finally:
            await target.aclose()

    try:
        asyncio.run(main())
    except FatalTargetError as e:
        raise InputError(f"the model {spec!r} cannot answer", [Problem(spec, str(e), "check the server and "
                                                                      "--base-url / the API key, then run again")]) from None
    finally:
        if cache is not None:
            cache.close()
    return out


def draft_prompt(schema: dict[str, Any], record: Record) -> list[Message]:
    """The drafter's conversation for one item: a system message with the policy node's
    definition, the expected behaviour for the item's intent, the safe-completion description and
    its required elements, then the item's prompt side.

    Args:
        schema: The project's annotation schema (the compiled policy).
        record: The item's record.

    Returns:
        The messages to send to the drafter.
    """
    from redline.data.schema import Message, TextPart

    node = find_node(schema, record.category)
    lines = [_DRAFT_RULES, ""]
    behaviour = suggested_behaviour(schema, record)
    if node is not None:
        lines.append(f"Policy category: {node.get('name')} ({node.get('id')})")
        if (node.get("definition") or "").strip():
            lines.append(f"Definition: {node['definition'].strip()}")
    if behaviour:
        lines.append(f"Expected behaviour: {behaviour.replace('_', ' ')}")
    if node is not None and node.get("safe_completion"):
        lines.append(f"A good safe completion: {str(node['safe_completion']).strip()}")
    elements = list((node or {}).get("safe_completion_elements") or [])
    if elements:
        lines.append("The response must have every one of these elements:")
        lines += [f"- {e}" for e in elements]
    return [Message(role="system", content=[TextPart(text="\n".join(lines))]), *record.prompt_messages]


def edit_stats(draft: str, final: str) -> dict[str, Any]:
    """How much an annotator changed a draft.

    Args:
        draft: The model's draft.
        final: The annotator's final response.

    Returns:
        ``edit_distance`` (character-level Levenshtein distance, rapidfuzz), ``edit_similarity``
        (``1 - distance / max(len)``, 1.0 for identical texts, rounded to 4 places) and
        ``changed``.
    """
    from rapidfuzz.distance import Levenshtein

    d = int(Levenshtein.distance(draft, final))
    return {"edit_distance": d, "edit_similarity": round(float(Levenshtein.normalized_similarity(draft, final)), 4),
            "changed": d > 0}


@dataclass
class DraftResult:
    """What a drafting pass did.

    Attributes:
        drafter: The drafter's target spec.
        asked: Drafts requested from the model in this run.
        stored: Drafts stored in this run.
        already: Drafts the items had already (not asked again: a resumed run).
        cached: Stored drafts that came from the response cache.
        failed: Drafts that could not be made, counted by reason.
        skipped: Items not drafted, counted by reason (e.g. gold items).
    """

    drafter: str
    asked: int = 0
    stored: int = 0
    already: int = 0
    cached: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {"drafter": self.drafter, "asked": self.asked, "stored": self.stored, "already": self.already,
                "cached": self.cached, "failed": dict(self.failed), "skipped": dict(self.skipped)}


def _need_draft_task(p: Project) -> None:
    if p.task not in DRAFT_TASKS:
        raise InputError(f"project {p.name!r} is a {p.task} project", [Problem(
            p.name, "drafts are for sft-write and revise projects",
            "create the project with --task revise (or sft-write)")])


def draft_items(svc: Annotations, project: str, drafter: str, *, n: int = 1, cache_path: Path | None = None,
                options: dict[str, Any] | None = None, temperature: float | None = None,
                max_tokens: int = 512, concurrency: int = 4) -> DraftResult:
    """Store ``n`` drafts for every data item of a ``sft-write``/``revise`` project (gold items
    are not drafted: their answer is fixed). Drafts are stored as they arrive; drafts an item has
    already are not asked again. Draft ``i`` is asked with seed ``i`` (and, for ``n > 1``,
    temperature 0.8 unless given) so the drafts differ.

    Raises:
        InputError: Not a draft task, ``n`` < 1, or a drafter that cannot serve.
    """
    p = svc.get_project(project)
    _need_draft_task(p)
    if n < 1:
        raise InputError("bad --n", [Problem("--n", str(n), "ask for at least one draft per item")])
    res = DraftResult(drafter=drafter)
    have = {(d["item_id"], d["idx"]) for d in svc.assists(project, "draft")}
    requests: list[tuple[str, list[Message]]] = []
    seeds: list[int] = []
    meta: dict[str, tuple[str, int, list[str]]] = {}
    for it in svc.items(project, include_gold=True):
        if it.is_gold:
            res.skipped["gold item"] = res.skipped.get("gold item", 0) + n
            continue
        msgs = draft_prompt(p.schema, it.record)
        node = find_node(p.schema, it.record.category) or {}
        for i in range(n):
            if (it.item_id, i) in have:
                res.already += 1
                continue
            rid = f"{it.item_id}#{i}"
            requests.append((rid, msgs))
            seeds.append(i)
            meta[rid] = (it.item_id, i, list(node.get("safe_completion_elements") or []))
    res.asked = len(requests)

    def store(rid: str, rep: ModelReply) -> None:
        if rep.text is None:
            why = rep.error or "no reply"
            res.failed[why] = res.failed.get(why, 0) + 1
            return
        item_id, idx, elements = meta[rid]
        svc.set_assists(project, "draft", [(item_id, idx, drafter, {"text": rep.text.strip(), "elements": elements})])
        res.stored += 1
        res.cached += int(rep.cached)

    if requests:
        temp = temperature if temperature is not None else (0.8 if n > 1 else 0.0)
        ask_model(drafter, requests, cache_path=cache_path, options=options, temperature=temp, seeds=seeds,
                  max_tokens=max_tokens, concurrency=concurrency, on_reply=store)
    return res


def preference_project_from_drafts(svc: Annotations, project: str, name: str, *, overlap: int = 3,
                                   gold_rate: float = 0.0) -> tuple[int, dict[str, int]]:
    """A new ``preference`` project whose items are the items of ``project`` with two or more
    drafts (candidates = the drafts, in draft order; the page shuffles them per annotator).

    Returns:
        Items created, and items left out counted by reason.

    Raises:
        InputError: No item has two drafts, or the name is taken.
    """
    p = svc.get_project(project)
    _need_draft_task(p)
    drafts: dict[str, list[dict[str, Any]]] = {}
    for d in svc.assists(project, "draft"):
        drafts.setdefault(d["item_id"], []).append(d)
    records: list[Record] = []
    left: dict[str, int] = {}
    for it in svc.items(project):
        ds = sorted(drafts.get(it.item_id, []), key=lambda d: d["idx"])
        if len(ds) < 2:
            left["fewer than 2 drafts"] = left.get("fewer than 2 drafts", 0) + 1
            continue
        rec = Record(id=it.item_id, messages=it.record.prompt_messages, category=it.record.category,
                     meta={**{k: v for k, v in it.record.meta.items() if k != "responses"},
                           "responses": [d["values"]["text"] for d in ds],
                           "drafts": {"project": project, "drafters": [d["source"] for d in ds]}})
        records.append(rec)
    if not records:
        raise InputError("no item has two drafts", [Problem(
            project, "a preference task needs 2+ drafts per item", "run `redline annotate draft PROJECT --n 2` first")])
    svc.create_project(name, policy=svc.policy(project), policy_ref=p.policy_ref, task="preference",
                       records=records, overlap=overlap, gold_rate=gold_rate)
    return len(records), left
