"""Successful attacks exported as a suite, so they become regression tests for the next model.

Each successful harmful item of a run becomes one sample (JSONL, the suite format) whose
messages are the prompt or conversation that succeeded, without the target's answer: for a
``direct`` item the converted prompt, for an attacker item the best attempt's conversation up
to its last user turn. Category, expected behaviour, language and source are the goal's; the
lineage (``meta.redteam`` with the chain, strategy and original id, plus ``meta.exported_from``)
is kept. ``redline eval --suite FILE`` runs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redline.redteam.metrics import attack_result, item_info, read_results


def success_samples(results: Path) -> list[dict[str, Any]]:
    """The successful attacks of a run, as sample records (JSON-ready dicts).

    Args:
        results: The run's ``results.jsonl``.
    """
    out = []
    for rec in read_results(results):
        info = item_info(rec)
        if info["intent"] != "harmful" or not attack_result(rec):
            continue
        sample = dict(rec["sample"])
        att = rec.get("attack")
        messages = sample["messages"]
        if isinstance(att, dict) and att.get("conversation"):
            conv = [{"role": m["role"], "content": m.get("content") or ""} for m in att["conversation"]
                    if isinstance(m, dict) and m.get("role")]
            while conv and conv[-1]["role"] == "assistant":
                conv.pop()  # the target's answer is what the next model is tested on
            if conv:
                messages = conv
        meta = dict(sample.get("meta") or {})
        meta["exported_from"] = {"run": str(results.parent), "item": sample["id"],
                                 "queries": att.get("success_at") if isinstance(att, dict) else 1}
        out.append({"id": sample["id"], "messages": messages, "category": sample["category"],
                    "expected": sample["expected"], "language": sample.get("language", "en"),
                    **({"source": sample["source"]} if sample.get("source") else {}), "meta": meta})
    return out


def export_successes(results: Path, dest: Path) -> int:
    """Write the run's successful attacks to ``dest`` as a suite (JSONL, atomically).

    Args:
        results: The run's ``results.jsonl``.
        dest: The suite file to write.

    Returns:
        How many samples were written (0 writes an empty file).
    """
    from redline.data.schema import Sample
    from redline.files import jsonl_line, write_atomic

    rows = success_samples(results)
    for r in rows:
        Sample.model_validate(r)  # what `redline eval --suite` will read back
    write_atomic(dest, "".join(jsonl_line(r) for r in rows))
    return len(rows)


def dumps(obj: Any) -> str:
    """``obj`` as indented JSON (non-ASCII kept), as ``redteam.json`` is written."""
    return json.dumps(obj, indent=2, ensure_ascii=False)
