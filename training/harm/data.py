"""Training data of the harm model, read from ../shared/data and the repo (provenance in README.md).

* Prompt rows ``{"text", "harmful", "category" | None, "source"}``:
  harmful prompts of AILuminate (en, fr), HarmBench (validation split only), SimpleSafetyTests,
  MultiJail (English + 9 translations), the built-in ``core`` suite's harmful prompts and the
  goals of the JailbreakBench *training* behaviours; benign prompts from
  ``src/redline/packs/suites/benign_core.yaml`` and ``training/harm/benign_prompts.py``.
  Category labels map upstream hazards with the same tables as ``scripts/build_suites.py``.
* Response rows ``{"prompt", "text", "label", "group", "source"}``: every JailbreakBench
  response of a *training* behaviour, labelled with the artefact's weak ``jailbroken`` verdict,
  overridden by the team's hand labels where they exist (a hand-labelled refusal is never
  harmful); plus the team-written refusals of ``training/refusal/synthetic.jsonl`` (label 0).

JailbreakBench behaviours of the calibration test split are never read for training.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "training" / "refusal"))
sys.path.insert(0, str(ROOT / "training" / "calibration"))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from benign_prompts import EVERYDAY, LOOKS_RISKY, SAME_STEMS  # noqa: E402
from jbb_categories import jbb_policy_category  # noqa: E402
from jbb_common import (  # noqa: E402
    SHARED_DATA,
    behaviour_index,
    behaviour_split,
    is_jailbroken,
    iter_jbb,
    jbb_available,
)

HAZARD_MAP = {
    "vcr": "violent_crimes", "iwp": "weapons_cbrne", "hte": "hate", "ssh": "self_harm",
    "cse": "child_sexual_exploitation", "sxc_prn": "sexual_content", "src": "sex_related_crimes",
    "ncr": "nonviolent_crimes", "prv": "privacy", "ipv": "intellectual_property", "dfm": "defamation",
    "spc_ele": "misinformation_elections", "spc_fin": "specialised_advice",
    "spc_hlt": "specialised_advice", "spc_lgl": "specialised_advice",
}
SST_MAP = {
    "Suicide, Self-Harm, and Eating Disorders": "self_harm",
    "Physical harm and Violence": "violent_crimes",
    "Illegal and Highly Regulated items": "nonviolent_crimes",
    "Scams and fraud": "nonviolent_crimes",
    "Child safety": "child_sexual_exploitation",
}
HARMBENCH_MAP = {
    "harassment_bullying": "harassment", "cybercrime_intrusion": "cyber_abuse",
    "misinformation_disinformation": "misinformation_elections", "chemical_biological": "weapons_cbrne",
    "illegal": "nonviolent_crimes", "copyright": "intellectual_property",
}
MULTIJAIL_LANGS = ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def prompt_rows() -> list[dict]:
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA} not found: the harm model is trained on ../shared/data")
    rows: list[dict] = []
    for loc in ("en_us", "fr_fr"):
        for r in _csv(SHARED_DATA / "ailuminate" / f"airr_official_1.0_demo_{loc}_prompt_set_release.csv"):
            rows.append({"text": r["prompt_text"], "harmful": 1, "category": HAZARD_MAP.get(r["hazard"]),
                         "source": f"ailuminate:{loc}"})
    # HarmBench's validation split only: its test split (harmbench_behaviors_text_test.csv) is a
    # published benchmark test set and is never trained on.
    for r in _csv(SHARED_DATA / "harmbench" / "harmbench_behaviors_text_val.csv"):
        rows.append({"text": r["Behavior"], "harmful": 1, "category": HARMBENCH_MAP.get(r["SemanticCategory"]),
                     "source": "harmbench:val"})
    for r in _csv(SHARED_DATA / "sst" / "sst_test_cases.csv"):
        rows.append({"text": r["prompts_final"], "harmful": 1, "category": SST_MAP.get(r["harm_area"]),
                     "source": "sst"})
    for r in _csv(SHARED_DATA / "multijail" / "MultiJail.csv"):
        for lang in MULTIJAIL_LANGS:
            if r.get(lang, "").strip():
                rows.append({"text": r[lang], "harmful": 1, "category": None, "source": f"multijail:{lang}"})
    core = ROOT / "src" / "redline" / "packs" / "suites" / "core.jsonl"
    for line in core.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["expected"] != "comply":
            rows.append({"text": r["prompt"], "harmful": 1, "category": r["category"], "source": "core"})
    if jbb_available():
        seen: set[int] = set()
        for ref, rec in iter_jbb():
            b = behaviour_index(ref)
            if b in seen or behaviour_split(b) != "train":
                continue
            seen.add(b)
            rows.append({"text": rec["goal"], "harmful": 1, "category": jbb_policy_category(b, rec["category"]),
                         "source": "jbb-goal:train"})
    benign = yaml.safe_load((ROOT / "src" / "redline" / "packs" / "suites" / "benign_core.yaml").read_text())
    for items in benign.values():
        for it in items:
            rows.append({"text": it["prompt"], "harmful": 0, "category": None, "source": "benign_core"})
    for t in EVERYDAY + LOOKS_RISKY + SAME_STEMS:
        rows.append({"text": t, "harmful": 0, "category": None, "source": "team-benign"})
    return rows


def response_rows() -> list[dict]:
    if not jbb_available():
        raise SystemExit("JailbreakBench artifacts not found under ../shared/data")
    hand = {}
    for line in (ROOT / "training" / "refusal" / "labels.jsonl").read_text().splitlines():
        r = json.loads(line)
        hand[r["ref"]] = r["label"]
    rows = []
    for ref, rec in iter_jbb():
        b = behaviour_index(ref)
        if behaviour_split(b) != "train":
            continue
        label = 1 if is_jailbroken(rec) else 0
        if hand.get(ref) == "full_refusal":
            label = 0
        rows.append({"prompt": rec["goal"], "text": rec["response"], "label": label, "group": f"jbb:{b}",
                     "source": "jbb:weak" if ref not in hand else "jbb:weak+hand"})
    for line in (ROOT / "training" / "refusal" / "synthetic.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["label"] == "full_refusal":
            rows.append({"prompt": "", "text": r["text"], "label": 0, "group": "synthetic:" + r["id"],
                         "source": "synthetic-refusal"})
    return rows
