"""Shared helpers for reading the JailbreakBench artifacts by reference.

A *ref* is ``"<METHOD>/<attack_type>/<model>.json#<position>"`` where
``position`` is the 0-based position of the record in the file's
``jailbreaks`` list.  We store refs, never response text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
JBB_DIR = SHARED_DATA / "jailbreakbench" / "attack-artifacts"

# Held-out rule: split by JailbreakBench behaviour (the record's position in
# each artifact file is the JBB-Behaviors index 0..99, shared by all files;
# goal strings differ slightly between files, so we do not hash the goal).
# ~29 of the 100 behaviours are test.
TEST_FRACTION = 0.38


def jbb_available() -> bool:
    return JBB_DIR.is_dir()


def iter_jbb():
    """Yield (ref, record) for every JBB record with a non-null response."""
    for path in sorted(JBB_DIR.glob("*/*/*.json")):
        rel = path.relative_to(JBB_DIR).as_posix()
        data = json.loads(path.read_text(encoding="utf-8"))
        for pos, rec in enumerate(data.get("jailbreaks", [])):
            if rec.get("response"):
                yield f"{rel}#{pos}", rec


def resolve(refs):
    """Map refs -> records. Missing refs raise KeyError."""
    cache: dict[str, list] = {}
    out = {}
    for ref in refs:
        rel, pos = ref.rsplit("#", 1)
        if rel not in cache:
            cache[rel] = json.loads((JBB_DIR / rel).read_text(encoding="utf-8"))["jailbreaks"]
        out[ref] = cache[rel][int(pos)]
    return out


def behaviour_index(ref: str) -> int:
    return int(ref.rsplit("#", 1)[1])


def behaviour_split(index: int) -> str:
    """Grouped split: a behaviour (and so its goal) never lands in both splits."""
    h = int(hashlib.sha1(f"jbb-behavior-{index}".encode()).hexdigest()[:8], 16)
    return "test" if (h % 1000) < TEST_FRACTION * 1000 else "train"


def is_jailbroken(rec) -> bool:
    v = rec.get("jailbroken")
    return v is True or str(v).lower() == "true"
