"""The anchoring report: do annotators copy the model's suggestions?

Assignment puts every label of an item that has a suggestion in the ``shown`` or ``hidden`` arm
(:mod:`redline.annotate.suggestions`; gold items never show one). Per suggested field, and per
arm, the report gives:

- **agreement with the suggestion**: the share of labels equal to the suggested value (the
  suggestion is compared in both arms; the hidden arm's agreement is what annotators reach on
  their own). The **anchoring effect** is ``shown − hidden``; without anchoring it is 0 in
  expectation, since the arms are randomised within items.
- **accuracy** against a reference answer: a reviewer's adjudication where there is one, else
  the majority of the *other* annotators' hidden-arm labels on the item (leave-one-out, so a
  label is never scored against itself; ties give no reference); or a reference the caller gives
  (e.g. a simulation's truth). The accuracy difference ``shown − hidden`` says whether showing
  suggestions helps or hurts.

Intervals: Wilson for each arm, Newcombe's hybrid score interval for each difference
(:func:`redline.stats.wilson_interval`, :func:`redline.stats.newcombe_interval`) — labels are
treated as independent. Because one annotator's labels are not independent, the effect also
gets a cluster-bootstrap interval that resamples annotators (:func:`cluster_bootstrap`, the
percentile interval of :func:`redline.stats.percentile_interval`); the effect is
``detected`` when both intervals exclude 0. Per annotator, the effect is listed too (an
annotator who anchors stands out).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redline.stats import newcombe_interval, percentile_interval, wilson_interval

if TYPE_CHECKING:
    from redline.annotate.service import Annotations

__all__ = ["anchoring_report", "cluster_bootstrap", "format_report"]


def cluster_bootstrap(rows: list[tuple[str, str, bool]], *, n_boot: int = 2000, seed: int = 0,
                      confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of ``rate(shown) − rate(hidden)``, resampling clusters (annotators).

    Args:
        rows: ``(cluster, arm, event)`` triples, arm ``"shown"`` or ``"hidden"``.
        n_boot: Bootstrap replicates.
        seed: Seed of the generator.
        confidence: Two-sided level.

    Returns:
        ``(low, high)``, or None with fewer than 2 clusters or an arm empty in every replicate.
    """
    import numpy as np

    clusters = sorted({c for c, _, _ in rows})
    if len(clusters) < 2:
        return None
    idx = {c: i for i, c in enumerate(clusters)}
    counts = np.zeros((len(clusters), 4))  # shown events, shown n, hidden events, hidden n
    for c, arm, ev in rows:
        j = 0 if arm == "shown" else 2
        counts[idx[c], j] += ev
        counts[idx[c], j + 1] += 1
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(clusters), size=(n_boot, len(clusters)))
    tot = counts[picks].sum(axis=1)
    ok = (tot[:, 1] > 0) & (tot[:, 3] > 0)
    if not ok.any():
        return None
    diffs = tot[ok, 0] / tot[ok, 1] - tot[ok, 2] / tot[ok, 3]
    return percentile_interval(diffs.tolist(), confidence)


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"k": k, "n": n, "rate": k / n if n else None, "ci": wilson_interval(k, n) if n else None}


def _diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if not a["n"] or not b["n"]:
        return {"diff": None, "ci": None}
    return {"diff": a["rate"] - b["rate"], "ci": newcombe_interval(a["k"], a["n"], b["k"], b["n"])}


def _excludes_zero(ci: Any) -> bool:
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def anchoring_report(svc: Annotations, project: str, *, reference: Mapping[str, Mapping[str, Any]] | None = None,
                     n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The anchoring report of ``project`` (see the module docstring).

    Args:
        svc: The annotation service.
        project: The project.
        reference: ``{item_id: {field: value}}`` reference answers to score accuracy against
            (default: adjudications, else leave-one-out hidden-arm majority).
        n_boot: Replicates of the annotator bootstrap.
        seed: Its seed.

    Returns:
        ``{"project", "suggested_items", "labels": {"shown", "hidden", "none"}, "reference",
        "fields": {field: {"agreement": {"shown", "hidden"}, "effect": {"diff", "ci",
        "ci_by_annotator", "detected"}, "accuracy": {"shown", "hidden"}, "accuracy_diff",
        "by_annotator": {user: {"shown", "hidden", "effect"}}}}}``; rates as ``{"k", "n",
        "rate", "ci"}``.
    """
    svc.get_project(project)
    sugg = {s["item_id"]: s["values"] for s in svc.assists(project, "suggestion")}
    labels = [lb for lb in svc.labels(project, include_gold=True) if not lb.is_gold]
    adj = {a.item_id: a.values for a in svc.adjudications(project)}
    arms = Counter(lb.suggestion_arm or "none" for lb in labels)
    fields = sorted({f for v in sugg.values() for f in v})
    by_item: dict[str, list[Any]] = defaultdict(list)
    for lb in labels:
        by_item[lb.item_id].append(lb)
    ref_kind = "given" if reference is not None else ("adjudication, else leave-one-out hidden-arm majority")
    out_fields: dict[str, Any] = {}
    for f in fields:
        agree: dict[str, list[int]] = {"shown": [0, 0], "hidden": [0, 0]}
        acc: dict[str, list[int]] = {"shown": [0, 0], "hidden": [0, 0]}
        rows: list[tuple[str, str, bool]] = []
        per_user: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"shown": [0, 0], "hidden": [0, 0]})
        for lb in labels:
            arm = lb.suggestion_arm
            if arm not in ("shown", "hidden") or f not in sugg.get(lb.item_id, {}):
                continue
            v = lb.values.get(f)
            ev = v == sugg[lb.item_id][f]
            agree[arm][0] += ev
            agree[arm][1] += 1
            per_user[lb.username][arm][0] += ev
            per_user[lb.username][arm][1] += 1
            rows.append((lb.username, arm, ev))
            ref = _reference(f, lb, by_item[lb.item_id], adj, reference)
            if ref is not _NO_REF:
                acc[arm][0] += v == ref
                acc[arm][1] += 1
        ag = {a: _rate(*agree[a]) for a in agree}
        ac = {a: _rate(*acc[a]) for a in acc}
        eff = _diff(ag["shown"], ag["hidden"])
        boot = cluster_bootstrap(rows, n_boot=n_boot, seed=seed)
        eff["ci_by_annotator"] = boot
        eff["detected"] = _excludes_zero(eff["ci"]) and (boot is None or _excludes_zero(boot))
        users = {}
        for u, d in sorted(per_user.items()):
            s, h = _rate(*d["shown"]), _rate(*d["hidden"])
            users[u] = {"shown": s, "hidden": h, "effect": _diff(s, h)["diff"]}
        out_fields[f] = {"agreement": ag, "effect": eff, "accuracy": ac, "accuracy_diff": _diff(ac["shown"], ac["hidden"]),
                         "by_annotator": users}
    return {"project": project, "suggested_items": len(sugg), "labels": dict(arms), "reference": ref_kind,
            "fields": out_fields}


_NO_REF = object()


def _reference(f: str, lb: Any, item_labels: list[Any], adj: Mapping[str, Mapping[str, Any]],
               given: Mapping[str, Mapping[str, Any]] | None) -> Any:
    """The reference value of field ``f`` for label ``lb`` (``_NO_REF`` when there is none)."""
    if given is not None:
        got = given.get(lb.item_id)
        return got[f] if got is not None and f in got else _NO_REF
    if lb.item_id in adj and f in adj[lb.item_id]:
        return adj[lb.item_id][f]
    others = Counter(o.values.get(f) for o in item_labels if o.id != lb.id and o.suggestion_arm == "hidden")
    if not others:
        return _NO_REF
    top = others.most_common(2)
    if len(top) == 2 and top[0][1] == top[1][1]:
        return _NO_REF
    return top[0][0]


def format_report(rep: dict[str, Any]) -> str:
    """The report as text lines (for the CLI)."""

    def pct(r: dict[str, Any]) -> str:
        if not r["n"]:
            return "n/a"
        lo, hi = r["ci"]
        return f"{r['rate']:.1%} [{lo:.1%}, {hi:.1%}] (n={r['n']})"

    def dif(d: dict[str, Any]) -> str:
        if d["diff"] is None:
            return "n/a"
        lo, hi = d["ci"]
        return f"{d['diff']:+.1%} [{lo:+.1%}, {hi:+.1%}]"

    lines = [f"anchoring experiment of {rep['project']}: {rep['suggested_items']} items with a suggestion; labels "
             + (", ".join(f"{k} {v}" for k, v in sorted(rep["labels"].items())) or "none yet"),
             f"accuracy reference: {rep['reference']}"]
    if not rep["fields"]:
        lines.append("no suggestions: run `redline annotate prelabel PROJECT` first")
    for f, d in rep["fields"].items():
        e = d["effect"]
        boot = e.get("ci_by_annotator")
        lines += [f"{f}:",
                  f"  agreement with the suggestion  shown {pct(d['agreement']['shown'])}  hidden {pct(d['agreement']['hidden'])}",
                  f"  anchoring effect (shown - hidden) {dif(e)}"
                  + (f", by-annotator bootstrap [{boot[0]:+.1%}, {boot[1]:+.1%}]" if boot else "")
                  + ("  ← DETECTED" if e["detected"] else "  (not detected)"),
                  f"  accuracy vs reference          shown {pct(d['accuracy']['shown'])}  hidden {pct(d['accuracy']['hidden'])}"
                  f"  difference {dif(d['accuracy_diff'])}"]
    return "\n".join(lines)
