"""Rows for the capacity experiment, read through ``training/judgedata/sources.py``.

``gptfuzz-train`` (6,160 rows) is subsampled (stratified by the harm label, fixed seed) to
:data:`GPTFUZZ_TRAIN_N` rows so that the numpy MiniLM forward pass fits the CPU time box; every
encoder is measured on the same subsample so the figures compare like with like.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training" / "judgedata"))
sys.path.insert(0, str(ROOT / "src"))
import sources  # noqa: E402

GPTFUZZ_TRAIN_N = 2500
REFUSAL_TRAIN = ("jbb-team", "team-synthetic", "gptfuzz-team-refusal")
REFUSAL_EVAL = ("xstest",)


def load_rows() -> list:
    """All rows, with ``gptfuzz-train`` replaced by its stratified subsample."""
    rows = sources.load()
    gf = [r for r in rows if r.source == "gptfuzz-train"]
    rng = random.Random(11)
    keep: set[str] = set()
    for lab in (True, False):
        part = sorted((r for r in gf if r.harmful is lab), key=lambda r: r.ref)
        k = round(GPTFUZZ_TRAIN_N * len(part) / len(gf))
        keep |= {r.ref for r in rng.sample(part, k)}
    return [r for r in rows if r.source != "gptfuzz-train" or r.ref in keep]


def refusal_rows(rows: list) -> dict[str, list]:
    """Refusal-labelled rows by source (trainable and evaluation-only)."""
    out: dict[str, list] = {}
    for r in rows:
        if r.refusal and r.source in REFUSAL_TRAIN + REFUSAL_EVAL:
            out.setdefault(r.source, []).append(r)
    return out


def harm_units(rows: list) -> tuple[dict[str, list], dict]:
    """Harm-labelled rows by held-out unit: ``gptfuzz-train``, ``jbb`` (jbb-team + jbb-team-train,
    which share behaviours and most responses: merged, one row per response) and the
    evaluation-only ``gptfuzz-eval``. ``gptfuzz-team-refusal`` rows are gptfuzz-train rows
    (same refs) and are not used for harm. Returns (units, notes)."""
    units: dict[str, list] = {"gptfuzz-train": [], "jbb": [], "gptfuzz-eval": []}
    seen: dict[str, bool] = {}
    conflicts = 0
    for r in rows:
        if r.harmful is None:
            continue
        if r.source in ("gptfuzz-train", "gptfuzz-eval"):
            units[r.source].append(r)
        elif r.source in ("jbb-team", "jbb-team-train"):
            if r.response in seen:
                conflicts += seen[r.response] != r.harmful
                continue
            seen[r.response] = r.harmful
            units["jbb"].append(r)
    return units, {"jbb_duplicate_label_conflicts": conflicts}


def all_texts(rows: list) -> list[str]:
    """Every text an encoder needs: refusal/harm responses, then harm prompts (unique, ordered)."""
    ref = refusal_rows(rows)
    units, _ = harm_units(rows)
    order = [r.response for s in REFUSAL_TRAIN + REFUSAL_EVAL for r in ref.get(s, [])]
    order += [r.response for u in ("gptfuzz-eval", "jbb", "gptfuzz-train") for r in units[u]]
    order += [r.prompt for u in units.values() for r in u]
    return list(dict.fromkeys(order))
