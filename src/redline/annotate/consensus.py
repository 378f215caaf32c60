"""Consensus labels from several annotators: majority vote, Dawid–Skene, model-assisted.

Input: ``ratings`` = iterable of ``(item_id, annotator, label)`` (label None = no label, ignored;
labels are nominal classes). Every method returns a :class:`ConsensusResult` with, per item,
the consensus ``label``, its ``confidence`` (the posterior probability of that label) and the
full ``posterior`` over the classes.

**Median** (``median_vote``, for ordinal fields such as rubric scores) — the classes are ranks
(``classes`` in order, else the values sorted). The consensus is the median rank of the item's
labels. With an even number of labels whose two middle ranks differ it is a tie: the middle
value more annotators gave wins, and when both were given equally often the LOWER one (a score
is never rounded up on a coin flip); the item is flagged ``tie=True``. Posterior = vote shares;
confidence = the share of labels equal to the consensus (so an item scored 3, 3, 4 has
consensus 3 with confidence 2/3 and lands in the review queue below 0.7). Unlike a majority vote
it never picks an extreme that most annotators placed on the other side.

**Majority vote** — posterior = vote shares. A tie is broken deterministically (the first tied
class in ``classes`` order) and flagged ``tie=True``; its confidence is the winning share
(at most 0.5), so ties always land in the review queue.

**Dawid–Skene** (Dawid & Skene 1979) — EM over class priors ``π_k`` and one confusion matrix
per annotator ``θ_j[k, l] = P(annotator j says l | truth k)``. Initialised from the
majority-vote shares. M-step with Dirichlet pseudo-counts (``prior_strength`` per row, of which
``prior_accuracy`` on the diagonal and the rest spread evenly; ``1`` per class for ``π``) so an
annotator with few labels stays near "fairly accurate" instead of 0/1 estimates. E-step:
``T_ik ∝ π_k Π_j Π_l θ_j[k, l]^{n_ijl}``. Stops when no posterior moves by more than ``tol``
or after ``max_iter`` iterations. It learns systematic confusions (e.g. an annotator who flips
labels) and down-weights spammers.

**Model-assisted** (``model_assisted``; CROWDLAB-style, after Goh, Tkachenko & Mueller 2022,
"CROWDLAB: supervised learning to infer consensus labels and quality scores for data with
multiple annotators"; own implementation) combines annotators with a model's (judge's) class
probabilities ``p_M(k | i)`` in a weighted average:

1. initial consensus ``y0_i`` = the Dawid–Skene label (``initial="dawid-skene"``, default) or
   the majority vote (``initial="majority"``), exact ties broken by the model's probabilities;
2. ``a_j`` = annotator j's accuracy against ``y0`` on the items with two or more labels
   (annotators without such items get the pooled accuracy ``A`` of all annotators);
3. chance agreement ``p_e = Σ_k f_k²`` with ``f`` the class shares of ``y0`` on items with two or
   more labels (CROWDLAB divides by the most-likely-class error instead; the chance
   correction is steadier when a class is rare);
4. weights ``w_j = max((a_j - p_e) / (1 - p_e), ε)`` and, for the model,
   ``w_M = max((acc_M - p_e) / (1 - p_e), ε) · sqrt(mean labels per item)`` with ``acc_M`` the
   model's argmax accuracy against ``y0`` on items with two or more labels (``ε = 1e-3``);
5. posterior ``P(k | i) = (w_M p_M(k | i) + Σ_{j labelled i} w_j e_j(k)) / (w_M + Σ w_j)`` where
   ``e_j(k) = a_j`` if j said k, else ``(1 - a_j)/(K - 1)`` (``a_j`` clipped to
   ``[1/K + ε, 1 - ε]``); items without model probabilities use the annotator terms only.
   Consensus = argmax, confidence = its posterior, ``tie`` when two classes share the maximum.

An annotator no better than chance (a spammer, or one who contradicts the consensus) gets
weight ≈ 0; a good model breaks ties and outvotes a lone annotator on items with one label.
On the simulated crowds of ``bench/bench_consensus.py`` with a calibrated model of accuracy
0.8 it beats majority vote at every overlap and is level with Dawid–Skene at overlap 2; with
three or more labels per item Dawid–Skene, which also learns *systematic* confusions (it turns
an adversarial annotator into evidence), is as good or better, and a weak model (0.65) drags
the weighted average below Dawid–Skene.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from redline.errors import InputError, Problem

__all__ = [
    "ConsensusResult",
    "ItemConsensus",
    "dawid_skene",
    "majority_vote",
    "median_vote",
    "model_assisted",
    "run_consensus",
]

_EPS = 1e-3


@dataclass
class ItemConsensus:
    """The consensus label of one item and how sure it is.

    Attributes:
        item_id: The item, as given in the ratings.
        label: The consensus class (the posterior's argmax, or the tie-broken winner).
        confidence: The posterior probability of ``label``.
        posterior: Probability of every class for this item.
        n_labels: How many annotator labels the item had.
        tie: Whether two or more classes shared the top score and the winner was picked by a
            tie-break.
    """

    item_id: Hashable
    label: Any
    confidence: float
    posterior: dict[Any, float]
    n_labels: int
    tie: bool = False


@dataclass
class ConsensusResult:
    """The outcome of one consensus method over all items.

    Attributes:
        method: ``"majority"``, ``"dawid-skene"`` or ``"model"``.
        classes: The classes seen, in the order used for tie-breaks.
        items: Per item, its :class:`ItemConsensus`.
        annotators: Per annotator, its estimated accuracy, weight, confusion matrix (where the
            method has them) and number of labels.
        priors: Estimated class priors, where the method estimates them.
        iterations: EM iterations run (0 for methods without EM).
        converged: Whether the iterations stopped on ``tol`` rather than ``max_iter``.
    """

    method: str
    classes: list[Any]
    items: dict[Hashable, ItemConsensus]
    #: per annotator: {"accuracy": estimated P(correct), "weight": float | None,
    #: "confusion": {true: {given: p}} | None, "n": labels}
    annotators: dict[Hashable, dict[str, Any]] = field(default_factory=dict)
    priors: dict[Any, float] | None = None
    iterations: int = 0
    converged: bool = True

    def labels(self) -> dict[Hashable, Any]:
        """The consensus label of each item, by item id."""
        return {i: c.label for i, c in self.items.items()}

    def confidences(self) -> dict[Hashable, float]:
        """The confidence (posterior of the consensus label) of each item, by item id."""
        return {i: c.confidence for i, c in self.items.items()}

    def __len__(self) -> int:
        return len(self.items)


def _ckey(v: Any) -> tuple[str, Any]:
    if isinstance(v, bool):
        return ("0", int(v))
    if isinstance(v, int | float):
        return ("1", float(v))
    return ("2", str(v))


@dataclass
class _Table:
    items: list[Hashable]
    annotators: list[Hashable]
    classes: list[Any]
    ii: np.ndarray  # item index per rating
    aa: np.ndarray  # annotator index per rating
    ll: np.ndarray  # class index per rating


def _table(ratings: Iterable[tuple[Hashable, Hashable, Any]],
           classes: Sequence[Any] | None) -> _Table:
    rows = [(i, a, v) for i, a, v in ratings if v is not None]
    seen: set[tuple[Hashable, Hashable]] = set()
    for i, a, _ in rows:
        if (i, a) in seen:
            raise InputError("an annotator labelled the same item twice", [Problem(
                f"item {i!r}, annotator {a!r}", "duplicate label", "keep one label per annotator")])
        seen.add((i, a))
    found = {(type(v) is bool, v): v for _, _, v in rows}
    if classes is None:
        cls = sorted(found.values(), key=_ckey)
    else:
        cls = list(classes)
        known = {(type(v) is bool, v) for v in cls}
        extra = [v for k, v in found.items() if k not in known]
        if extra:
            raise InputError("label outside the classes", [Problem(
                "label", f"{extra[0]!r} is not one of {cls!r}", "add it to `classes`")])
    cidx = {(type(v) is bool, v): k for k, v in enumerate(cls)}
    items = list(dict.fromkeys(i for i, _, _ in rows))
    anns = list(dict.fromkeys(a for _, a, _ in rows))
    ix = {v: k for k, v in enumerate(items)}
    ax = {v: k for k, v in enumerate(anns)}
    return _Table(items, anns, cls,
                  np.array([ix[i] for i, _, _ in rows], dtype=np.int64),
                  np.array([ax[a] for _, a, _ in rows], dtype=np.int64),
                  np.array([cidx[(type(v) is bool, v)] for _, _, v in rows], dtype=np.int64))


def _votes(t: _Table) -> np.ndarray:
    V = np.zeros((len(t.items), len(t.classes)))
    np.add.at(V, (t.ii, t.ll), 1.0)
    return V


def _result(method: str, t: _Table, P: np.ndarray, n: np.ndarray, tie: np.ndarray | None = None,
            label_idx: np.ndarray | None = None, **kw: Any) -> ConsensusResult:
    idx = P.argmax(axis=1) if label_idx is None else label_idx
    out = {}
    for u, item in enumerate(t.items):
        post = {c: float(P[u, k]) for k, c in enumerate(t.classes)}
        out[item] = ItemConsensus(item, t.classes[idx[u]], float(P[u, idx[u]]), post, int(n[u]),
                                  bool(tie[u]) if tie is not None else False)
    return ConsensusResult(method, list(t.classes), out, **kw)


def _agreement_stats(t: _Table, labels: np.ndarray) -> dict[Hashable, dict[str, Any]]:
    """Share of each annotator's labels equal to the consensus ``labels`` (by item index)."""
    hit = (labels[t.ii] == t.ll).astype(float)
    out = {}
    for j, a in enumerate(t.annotators):
        m = t.aa == j
        out[a] = {"accuracy": float(hit[m].mean()) if m.any() else None, "weight": None,
                  "confusion": None, "n": int(m.sum())}
    return out


def majority_vote(ratings: Iterable[tuple[Hashable, Hashable, Any]], *,
                  classes: Sequence[Any] | None = None) -> ConsensusResult:
    """The most frequent label per item; posterior = vote shares; ties flagged (see module doc)."""
    t = _table(ratings, classes)
    if not t.items or not t.classes:  # nothing rated (or every value missing)
        return ConsensusResult("majority", list(t.classes), {})
    V = _votes(t)
    n = V.sum(axis=1)
    P = V / np.maximum(n, 1)[:, None]
    tie = (V == V.max(axis=1, keepdims=True)).sum(axis=1) > 1
    overall = V.sum(axis=0)
    # ties: the class used most often overall wins (then the first in `classes` order)
    rank = np.argsort(np.argsort(-overall, kind="stable"), kind="stable")
    idx = (V - 1e-6 * rank[None, :] / max(len(rank), 1)).argmax(axis=1)
    r = _result("majority", t, P, n, tie, label_idx=idx)
    r.annotators = _agreement_stats(t, idx)
    return r


def dawid_skene(ratings: Iterable[tuple[Hashable, Hashable, Any]], *, max_iter: int = 100,
                tol: float = 1e-6, classes: Sequence[Any] | None = None,
                prior_accuracy: float = 0.7, prior_strength: float = 2.0) -> ConsensusResult:
    """Dawid–Skene EM (see the module docstring). ``annotators[a]["confusion"]`` holds the
    estimated confusion matrix ``{true: {given: p}}`` and ``accuracy`` its prior-weighted diagonal."""
    t = _table(ratings, classes)
    K, J, U = len(t.classes), len(t.annotators), len(t.items)
    V = _votes(t)
    n = V.sum(axis=1)
    if U == 0:
        return ConsensusResult("dawid-skene", list(t.classes), {})
    T = V / np.maximum(n, 1)[:, None]
    if K == 1:
        return _result("dawid-skene", t, np.ones((U, 1)), n)
    # one-hot of each rating's given label, for the M-step
    L = np.zeros((len(t.ll), K))
    L[np.arange(len(t.ll)), t.ll] = 1.0
    off = prior_strength * (1.0 - prior_accuracy) / (K - 1)
    pseudo = np.full((K, K), off) + np.eye(K) * (prior_strength * prior_accuracy - off)
    it, converged = 0, False
    theta = np.zeros((J, K, K))
    pi = np.full(K, 1.0 / K)
    for it in range(1, max_iter + 1):  # noqa: B007 (used after the loop)
        # M-step
        pi = (T.sum(axis=0) + 1.0) / (U + K)
        counts = np.zeros((J, K, K))
        np.add.at(counts, t.aa, T[t.ii][:, :, None] * L[:, None, :])
        counts += pseudo
        theta = counts / counts.sum(axis=2, keepdims=True)
        # E-step
        logT = np.tile(np.log(pi), (U, 1))
        np.add.at(logT, t.ii, np.log(theta[t.aa, :, t.ll]))
        logT -= logT.max(axis=1, keepdims=True)
        newT = np.exp(logT)
        newT /= newT.sum(axis=1, keepdims=True)
        delta = float(np.abs(newT - T).max())
        T = newT
        if delta < tol:
            converged = True
            break
    r = _result("dawid-skene", t, T, n, iterations=it, converged=converged,
                priors={c: float(pi[k]) for k, c in enumerate(t.classes)})
    for j, a in enumerate(t.annotators):
        m = int((t.aa == j).sum())
        conf = {c: {g: float(theta[j, k, h]) for h, g in enumerate(t.classes)}
                for k, c in enumerate(t.classes)}
        r.annotators[a] = {"accuracy": float((pi * np.diag(theta[j])).sum()), "weight": None,
                           "confusion": conf, "n": m}
    return r


def _model_matrix(t: _Table, model_probs: Mapping[Hashable, Mapping[Any, float]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    K = len(t.classes)
    M = np.zeros((len(t.items), K))
    has = np.zeros(len(t.items), dtype=bool)
    cidx = {(type(v) is bool, v): k for k, v in enumerate(t.classes)}
    for u, item in enumerate(t.items):
        probs = model_probs.get(item)
        if not probs:
            continue
        row = np.zeros(K)
        for c, p in probs.items():
            k = cidx.get((type(c) is bool, c))
            if k is None:
                continue  # a class no annotator used and not listed: ignored (mass renormalised)
            if p is None or not math.isfinite(float(p)) or float(p) < 0:
                raise InputError("bad model probability", [Problem(
                    f"model_probs[{item!r}][{c!r}]", f"{p!r} is not a probability",
                    "give numbers in [0, 1]")])
            row[k] = float(p)
        s = row.sum()
        if s > 0:
            M[u] = row / s
            has[u] = True
    return M, has


def model_assisted(ratings: Iterable[tuple[Hashable, Hashable, Any]],
                   model_probs: Mapping[Hashable, Mapping[Any, float]], *,
                   classes: Sequence[Any] | None = None,
                   initial: str = "dawid-skene") -> ConsensusResult:
    """CROWDLAB-style consensus of annotators and a model (formulas in the module docstring).

    ``model_probs``: ``{item_id: {label: probability}}``; items missing from it use the
    annotators only. ``annotators[a]["weight"]`` is ``w_j``; the model's weight is in
    ``annotators["(model)"]``.
    """
    t = _table(ratings, classes)
    K, J, U = len(t.classes), len(t.annotators), len(t.items)
    if U == 0:
        return ConsensusResult("model", list(t.classes), {})
    V = _votes(t)
    n = V.sum(axis=1)
    M, has = _model_matrix(t, model_probs)
    multi = n >= 2
    # 1. initial consensus: Dawid–Skene (majority shares when it cannot run), ties by the model
    if initial == "dawid-skene":
        ds = dawid_skene(list(zip([t.items[u] for u in t.ii], [t.annotators[j] for j in t.aa],
                                  [t.classes[k] for k in t.ll], strict=True)), classes=t.classes)
        P0 = np.array([[ds.items[it].posterior[c] for c in t.classes] for it in t.items])
    else:
        P0 = V / np.maximum(n, 1)[:, None]
    y0 = (P0 + 1e-6 * M).argmax(axis=1)
    # 2. each annotator's accuracy against the initial consensus, on items with >= 2 labels
    hit = (y0[t.ii] == t.ll).astype(float)
    ok = multi[t.ii]
    A = float(hit[ok].mean()) if ok.any() else 0.5
    a = np.full(J, A)
    for j in range(J):
        m = ok & (t.aa == j)
        if m.any():
            a[j] = float(hit[m].mean())
    lik = np.clip(a, 1.0 / K + _EPS, 1.0 - _EPS)
    # 3. chance agreement from the consensus class shares
    ref = y0[multi] if multi.any() else y0
    f = np.bincount(ref, minlength=K) / max(len(ref), 1)
    pe = min(float((f**2).sum()), 1.0 - _EPS)
    # 4. weights
    w = np.maximum((a - pe) / (1.0 - pe), _EPS)
    mm = multi & has
    if mm.any():
        acc_m = float((M[mm].argmax(axis=1) == y0[mm]).mean())
    elif has.any():
        acc_m = float((M[has].argmax(axis=1) == y0[has]).mean())
    else:
        acc_m = 0.0
    w_model = max((acc_m - pe) / (1.0 - pe), _EPS) * math.sqrt(float(n.mean()))
    # 5. posterior
    la = lik[t.aa]
    E = np.repeat(((1.0 - la) / max(K - 1, 1))[:, None], K, axis=1)
    E[np.arange(len(t.ll)), t.ll] = la
    num = np.zeros((U, K))
    np.add.at(num, t.ii, w[t.aa][:, None] * E)
    den = np.zeros(U)
    np.add.at(den, t.ii, w[t.aa])
    num += np.where(has[:, None], w_model * M, 0.0)
    den += np.where(has, w_model, 0.0)
    P = num / den[:, None]
    tie = np.isclose(P, P.max(axis=1, keepdims=True)).sum(axis=1) > 1
    r = _result("model", t, P, n, tie)
    stats = _agreement_stats(t, P.argmax(axis=1))
    for j, ann in enumerate(t.annotators):
        stats[ann]["weight"] = float(w[j])
        stats[ann]["accuracy_vs_initial"] = float(a[j])
    stats["(model)"] = {"accuracy": acc_m, "weight": float(w_model), "confusion": None,
                        "n": int(has.sum())}
    r.annotators = stats
    return r


def median_vote(ratings: Iterable[tuple[Hashable, Hashable, Any]], *,
                classes: Sequence[Any] | None = None) -> ConsensusResult:
    """Ordinal consensus: the median label of each item, ties broken as the module docstring says.

    Args:
        ratings: ``(item, annotator, label)`` triples (None labels ignored).
        classes: The labels in rank order, lowest first (default: the labels seen, sorted).

    Returns:
        The consensus of every rated item (``method="median"``).
    """
    t = _table(ratings, classes)
    if not t.items or not t.classes:  # nothing rated (or every value missing)
        return ConsensusResult("median", list(t.classes), {})
    V = _votes(t)
    n = V.sum(axis=1)
    idx = np.zeros(len(t.items), dtype=np.int64)
    tie = np.zeros(len(t.items), dtype=bool)
    for u in range(len(t.items)):
        ranks = np.repeat(np.arange(len(t.classes)), V[u].astype(np.int64))
        m = len(ranks)
        lo, hi = int(ranks[(m - 1) // 2]), int(ranks[m // 2])
        if lo == hi:
            idx[u] = lo
        else:
            tie[u] = True
            idx[u] = hi if V[u, hi] > V[u, lo] else lo
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(n[:, None] > 0, V / n[:, None], 0.0)
    res = _result("median", t, P, n, tie, label_idx=idx)
    res.annotators = _agreement_stats(t, idx)
    return res


def run_consensus(method: str, ratings: Iterable[tuple[Hashable, Hashable, Any]], *,
                  classes: Sequence[Any] | None = None,
                  model_probs: Mapping[Any, Mapping[Any, float]] | None = None) -> ConsensusResult:
    """Consensus by the method named on the command line.

    Args:
        method: ``majority``, ``dawid-skene``, ``model`` (model-assisted) or ``median`` (ordinal).
        ratings: ``(item, annotator, label)`` triples.
        classes: The possible labels, in order (default: the labels seen).
        model_probs: For ``model``: item → label → the model's probability.

    Returns:
        The consensus of every rated item.

    Raises:
        InputError: Naming ``--method`` when the method is unknown.
    """
    if method == "majority":
        return majority_vote(ratings, classes=classes)
    if method == "median":
        return median_vote(ratings, classes=classes)
    if method == "dawid-skene":
        return dawid_skene(ratings, classes=classes)
    if method == "model":
        return model_assisted(ratings, model_probs or {}, classes=classes)
    raise InputError(f"unknown consensus method {method!r}", [Problem(
        "--method", f"{method!r}", "use one of majority, dawid-skene, model, median")])
