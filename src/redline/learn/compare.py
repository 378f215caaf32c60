"""Compare evaluation runs: per category and overall, is a model better or worse than the
baseline — beyond chance?

Samples are paired on their id and a hash of their messages (:func:`redline.learn.runs.sample_key`).
For each category (and overall) two rates are compared, with unassessable samples left out of
the denominators exactly as in :mod:`redline.evals.metrics`:

- ``harmful_rate``: harmful responses among the assessed harmful prompts;
- ``over_refusal_rate``: refusals among the assessed benign prompts.

The test of each row (all in :mod:`redline.stats`):

- ``mcnemar_exact`` — both runs assessed the same pairs: exact McNemar test, Newcombe's paired
  hybrid score interval for the difference;
- ``paired_bootstrap`` — unassessable samples make the two denominators differ: paired
  bootstrap (percentile interval, shifted-null p-value; when every replicate is the same, e.g.
  no event in either run, the interval is the unpaired Newcombe one instead of a point);
- ``newcombe`` — the runs share few samples (different suites): unpaired, Newcombe's hybrid
  score interval and the pooled z test, on all of each run's samples (and a warning says so).

Category rows of each metric are one family, adjusted by Holm (or Benjamini–Hochberg); the
overall row is a single pre-specified test and is not adjusted. The verdict is "worse" when the
adjusted p-value is below ``1 - confidence`` and the rate went up in the compared run, "better"
when it went down, else "no detectable difference"; ``mde`` is the smallest difference the row
could have detected with 80% power (two-sided, at α = ``1 - confidence`` for the overall row and
at the Bonferroni level α/m for the m category rows of a metric — what the smallest adjusted
p-value must beat — so a difference below it is not expected to be flagged). The intervals are
not adjusted for multiplicity: a category's interval can exclude 0 while its adjusted test is
not significant.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from redline.errors import InputError, Problem
from redline.learn.runs import Run, load_run, sample_key
from redline.stats import (
    bh_adjust,
    holm_adjust,
    mcnemar_exact,
    min_detectable_difference,
    newcombe_interval,
    paired_bootstrap_diff,
    paired_diff_interval,
    two_proportion_z_test,
)
from redline.workspace import Workspace

__all__ = ["METRICS", "MIN_PAIRED_SHARE", "compare_runs"]

#: the compared rates: the metric name → whether it is measured on harmful prompts
METRICS: dict[str, bool] = {"harmful_rate": True, "over_refusal_rate": False}
#: the runs are compared paired when the shared samples are at least this share of each run
MIN_PAIRED_SHARE = 0.5

_EVENT, _NO_EVENT, _UNASSESSABLE = 0, 1, 2
Correction = Literal["holm", "bh"]


@dataclass
class _Outcomes:
    """A run's results, compact: per sample its key, category, prompt kind and state."""

    keys: dict[str, int]
    categories: list[str]
    cat: Any  # numpy int32: index into categories
    harmful: Any  # numpy bool: a harmful prompt (expected is not "comply")
    state: Any  # numpy int8: _EVENT / _NO_EVENT / _UNASSESSABLE for the sample's metric
    n: int


def _state(rec: dict[str, Any], harmful_prompt: bool) -> int:
    outcome = rec.get("outcome")
    if outcome == "unassessable":
        return _UNASSESSABLE
    if harmful_prompt:
        return _EVENT if outcome == "harmful" else _NO_EVENT
    return _EVENT if rec.get("over_refusal") else _NO_EVENT


def _outcomes(run: Run) -> _Outcomes:
    """Stream a run's results into compact arrays (no record is kept)."""
    import numpy as np

    keys: dict[str, int] = {}
    cat_index: dict[str, int] = {}
    cats: list[int] = []
    harmful = bytearray()
    states = bytearray()
    for rec in run.iter_results():
        sample = rec["sample"]
        key = sample_key(rec)
        if key in keys:
            continue
        keys[key] = len(states)
        c = sample.get("category", "?")
        ci = cat_index.get(c)
        if ci is None:
            ci = cat_index[c] = len(cat_index)
        cats.append(ci)
        hp = sample.get("expected") != "comply"
        harmful.append(hp)
        states.append(_state(rec, hp))
    return _Outcomes(keys=keys, categories=list(cat_index), cat=np.array(cats, dtype=np.int32),
                     harmful=np.frombuffer(bytes(harmful), dtype=np.bool_),
                     state=np.frombuffer(bytes(states), dtype=np.int8), n=len(states))


def _judges(run: Run) -> dict[str, str]:
    return {str(j.get("id")): str(j.get("version")) for j in run.manifest.get("judges") or []}


def _deciding(run: Run) -> dict[str, Any]:
    d = run.manifest.get("deciding_judge") or {}
    return {k: d.get(k) for k in ("harmful_prompts", "over_refusal")}


def _run_info(run: Run, n: int) -> dict[str, Any]:
    man = run.manifest
    suite = man.get("suite") or {}
    policy = man.get("policy") or {}
    return {"name": run.name, "dir": str(run.dir), "target": run.target, "suite": suite.get("name"),
            "suite_hash": suite.get("hash"), "policy": policy.get("name"), "policy_hash": policy.get("hash"),
            "judges": _judges(run), "deciding_judge": man.get("deciding_judge"),
            "params": man.get("params"), "samples": n, "status": man.get("status")}


def _check_runs(base: Run, other: Run, allow_judge_mismatch: bool, warnings: list[str]) -> None:
    """Mismatches between two runs: an error for different judges (unless allowed), warnings
    for everything else that makes the rates less comparable."""
    pair = f"{base.name} vs {other.name}"
    if _deciding(base) != _deciding(other) or _judges(base) != _judges(other):
        def fmt(r: Run) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(_judges(r).items())) or "none recorded"
        detail = f"{base.name} was judged by {fmt(base)}; {other.name} by {fmt(other)}"
        if not allow_judge_mismatch:
            judges = " ".join(f"--judge {k}" for k in _judges(base)) or "--judge …"
            raise InputError("the runs were judged by different judges: their rates are not comparable",
                             [Problem(str(other.dir / "summary.json"), detail,
                                      f"re-grade one run with the other's judges — `redline rejudge "
                                      f"{other.dir} {judges}` — and compare the new run; or pass "
                                      "--allow-judge-mismatch to compare anyway")])
        warnings.append(f"JUDGES DIFFER ({pair}): {detail}. Differences may come from the judges, "
                        "not the models.")
    bm, om = base.manifest, other.manifest
    bp, op = bm.get("policy") or {}, om.get("policy") or {}
    if bp.get("hash") != op.get("hash"):
        warnings.append(f"POLICY DIFFERS ({pair}): {bp.get('name')} {bp.get('hash')} vs "
                        f"{op.get('name')} {op.get('hash')}: the runs were judged against different rules.")
    if (bm.get("params") or {}) != (om.get("params") or {}):
        keys = sorted(set(bm.get("params") or {}) | set(om.get("params") or {}))
        diff = [f"{k} {(bm.get('params') or {}).get(k)!r} → {(om.get('params') or {}).get(k)!r}"
                for k in keys if (bm.get("params") or {}).get(k) != (om.get("params") or {}).get(k)]
        warnings.append(f"GENERATION PARAMETERS DIFFER ({pair}): {', '.join(diff)}.")
    bs, os_ = bm.get("suite") or {}, om.get("suite") or {}
    if bs.get("hash") != os_.get("hash"):
        warnings.append(f"SUITES DIFFER ({pair}): {bs.get('name')} {bs.get('hash')} vs "
                        f"{os_.get('name')} {os_.get('hash')}: only the samples both share are paired.")
    for r in (base, other):
        status = r.manifest.get("status")
        if status not in (None, "completed"):
            warnings.append(f"RUN NOT COMPLETE: {r.name} is {status}; its rates cover only the samples done.")


def _kn(k: int, n: int) -> dict[str, Any]:
    return {"k": k, "n": n, "rate": (k / n) if n else None}


def _paired_row(t: Any, confidence: float, seed: int) -> dict[str, Any]:
    """One row from a 3×3 table of pair states (baseline state × compared run's state)."""
    a = _kn(int(t[0, :].sum()), int(t[:2, :].sum()))
    b = _kn(int(t[:, 0].sum()), int(t[:, :2].sum()))
    row: dict[str, Any] = {"a": a, "b": b, "diff": None, "ci95": None, "p": None, "mde": None}
    if a["n"] == 0 or b["n"] == 0:
        row["test"] = "mcnemar_exact"
        return row
    same_pairs = int(t[2, 0] + t[2, 1] + t[0, 2] + t[1, 2]) == 0
    both = t[:2, :2]
    n_both = int(both.sum())
    discordant = float(both[0, 1] + both[1, 0]) / n_both if n_both else 0.0
    row["diff"] = b["rate"] - a["rate"]
    if same_pairs:
        row["test"] = "mcnemar_exact"
        ci = paired_diff_interval(int(both[0, 0]), int(both[1, 0]), int(both[0, 1]), int(both[1, 1]), confidence)
        row["ci95"] = list(ci) if ci else None
        row["p"] = mcnemar_exact(int(both[0, 1]), int(both[1, 0]))
    else:
        row["test"] = "paired_bootstrap"
        res = paired_bootstrap_diff(t.tolist(), confidence=confidence, seed=seed)
        row["ci95"] = [res["low"], res["high"]] if res["low"] is not None else None
        if res["low"] is None or res["low"] == res["high"]:
            # every replicate equal (e.g. no event in either run): the percentile interval is a
            # point, which understates the uncertainty — use the (wider) unpaired Newcombe interval
            ci = newcombe_interval(b["k"], b["n"], a["k"], a["n"], confidence)
            row["ci95"] = list(ci) if ci else None
        row["p"] = res["p"]
    if n_both:
        row["_mde"] = {"p": a["rate"], "n1": n_both, "paired": True, "discordant": discordant}
    return row


def _unpaired_row(ka: int, na: int, kb: int, nb: int, confidence: float) -> dict[str, Any]:
    a, b = _kn(ka, na), _kn(kb, nb)
    row: dict[str, Any] = {"a": a, "b": b, "diff": None, "ci95": None, "p": None, "mde": None,
                           "test": "newcombe"}
    if na == 0 or nb == 0:
        return row
    row["diff"] = b["rate"] - a["rate"]
    ci = newcombe_interval(kb, nb, ka, na, confidence)
    row["ci95"] = list(ci) if ci else None
    row["p"] = two_proportion_z_test(ka, na, kb, nb)
    row["_mde"] = {"p": a["rate"], "n1": na, "n2": nb}
    return row


def _rows_paired(oa: _Outcomes, ob: _Outcomes, ia: Any, ib: Any, confidence: float) -> list[dict[str, Any]]:
    import numpy as np

    cat = oa.cat[ia]
    harmful = oa.harmful[ia]
    cell = oa.state[ia].astype(np.int64) * 3 + ob.state[ib]
    rows = []
    for metric, on_harmful in METRICS.items():
        sel = harmful == on_harmful
        groups: list[tuple[str | None, Any]] = [(None, sel)]
        groups += [(name, sel & (cat == ci)) for ci, name in sorted(enumerate(oa.categories), key=lambda x: x[1])]
        for name, mask in groups:
            t = np.bincount(cell[mask], minlength=9).reshape(3, 3)
            if name is not None and int(t[:2, :].sum()) == 0 and int(t[:, :2].sum()) == 0:
                continue  # nothing assessed in this category for this metric
            seed = zlib.crc32(f"{metric}|{name}".encode())
            rows.append({"category": name, "metric": metric, **_paired_row(t, confidence, seed)})
    return rows


def _counts(o: _Outcomes) -> dict[tuple[str | None, str], tuple[int, int]]:
    """``(category or None, metric) → (events, assessed)`` of one run."""
    import numpy as np

    out: dict[tuple[str | None, str], tuple[int, int]] = {}
    for metric, on_harmful in METRICS.items():
        sel = o.harmful == on_harmful
        for ci, name in [(-1, None), *enumerate(o.categories)]:
            mask = sel if ci == -1 else sel & (o.cat == ci)
            st = o.state[mask]
            out[(name, metric)] = (int(np.count_nonzero(st == _EVENT)), int(np.count_nonzero(st != _UNASSESSABLE)))
    return out


def _rows_unpaired(oa: _Outcomes, ob: _Outcomes, confidence: float) -> list[dict[str, Any]]:
    ca, cb = _counts(oa), _counts(ob)
    names = sorted(set(oa.categories) | set(ob.categories))
    rows = []
    for metric in METRICS:
        for name in [None, *names]:
            ka, na = ca.get((name, metric), (0, 0))
            kb, nb = cb.get((name, metric), (0, 0))
            if name is not None and na == 0 and nb == 0:
                continue
            rows.append({"category": name, "metric": metric, **_unpaired_row(ka, na, kb, nb, confidence)})
    return rows


def _adjust(rows: list[dict[str, Any]], correction: Correction, confidence: float) -> None:
    adjust = holm_adjust if correction == "holm" else bh_adjust
    for metric in METRICS:
        family = [r for r in rows if r["metric"] == metric and r["category"] is not None]
        for r, padj in zip(family, adjust([r["p"] for r in family]), strict=True):
            r["p_adjusted"] = padj
        for r in rows:
            if r["metric"] == metric and r["category"] is None:
                r["p_adjusted"] = r["p"]
    alpha = 1 - confidence
    for metric in METRICS:
        m = sum(1 for r in rows if r["metric"] == metric and r["category"] is not None and r["p"] is not None)
        for r in rows:
            if r["metric"] != metric or "_mde" not in r:
                continue
            args = r.pop("_mde")
            # category rows: at α/m, the level Holm (and BH) needs for the family's smallest p
            level = alpha if r["category"] is None else alpha / max(1, m)
            r["mde"] = min_detectable_difference(alpha=level, **args)
    for r in rows:
        padj = r.get("p_adjusted")
        if padj is not None and padj < alpha and r["diff"]:
            r["verdict"] = "worse" if r["diff"] > 0 else "better"
        else:
            r["verdict"] = "no detectable difference"


def _compare_pair(oa: _Outcomes, ob: _Outcomes, ra: Run, rb: Run, ai: int, bi: int,
                  correction: Correction, confidence: float, warnings: list[str]) -> dict[str, Any]:
    import numpy as np

    ia_list, ib_list = [], []
    for key, j in ob.keys.items():
        i = oa.keys.get(key)
        if i is not None:
            ia_list.append(i)
            ib_list.append(j)
    ia = np.array(ia_list, dtype=np.int64)
    ib = np.array(ib_list, dtype=np.int64)
    n_paired = len(ia)
    paired = n_paired > 0 and n_paired >= MIN_PAIRED_SHARE * max(1, oa.n) and n_paired >= MIN_PAIRED_SHARE * max(1, ob.n)
    pair = f"{ra.name} vs {rb.name}"
    if paired:
        if n_paired < oa.n or n_paired < ob.n:
            warnings.append(f"UNMATCHED SAMPLES ({pair}): {oa.n - n_paired} only in {ra.name}, "
                            f"{ob.n - n_paired} only in {rb.name}; they are left out of the paired comparison.")
        relabeled = int(np.count_nonzero(oa.harmful[ia] != ob.harmful[ib]))
        if relabeled:
            warnings.append(f"EXPECTED BEHAVIOUR DIFFERS ({pair}): {relabeled} paired samples are labelled "
                            f"differently; {ra.name}'s labels are used.")
        rows = _rows_paired(oa, ob, ia, ib, confidence)
    else:
        warnings.append(f"NOT PAIRED ({pair}): the runs share {n_paired} of {oa.n} / {ob.n} samples "
                        "(different suites?), so they are compared as independent samples (Newcombe "
                        "intervals, z test) — less powerful than a paired comparison.")
        rows = _rows_unpaired(oa, ob, confidence)
    _adjust(rows, correction, confidence)
    return {"a": ai, "b": bi, "paired": paired, "n_paired": n_paired,
            "unmatched": {"a_only": oa.n - n_paired, "b_only": ob.n - n_paired},
            "correction": correction, "confidence": confidence, "rows": rows}


def compare_runs(specs: list[str | Path | Run], *, baseline: int = 0, correction: Correction = "holm",
                 allow_judge_mismatch: bool = False, confidence: float = 0.95,
                 ws: Workspace | None = None) -> dict[str, Any]:
    """Compare two or more runs, each against the baseline run, per category and overall.

    Args:
        specs: Run directories (or names under the workspace's runs folder, or loaded runs), at
            least two.
        baseline: Index into ``specs`` of the baseline run.
        correction: Multiple-comparison adjustment across categories: ``"holm"`` (family-wise
            error) or ``"bh"`` (Benjamini–Hochberg, false discovery rate).
        allow_judge_mismatch: Compare runs graded by different judges (with a warning) instead
            of refusing.
        confidence: Confidence level of the intervals; ``1 - confidence`` is the significance
            level of the verdicts.
        ws: The workspace (default: the current one).

    Returns:
        A JSON-ready dict: ``runs`` (name, dir, target, suite, suite_hash, policy, policy_hash,
        judges, deciding_judge, params, samples, status), ``warnings`` (loud mismatch notes)
        and ``comparisons``, one per non-baseline run: ``{"a", "b", "paired", "n_paired",
        "unmatched", "correction", "confidence", "rows"}``, each row ``{"category" (None =
        overall), "metric", "a", "b" ({"k", "n", "rate"}), "diff" (b - a), "ci95", "test", "p",
        "p_adjusted", "verdict", "mde"}`` — see the module docstring.

    Raises:
        InputError: Fewer than two runs, a bad baseline or correction, a run that is not a
            finished run, or runs judged by different judges (unless allowed).
    """
    if len(specs) < 2:
        raise InputError("nothing to compare", [Problem(
            "runs", f"{len(specs)} run given", "give two or more run directories")])
    if not 0 <= baseline < len(specs):
        raise InputError("no such baseline", [Problem(
            "--baseline", f"{baseline} is not one of the {len(specs)} runs",
            f"give a number from 0 to {len(specs) - 1} or a run's name")])
    if correction not in ("holm", "bh"):
        raise InputError("unknown correction", [Problem("--correction", repr(correction), "use holm or bh")])
    if not 0.5 <= confidence < 1:
        raise InputError("bad confidence level", [Problem(
            "confidence", str(confidence), "use a level such as 0.95")])
    runs = [s if isinstance(s, Run) else load_run(s, ws) for s in specs]
    warnings: list[str] = []
    base = runs[baseline]
    for i, r in enumerate(runs):
        if i != baseline:
            _check_runs(base, r, allow_judge_mismatch, warnings)
    outcomes = [_outcomes(r) for r in runs]
    comparisons = [_compare_pair(outcomes[baseline], outcomes[i], base, runs[i], baseline, i,
                                 correction, confidence, warnings)
                   for i in range(len(runs)) if i != baseline]
    return {"runs": [_run_info(r, o.n) for r, o in zip(runs, outcomes, strict=True)],
            "baseline": baseline, "warnings": warnings, "comparisons": comparisons}
