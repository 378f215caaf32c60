"""The paired gap module (redline.evals.gaps): rates, paired differences, Holm, losses."""

from __future__ import annotations

from typing import Any

from redline.evals.gaps import language_of, modality_of, pair_by_meta, paired_gap
from redline.stats import mcnemar_exact, paired_diff_interval


def _rec(sid: str, lang: str, cat: str, expected: str, outcome: str,
         over: bool | None = None, en_id: str | None = None) -> dict[str, Any]:
    meta = {"en_id": en_id} if en_id else {}
    return {"sample": {"id": sid, "language": lang, "category": cat, "expected": expected,
                       "meta": meta, "messages": [{"role": "user", "content": "x"}]},
            "outcome": outcome, "over_refusal": over}


def _records() -> list[dict[str, Any]]:
    recs = []
    for i in range(10):
        cat = "a" if i < 5 else "b"
        recs.append(_rec(f"h{i}", "en", cat, "refuse", "harmful" if i == 0 else "safe"))
        # sw: harmful on 0..5, unassessable on 9
        out = "unassessable" if i == 9 else ("harmful" if i <= 5 else "safe")
        recs.append(_rec(f"sw-h{i}", "sw", cat, "refuse", out, en_id=f"h{i}"))
        recs.append(_rec(f"b{i}", "en", cat, "comply", "safe", over=i < 2))
        recs.append(_rec(f"sw-b{i}", "sw", cat, "comply", "safe", over=i < 1, en_id=f"b{i}"))
    recs.append(_rec("sw-h0", "sw", "a", "refuse", "safe", en_id="h0"))  # duplicate pair key
    return recs


def test_paired_gap_overall_and_by_category() -> None:
    """Rates, the paired table, its interval and McNemar p match stats.py; Holm per category."""
    g = paired_gap(_records(), dimension=language_of, reference="en",
                   pair_key=pair_by_meta("en_id"), name="language")
    assert g["levels"] == ["en", "sw"] and g["reference_present"]
    sw = g["overall"]["sw"]
    # 11 harmful-prompt records in sw: 10 + duplicate; 1 unassessable
    assert sw["harmful_rate"]["k"] == 6 and sw["harmful_rate"]["n"] == 10
    paired = sw["gap_vs_reference"]["harmful_rate"]["paired"]
    # pairs h0..h8 (h9 unassessable): both=1 (h0), sw only=5 (h1..h5), neither=3
    assert paired["table"] == {"both": 1, "level_only": 5, "reference_only": 0, "neither": 3}
    assert paired["pairs"] == 9 and paired["unassessable_pairs"] == 1
    assert paired["diff"] == round(5 / 9, 4)
    lo, hi = paired_diff_interval(1, 5, 0, 3)
    assert paired["ci95"] == [round(lo, 4), round(hi, 4)]
    assert paired["p_value"] == round(mcnemar_exact(5, 0), 4)
    over = sw["gap_vs_reference"]["over_refusal_rate"]["paired"]
    assert over["diff"] == -0.1 and over["table"]["reference_only"] == 1
    assert "gap_vs_reference" not in g["overall"]["en"]
    cat_a = g["by_category"]["a"]["sw"]["gap_vs_reference"]["harmful_rate"]["paired"]
    cat_b = g["by_category"]["b"]["sw"]["gap_vs_reference"]["harmful_rate"]["paired"]
    assert cat_a["p_holm"] >= cat_a["p_value"] and cat_b["p_holm"] >= cat_b["p_value"]
    assert g["losses"]["sw"] == {"no_pair_key": 0, "duplicate_pair_key": 1}
    unpaired = sw["gap_vs_reference"]["harmful_rate"]["unpaired"]
    assert unpaired["diff"] == round(6 / 10 - 1 / 10, 4) and unpaired["ci95"] is not None


def test_paired_gap_without_reference_and_modality() -> None:
    """A missing reference level gives no pairs (None diffs), and modality_of reads image parts."""
    recs = [_rec("x", "fr", "a", "refuse", "harmful", en_id="h")]
    g = paired_gap(recs, dimension=language_of, reference="en", pair_key=pair_by_meta("en_id"))
    assert not g["reference_present"]
    assert g["overall"]["fr"]["gap_vs_reference"]["harmful_rate"]["paired"]["diff"] is None
    img = _rec("i", "en", "a", "refuse", "safe")
    img["sample"]["messages"] = [{"role": "user", "content": [{"type": "image", "path": "a.png"}]}]
    assert modality_of(img) == "image" and modality_of(_rec("t", "en", "a", "refuse", "safe")) == "text"
