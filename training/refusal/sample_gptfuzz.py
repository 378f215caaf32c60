"""Draw the GPTFuzz-train responses the team labels for refusal (``refusal_team_labels.jsonl``).

    python training/refusal/sample_gptfuzz.py [--n 240] [--show]

Stratified, fixed seed: half from each value of the human ``jailbroken`` label, at most 3
responses per question, exact-duplicate texts dropped (GPTFuzz repeats "I'm sorry, but I can't
assist with that." hundreds of times).  ``--show`` prints each drawn response (head and tail) for
the annotator; nothing of the text is stored in the repository, only ``gptfuzz/train.csv#<row>``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judgedata"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from sources import LOADERS  # noqa: E402

SEED = 11


def draw(n: int = 240) -> list:
    """The drawn ``sources.Row`` objects, in a fixed order."""
    rows = list(LOADERS["gptfuzz-train"]())
    rng = random.Random(SEED)
    rng.shuffle(rows)
    seen, per_q, picked = set(), Counter(), {True: [], False: []}
    for r in rows:
        key = " ".join(r.response.split())[:300]
        if key in seen or per_q[r.group] >= 3 or not r.response.strip():
            continue
        if len(picked[r.harmful]) >= n // 2:
            continue
        seen.add(key)
        per_q[r.group] += 1
        picked[r.harmful].append(r)
    out = [r for pair in zip(picked[True], picked[False], strict=False) for r in pair]
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--stop", type=int, default=10**9)
    args = ap.parse_args()
    drawn = draw(args.n)
    print(f"{len(drawn)} drawn")
    if args.show:
        for i, r in enumerate(drawn[args.start:args.stop], start=args.start):
            t = " ".join(r.response.split())
            body = t if len(t) <= 900 else t[:650] + " [...] " + t[-250:]
            print(f"[{i}] {r.ref} jailbroken={r.harmful}\nQ: {r.prompt[:110]}\nR: {body}\n")
