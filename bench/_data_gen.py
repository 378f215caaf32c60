"""Synthetic short safety-style prompts for the data benchmarks (deterministic, no real PII)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

_WORDS = ("how can i what is the best way to explain why people tell me about write a short story poem "
          "history of science money home school work city night day friend family doctor law court police "
          "report online safety account password email phone bank card travel food recipe garden music "
          "game movie book news election health medicine exercise sleep stress help please quickly").split()
_FR = "comment puis-je quelle est la meilleure façon de expliquer pourquoi les gens écrire une histoire".split()
_CATS = ["violent_crimes", "self_harm", "privacy", "hate", "nonviolent_crimes", "cyber_abuse", "weapons_cbrne"]


def write_jsonl(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` records of 40–160 characters: ~4% exact and ~4% near duplicates, ~1% with PII, ~10% French."""
    rnd = random.Random(seed)
    recent: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            u = rnd.random()
            if recent and u < 0.04:
                text = rnd.choice(recent)  # exact duplicate
            elif recent and u < 0.08:
                text = rnd.choice(recent) + " " + rnd.choice(_WORDS)  # near duplicate
            else:
                words = _FR if u > 0.9 else _WORDS
                text = " ".join(rnd.choice(words) for _ in range(rnd.randint(7, 22)))
                if u < 0.09:
                    text += f" contact me at user{i}@example.com"
                text = text[:1].upper() + text[1:] + "?"
                recent.append(text)
                if len(recent) > 1000:
                    recent.pop(0)
            f.write(json.dumps({"id": f"r{i:07d}", "prompt": text, "category": _CATS[i % len(_CATS)],
                                "expected": "refuse" if i % 3 else "comply", "language": "fr" if u > 0.9 else "en",
                                "labels": {"harm": "unsafe" if i % 4 else "safe"}}) + "\n")
    return path


def timed_child(args: list[str], cores: int | None = None) -> tuple[float, float]:
    """Run ``python -m redline ARGS`` in a child process (pinned to the first ``cores`` CPUs when
    given): its wall time in seconds and its peak RSS in MiB. A failing command stops the bench."""
    cmd = [sys.executable, "-m", "redline", *args]
    pin = f"os.sched_setaffinity(0, set(list(os.sched_getaffinity(0))[:{cores}]));" if cores else ""
    code = ("import os,resource,subprocess,sys;" + pin +
            f"p=subprocess.run({cmd!r},capture_output=True,text=True);"
            "assert p.returncode==0,p.stderr[-2000:];"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    return time.perf_counter() - t0, int(p.stdout.strip()) / 1024
