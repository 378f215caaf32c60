"""Responses read from a JSONL file (judge answers produced elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redline.data.schema import Message
from redline.errors import InputError, Problem
from redline.plugins import plugin
from redline.targets.base import Generation, GenParams, SampleError


class ReplayTarget:
    """Looks responses up by sample id. Holds only an id → file-offset index in memory."""

    cacheable = False
    max_concurrency = None

    def __init__(self, path: Path):
        if not path.is_file():
            raise InputError("replay file not found", [Problem(
                str(path), "no such file", "write --target replay:FILE with a JSONL of {id, response}")])
        self.path = path
        self.name = f"replay:{path.name}"
        self.cache_identity = f"replay|{path}"
        self._index: dict[str, int] = {}
        problems: list[Problem] = []
        with open(path, "rb") as f:
            lineno = 0
            while True:
                off = f.tell()
                line = f.readline()
                if not line:
                    break
                lineno += 1
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    rid = obj["id"]
                except (ValueError, KeyError, TypeError):
                    problems.append(Problem(f"{path}:{lineno}", "not a JSON object with an 'id'",
                                            'write {"id": ..., "response": ...} per line'))
                    continue
                if "response" not in obj and "error" not in obj:
                    problems.append(Problem(f"{path}:{lineno}", "no 'response' field",
                                            "add the model's response text as 'response'"))
                    continue
                if str(rid) in self._index:  # which answer is meant? refuse to guess
                    first = _line_at(path, self._index[str(rid)])
                    problems.append(Problem(f"{path}:{lineno}", f"id {rid!r} repeats line {first}",
                                            "keep one response per id"))
                    continue
                self._index[str(rid)] = off
        if problems:
            raise InputError(f"{path}: {len(problems)} bad line(s)", problems)
        self._f = open(path, "rb")  # noqa: SIM115 - closed in aclose

    def manifest(self) -> dict[str, Any]:
        """The replay file and how many responses it holds."""
        return {"type": "replay", "file": str(self.path), "records": len(self._index)}

    async def generate(self, messages: list[Message], params: GenParams, sample_id: str) -> Generation:
        """The recorded response for ``sample_id``, read from the file.

        Args:
            messages: Unused (the answer is looked up by id).
            params: Unused.
            sample_id: The sample's id.

        Returns:
            The recorded ``response`` (empty when absent) and its ``usage``.

        Raises:
            SampleError: The file has no line for ``sample_id``, the line records an ``error``,
                or its ``response`` is not a string.
        """
        off = self._index.get(sample_id)
        if off is None:
            raise SampleError(f"no response for id {sample_id!r} in {self.path}")
        self._f.seek(off)
        obj = json.loads(self._f.readline())
        if obj.get("error"):
            raise SampleError(f"replayed error: {obj['error']}")
        resp = obj.get("response")
        if resp is not None and not isinstance(resp, str):
            raise SampleError(f"'response' for id {sample_id!r} is not a string")
        return Generation(text=resp or "", usage=obj.get("usage") or {})

    async def aclose(self) -> None:
        """Close the replay file."""
        self._f.close()


def _line_at(path: Path, offset: int) -> int:
    """1-based line number of the line starting at byte ``offset`` (error path only)."""
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


@plugin("target", "replay", arg="required", arg_help="FILE.jsonl")
def replay_target(path: str) -> ReplayTarget:
    """Answers recorded earlier, read back from a JSONL file (never cached)."""
    if not path:
        raise InputError("the replay target needs a file", [Problem(
            "--target", "no file given", "write --target replay:responses.jsonl")])
    return ReplayTarget(Path(path))
