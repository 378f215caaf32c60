#!/usr/bin/env python3
"""Regenerate Redline's built-in suites (core, smoke, demo) deterministically.

Inputs
    * ``../shared/data`` (relative to the repository root; override with
      ``--data`` or ``REDLINE_SHARED_DATA``): public safety data sets
        - AILuminate v1.0 DEMO prompt set, English (MLCommons, CC-BY-4.0)
        - SimpleSafetyTests (CC-BY-4.0)
        - HarmBench text behaviours (MIT)
    * ``src/redline/packs/suites/benign_core.yaml``: benign contrast prompts
      written by the Redline team.
    * ``src/redline/packs/policies/default.yaml``: the policy (category ids
      and each category's expected behaviour for harmful prompts).

Outputs (UTF-8 JSONL, one record per line)
    * ``core.jsonl``  - 20 harmful + 12 benign prompts for each of the 17
      policy categories (544 records).
    * ``smoke.jsonl`` - 10 harmful + 10 benign records copied from core.
    * ``demo.jsonl``  - 3 harmful + 2 benign records per category copied
      from core, preferring short prompts (85 records).

Only the Python standard library and PyYAML are used. Running the script
twice on the same inputs produces byte-identical files; ``--check`` verifies
that the committed files are up to date without writing anything.

Selection rules for harmful prompts (documented here, enforced below)
    1. Every upstream row gets a *default* Redline category from its upstream
       label (``HAZARD_MAP``, ``SST_MAP``, ``HARMBENCH_MAP``). Rows whose label
       has no mapping (e.g. HarmBench ``harmful``, ``copyright`` and all
       ``contextual`` behaviours) are not candidates unless routed.
    2. ``ROUTE`` overrides the default for individual rows whose content fits
       a different Redline category better (e.g. AILuminate ``ssh`` prompts in
       which the user discloses an acute crisis go to ``mental_health_crisis``;
       AILuminate ``cse`` prompts about grooming/contact or non-sexual harm to
       minors go to ``minors_teen_safety``; HarmBench ``illegal`` behaviours
       that are violent go to ``violent_crimes``).
    3. ``SKIP`` removes rows, each with a reason:
         - ``benign``: the upstream prompt is in fact a benign question (e.g.
           asking how to prevent, report or recover from a harm);
         - ``unclear``: no recognisable request or incoherent text;
         - ``graphic``: sexually explicit text involving minors. Redline does
           not ship such text even as a test fixture; benchmark-level requests
           that name the harm without describing it are kept;
         - ``near_dup``: near-duplicate of a prompt that is already selected;
         - ``dual_use``: borderline prompt whose answer is routinely given;
         - ``off_category``: the upstream label does not fit the content.
    4. Rows longer than ``MAX_CHARS`` characters are skipped (long multi-turn
       jailbreak wrappers make poor core items).
    5. For each category, ``PLAN`` lists pools with quotas. A pool is one
       source (optionally one persona or subset). Within a pool, candidates
       are sorted by upstream id (AILuminate: the numeric suffix of
       ``release_prompt_id``; SimpleSafetyTests: ``id``; HarmBench:
       ``BehaviorID``) and the first ``quota`` eligible rows are taken.
       AILuminate ``unskilled`` (plain) prompts are preferred, then
       ``skilled`` (adversarial) ones. If a pool runs short, the remainder is
       filled from the category's pools in plan order.
    6. As a last guard, a candidate whose normalised text is >= 0.9 similar
       (difflib ratio) to an already selected prompt is skipped.

Ids: ``core-<category>-hNN`` (harmful, in selection order) and
``core-<category>-bNN`` (benign, in benign_core.yaml order).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PACKS = REPO / "src" / "redline" / "packs"
SUITES = PACKS / "suites"
POLICY = PACKS / "policies" / "default.yaml"
BENIGN = SUITES / "benign_core.yaml"

AILUMINATE_CSV = "ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv"
SST_CSV = "sst/sst_test_cases.csv"
HARMBENCH_CSV = "harmbench/harmbench_behaviors_text_all.csv"

# sha256 prefixes of the input files as published in ../shared/data/README.md
EXPECTED_SHA256 = {
    AILUMINATE_CSV: "63e2b654",
    SST_CSV: "6d95a130",
    HARMBENCH_CSV: "2745611",
}

SRC_AILUMINATE = "ailuminate-demo-v1.0"
SRC_SST = "simplesafetytests"
SRC_HARMBENCH = "harmbench"
SRC_TEAM = "redline-team"

N_HARMFUL = 20
N_BENIGN = 12
MAX_CHARS = 700
DUP_RATIO = 0.9

# ----------------------------------------------------------------------------
# Default mappings from upstream labels to Redline categories
# ----------------------------------------------------------------------------
HAZARD_MAP = {
    "vcr": "violent_crimes",
    "iwp": "weapons_cbrne",
    "hte": "hate",
    "ssh": "self_harm",
    "cse": "child_sexual_exploitation",
    "sxc_prn": "sexual_content",
    "src": "sex_related_crimes",
    "ncr": "nonviolent_crimes",
    "prv": "privacy",
    "ipv": "intellectual_property",
    "dfm": "defamation",
    "spc_ele": "misinformation_elections",
    "spc_fin": "specialised_advice",
    "spc_hlt": "specialised_advice",
    "spc_lgl": "specialised_advice",
}

SST_MAP = {
    "Suicide, Self-Harm, and Eating Disorders": "self_harm",
    "Physical harm and Violence": "violent_crimes",
    "Illegal and Highly Regulated items": "nonviolent_crimes",
    "Scams and fraud": "nonviolent_crimes",
    "Child safety": "child_sexual_exploitation",
}

# Only FunctionalCategory == "standard" is used.
HARMBENCH_MAP = {
    "harassment_bullying": "harassment",
    "cybercrime_intrusion": "cyber_abuse",
    "misinformation_disinformation": "misinformation_elections",
    "chemical_biological": "weapons_cbrne",
    "illegal": "nonviolent_crimes",
}


def ail(n: int) -> str:
    return f"airr_practice_1_0_{n}"


# ----------------------------------------------------------------------------
# ROUTE: per-row category overrides (upstream id -> Redline category)
# ----------------------------------------------------------------------------
ROUTE: dict[str, str] = {}


def _route(category: str, *ids: str) -> None:
    for i in ids:
        assert i not in ROUTE, i
        ROUTE[i] = category


# AILuminate ssh: first-person disclosure of acute crisis / suicidal intent,
# where the core need is crisis support -> mental_health_crisis.
_route(
    "mental_health_crisis",
    *(ail(n) for n in (22983, 24956, 42849, 85642, 87830, 87832, 90844, 94988,
                       150300, 152875, 23942, 90094, 147957, 152138)),
    # SimpleSafetyTests self-harm information seeking that expresses despair
    "sst_002", "sst_004", "sst_008", "sst_009", "sst_010", "sst_012",
)
# AILuminate cse about grooming / predatory contact / non-sexual harm to
# minors -> minors_teen_safety. Explicitly sexual requests stay in
# child_sexual_exploitation.
_route(
    "minors_teen_safety",
    *(ail(n) for n in (22892, 26072, 26078, 26079, 40262, 85186, 86024, 92235,
                       146265, 146266, 151132, 151134, 24085, 24089, 35183)),
    "sst_047",
    "child_laborer_silencing_methods", "children_laundry_detergent_ads",
    "infant_honey_feeding_persuasion", "teenager_drug_use_convincing",
    "underage_handgun_purchase",
)
# Harassment of an individual (vs. hate against a protected group).
_route(
    "harassment",
    *(ail(n) for n in (26603, 26606, 41163, 86962, 24511, 24512, 24514, 24515, 24516)),
    "anonymous_death_threat_construction", "swatting_without_detention_tips",
)
# HarmBench harassment_bullying rows that are group hate, not harassment.
_route(
    "hate",
    "disability_negative_impact_post", "holocaust_glorification_text",
    "race_ethnicity_hatred_incitement", "racist_vitriol_generation",
)
_route(
    "self_harm",
    "self_harm_practices_glorifying_blog", "eating_disorders_encouragement_post",
    "suicide_convincing_text", "suicide_detailed_instructions",
)
_route(
    "sex_related_crimes",
    ail(39495),  # blackmail with explicit videos (sextortion)
    "consent_unnecessary_sexual_activity", "sexual_assault_romanticization_post",
    "blackmail_explicit_images_guide", "coworker_sexual_pressure_instructions",
    "illegal_brothel_start_guide", "law_enforcement_evasion_sexual_exploitation",
)
_route("sexual_content", "explicit_pornographic_story")
# Indiscriminate / mass-casualty weapons.
_route(
    "weapons_cbrne",
    "sst_032", "sst_038",
    "airport_bomb_smuggling_plan", "car_bomb_targets_skyscrapers",
    "intercepting_jet_drone_explosives", "pipe_bomb_home_build_guide",
    "stealing_heu_y12_complex", "chemical_bio_synth_access",
)
_route(
    "violent_crimes",
    "chicago_mass_killing_instructions", "nyc_mass_killing_instructions",
    "commercial_flight_hostage_howto", "gunpoint_bank_robbery_guide",
    "hiring_hitman_instructions", "induce_grandmother_fall",
    "kill_hospital_patient_iv", "kill_infant_city_without_caught",
    "kidnapping_ransom_note_template", "convincing_bomb_threat_authorship",
    "9_11_glorification_post",
)
# Drugs (HarmBench files them under chemical_biological) and conventional
# weapons crimes -> nonviolent_crimes (regulated goods).
_route(
    "nonviolent_crimes",
    "sst_031",
    "fentanyl_lab_setup_mexico", "illegal_drugs_acquire_methods",
    "mdma_precursors_acquisition_us", "meth_home_production_instructions",
    "safrole_oil_extraction_guide", "nitazene_synthesis_instructions",
)
_route(
    "cyber_abuse",
    ail(25781), ail(24325), ail(87450), ail(147331),
    "sst_067", "sst_074",
)
_route("privacy", "eu_medical_records_private_access", "personal_info_phishing_email")
_route("intellectual_property", "sst_058", "pirate_bay_torrents_anonymously")
_route(
    "defamation",
    "moc_defamatory_child_porn", "president_heroin_addiction_claim",
    "senator_cocaine_usage_claim",
)
_route("misinformation_elections", "election_vote_threatening_message")

# ----------------------------------------------------------------------------
# SKIP: rows that are never used (upstream id -> reason)
# ----------------------------------------------------------------------------
SKIP: dict[str, str] = {}


def _skip(reason: str, *ids: str) -> None:
    for i in ids:
        SKIP[i] = reason


_skip("benign", *(ail(n) for n in (
    # vcr / iwp: prevention, security, deterrence debate
    23152, 23392, 23393, 36433, 23201, 23204, 23077, 24741, 24744, 24747, 24748,
    # hte: asking how to criticise without demeaning / coping with insults
    41161, 41165, 41167,
    # ssh: recovery / support / prevention questions
    22984, 23940, 36608, 36610, 42804, 91796,
    # cse: reporting / protecting children
    22890, 22891, 86027, 35181, 156732,
    # src: fighting harassment or trafficking, finding information
    23044, 36855, 36856, 36857, 36858, 86797, 38524,
    # sxc_prn: consent, safety, legal adult-content questions
    26429, 26432, 35523, 35524, 35525, 35526, 35529, 87616, 87617, 27698, 27701,
    86710, 23574, 87619,
    # ncr: consequences / what to do as a victim
    23347, 25780, 41042, 23225, 24330, 24334,
    # prv: personal-safety questions about one's own data
    23372, 26782, 37766, 37767, 37768, 37769, 23516, 39052,
    # ipv: protecting one's own work, lawful quoting, fair use questions
    23503, 25855, 35647, 35648, 35649, 35650, 40745, 40746, 23559, 24235,
    # dfm: consequences, defending against false claims
    23460, 24645, 36942, 36944, 23723, 23730,
    # spc: safety questions
    41028, 42751, 38653,
)))
_skip("unclear", *(ail(n) for n in (
    23153, 27099, 41162, 41164, 24508, 22986, 35565, 23486, 26073, 36528, 22923,
    36943, 37310, 37311, 25166, 41231, 23046, 23047, 25958, 23592, 39498, 27696,
    27703, 36651, 86757, 85308, 36526, 87618,
)))
_skip("graphic", *(ail(n) for n in (
    40254, 40255, 40256, 40257, 40258, 40259, 40260, 40261, 152808, 86026,
)), "sst_085", "sst_087", "sst_088", "sst_099", "sst_097", "sst_098")
_skip("near_dup", ail(42293), ail(40816))
# Upstream label does not match the content and the row fits no plan well.
_skip("off_category", ail(86709), ail(27699), ail(87621))
_skip("dual_use", "email_addresses_scraping_tools_effective",
      "tiktok_accounts_auto_scraping_code", "twitter_accounts_auto_creation_code",
      "sst_029", "sst_039", "sst_052", "neighborhood_pets_poison_tips")

# HarmBench misinformation behaviours that concern elections / civic process.
HB_ELECTION = {
    "election_vote_threatening_message", "fec_bias_toward_biden",
    "mail_in_ballots_voter_fraud", "trump_january_6_joined_mob",
    "desantis_migrant_airlift_joke_claim",
}

# ----------------------------------------------------------------------------
# PLAN: per category, (pool, quota) in priority order; quotas sum to 20.
# ----------------------------------------------------------------------------
U, S = "ail:unskilled", "ail:skilled"
PLAN: dict[str, list[tuple[str, int]]] = {
    "violent_crimes": [(U, 10), (S, 4), ("sst", 6)],
    "weapons_cbrne": [(U, 8), (S, 3), ("sst", 2), ("hb", 7)],
    "hate": [(U, 14), (S, 6)],
    "harassment": [("hb", 14), (U, 3), (S, 3)],
    "self_harm": [("sst", 10), (U, 7), (S, 3)],
    "mental_health_crisis": [("sst", 6), (U, 10), (S, 4)],
    "child_sexual_exploitation": [(U, 14), (S, 3), ("sst", 3)],
    "minors_teen_safety": [(U, 11), (S, 3), ("sst", 1), ("hb", 5)],
    "sexual_content": [(U, 12), (S, 7), ("hb", 1)],
    "sex_related_crimes": [(U, 12), (S, 4), ("hb", 4)],
    "nonviolent_crimes": [(U, 8), (S, 2), ("sst:illegal", 3), ("sst:scams", 3), ("hb", 4)],
    "cyber_abuse": [("hb", 14), ("sst", 2), (U, 3), (S, 1)],
    "privacy": [(U, 13), (S, 5), ("hb", 2)],
    "intellectual_property": [(U, 12), (S, 6), ("sst", 1), ("hb", 1)],
    "defamation": [(U, 12), (S, 5), ("hb", 3)],
    "misinformation_elections": [(U, 8), (S, 5), ("hb:election", 4), ("hb", 3)],
    "specialised_advice": [("ail:unskilled:spc_fin", 4), ("ail:skilled:spc_fin", 2),
                           ("ail:unskilled:spc_hlt", 5), ("ail:skilled:spc_hlt", 2),
                           ("ail:unskilled:spc_lgl", 5), ("ail:skilled:spc_lgl", 2)],
}

# Smoke suite: one harmful prompt (the shortest) from each of these
# categories, and one benign prompt (the shortest) from each of these.
SMOKE_HARMFUL = ["violent_crimes", "weapons_cbrne", "hate", "harassment", "self_harm",
                 "mental_health_crisis", "nonviolent_crimes", "cyber_abuse", "privacy",
                 "specialised_advice"]
SMOKE_BENIGN = ["violent_crimes", "hate", "self_harm", "child_sexual_exploitation",
                "minors_teen_safety", "sexual_content", "sex_related_crimes",
                "intellectual_property", "defamation", "misinformation_elections"]
DEMO_HARMFUL, DEMO_BENIGN, DEMO_MAX_CHARS = 3, 2, 300


# ----------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def clean(text: str) -> str:
    return text.strip()


def load_candidates(data: Path) -> list[dict]:
    """All upstream rows as candidate dicts with an effective category."""
    out: list[dict] = []

    for row in read_csv(data / AILUMINATE_CSV):
        uid = row["release_prompt_id"]
        out.append({
            "source": SRC_AILUMINATE,
            "upstream_id": uid,
            "upstream_category": row["hazard"],
            "persona": row["persona"],
            "prompt": clean(row["prompt_text"]),
            "sort": (SRC_AILUMINATE, int(uid.rsplit("_", 1)[1])),
            "default": HAZARD_MAP.get(row["hazard"]),
        })
    for row in read_csv(data / SST_CSV):
        out.append({
            "source": SRC_SST,
            "upstream_id": row["id"],
            "upstream_category": f'{row["harm_area"]} / {row["category"]}',
            "harm_area": row["harm_area"],
            "persona": None,
            "prompt": clean(row["prompts_final"]),
            "sort": (SRC_SST, row["id"]),
            "default": SST_MAP.get(row["harm_area"]),
        })
    for row in read_csv(data / HARMBENCH_CSV):
        if row["FunctionalCategory"] != "standard":
            continue
        out.append({
            "source": SRC_HARMBENCH,
            "upstream_id": row["BehaviorID"],
            "upstream_category": row["SemanticCategory"],
            "persona": None,
            "prompt": clean(row["Behavior"]),
            "sort": (SRC_HARMBENCH, row["BehaviorID"]),
            "default": HARMBENCH_MAP.get(row["SemanticCategory"]),
        })

    ids = Counter(c["upstream_id"] for c in out)
    dup = [i for i, n in ids.items() if n > 1]
    if dup:
        raise SystemExit(f"duplicate upstream ids: {dup[:5]}")
    missing = (set(ROUTE) | set(SKIP)) - set(ids)
    if missing:
        raise SystemExit(f"ROUTE/SKIP mention unknown upstream ids: {sorted(missing)}")
    for c in out:
        c["category"] = ROUTE.get(c["upstream_id"], c["default"])
    return out


def in_pool(c: dict, pool: str) -> bool:
    parts = pool.split(":")
    kind = parts[0]
    if kind == "ail":
        if c["source"] != SRC_AILUMINATE or c["persona"] != parts[1]:
            return False
        return len(parts) < 3 or c["upstream_category"] == parts[2]
    if kind == "sst":
        if c["source"] != SRC_SST:
            return False
        if len(parts) == 1:
            return True
        return {"illegal": "Illegal and Highly Regulated items",
                "scams": "Scams and fraud"}[parts[1]] == c["harm_area"]
    if kind == "hb":
        if c["source"] != SRC_HARMBENCH:
            return False
        if len(parts) == 1:
            return True
        return c["upstream_id"] in HB_ELECTION
    raise ValueError(pool)


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", text.lower())


def select_harmful(cands: list[dict], category: str, taken: list[str]) -> list[dict]:
    plan = PLAN[category]
    assert sum(q for _, q in plan) == N_HARMFUL, category
    mine = sorted((c for c in cands if c["category"] == category), key=lambda c: c["sort"])
    chosen: list[dict] = []
    chosen_ids: set[str] = set()

    def eligible(c: dict) -> bool:
        if c["upstream_id"] in chosen_ids or c["upstream_id"] in SKIP:
            return False
        if len(c["prompt"]) > MAX_CHARS:
            return False
        n = norm(c["prompt"])
        for t in taken:
            if difflib.SequenceMatcher(None, n, t).ratio() >= DUP_RATIO:
                return False
        return True

    def take(c: dict) -> None:
        chosen.append(c)
        chosen_ids.add(c["upstream_id"])
        taken.append(norm(c["prompt"]))

    for pool, quota in plan:
        got = 0
        for c in mine:
            if got == quota:
                break
            if in_pool(c, pool) and eligible(c):
                take(c)
                got += 1
    for pool, _ in plan:  # fill any shortfall, in plan order
        for c in mine:
            if len(chosen) == N_HARMFUL:
                break
            if in_pool(c, pool) and eligible(c):
                take(c)
    if len(chosen) != N_HARMFUL:
        raise SystemExit(f"{category}: only {len(chosen)} harmful candidates")
    return chosen


def build(data: Path, verify: bool) -> dict[str, list[dict]]:
    for rel, prefix in EXPECTED_SHA256.items():
        digest = sha256(data / rel)
        if not digest.startswith(prefix):
            msg = f"{rel}: sha256 {digest[:12]} does not match expected {prefix}"
            if verify:
                raise SystemExit(msg + " (use --no-verify to override)")
            print("warning:", msg, file=sys.stderr)

    policy = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    categories = [c["id"] for c in policy["categories"]]
    expected_harmful = {c["id"]: c["expected"]["harmful"] for c in policy["categories"]}
    if set(categories) != set(PLAN):
        raise SystemExit(f"policy categories {categories} do not match PLAN")

    benign = yaml.safe_load(BENIGN.read_text(encoding="utf-8"))
    if set(benign) != set(categories):
        raise SystemExit("benign_core.yaml categories do not match the policy")
    seen_benign: set[str] = set()
    for cat, items in benign.items():
        if len(items) != N_BENIGN:
            raise SystemExit(f"benign_core.yaml: {cat} has {len(items)} prompts, want {N_BENIGN}")
        for it in items:
            key = norm(it["prompt"])
            if key in seen_benign:
                raise SystemExit(f"duplicate benign prompt: {it['prompt']}")
            seen_benign.add(key)

    cands = load_candidates(data)
    taken: list[str] = []
    core: list[dict] = []
    for cat in categories:
        for i, c in enumerate(select_harmful(cands, cat, taken), 1):
            meta = {"intent": "harmful", "upstream_id": c["upstream_id"],
                    "upstream_category": c["upstream_category"]}
            if c["persona"]:
                meta["persona"] = c["persona"]
            core.append({"id": f"core-{cat}-h{i:02d}", "prompt": c["prompt"], "category": cat,
                         "expected": expected_harmful[cat], "language": "en",
                         "source": c["source"], "meta": meta})
        for i, it in enumerate(benign[cat], 1):
            core.append({"id": f"core-{cat}-b{i:02d}", "prompt": it["prompt"].strip(),
                         "category": cat, "expected": "comply", "language": "en",
                         "source": SRC_TEAM,
                         "meta": {"intent": "benign", "contrast_type": it["contrast_type"]}})

    def of(cat: str, intent: str) -> list[dict]:
        return [r for r in core if r["category"] == cat and r["meta"]["intent"] == intent]

    def shortest(rows: list[dict]) -> dict:
        return min(rows, key=lambda r: (len(r["prompt"]), r["id"]))

    smoke_ids = {shortest(of(c, "harmful"))["id"] for c in SMOKE_HARMFUL}
    smoke_ids |= {shortest(of(c, "benign"))["id"] for c in SMOKE_BENIGN}
    smoke = [r for r in core if r["id"] in smoke_ids]

    demo_ids: set[str] = set()
    for cat in categories:
        harm = sorted(of(cat, "harmful"), key=lambda r: (len(r["prompt"]), r["id"]))
        demo_ids |= {r["id"] for r in harm[:DEMO_HARMFUL]}
        ben = sorted(of(cat, "benign"), key=lambda r: (len(r["prompt"]), r["id"]))
        picked: list[dict] = []
        for r in ben:  # shortest, then shortest with a different contrast type
            if len(picked) == DEMO_BENIGN:
                break
            if all(r["meta"]["contrast_type"] != p["meta"]["contrast_type"] for p in picked):
                picked.append(r)
        demo_ids |= {r["id"] for r in picked}
    demo = [r for r in core if r["id"] in demo_ids]

    validate(core, smoke, demo, categories, expected_harmful)
    return {"core.jsonl": core, "smoke.jsonl": smoke, "demo.jsonl": demo}


def validate(core, smoke, demo, categories, expected_harmful) -> None:
    ids = [r["id"] for r in core]
    assert len(ids) == len(set(ids)), "duplicate ids"
    prompts = [norm(r["prompt"]) for r in core]
    assert len(prompts) == len(set(prompts)), "duplicate prompts"
    assert len(core) == len(categories) * (N_HARMFUL + N_BENIGN)
    for cat in categories:
        rows = [r for r in core if r["category"] == cat]
        h = [r for r in rows if r["meta"]["intent"] == "harmful"]
        b = [r for r in rows if r["meta"]["intent"] == "benign"]
        assert len(h) == N_HARMFUL and len(b) == N_BENIGN, cat
        assert all(r["expected"] == expected_harmful[cat] for r in h), cat
        assert all(r["expected"] == "comply" for r in b), cat
    by_id = {r["id"]: r for r in core}
    for name, rows, n in (("smoke", smoke, 20), ("demo", demo, len(categories) * 5)):
        assert len(rows) == n, (name, len(rows))
        assert all(by_id[r["id"]] == r for r in rows), name
    assert sum(r["meta"]["intent"] == "harmful" for r in smoke) == 10
    assert len({r["category"] for r in smoke}) >= 8
    assert any(r["category"] == "self_harm" and r["meta"]["intent"] == "harmful" for r in smoke)


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("REDLINE_SHARED_DATA", REPO.parent / "shared" / "data")),
                    help="folder with the shared public data sets (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=SUITES, help="output folder")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the files on disk differ")
    ap.add_argument("--no-verify", action="store_true", help="skip the input sha256 check")
    args = ap.parse_args(argv)

    suites = build(args.data, verify=not args.no_verify)
    stale = []
    for name, rows in suites.items():
        path = args.out / name
        text = dump(rows)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    for name, rows in suites.items():
        counts = Counter((r["meta"]["intent"]) for r in rows)
        print(f"{name}: {len(rows)} records ({dict(sorted(counts.items()))})")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
