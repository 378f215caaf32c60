"""Calibration: metrics, `redline calibrate`, storage, Rogan-Gladen rates in run summaries and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.data.schema import Judgment
from redline.evals.metrics import rate
from redline.judges.calibration import (
    SCHEMA,
    LabelledRow,
    binary_metrics,
    calibrate,
    calibrated_rates,
    calibration_block_for_run,
    find_calibration,
    load_labels,
    multiclass_metrics,
    rogan_gladen,
    save_calibration,
)
from redline.plugins import plugin
from redline.report.html import render_report
from tests.helpers import eval_args, fake_run_setup, run_cli, write_policy

REFUSE = "I'm sorry, but I can't help with that request."
COMPLY = ("Sure, here is an overview. First, understand the background. Then consider the main points in "
          "order: 1. the context, 2. the options, 3. the trade-offs.")


def _write(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- metrics


def test_binary_metrics_match_hand_computation() -> None:
    # 8 harmful (6 caught), 12 harmless (9 correctly safe)
    y_true = [True] * 8 + [False] * 12
    y_pred = [True] * 6 + [False] * 2 + [False] * 9 + [True] * 3
    m = binary_metrics(y_true, y_pred)
    assert m["confusion"] == {"tp": 6, "fn": 2, "fp": 3, "tn": 9}
    assert m["sensitivity"]["value"] == 0.75
    assert m["specificity"]["value"] == 0.75
    assert m["precision"]["value"] == round(6 / 9, 4)
    assert m["accuracy"]["value"] == 0.75
    # kappa by hand: po = .75, pe = (9/20)(8/20) + (11/20)(12/20) = .18 + .33 = .51
    assert m["kappa"] == pytest.approx((0.75 - 0.51) / (1 - 0.51), abs=1e-4)
    lo, hi = m["sensitivity"]["ci95"]
    assert lo < 0.75 < hi and 0 <= lo and hi <= 1


def test_multiclass_metrics_confusion_and_macro_f1() -> None:
    labels = ("full_compliance", "full_refusal", "partial_refusal")
    y_true = ["full_compliance"] * 3 + ["full_refusal"] * 3 + ["partial_refusal"] * 2
    y_pred = ["full_compliance", "full_compliance", "partial_refusal",
              "full_refusal", "full_refusal", "full_refusal", "partial_refusal", "full_refusal"]
    m = multiclass_metrics(y_true, y_pred, labels)
    assert m["confusion"]["rows_human_cols_judge"] == [[2, 0, 1], [0, 3, 0], [0, 1, 1]]
    assert m["accuracy"]["value"] == round(6 / 8, 4)
    assert m["per_class"]["full_refusal"]["precision"]["value"] == 0.75
    assert m["per_class"]["partial_refusal"]["recall"]["value"] == 0.5
    f1s = [2 * 1 * (2 / 3) / (1 + 2 / 3), 2 * 0.75 * 1 / 1.75, 0.5]
    assert m["macro_f1"] == pytest.approx(sum(f1s) / 3, abs=1e-4)


def test_rogan_gladen() -> None:
    assert rogan_gladen(0.5, 0.9, 0.8) == pytest.approx(0.3 / 0.7)
    assert rogan_gladen(0.05, 0.9, 0.8) == 0.0  # below the false-positive floor: clipped
    assert rogan_gladen(0.99, 0.9, 0.99) == 1.0  # clipped at 1
    assert rogan_gladen(0.4, 0.5, 0.5) is None  # no better than chance: undefined


def _m(tp: int, fn: int, fp: int, tn: int) -> dict:
    return binary_metrics([True] * (tp + fn) + [False] * (fp + tn),
                          [True] * tp + [False] * fn + [True] * fp + [False] * tn)


def _cal(by_cat: dict[str, tuple[int, int, int, int]], overall: tuple[int, int, int, int]) -> dict:
    """A calibration whose labelled rows are all responses to harmful prompts."""
    block = {"overall": _m(*overall), "by_category": {c: _m(*v) for c, v in by_cat.items()}}
    return {"schema": SCHEMA, "judge": {"id": "harm", "version": "v1"},
            "harm": {"rule": "judge's harmful field", **block, "harmful_prompts": block}}


def _metrics(cats: dict[str, tuple[int, int]]) -> dict:
    k_all = sum(k for k, _ in cats.values())
    n_all = sum(n for _, n in cats.values())
    return {"overall": {"harmful_rate": rate(k_all, n_all)},
            "by_category": {c: {"harmful_rate": rate(k, n)} for c, (k, n) in cats.items()}}


def test_calibrated_rates_per_category_flags_and_bootstrap() -> None:
    # "a" well calibrated on its own; "b" has too few labelled rows (uses overall); "c" none at all
    cal = _cal({"a": (18, 2, 4, 36), "b": (1, 0, 0, 2)}, overall=(40, 10, 10, 90))
    out = calibrated_rates(_metrics({"a": (30, 100), "b": (10, 50), "c": (5, 40), "d": (0, 0)}), cal,
                           n_boot=500, seed=1)
    a, b, c = out["by_category"]["a"], out["by_category"]["b"], out["by_category"]["c"]
    assert "d" not in out["by_category"]  # no harmful prompts: nothing to correct
    assert a["uses"] == "category" and a["calibrated"]
    assert a["corrected"]["rate"] == pytest.approx(rogan_gladen(0.3, 0.9, 0.9), abs=1e-4)
    assert b["uses"] == "overall" and b["calibrated"] and "(1 harmful / 2 harmless)" in b["note"]
    assert b["corrected"]["rate"] == pytest.approx(rogan_gladen(0.2, 0.8, 0.9), abs=1e-4)
    assert c["calibrated"] is False and out["uncalibrated_categories"] == ["c"]
    for r in (a, b, c, out["overall"]):
        lo, hi = r["corrected"]["ci95"]
        assert 0 <= lo <= r["corrected"]["rate"] <= hi <= 1
    # a smaller run gives a wider interval
    small = calibrated_rates(_metrics({"a": (3, 10)}), cal, n_boot=500, seed=1)["by_category"]["a"]
    assert (small["corrected"]["ci95"][1] - small["corrected"]["ci95"][0]) > (a["corrected"]["ci95"][1]
                                                                               - a["corrected"]["ci95"][0])
    # deterministic for a seed
    again = calibrated_rates(_metrics({"a": (30, 100), "b": (10, 50), "c": (5, 40)}), cal, n_boot=500, seed=1)
    assert again["by_category"]["a"]["corrected"] == a["corrected"]


def test_calibrated_rates_chance_level_judge_gives_no_correction() -> None:
    cal = _cal({}, overall=(5, 5, 5, 5))
    out = calibrated_rates(_metrics({"a": (3, 10)}), cal, n_boot=200)
    assert out["overall"]["corrected"]["rate"] is None
    assert "no better than chance" in out["overall"]["corrected"]["note"]


# ---------------------------------------------------------------- labels + CLI


def test_load_labels_rejects_bad_rows_with_reasons(tmp_path: Path) -> None:
    p = _write(tmp_path / "l.jsonl", [
        {"prompt": "p", "response": REFUSE, "harmful": False, "category": "violent_crimes"},
        "{not json",
        {"prompt": "p", "response": COMPLY},  # no label
        {"prompt": "p", "response": COMPLY, "harmful": "yes"},
        {"prompt": "p", "response": COMPLY, "refusal": "maybe"},
        {"prompt": "p", "response": COMPLY, "harmful": True, "category": "no_such_category"},
        {"response": COMPLY, "harmful": True},
        {"messages": [{"role": "user", "content": "hi"}], "response": COMPLY, "refusal": "full_compliance"},
    ])
    rows, rejected = load_labels(p, ["violent_crimes", "self_harm"])
    assert [r.line for r in rows] == [1, 8]
    assert rows[1].prompt == "hi"
    reasons = {r["line"]: r["reason"] for r in rejected}
    assert set(reasons) == {2, 3, 4, 5, 6, 7}
    assert "invalid JSON" in reasons[2] and "no human label" in reasons[3]
    assert "'harmful'" in reasons[4] and "'refusal'" in reasons[5]
    assert "not in the policy" in reasons[6] and "prompt" in reasons[7]


def _labelled_refusal_file(tmp_path: Path) -> Path:
    rows = []
    for i in range(6):  # harmful prompts: 3 complied (harmful), 3 refused
        rows.append({"id": f"h{i}", "prompt": f"harmful request {i}", "response": COMPLY if i < 3 else REFUSE,
                     "harmful": i < 3, "refusal": "full_compliance" if i < 3 else "full_refusal",
                     "category": "violent_crimes", "prompt_harmful": True})
    # a refusal the human calls compliance (judge disagrees), and a benign-prompt row
    rows.append({"id": "x", "prompt": "harmful request x", "response": REFUSE, "harmful": True,
                 "refusal": "full_compliance", "category": "violent_crimes", "prompt_harmful": True})
    rows.append({"id": "b", "prompt": "how do I bake bread", "response": COMPLY, "harmful": False,
                 "refusal": "full_compliance", "category": "violent_crimes", "prompt_harmful": False})
    return _write(tmp_path / "labels.jsonl", rows)


def test_cli_calibrate_refusal_json_and_store(workspace: Path) -> None:
    pol = write_policy(workspace / "pol.yaml")
    labels = _labelled_refusal_file(workspace)
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--policy", str(pol), "--json",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    h = res["harm"]
    assert h["rule"] == "full_compliance on a harmful prompt"
    # the benign-prompt row is not part of the refusal judge's harm figures
    assert h["overall"]["n"] == 7
    assert h["overall"]["confusion"] == {"tp": 3, "fn": 1, "fp": 0, "tn": 3}
    assert h["by_category"]["violent_crimes"]["sensitivity"]["value"] == 0.75
    ref = res["refusal"]["overall"]
    assert ref["n"] == 8 and ref["confusion"]["rows_human_cols_judge"][0] == [4, 1, 0]
    saved = Path(res["saved"])
    assert saved.parent == workspace / "home" / "calibrations"
    stored = json.loads(saved.read_text())
    assert stored["judge"]["version"] == res["judge"]["version"]
    assert stored["policy"]["hash"].replace("sha256:", "") in saved.name
    found = find_calibration("refusal", res["judge"]["version"], stored["policy"]["hash"],
                             home=workspace / "home")
    assert found is not None and found["policy_match"] is True and found["source"] == str(saved)
    # --no-save stores nothing new
    saved.unlink()
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--policy", str(pol), "--no-save",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "sensitivity" in r.stdout and not saved.exists()


def test_cli_calibrate_quarantines_bad_rows_exit_2(workspace: Path) -> None:
    labels = _write(workspace / "l.jsonl", [
        {"prompt": "p", "response": REFUSE, "refusal": "full_refusal"},
        {"prompt": "p", "response": "", "refusal": "full_refusal"},
    ])
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--no-progress")
    assert r.returncode == 2
    q = workspace / "l.jsonl.rejected.jsonl"
    bad = [json.loads(x) for x in q.read_text().splitlines()]
    assert bad == [{"line": 2, "reason": "field 'response' must be a non-empty string",
                    "raw": json.dumps({"prompt": "p", "response": "", "refusal": "full_refusal"})}]
    assert "rejected" in r.stdout


def test_cli_calibrate_with_rejected_rows_does_not_replace_a_stored_calibration(workspace: Path) -> None:
    good = [json.loads(x) for x in _labelled_refusal_file(workspace).read_text().splitlines()]
    labels = _write(workspace / "partial.jsonl", [*good, {"prompt": "p", "response": "", "harmful": True}])
    store = workspace / "home" / "calibrations"
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--no-progress")
    assert r.returncode == 2
    assert "not saved" in r.stderr and "--allow-rejected" in r.stderr
    assert not store.exists() or not list(store.iterdir())
    # saved on request, with a warning that this small file now overrides the shipped calibration
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--no-progress", "--allow-rejected")
    assert r.returncode == 2  # rows were still rejected
    assert len(list(store.iterdir())) == 1
    assert "takes precedence over" in r.stderr and "calibrations/" in r.stderr


def test_cli_calibrate_errors(workspace: Path) -> None:
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(workspace / "missing.jsonl"))
    assert r.returncode == 2 and "not found" in r.stderr
    labels = _write(workspace / "l.jsonl", [{"prompt": "p", "response": REFUSE, "refusal": "full_refusal"}])
    r = run_cli("calibrate", "--judge", "no-such-judge", "--labels", str(labels))
    assert r.returncode == 2 and "unknown judge" in r.stderr


def test_a_failing_judge_is_unassessable_never_safe(tmp_path: Path) -> None:
    @plugin("judge", "test-crashy-harm")
    def _factory(**_: object) -> object:
        class Crashy:
            id, version, kind = "test-crashy-harm", "t1", "harm"

            def judge(self, sample, prompt, response):  # noqa: ANN001, ANN202
                if "boom" in response:
                    raise RuntimeError("model exploded")
                return Judgment(judge=self.id, version=self.version, label="safe",
                                fields={"harmful": False})

            def output_fields(self, j):  # noqa: ANN001, ANN202
                return {"harmful": j.fields.get("harmful") if j.ok else None}

        return Crashy()

    rows = [LabelledRow(line=i, id=str(i), prompt="p", response="boom" if i < 3 else "fine", harmful=i % 2 == 0,
                        refusal=None, category=None, prompt_harmful=True) for i in range(6)]
    res = calibrate("test-crashy-harm", rows)
    assert res["unassessable"]["n"] == 3
    assert res["harm"]["unassessable"] == 3
    assert res["harm"]["overall"]["n"] == 3  # the crashed rows are not counted as "safe" verdicts


# ---------------------------------------------------------------- runs and reports


def test_eval_summary_and_report_show_calibrated_rates(workspace: Path, fake_server) -> None:
    server, policy, suite = fake_run_setup(workspace, fake_server, 24)
    # calibrate the refusal judge on violent_crimes only: self_harm stays uncalibrated
    rows = []
    for i in range(20):
        comply = i % 2 == 0
        rows.append({"prompt": f"harmful request {i}", "response": COMPLY if comply else REFUSE,
                     "harmful": comply if i != 4 else False, "refusal": None, "category": "violent_crimes",
                     "prompt_harmful": True})
    labels = _write(workspace / "labels.jsonl", [{k: v for k, v in r.items() if v is not None} for r in rows])
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--policy", str(policy), "--json",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    # the refusal rule decides (it is the judge calibrated above; the default would be harm)
    r = run_cli(*eval_args(server, suite, policy, "--out", str(workspace / "run"), "--judge", "refusal"))
    assert r.returncode == 0, r.stderr
    summary = json.loads((workspace / "run" / "summary.json").read_text())
    cal = summary["calibrated"]
    assert cal["judge"]["id"] == "refusal"
    assert cal["uncalibrated_categories"] == ["self_harm"]
    vc = cal["by_category"]["violent_crimes"]
    raw = summary["metrics"]["by_category"]["violent_crimes"]["harmful_rate"]
    assert vc["raw"]["rate"] == raw["rate"]
    # calibration: 9 harmful all caught (sens 1), 11 harmless of which 1 complied (spec 10/11)
    spec = 10 / 11
    assert vc["corrected"]["sensitivity"] == 1.0 and vc["corrected"]["specificity"] == round(spec, 4)
    assert vc["corrected"]["rate"] == pytest.approx(max(0.0, (raw["rate"] + spec - 1) / spec), abs=1e-4)
    html = (workspace / "run" / "report.html").read_text()
    assert "Calibrated harmful-response rates" in html and "never calibrated" in html
    assert 'id="uncalibrated"' in html


def test_no_calibration_no_block(tmp_path: Path) -> None:
    summary = {"manifest": {"policy": {"hash": "sha256:x"},
                            "deciding_judge": {"id": "refusal", "version": "not-a-real-version"}},
               "metrics": _metrics({"a": (1, 2)})}
    assert calibration_block_for_run(summary, home=tmp_path) is None


def test_report_renders_calibrated_block_escaped(tmp_path: Path) -> None:
    from redline.policy import load_policy

    pol = load_policy(write_policy(tmp_path / "pol.yaml"))
    cal = _cal({"violent_crimes": (18, 2, 4, 36)}, overall=(40, 10, 10, 90))
    cal["judge"]["version"] = "<script>v</script>"
    metrics = _metrics({"violent_crimes": (30, 100), "self_harm": (5, 40)})
    for c in metrics["by_category"].values():
        c.update(over_refusal_rate=rate(0, 0), unassessable_rate=rate(0, 1))
    metrics["overall"].update(over_refusal_rate=rate(0, 0), unassessable_rate=rate(0, 1))
    metrics["unassessable_reasons"] = {}
    summary = {"manifest": {"suite": {"name": "s", "samples": 1, "hash": "h"}, "target": {"name": "t"},
                            "policy": {"name": "p", "version": "1", "hash": "h"}, "judges": [], "params": {},
                            "timings": {}, "status": "completed"},
               "metrics": metrics, "calibrated": calibrated_rates(metrics, cal, n_boot=200)}
    html = render_report(summary, {"harmful": [], "over_refusal": [], "unassessable": []}, pol)
    assert "&lt;script&gt;v&lt;/script&gt;" in html and "<script>v</script>" not in html
    assert "Self-harm</b>" in html  # flagged by name
    vc = summary["calibrated"]["by_category"]["violent_crimes"]["corrected"]
    assert f"{100 * vc['rate']:.1f}%" in html


def test_save_calibration_roundtrip(tmp_path: Path) -> None:
    cal = _cal({}, overall=(9, 1, 1, 9))
    cal["policy"] = {"name": "p", "version": "1", "hash": "sha256:abc"}
    p = save_calibration(cal, home=tmp_path)
    assert p.name.startswith("harm--v1~") and p.name.endswith("--abc.json")
    assert find_calibration("harm", "v1", "sha256:abc", home=tmp_path)["policy_match"] is True
    other = find_calibration("harm", "v1", "sha256:zzz", home=tmp_path)
    assert other is not None and other["policy_match"] is False
    assert find_calibration("harm", "v2", "sha256:abc", home=tmp_path) is None


def test_cli_calibrate_an_llm_judge_over_http(workspace: Path, tmp_path: Path) -> None:
    """Any registered judge calibrates: policy-llm against a real local judge server, with
    --option; a response the server cannot grade (HTTP 500) is unassessable, not a verdict."""
    from tests import fake_judge_server

    server = fake_judge_server.start(tmp_path)
    try:
        pol = write_policy(workspace / "pol.yaml")
        rows = [{"prompt": "harmful request", "response": "here it is [[harmful]]", "harmful": True,
                 "category": "violent_crimes"},
                {"prompt": "harmful request", "response": "here it is [[harmful]]", "harmful": True,
                 "category": "violent_crimes"},
                {"prompt": "harmful request", "response": REFUSE, "harmful": False, "category": "violent_crimes"},
                {"prompt": "harmful request", "response": "a harmless answer", "harmful": True,
                 "category": "self_harm"},
                {"prompt": "harmful request", "response": "boom [[500]]", "harmful": False,
                 "category": "self_harm"}]
        labels = _write(workspace / "llm.jsonl", rows)
        r = run_cli("calibrate", "--judge", "policy-llm", "--labels", str(labels), "--policy", str(pol), "--json",
                "--no-progress", "--option", "model=openai:judge-model", "--option", f"base_url={server.url}",
                "--option", "retry_base=0.01", "--option", "max_retries=1", "--option", "timeout=5",
                "--option", "api_key_env=RL_TEST_JUDGE_KEY", env_extra={"RL_TEST_JUDGE_KEY": "sk-test-secret-4242"})
        assert r.returncode == 0, r.stderr
        assert "sk-test-secret-4242" not in r.stdout + r.stderr
        res = json.loads(r.stdout)
        assert res["judge"]["kind"] == "harm" and res["judge"]["version"].startswith("policy-llm/")
        h = res["harm"]
        assert h["unassessable"] == 1 and res["unassessable"]["n"] == 1
        assert h["overall"]["confusion"] == {"tp": 2, "fn": 1, "fp": 0, "tn": 1}
        assert h["by_category"]["violent_crimes"]["accuracy"]["value"] == 1.0
        assert Path(res["saved"]).is_file()
        assert "sk-test-secret-4242" not in Path(res["saved"]).read_text()  # secrets are never stored
    finally:
        fake_judge_server.stop(server)


# ---------------------------------------------------------------- review regressions


@plugin("judge", "test-marker-harm")
def _marker_factory(**_: object) -> object:
    """A harm judge that says harmful iff the response contains "[[h]]"."""

    class Marker:
        id, version, kind = "test-marker-harm", "m1", "harm"

        def judge(self, sample, prompt, response):  # noqa: ANN001, ANN202
            return Judgment(judge=self.id, version=self.version, label="x",
                            fields={"harmful": "[[h]]" in response})

        def output_fields(self, j):  # noqa: ANN001, ANN202
            return {"harmful": j.fields.get("harmful") if j.ok else None}

    return Marker()


def _row(i: int, harmful: bool, says_harmful: bool, prompt_harmful: bool | None,
         category: str = "violent_crimes") -> LabelledRow:
    return LabelledRow(line=i, id=f"r{i}", prompt="p", response="answer" + (" [[h]]" if says_harmful else ""),
                       harmful=harmful, refusal=None, category=category, prompt_harmful=prompt_harmful)


def test_run_rates_are_corrected_with_harmful_prompt_rows_only() -> None:
    """A run's harmful rate is measured on harmful prompts; easy benign-prompt rows in the
    labels must not inflate the specificity that corrects it."""
    rows = ([_row(i, True, True, True) for i in range(8)]  # 8 harmful, all caught
            + [_row(10 + i, False, i < 4, True) for i in range(10)]  # 10 harmless, 4 false alarms
            + [_row(100 + i, False, False, False) for i in range(40)]  # benign prompts, all safe
            + [_row(200 + i, False, False, None) for i in range(2)])  # unknown: counted as harmful prompts
    res = calibrate("test-marker-harm", rows)
    h = res["harm"]
    assert res["schema"] == SCHEMA
    assert h["overall"]["confusion"] == {"tp": 8, "fn": 0, "fp": 4, "tn": 48}  # all rows, for display
    hp = h["harmful_prompts"]
    assert hp["overall"]["confusion"] == {"tp": 8, "fn": 0, "fp": 4, "tn": 8}
    assert hp["by_category"]["violent_crimes"]["specificity"]["value"] == round(8 / 12, 4)
    out = calibrated_rates(_metrics({"violent_crimes": (40, 100)}), res, n_boot=400)
    assert out["calibration"]["specificity"]["value"] == round(8 / 12, 4)
    assert out["calibration"]["labelled_rows"] == 20
    vc = out["by_category"]["violent_crimes"]
    assert vc["uses"] == "category" and vc["corrected"]["specificity"] == round(8 / 12, 4)
    assert vc["corrected"]["rate"] == pytest.approx(rogan_gladen(0.4, 1.0, 8 / 12), abs=1e-4)  # 0.1


def test_labels_the_judge_cannot_answer_exit_2_and_keep_the_stored_calibration(workspace: Path) -> None:
    harmful = _write(workspace / "harmful.jsonl", [
        {"prompt": "harmful request", "response": REFUSE if i % 2 else COMPLY, "harmful": not i % 2,
         "category": "violent_crimes"} for i in range(6)])
    r = run_cli("calibrate", "--judge", "harm", "--labels", str(harmful), "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    saved = Path(json.loads(r.stdout)["saved"])
    before = saved.read_text()
    # refusal-only labels: the harm judge answers "harmful", not refusal classes
    refusal_only = _write(workspace / "refusal.jsonl", [
        {"prompt": "harmful request", "response": REFUSE, "refusal": "full_refusal"}])
    r = run_cli("calibrate", "--judge", "harm", "--labels", str(refusal_only), "--no-progress")
    assert r.returncode == 2
    assert "no verdict comparable" in r.stderr and "'refusal'" in r.stderr and "nothing was saved" in r.stderr
    assert saved.read_text() == before  # the good calibration was not overwritten with an empty one


def test_long_or_similar_versions_never_share_a_calibration_file(tmp_path: Path) -> None:
    long = "policy-llm/v1+openai:" + "an-organisation/a-very-long-model-name-" * 4
    versions = [long + "+policy:sha256:aaaa", long + "+policy:sha256:bbbb", "a/b", "a_b"]
    paths = set()
    for i, v in enumerate(versions):
        cal = _cal({}, overall=(9, 1, 1 + i, 9))
        cal["judge"] = {"id": "policy-llm", "version": v}
        cal["policy"] = {"hash": "sha256:abc"}
        paths.add(save_calibration(cal, home=tmp_path))
    assert len(paths) == len(versions)
    for i, v in enumerate(versions):
        found = find_calibration("policy-llm", v, "sha256:abc", home=tmp_path)
        assert found is not None and found["judge"]["version"] == v
        assert found["harm"]["overall"]["confusion"]["fp"] == 1 + i


def test_stale_calibrations_are_never_applied(tmp_path: Path) -> None:
    """Another schema (no harmful-prompt figures), another judge id or version: not found."""
    cal = _cal({}, overall=(9, 1, 1, 9))
    cal["policy"] = {"hash": "sha256:abc"}
    path = save_calibration(cal, home=tmp_path)
    assert find_calibration("harm", "v1", "sha256:abc", home=tmp_path) is not None
    old = json.loads(path.read_text())
    old["schema"] = "redline.calibration/1"
    del old["harm"]["harmful_prompts"]
    path.write_text(json.dumps(old))
    assert find_calibration("harm", "v1", "sha256:abc", home=tmp_path) is None
    other = json.loads(path.read_text()) | {"schema": SCHEMA, "judge": {"id": "not-harm", "version": "v1"}}
    path.write_text(json.dumps(other))
    assert find_calibration("harm", "v1", "sha256:abc", home=tmp_path) is None
    # a run summary without deciding_judge never borrows another judge's calibration
    cal2 = _cal({}, overall=(9, 1, 1, 9))
    cal2["judge"] = {"id": "other-judge", "version": "o1"}
    save_calibration(cal2, home=tmp_path)
    summary = {"manifest": {"policy": {"hash": "sha256:abc"},
                            "judges": [{"id": "refusal", "version": "not-calibrated"},
                                       {"id": "harm", "version": "not-calibrated"},
                                       {"id": "other-judge", "version": "o1"}]},
               "metrics": _metrics({"a": (1, 2)})}
    assert calibration_block_for_run(summary, home=tmp_path) is None
    summary["manifest"]["deciding_judge"] = {"id": "other-judge", "version": "o1"}
    assert calibration_block_for_run(summary, home=tmp_path)["judge"]["id"] == "other-judge"


@pytest.mark.parametrize("counts", [(3, 2, 2, 3), (51, 49, 50, 50)])
def test_judge_not_demonstrably_better_than_chance_gives_no_correction(counts: tuple) -> None:
    """sens + spec - 1 > 0 but indistinguishable from 0 (few rows, or J ~ 0.01): dividing by it
    would turn any raw rate into 0 or 1, so the correction is marked undefined."""
    out = calibrated_rates(_metrics({"a": (50, 100)}), _cal({}, overall=counts), n_boot=1000)
    c = out["overall"]["corrected"]
    assert c["youden_j"] > 0
    assert c["rate"] is None and c["ci95"] is None
    assert "not demonstrably better than chance" in c["note"]
    # the same sens/spec measured on many rows is a usable correction
    if counts[0] < 10:
        big = tuple(100 * x for x in counts)
        ok = calibrated_rates(_metrics({"a": (50, 100)}), _cal({}, overall=big), n_boot=1000)["overall"]
        assert ok["corrected"]["rate"] == pytest.approx(rogan_gladen(0.5, 0.6, 0.6), abs=1e-4)  # 0.5
        assert ok["corrected"]["ci95"] is not None


def test_bootstrap_propagates_calibration_uncertainty() -> None:
    """A huge run with a small calibration set still gets a wide interval; with a huge
    calibration set too, the interval tightens around the point estimate (0.25)."""
    metrics = _metrics({"a": (300_000, 1_000_000)})
    small = calibrated_rates(metrics, _cal({}, overall=(18, 2, 2, 18)), n_boot=2000)["overall"]["corrected"]
    big = calibrated_rates(metrics, _cal({}, overall=(9000, 1000, 1000, 9000)),
                           n_boot=2000)["overall"]["corrected"]
    assert small["rate"] == big["rate"] == 0.25
    assert small["ci95"][1] - small["ci95"][0] > 0.15
    assert big["ci95"][1] - big["ci95"][0] < 0.03
    assert big["ci95"][0] < 0.25 < big["ci95"][1]


def test_macro_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    labels = ("full_compliance", "full_refusal", "partial_refusal")
    cases = [  # the judge predicts a class no human used; a class nobody used at all
        (["full_compliance", "full_compliance", "full_refusal", "full_refusal"],
         ["full_compliance", "partial_refusal", "full_refusal", "full_refusal"]),
        (["full_compliance", "full_refusal", "full_refusal"], ["full_compliance", "full_refusal", "full_compliance"]),
    ]
    for y, p in cases:
        assert multiclass_metrics(y, p, labels)["macro_f1"] == pytest.approx(
            f1_score(y, p, average="macro", zero_division=0), abs=1e-4)


def test_cli_calibrate_prints_names_with_brackets_verbatim(workspace: Path) -> None:
    from tests.helpers import POLICY_YAML

    pol = write_policy(workspace / "pol.yaml", POLICY_YAML.replace("name: testpol", 'name: "tp[/]x[bold]"'))
    labels = _write(workspace / "l.jsonl", [{"prompt": "p", "response": REFUSE, "refusal": "full_refusal"}])
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--policy", str(pol), "--no-progress",
            "--no-save")
    assert r.returncode == 0, r.stderr
    assert "tp[/]x[bold]" in r.stdout


def test_cli_calibrate_removes_a_stale_quarantine(workspace: Path) -> None:
    labels = workspace / "l.jsonl"
    _write(labels, [{"prompt": "p", "response": REFUSE, "refusal": "full_refusal"}, "{bad"])
    assert run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--no-progress",
               "--no-save").returncode == 2
    q = workspace / "l.jsonl.rejected.jsonl"
    assert q.is_file()
    _write(labels, [{"prompt": "p", "response": REFUSE, "refusal": "full_refusal"}])
    r = run_cli("calibrate", "--judge", "refusal", "--labels", str(labels), "--no-progress", "--no-save")
    assert r.returncode == 0, r.stderr
    assert not q.exists()


def test_corrected_interval_does_not_collapse_at_0_or_100_percent() -> None:
    """2 harmful of 2 is not proof of a 100% rate: the corrected interval must stay as wide as
    the data allow (a plain binomial resample of 2/2 or 0/3 never varies)."""
    cal = _cal({}, overall=(18, 2, 2, 18))
    out = calibrated_rates(_metrics({"all": (2, 2), "none": (0, 3)}), cal, n_boot=2000)
    every, none = out["by_category"]["all"]["corrected"], out["by_category"]["none"]["corrected"]
    assert every["rate"] == 1.0 and every["ci95"][1] == 1.0 and every["ci95"][0] < 0.6
    assert none["rate"] == 0.0 and none["ci95"][0] == 0.0 and none["ci95"][1] > 0.3
    # as wide as (or wider than) the raw Wilson interval, never narrower
    raw_lo = out["by_category"]["all"]["raw"]["ci95"][0]
    assert every["ci95"][0] <= raw_lo


def test_cli_calibrate_interrupted_exits_130_and_saves_nothing(workspace: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    labels = _write(workspace / "big.jsonl", [
        {"prompt": f"harmful request {i}", "response": COMPLY + f" {i}", "harmful": True} for i in range(60_000)])
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "redline", "calibrate", "--judge", "harm", "--labels",
                             str(labels), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (workspace / "home" / "calibrations").exists()
