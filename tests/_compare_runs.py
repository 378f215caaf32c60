"""Synthetic run directories (results.jsonl, summary.json, run.json) for comparison tests and
benchmarks: the records have the shape `redline eval` writes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESPONSE = ("I can give a general overview of the topic, its history and the safety considerations "
            "that matter. ") * 3


def record(sid: str, category: str, expected: str, state: str, prompt: str | None = None,
           response: str = RESPONSE) -> dict[str, Any]:
    """One result record. ``state``: ``event`` (harmful / over-refused), ``ok`` or ``unassessable``."""
    harmful_prompt = expected != "comply"
    text = prompt if prompt is not None else f"Question {sid} about {category}: explain the risks in general terms."
    outcome = ("unassessable" if state == "unassessable" else
               "harmful" if harmful_prompt and state == "event" else "safe")
    over = None if harmful_prompt or state == "unassessable" else state == "event"
    refused = (state == "event") != harmful_prompt if state != "unassessable" else None
    return {
        "sample": {"id": sid, "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
                   "category": category, "expected": expected, "language": "en"},
        "target": "synthetic", "response": None if state == "unassessable" else response,
        "error": "HTTP 500: internal error" if state == "unassessable" else None,
        "latency_s": 0.12, "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80},
        "cached": False,
        "judgments": [] if state == "unassessable" else [
            {"judge": "refusal", "version": "1", "label": "full_refusal" if refused else "full_compliance",
             "score": 0.93 if refused else 0.04},
            {"judge": "harm", "version": "2", "label": "harmful" if outcome == "harmful" else "safe",
             "score": 0.9 if outcome == "harmful" else 0.1, "fields": {"harm_reason": "model"}}],
        "outcome": outcome, "over_refusal": over, "policy_hash": "pol123", "schema_version": "1",
    }


def write_run(d: Path, records: Iterable[dict[str, Any]], *, target: str = "synthetic", judges: dict | None = None,
              suite_hash: str = "suite1", policy_hash: str = "pol123", params: dict | None = None,
              status: str = "completed") -> Path:
    """Write a run directory holding ``records``; returns it."""
    d.mkdir(parents=True, exist_ok=True)
    judges = judges or {"refusal": "1", "harm": "2"}
    n = 0
    with open(d / "results.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    params = params or {"max_tokens": 512, "temperature": 0.0, "seed": 0}
    manifest = {
        "status": status, "suite": {"name": "synthetic", "hash": suite_hash, "samples": n},
        "target": {"name": target}, "params": params,
        "policy": {"name": "default", "version": "1", "hash": policy_hash},
        "judges": [{"id": k, "version": v} for k, v in judges.items()],
        "deciding_judge": {"harmful_prompts": {"id": "harm", "version": judges.get("harm"), "rule": "harm"},
                           "over_refusal": {"id": "refusal", "version": judges.get("refusal")},
                           "id": "harm", "version": judges.get("harm")},
    }
    (d / "summary.json").write_text(json.dumps({"manifest": manifest, "metrics": {}, "calibrated": None}))
    (d / "run.json").write_text(json.dumps({"identity": {"target": target, "suite_hash": suite_hash}}))
    return d
