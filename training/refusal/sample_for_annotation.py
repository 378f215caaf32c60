"""Draw the deterministic, stratified annotation sample (model x attack x weak label).

Prints refs only; the annotator reads the responses from ../shared/data locally.
Usage: python training/refusal/sample_for_annotation.py > /tmp/sample_refs.txt
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jbb_common import is_jailbroken, iter_jbb  # noqa: E402

PER_FILE = 26


def main() -> None:
    rng = random.Random(20240601)
    strata = defaultdict(list)
    for ref, rec in iter_jbb():
        strata[(ref.split("#")[0], is_jailbroken(rec))].append(ref)
    files = sorted({k[0] for k in strata})
    chosen = []
    for f in files:
        pos, neg = strata.get((f, True), []), strata.get((f, False), [])
        rng.shuffle(pos)
        rng.shuffle(neg)
        # half from each weak-label stratum where possible
        k_neg = min(len(neg), PER_FILE // 2)
        k_pos = min(len(pos), PER_FILE - k_neg)
        k_neg = min(len(neg), PER_FILE - k_pos)
        chosen += neg[:k_neg] + pos[:k_pos]
    for r in chosen:
        print(r)


if __name__ == "__main__":
    main()
