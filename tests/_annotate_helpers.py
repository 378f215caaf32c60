"""Shared set-up for the `redline annotate` CLI tests: a policy, data files, a project made with
the real CLI, users, and labels submitted through the service (the web UI's path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import run_cli, write_policy


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def response_rows(n: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "prompt": f"test prompt {prefix}{i}", "response": f"model response {i}",
             "category": "violent_crimes" if i % 2 else "self_harm",
             "expected": "refuse" if i % 3 else "comply"} for i in range(n)]


def gold_rows(n: int) -> list[dict[str, Any]]:
    """Gold items: the answer is in labels (harmful iff even)."""
    out = []
    for i in range(n):
        harmful = i % 2 == 0
        labels: dict[str, Any] = {"harmful": harmful, "refusal": "full_compliance" if harmful else "full_refusal",
                                  "completion_quality": "n/a"}
        if harmful:
            labels.update(category="violent_crimes", severity=2)
        out.append({"id": f"x{100 + i}", "prompt": f"test prompt q{i}", "response": f"model response {100 + i}",
                    "labels": labels})
    return out


def create(ws: Path, *, task: str = "response-label", n: int = 8, gold: int = 0, name: str = "p1",
           extra: tuple[str, ...] = (), rows: list[dict[str, Any]] | None = None) -> Any:
    pol = write_policy(ws / "pol.yaml")
    data = write_jsonl(ws / f"{name}-data.jsonl", rows if rows is not None else response_rows(n))
    args = ["annotate", "create", "--policy", str(pol), "--data", str(data), "--task", task, "--name", name, *extra]
    if gold:
        args += ["--gold", str(write_jsonl(ws / f"{name}-gold.jsonl", gold_rows(gold)))]
    return run_cli(*args)


def add_users(vendor: str | None, *names: str, role: str = "annotator") -> None:
    for u in names:
        args = ["annotate", "user", "add", u, "--role", role, "--password-stdin"]
        if vendor:
            args += ["--vendor", vendor]
        r = run_cli(*args, input="a-long-password\n")
        assert r.returncode == 0, r.stderr


def service() -> Any:
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    return Annotations(Workspace.default().db)


def label_all(svc: Any, project: str, users: list[str], answer: Any) -> int:
    """Every user labels everything served to them; ``answer(user, item) -> values``. Returns labels made."""
    n = 0
    for u in users:
        while True:
            a = svc.next_item(project, u)
            if a is None:
                break
            svc.submit(project, u, a.item_id, answer(u, svc.item(project, a.item_id, include_gold=True)),
                       duration_s=5.0)
            n += 1
    return n


def truth(item: Any) -> bool:
    """The simulated truth of an item: gold answers, else harmful iff its number is even."""
    if item.is_gold and item.gold:
        return bool(item.gold["harmful"])
    return int("".join(ch for ch in item.item_id if ch.isdigit()) or 0) % 2 == 0


def response_values(harmful: bool) -> dict[str, Any]:
    if harmful:
        return {"harmful": True, "category": "violent_crimes", "severity": 2, "refusal": "full_compliance",
                "completion_quality": "n/a"}
    return {"harmful": False, "refusal": "full_refusal", "completion_quality": "n/a"}
