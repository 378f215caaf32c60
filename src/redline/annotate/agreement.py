"""Inter-annotator agreement: Krippendorff's α, Fleiss' κ, pairwise Cohen's κ, Gwet's AC1,
percent agreement, and bootstrap confidence intervals.

Data shape everywhere: ``ratings`` is an iterable of ``(item_id, rater, value)``; ``value`` None
is a missing rating (ignored). One rater rates an item at most once (a duplicate is an
:class:`~redline.errors.InputError`). Items with fewer than two ratings carry no information
about agreement and are left out of every metric (they are counted in the report).

Definitions (``r_ik`` = number of ratings of item ``i`` in category ``k``, ``r_i = Σ_k r_ik``,
only items with ``r_i >= 2``):

- **Krippendorff's α** (Krippendorff 2011, "Computing Krippendorff's alpha-reliability") via the
  coincidence matrix ``o_ck = Σ_i Σ_{pairs} [c,k] / (r_i - 1)``, ``n_c = Σ_k o_ck``:
  ``α = 1 - (n - 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck`` with the metric ``δ²`` of the level:
  nominal ``[c != k]``; ordinal ``(Σ_{g=c..k} n_g - (n_c + n_k)/2)²`` (categories in their order);
  interval ``(c - k)²``. Missing values are allowed. The level is chosen by the caller.
- **Fleiss' κ**, generalised to a varying number of raters per item (it reduces exactly to
  Fleiss 1971 when every item has the same number): ``P_i = Σ_k r_ik (r_ik - 1) / (r_i (r_i - 1))``,
  ``P̄ = mean_i P_i``, ``p_k = Σ_i r_ik / Σ_i r_i``, ``P_e = Σ_k p_k²``, ``κ = (P̄ - P_e)/(1 - P_e)``.
- **Percent agreement**: ``P̄`` above — the share of agreeing rater pairs, averaged over items.
- **Gwet's AC1** (Gwet 2008; multi-rater form): ``p_a = P̄``, ``π_k = mean_i r_ik / r_i``,
  ``p_e = Σ_k π_k (1 - π_k) / (q - 1)`` (``q`` = number of categories observed),
  ``AC1 = (p_a - p_e) / (1 - p_e)``. Unlike κ it stays high when one category is rare and
  raters agree (the "kappa paradox").
- **Cohen's κ** for every pair of raters on the items both rated (scikit-learn's
  ``cohen_kappa_score`` formula, vectorised over all pairs — the tests check it against
  scikit-learn — so that many raters, k² pairs, stay fast), and their unweighted mean over pairs with at least ``min_shared``
  common items and a defined κ (Light's κ).

κ, AC1 and percent agreement treat values as nominal categories; α uses the requested level.

Bootstrap confidence intervals resample *items* with replacement (``numpy`` generator seeded
by ``seed``) and take the 2.5 / 97.5 percentiles of the metric over the replicates where it is
defined. Every built-in metric is computed from per-item sufficient statistics weighted by how
often each item was drawn, so 1,000 replicates cost a few matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from redline.errors import InputError, Problem
from redline.stats import percentile_interval

Level = Literal["nominal", "ordinal", "interval"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval")
Rating = tuple[Hashable, Hashable, Any]

__all__ = [
    "LEVELS",
    "Level",
    "agreement_report",
    "bootstrap_ci",
    "cohen_kappa_pairwise",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "percent_agreement",
]


def _key(v: Any) -> tuple[str, Any]:
    """A sort key that orders mixed types deterministically (bool before numbers before str)."""
    if isinstance(v, bool):
        return ("0bool", int(v))
    if isinstance(v, int | float):
        return ("1num", float(v))
    return ("2" + type(v).__name__, str(v))


def _cat(v: Any) -> Any:
    """Categories are compared by value and type: ``True`` and ``1`` stay distinct."""
    return (type(v).__name__ == "bool", v)


@dataclass
class _Data:
    items: list[Hashable]
    raters: list[Hashable]
    categories: list[Any]
    X: np.ndarray  # items × raters, category code or -1 (missing)
    counts: np.ndarray  # items × categories (r_ik), only items with >= 2 ratings
    n_single: int  # items with exactly one rating (left out)

    @property
    def q(self) -> int:
        return len(self.categories)


def _prepare(ratings: Iterable[Rating], level: str = "nominal",
             order: Sequence[Any] | None = None) -> _Data:
    if level not in LEVELS:
        raise InputError(f"unknown agreement level {level!r}", [Problem(
            "level", f"{level!r} is not a measurement level", f"use one of: {', '.join(LEVELS)}")])
    cells: dict[tuple[Hashable, Hashable], Any] = {}
    item_order: dict[Hashable, None] = {}
    rater_order: dict[Hashable, None] = {}
    dups: list[str] = []
    for row in ratings:
        try:
            item, rater, value = row
        except (TypeError, ValueError):
            raise InputError("bad rating", [Problem(
                repr(row)[:80], "expected (item_id, rater, value)", "pass 3-tuples")]) from None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if (item, rater) in cells:
            dups.append(f"item {item!r}, rater {rater!r}")
            continue
        cells[(item, rater)] = value
        item_order.setdefault(item)
        rater_order.setdefault(rater)
    if dups:
        raise InputError("a rater rated the same item twice", [Problem(
            d, "duplicate rating", "keep one rating per rater and item") for d in dups[:20]])
    values = {_cat(v): v for v in cells.values()}
    if order is not None:
        known = {_cat(v) for v in order}
        unknown = [v for k, v in values.items() if k not in known]
        if unknown:
            raise InputError("value outside the category order", [Problem(
                "value", f"{unknown[0]!r} is not one of {list(order)!r}",
                "add it to `order` or map it to None (missing)")])
        cats = [v for v in order if _cat(v) in values]
    else:
        cats = sorted(values.values(), key=_key)
    if level == "interval" or (level == "ordinal" and order is None):
        bad = [v for v in cats if isinstance(v, bool) or not isinstance(v, int | float)]
        if bad:
            raise InputError(f"{level} agreement needs numbers", [Problem(
                "value", f"{bad[0]!r} is not a number",
                "use the nominal level, or give an explicit `order` for ordinal categories")])
    code = {_cat(v): i for i, v in enumerate(cats)}
    items = list(item_order)
    raters = list(rater_order)
    ii = {it: i for i, it in enumerate(items)}
    rr = {r: i for i, r in enumerate(raters)}
    X = np.full((len(items), len(raters)), -1, dtype=np.int64)
    for (item, rater), v in cells.items():
        X[ii[item], rr[rater]] = code[_cat(v)]
    full = np.zeros((len(items), len(cats)), dtype=np.float64)
    rows, cols = np.nonzero(X >= 0)
    np.add.at(full, (rows, X[rows, cols]), 1.0)
    m = full.sum(axis=1)
    return _Data(items, raters, cats, X, full[m >= 2], int((m == 1).sum()))


# --------------------------------------------------------------------------- weighted kernels
# Each kernel takes the prepared data and W: (B, U) item weights (how often each item with
# >= 2 ratings is drawn; a row of ones is the point estimate) and returns B values (NaN when
# undefined).

def _alpha_w(d: _Data, W: np.ndarray, level: str) -> np.ndarray:
    N = d.counts
    U, q = N.shape
    if U == 0 or q == 0:
        return np.full(W.shape[0], np.nan)
    m = N.sum(axis=1)
    # per-item coincidences o_u = (N_u N_u^T - diag N_u) / (m_u - 1), flattened
    P = (np.einsum("uk,ul->ukl", N, N) - np.einsum("uk,kl->ukl", N, np.eye(q)))
    P = (P / (m - 1)[:, None, None]).reshape(U, q * q)
    coinc = (W @ P).reshape(-1, q, q)
    nc = coinc.sum(axis=2)
    n = nc.sum(axis=1)
    if level == "nominal":
        delta = np.broadcast_to(1.0 - np.eye(q), coinc.shape)
    elif level == "interval":
        v = np.asarray(d.categories, dtype=float)
        delta = np.broadcast_to((v[:, None] - v[None, :]) ** 2, coinc.shape)
    else:  # ordinal, categories in rank order
        cum = np.cumsum(nc, axis=1)
        lo = np.minimum.outer(np.arange(q), np.arange(q))
        hi = np.maximum.outer(np.arange(q), np.arange(q))
        between = cum[:, hi] - np.where(lo > 0, cum[:, np.maximum(lo - 1, 0)], 0.0)
        delta = (between - (nc[:, :, None] + nc[:, None, :]) / 2.0) ** 2
    do = (coinc * delta).sum(axis=(1, 2))
    de = (nc[:, :, None] * nc[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - (n - 1.0) * do / de
    out[~(de > 0)] = np.nan
    return out


def _pbar_w(d: _Data, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    N = d.counts
    m = N.sum(axis=1)
    per_item = (N * (N - 1)).sum(axis=1) / (m * (m - 1)) if len(N) else np.zeros(0)
    tot = W.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (W @ per_item) / tot, tot


def _percent_w(d: _Data, W: np.ndarray) -> np.ndarray:
    if len(d.counts) == 0:
        return np.full(W.shape[0], np.nan)
    return _pbar_w(d, W)[0]


def _fleiss_w(d: _Data, W: np.ndarray) -> np.ndarray:
    N = d.counts
    if len(N) == 0:
        return np.full(W.shape[0], np.nan)
    pbar, _ = _pbar_w(d, W)
    pk = W @ N
    pk = pk / pk.sum(axis=1, keepdims=True)
    pe = (pk**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (pbar - pe) / (1.0 - pe)
    out[~(pe < 1.0 - 1e-12)] = np.nan
    return out


def _ac1_w(d: _Data, W: np.ndarray) -> np.ndarray:
    N = d.counts
    q = N.shape[1] if len(N) else 0
    if len(N) == 0 or q < 2:
        return np.full(W.shape[0], np.nan)
    pa, tot = _pbar_w(d, W)
    props = N / N.sum(axis=1, keepdims=True)
    pi = (W @ props) / tot[:, None]
    pe = (pi * (1.0 - pi)).sum(axis=1) / (q - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (pa - pe) / (1.0 - pe)


@dataclass
class _Pairs:
    names: list[tuple[Hashable, Hashable]]
    rows: list[np.ndarray]  # indices into d.counts rows (items with >= 2 ratings)
    joint: list[np.ndarray]  # code_a * q + code_b per shared item


def _pairs(d: _Data) -> _Pairs:
    m = (d.X >= 0).sum(axis=1)
    Xm = d.X[m >= 2]
    names, rows, joint = [], [], []
    # only the pairs that share an item (a co-occurrence count, not a scan of all k² pairs)
    has = (Xm >= 0).astype(np.int64)
    shared = np.triu(has.T @ has, 1)
    for a, b in np.argwhere(shared > 0):  # row-major: the order of combinations(range(k), 2)
        both = np.nonzero((Xm[:, a] >= 0) & (Xm[:, b] >= 0))[0]
        names.append((d.raters[a], d.raters[b]))
        rows.append(both)
        joint.append(Xm[both, a] * d.q + Xm[both, b])
    return _Pairs(names, rows, joint)


def _kappa_from_conf(C: np.ndarray) -> np.ndarray:
    """Cohen's κ for a stack of confusion matrices (B, q, q)."""
    n = C.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        po = np.trace(C, axis1=1, axis2=2) / n
        pe = (C.sum(axis=2) * C.sum(axis=1)).sum(axis=1) / n**2
        k = (po - pe) / (1.0 - pe)
    k[~(pe < 1.0 - 1e-12) | ~(n > 0)] = np.nan
    return k


def _cohen_w(d: _Data, W: np.ndarray, min_shared: int = 2, chunk: int = 200_000) -> np.ndarray:
    """Mean pairwise κ for each weight row of ``W`` (bootstrap draws). All pairs at once, as a
    sparse product, in chunks of at most ``chunk`` shared ratings and ``20 × chunk`` confusion
    cells (many raters: k² pairs, memory stays bounded)."""
    from scipy import sparse

    pr = _pairs(d)
    q = d.q
    keep = [p for p, rows in enumerate(pr.rows) if len(rows) >= min_shared]
    B = W.shape[0]
    s, c = np.zeros(B), np.zeros(B)
    start = 0
    while start < len(keep):
        part: list[int] = []
        n = 0
        while start < len(keep) and (not part or (n + len(pr.rows[keep[start]]) <= chunk
                                                  and (len(part) + 1) * B * q * q <= 20 * chunk)):
            part.append(keep[start])
            n += len(pr.rows[keep[start]])
            start += 1
        rows = np.concatenate([pr.rows[p] for p in part])
        cols = np.concatenate([k * q * q + pr.joint[p] for k, p in enumerate(part)])
        onehot = sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), cols)),
                                   shape=(len(rows), len(part) * q * q))
        C = np.asarray((onehot.T @ W[:, rows].T).T).reshape(B * len(part), q, q)
        K = _kappa_from_conf(C).reshape(B, len(part))
        ok = ~np.isnan(K)
        s += np.where(ok, K, 0.0).sum(axis=1)
        c += ok.sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _scalar(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# --------------------------------------------------------------------------- public metrics

def krippendorff_alpha(ratings: Iterable[Rating], level: Level = "nominal", *,
                       order: Sequence[Any] | None = None) -> float | None:
    """Krippendorff's α at ``level`` ("nominal", "ordinal", "interval").

    Ordinal and interval values must be numbers, unless ``order`` lists the ordinal
    categories from lowest to highest. None when undefined (fewer than two pairable values, or
    no variation at all).
    """
    d = _prepare(ratings, level, order)
    return _scalar(_alpha_w(d, np.ones((1, len(d.counts))), level)[0])


def fleiss_kappa(ratings: Iterable[Rating]) -> float | None:
    """Fleiss' κ (varying raters per item handled; see the module docstring)."""
    d = _prepare(ratings)
    return _scalar(_fleiss_w(d, np.ones((1, len(d.counts))))[0])


def gwet_ac1(ratings: Iterable[Rating]) -> float | None:
    """Gwet's AC1 (multi-rater, varying raters per item)."""
    d = _prepare(ratings)
    return _scalar(_ac1_w(d, np.ones((1, len(d.counts))))[0])


def percent_agreement(ratings: Iterable[Rating]) -> float | None:
    """Mean share of agreeing rater pairs per item (items with two or more ratings)."""
    d = _prepare(ratings)
    return _scalar(_percent_w(d, np.ones((1, len(d.counts))))[0])


def cohen_kappa_pairwise(ratings: Iterable[Rating], *, min_shared: int = 2) -> dict[str, Any]:
    """Cohen's κ for every pair of raters with a common item (scikit-learn), and the mean.

    Returns ``{"mean": float | None, "pairs": [{"a", "b", "kappa", "n"}]}``; the mean is over
    pairs with at least ``min_shared`` shared items and a defined κ (κ is undefined when both
    raters used a single, identical category throughout).
    """
    d = _prepare(ratings)
    pr = _pairs(d)
    out = []
    vals = []
    q = d.q
    if pr.names:  # every pair's confusion matrix at once (scikit-learn's formula, vectorised)
        lens = np.array([len(j) for j in pr.joint])
        idx = np.repeat(np.arange(len(lens)), lens) * q * q + np.concatenate(pr.joint)
        kappas = _kappa_from_conf(np.bincount(idx, minlength=len(lens) * q * q)
                                  .reshape(len(lens), q, q).astype(float))
    for (a, b), joint, kp in zip(pr.names, pr.joint, kappas if pr.names else [], strict=True):
        k = _scalar(float(kp))  # None for one category only (κ = 0/0)
        out.append({"a": str(a), "b": str(b), "kappa": k, "n": int(len(joint))})
        if k is not None and len(joint) >= min_shared:
            vals.append(k)
    return {"mean": float(np.mean(vals)) if vals else None, "pairs": out}


def _cohen_mean(ratings: Iterable[Rating]) -> float | None:
    return cohen_kappa_pairwise(ratings)["mean"]


# fast weighted versions of the metrics, for the bootstrap
_WEIGHTED: dict[Any, Callable[[_Data, np.ndarray, str], np.ndarray]] = {
    krippendorff_alpha: lambda d, W, level: _alpha_w(d, W, level),
    fleiss_kappa: lambda d, W, level: _fleiss_w(d, W),
    gwet_ac1: lambda d, W, level: _ac1_w(d, W),
    percent_agreement: lambda d, W, level: _percent_w(d, W),
    cohen_kappa_pairwise: lambda d, W, level: _cohen_w(d, W),
    _cohen_mean: lambda d, W, level: _cohen_w(d, W),
}


def _draws(n_items: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_items, size=(n, n_items))
    W = np.zeros((n, n_items))
    np.add.at(W, (np.repeat(np.arange(n), n_items), idx.ravel()), 1.0)
    return W


def _percentile_ci(vals: np.ndarray, conf: float) -> tuple[float, float] | None:
    """The bootstrap's percentile interval; None when fewer than 10 replicates were defined."""
    return percentile_interval(vals, conf, min_values=10)


def bootstrap_ci(metric: Callable[..., Any], ratings: Iterable[Rating], n: int = 1000,
                 seed: int = 0, *, level: Level = "nominal", conf: float = 0.95,
                 order: Sequence[Any] | None = None) -> tuple[float, float] | None:
    """A percentile bootstrap CI of ``metric`` resampling items (with replacement).

    ``metric`` is one of this module's metrics (computed fast from weighted per-item
    statistics) or any callable ``metric(ratings) -> float | None`` (recomputed on each
    replicate, the resampled items renamed ``(item, draw)`` so duplicates stay distinct).
    None when fewer than 10 replicates gave a defined value.
    """
    ratings = list(ratings)
    fast = _WEIGHTED.get(metric)
    if fast is not None:
        d = _prepare(ratings, level if metric is krippendorff_alpha else "nominal", order)
        if len(d.counts) == 0:
            return None
        vals = np.concatenate([fast(d, W, level) for W in _chunks(len(d.counts), n, seed)])
        return _percentile_ci(vals, conf)
    by_item: dict[Hashable, list[Rating]] = {}
    for r in ratings:
        by_item.setdefault(r[0], []).append(r)
    keys = list(by_item)
    if not keys:
        return None
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        sample: list[Rating] = []
        for j, k in enumerate(rng.integers(0, len(keys), size=len(keys))):
            sample.extend(((keys[k], j), rater, v) for _, rater, v in by_item[keys[k]])
        v = metric(sample)
        v = v["mean"] if isinstance(v, dict) else v
        out.append(np.nan if v is None else float(v))
    return _percentile_ci(np.asarray(out), conf)


def _chunks(n_items: int, n: int, seed: int, chunk: int = 250) -> Iterable[np.ndarray]:
    W = _draws(n_items, n, seed)
    for s in range(0, n, chunk):
        yield W[s:s + chunk]


def agreement_report(ratings: Iterable[Rating], level: Level = "nominal", *, n_boot: int = 1000,
                     seed: int = 0, order: Sequence[Any] | None = None,
                     min_shared: int = 2) -> dict[str, Any]:
    """Every metric with its 95% bootstrap CI, as a JSON-ready dict.

    ``{"level", "n_items", "n_single", "n_raters", "n_ratings", "alpha": {"value", "ci"},
    "fleiss_kappa": …, "cohen_kappa": {"value", "ci", "pairs"}, "gwet_ac1": …,
    "percent_agreement": …}``; ``value`` None when undefined, ``ci`` None when ``n_boot`` is 0
    or too few replicates were defined. The same item draws are used for every metric.
    """
    ratings = list(ratings)
    d = _prepare(ratings, level, order)
    dn = d if level == "nominal" else _prepare(ratings, "nominal")
    U = len(d.counts)
    ones = np.ones((1, U))
    point = {
        "alpha": _alpha_w(d, ones, level)[0],
        "fleiss_kappa": _fleiss_w(dn, ones)[0],
        "gwet_ac1": _ac1_w(dn, ones)[0],
        "percent_agreement": _percent_w(dn, ones)[0],
    }
    pairs = cohen_kappa_pairwise(ratings, min_shared=min_shared)
    cis: dict[str, Any] = dict.fromkeys([*point, "cohen_kappa"])
    if n_boot > 0 and U > 0:
        acc: dict[str, list[np.ndarray]] = {k: [] for k in cis}
        for W in _chunks(U, n_boot, seed):
            acc["alpha"].append(_alpha_w(d, W, level))
            acc["fleiss_kappa"].append(_fleiss_w(dn, W))
            acc["gwet_ac1"].append(_ac1_w(dn, W))
            acc["percent_agreement"].append(_percent_w(dn, W))
            acc["cohen_kappa"].append(_cohen_w(dn, W, min_shared))
        for k, parts in acc.items():
            ci = _percentile_ci(np.concatenate(parts), 0.95)
            cis[k] = list(ci) if ci else None
    rep: dict[str, Any] = {
        "level": level,
        "n_items": U,
        "n_single": d.n_single,
        "n_raters": len(d.raters),
        "n_ratings": int((d.X >= 0).sum()),
    }
    for k, v in point.items():
        rep[k] = {"value": _scalar(v), "ci": cis[k]}
    rep["cohen_kappa"] = {"value": pairs["mean"], "ci": cis["cohen_kappa"], "pairs": pairs["pairs"]}
    return rep
