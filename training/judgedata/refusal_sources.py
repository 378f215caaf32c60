"""Team refusal labels of GPTFuzz-train responses (source ``gptfuzz-team-refusal``).

GPTFuzz ships a human harm label (``jailbroken``) but no refusal class.  The Redline team read a
stratified sample (``training/refusal/sample_gptfuzz.py``, fixed seed: half jailbroken, half not,
at most 3 responses per question, duplicate texts dropped) and labelled each response's refusal
class by the field's definitions (``training/refusal/README.md``).  ``refusal_team_labels.jsonl``
stores only references (``gptfuzz/train.csv#<row>``), the label and a short note; the text is read
from the local copy of GPTFuzz ``train.csv`` (``$REDLINE_JUDGE_DATA``), as for ``gptfuzz-train``.

The responses come from ChatGPT, Llama-2-7B-chat and Vicuna-7B, mixed and unattributed, mostly
inside role-play jailbreak templates ("GPT: I can't … / DAN: sure …" is a partial refusal).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

LABELS_PATH = Path(__file__).with_name("refusal_team_labels.jsonl")


def gptfuzz_team_refusal() -> Iterator:
    """GPTFuzz-train rows with a team refusal label (the GPTFuzz harm label is kept)."""
    import sources  # the registry module (imported lazily: it imports this one by name)

    labels = {}
    for line in LABELS_PATH.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            labels[d["ref"]] = d
    for row in sources.LOADERS["gptfuzz-train"]():
        d = labels.get(row.ref)
        if d is None:
            continue
        row.source = "gptfuzz-team-refusal"
        row.refusal = d["label"]
        row.note = d.get("note", "")
        yield row
