"""`redline compare` and redline.learn.compare: synthetic runs with known tables (exact
statistics) and real runs made by `redline eval` against two fake OpenAI-compatible models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.errors import InputError
from redline.learn.compare import compare_runs
from redline.learn.runs import load_run, sample_key
from redline.stats import (
    bh_adjust,
    holm_adjust,
    mcnemar_exact,
    newcombe_interval,
    paired_diff_interval,
    two_proportion_z_test,
)
from tests._compare_runs import record, write_run

CATS = ("cyber", "hate", "self_harm")


def _pair_runs(tmp: Path, *, worse_cat: str = "cyber", n: int = 300, unassessable_b: tuple[int, ...] = (),
               **b_kwargs: object) -> tuple[Path, Path]:
    """Two runs on the same samples: b answers more harmful prompts of ``worse_cat``."""
    a, b = [], []
    for i in range(n):
        cat = CATS[i % 3]
        exp = "refuse" if i % 2 == 0 else "comply"
        sa = "event" if i % 7 == 0 else "ok"
        sb = sa
        if cat == worse_cat and exp == "refuse" and i % 4 == 0:
            sb = "event"
        if i in unassessable_b:
            sb = "unassessable"
        a.append(record(f"s{i}", cat, exp, sa))
        b.append(record(f"s{i}", cat, exp, sb))
    return write_run(tmp / "a", a), write_run(tmp / "b", b, target="other", **b_kwargs)  # type: ignore[arg-type]


def _rows(res: dict) -> dict[tuple, dict]:
    return {(r["metric"], r["category"]): r for r in res["comparisons"][0]["rows"]}


def test_paired_rows_match_the_statistics_exactly(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path)
    res = compare_runs([a, b])
    cmp = res["comparisons"][0]
    assert cmp["paired"] and cmp["n_paired"] == 300 and cmp["unmatched"] == {"a_only": 0, "b_only": 0}
    assert res["warnings"] == []
    rows = _rows(res)
    # recompute the cyber harmful-rate table from the records' definition
    both = only_a = only_b = neither = 0
    for i in range(300):
        if CATS[i % 3] != "cyber" or i % 2:
            continue
        ea = i % 7 == 0
        eb = ea or i % 4 == 0
        both += ea and eb
        only_a += ea and not eb
        only_b += eb and not ea
        neither += not ea and not eb
    r = rows[("harmful_rate", "cyber")]
    n = both + only_a + only_b + neither
    assert r["a"] == {"k": both + only_a, "n": n, "rate": (both + only_a) / n}
    assert r["b"]["k"] == both + only_b
    assert r["diff"] == pytest.approx((only_b - only_a) / n)
    assert r["test"] == "mcnemar_exact"
    assert r["p"] == pytest.approx(mcnemar_exact(only_a, only_b))
    assert r["ci95"] == pytest.approx(list(paired_diff_interval(both, only_b, only_a, neither)))
    assert r["verdict"] == "worse" and r["mde"] > 0
    # Holm across the category rows of each metric; the overall row is not adjusted
    fam = [rows[("harmful_rate", c)] for c in CATS]
    assert [x["p_adjusted"] for x in fam] == pytest.approx(holm_adjust([x["p"] for x in fam]))
    assert rows[("harmful_rate", None)]["p_adjusted"] == rows[("harmful_rate", None)]["p"]
    for c in ("hate", "self_harm"):
        assert rows[("harmful_rate", c)]["verdict"] == "no detectable difference"
        assert rows[("over_refusal_rate", c)]["verdict"] == "no detectable difference"
    assert rows[("harmful_rate", None)]["verdict"] == "worse"
    # the other way round it is better
    rev = _rows(compare_runs([b, a]))
    assert rev[("harmful_rate", "cyber")]["verdict"] == "better"
    assert rev[("harmful_rate", "cyber")]["diff"] == pytest.approx(-r["diff"])


def test_bh_correction(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path)
    res = compare_runs([a, b], correction="bh")
    rows = [r for r in res["comparisons"][0]["rows"] if r["metric"] == "harmful_rate" and r["category"]]
    assert [r["p_adjusted"] for r in rows] == pytest.approx(bh_adjust([r["p"] for r in rows]))
    assert res["comparisons"][0]["correction"] == "bh"


def test_unassessable_samples_switch_to_the_paired_bootstrap(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path, unassessable_b=(0, 6, 12, 18))  # harmful cyber prompts
    rows = _rows(compare_runs([a, b]))
    r = rows[("harmful_rate", "cyber")]
    assert r["test"] == "paired_bootstrap"
    assert r["b"]["n"] == r["a"]["n"] - 4  # unassessable samples are out of the denominator
    assert r["ci95"][0] < r["diff"] < r["ci95"][1]
    assert r["verdict"] == "worse" and r["p"] < 0.01
    # categories whose pairs were assessed alike keep the exact test
    assert rows[("harmful_rate", "hate")]["test"] == "mcnemar_exact"
    # seeded: the same answer twice
    assert _rows(compare_runs([a, b]))[("harmful_rate", "cyber")] == r


def test_different_suites_fall_back_to_unpaired_and_say_so(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", [record(f"a{i}", "cyber", "refuse", "event" if i < 5 else "ok") for i in range(100)])
    b = write_run(tmp_path / "b", [record(f"b{i}", "cyber", "refuse", "event" if i < 30 else "ok") for i in range(80)],
                  suite_hash="suite2")
    res = compare_runs([a, b])
    cmp = res["comparisons"][0]
    assert not cmp["paired"] and cmp["n_paired"] == 0
    assert any("NOT PAIRED" in w for w in res["warnings"])
    assert any("SUITES DIFFER" in w for w in res["warnings"])
    r = _rows(res)[("harmful_rate", "cyber")]
    assert r["test"] == "newcombe"
    assert r["ci95"] == pytest.approx(list(newcombe_interval(30, 80, 5, 100)))
    assert r["p"] == pytest.approx(two_proportion_z_test(5, 100, 30, 80))
    assert r["verdict"] == "worse"


def test_same_id_with_other_content_is_not_paired(tmp_path: Path) -> None:
    recs = [record(f"s{i}", "cyber", "refuse", "ok") for i in range(10)]
    changed = [record(f"s{i}", "cyber", "refuse", "ok", prompt="edited" if i < 3 else None) for i in range(10)]
    assert sample_key(recs[0]) != sample_key(changed[0]) and sample_key(recs[5]) == sample_key(changed[5])
    res = compare_runs([write_run(tmp_path / "a", recs), write_run(tmp_path / "b", changed)])
    assert res["comparisons"][0]["n_paired"] == 7
    assert res["comparisons"][0]["unmatched"] == {"a_only": 3, "b_only": 3}
    assert any("UNMATCHED" in w for w in res["warnings"])


def test_judge_mismatch_needs_rejudge_or_the_flag(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path, judges={"refusal": "1", "harm": "3"})
    with pytest.raises(InputError) as e:
        compare_runs([a, b])
    msg = str(e.value)
    assert "redline rejudge" in msg and "--allow-judge-mismatch" in msg and "harm 3" in msg
    res = compare_runs([a, b], allow_judge_mismatch=True)
    assert any("JUDGES DIFFER" in w for w in res["warnings"])


def test_policy_params_and_status_mismatches_are_loud(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path, policy_hash="pol999", params={"max_tokens": 64, "temperature": 0.7, "seed": 0},
                      status="interrupted")
    w = " | ".join(compare_runs([a, b])["warnings"])
    assert "POLICY DIFFERS" in w and "GENERATION PARAMETERS DIFFER" in w and "temperature 0.0 → 0.7" in w
    assert "RUN NOT COMPLETE" in w


def test_three_runs_each_against_the_baseline(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path)
    c = write_run(tmp_path / "c", load_run(a).iter_results(), target="third")
    res = compare_runs([a, b, c], baseline=2)
    assert [(x["a"], x["b"]) for x in res["comparisons"]] == [(2, 0), (2, 1)]
    assert res["baseline"] == 2 and [r["name"] for r in res["runs"]] == ["a", "b", "c"]
    # a is identical to c: nothing differs
    assert {r["verdict"] for r in res["comparisons"][0]["rows"]} == {"no detectable difference"}
    with pytest.raises(InputError):
        compare_runs([a, b], baseline=5)
    with pytest.raises(InputError):
        compare_runs([a])


def test_load_run_errors_name_the_path_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDLINE_RUNS", str(tmp_path / "runs"))
    with pytest.raises(InputError) as e:
        load_run("nope")
    assert "redline runs" in str(e.value)
    half = tmp_path / "runs" / "half"
    half.mkdir(parents=True)
    (half / "results.jsonl").write_text("")
    with pytest.raises(InputError) as e:
        load_run("half")  # by name under the runs folder
    assert "summary.json" in str(e.value) and "resume" in str(e.value)


def test_results_stream_skips_duplicates_and_a_torn_last_line(tmp_path: Path) -> None:
    recs = [record(f"s{i}", "hate", "comply", "ok") for i in range(5)]
    d = write_run(tmp_path / "r", recs + [record("s1", "hate", "comply", "event")])
    with open(d / "results.jsonl", "a") as f:
        f.write('{"sample": {"id": "s9"')
    run = load_run(d)
    assert [r["sample"]["id"] for r in run.iter_results()] == [f"s{i}" for i in range(5)]
    assert run.name == "r" and run.target == "synthetic"
    with open(d / "results.jsonl", "a") as f:
        f.write('\nnot json\n')
    with pytest.raises(InputError) as e:
        list(run.iter_results())
    assert "results.jsonl:7" in str(e.value)


def test_json_is_serialisable(tmp_path: Path) -> None:
    a, b = _pair_runs(tmp_path, unassessable_b=(3,))
    res = compare_runs([a, b])
    json.dumps(res, allow_nan=False)
    row = res["comparisons"][0]["rows"][0]
    assert set(row) == {"category", "metric", "a", "b", "diff", "ci95", "test", "p", "p_adjusted", "verdict", "mde"}
