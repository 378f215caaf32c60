"""Annotator quality: gold accuracy, agreement with consensus, speed, skips, drift, flags.

Pure functions over plain data (no database); :mod:`redline.annotate.pipeline` feeds them from
a project.

- **Gold accuracy** per annotator = correct gold labels / gold labels, with a Wilson 95%
  interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``).
- **Agreement with consensus** = share of the annotator's labels on non-gold items with two or
  more labels that equal the consensus label (the consensus includes the annotator's own label;
  with three or more labels per item the effect is small and the same for everyone).
- **Speed** = median ``duration_s`` of the annotator's labels; **skip rate** = skipped /
  (submitted + skipped) assignments.
- **Drift** (:func:`control_chart`): a p-chart. Events ``(annotator, time, success)`` are cut
  into fixed windows (``window``, aligned to midnight UTC of the first event's day). For each
  annotator and window with ``n`` events and ``x`` successes the baseline ``p0`` is the
  annotator's own rate over all *earlier* windows when those hold at least ``min_baseline``
  events (``baseline_source="own"``), else the pool rate over every annotator's events
  (``"pool"``). Limits ``p0 ± 3·sqrt(p0(1-p0)/n)`` (clipped to [0, 1]) are reported for the
  chart; because ``n`` per window is small the flag uses the exact binomial tail instead of
  the normal approximation: ``p_value = P(X <= x | n, p0)`` and the window is flagged when
  ``p_value < 0.00135`` (the one-sided rate of a 3σ limit).
- :func:`flag_annotators` marks annotators whose gold accuracy (with at least ``min_gold`` gold
  labels) or consensus agreement is below ``threshold``, or with a flagged drift window in the
  latest ``recent`` windows; the reasons say which, with the numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "AnnotatorStats",
    "DriftWindow",
    "Observation",
    "annotator_table",
    "control_chart",
    "flag_annotators",
    "wilson_ci",
]

#: one-sided tail of a 3-sigma control limit
THREE_SIGMA_TAIL = 0.00135


def wilson_ci(successes: int, n: int, conf: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for ``successes / n`` (None when ``n == 0``)."""
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=conf, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass
class Observation:
    """One submitted label, reduced to what quality needs."""

    username: str
    item_id: Hashable
    value: Any  # the label's value for the field under study (or the whole values dict)
    time: datetime | None = None
    duration_s: float | None = None
    is_gold: bool = False
    gold_correct: bool | None = None  # for gold items: was the label right?


@dataclass
class AnnotatorStats:
    username: str
    vendor: str | None = None
    active: bool = True
    paused_reason: str | None = None
    labels: int = 0
    gold_n: int = 0
    gold_correct: int = 0
    gold_accuracy: float | None = None
    gold_ci: list[float] | None = None
    consensus_n: int = 0
    consensus_agreement: float | None = None
    consensus_ci: list[float] | None = None
    median_seconds: float | None = None
    assigned: int = 0
    skipped: int = 0
    skip_rate: float | None = None
    flagged: bool = False
    flag_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def annotator_table(observations: Iterable[Observation], *,
                    consensus: Mapping[Hashable, Any] | None = None,
                    n_labels: Mapping[Hashable, int] | None = None,
                    skips: Mapping[str, int] | None = None,
                    done: Mapping[str, int] | None = None,
                    users: Mapping[str, Mapping[str, Any]] | None = None) -> list[AnnotatorStats]:
    """The annotator table, sorted by username.

    ``consensus``: item → consensus value; ``n_labels``: item → number of labels (agreement with
    consensus only counts items with two or more); ``skips`` / ``done``: per annotator, skipped
    and submitted assignments (``done`` defaults to the number of observations); ``users``:
    username → ``{"vendor", "active", "paused_reason"}``.
    """
    by_user: dict[str, list[Observation]] = {}
    for o in observations:
        by_user.setdefault(o.username, []).append(o)
    names = set(by_user) | set(skips or {}) | set(users or {})
    out = []
    for u in sorted(names):
        obs = by_user.get(u, [])
        info = (users or {}).get(u, {})
        s = AnnotatorStats(u, info.get("vendor"), bool(info.get("active", True)),
                           info.get("paused_reason"), labels=len(obs))
        gold = [o for o in obs if o.is_gold and o.gold_correct is not None]
        s.gold_n = len(gold)
        s.gold_correct = sum(bool(o.gold_correct) for o in gold)
        if s.gold_n:
            s.gold_accuracy = s.gold_correct / s.gold_n
            s.gold_ci = list(wilson_ci(s.gold_correct, s.gold_n) or ()) or None
        if consensus is not None:
            hits = [o.value == consensus[o.item_id] for o in obs
                    if not o.is_gold and o.item_id in consensus and o.value is not None
                    and (n_labels is None or n_labels.get(o.item_id, 0) >= 2)]
            s.consensus_n = len(hits)
            if hits:
                s.consensus_agreement = sum(hits) / len(hits)
                s.consensus_ci = list(wilson_ci(sum(hits), len(hits)) or ()) or None
        durs = [o.duration_s for o in obs if o.duration_s is not None and math.isfinite(o.duration_s)]
        s.median_seconds = float(statistics.median(durs)) if durs else None
        s.skipped = int((skips or {}).get(u, 0))
        submitted = int((done or {}).get(u, len(obs)))
        s.assigned = submitted + s.skipped
        s.skip_rate = s.skipped / s.assigned if s.assigned else None
        out.append(s)
    return out


@dataclass
class DriftWindow:
    start: datetime
    end: datetime
    n: int
    correct: int
    rate: float
    baseline: float | None
    baseline_source: str
    lcl: float | None
    ucl: float | None
    p_value: float | None
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        return d


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def control_chart(events: Iterable[tuple[str, datetime, bool]], *,
                  window: timedelta = timedelta(days=1), min_baseline: int = 20,
                  alpha: float = THREE_SIGMA_TAIL) -> dict[str, list[DriftWindow]]:
    """A p-chart per annotator over fixed time windows (see the module docstring).

    ``events``: ``(annotator, time, success)`` — e.g. gold correctness or agreement with the
    consensus. Windows without events of an annotator are left out of that annotator's series.
    """
    from scipy.stats import binom

    ev = [(u, _utc(t), bool(ok)) for u, t, ok in events if t is not None]
    if not ev:
        return {}
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    t0 = min(t for _, t, _ in ev).replace(hour=0, minute=0, second=0, microsecond=0)
    pool = sum(ok for _, _, ok in ev) / len(ev)
    cells: dict[str, dict[int, list[int]]] = {}
    for u, t, ok in ev:
        w = int((t - t0) / window)
        c = cells.setdefault(u, {}).setdefault(w, [0, 0])
        c[0] += 1
        c[1] += ok
    out: dict[str, list[DriftWindow]] = {}
    for u in sorted(cells):
        series = []
        prev_n = prev_x = 0
        for w in sorted(cells[u]):
            n, x = cells[u][w]
            if prev_n >= min_baseline:
                p0, src = prev_x / prev_n, "own"
            else:
                p0, src = pool, "pool"
            sd = math.sqrt(p0 * (1 - p0) / n)
            pv = float(binom.cdf(x, n, p0))
            series.append(DriftWindow(t0 + w * window, t0 + (w + 1) * window, n, x, x / n, p0,
                                      src, max(0.0, p0 - 3 * sd), min(1.0, p0 + 3 * sd), pv,
                                      pv < alpha))
            prev_n += n
            prev_x += x
        out[u] = series
    return out


def flag_annotators(stats: Iterable[AnnotatorStats], threshold: float, *, min_gold: int = 5,
                    agreement_threshold: float | None = None, min_agreement_n: int = 10,
                    drift: Mapping[str, Mapping[str, list[DriftWindow]]] | None = None,
                    recent: int = 3) -> list[AnnotatorStats]:
    """Mark (in place) and return the annotators below ``threshold``.

    Reasons: gold accuracy < ``threshold`` with at least ``min_gold`` gold labels (noted as
    "significant" when the whole Wilson interval is below); consensus agreement <
    ``agreement_threshold`` (default ``threshold``) with at least ``min_agreement_n`` labels;
    a flagged window among the last ``recent`` windows of any ``drift[username][metric]``.
    """
    at = threshold if agreement_threshold is None else agreement_threshold
    flagged = []
    for s in stats:
        reasons = []
        if s.gold_accuracy is not None and s.gold_n >= min_gold and s.gold_accuracy < threshold:
            sig = " (significant: whole 95% CI below)" if s.gold_ci and s.gold_ci[1] < threshold else ""
            reasons.append(f"gold accuracy {s.gold_accuracy:.2f} < {threshold:.2f} "
                           f"on {s.gold_n} gold items{sig}")
        if (s.consensus_agreement is not None and s.consensus_n >= min_agreement_n
                and s.consensus_agreement < at):
            reasons.append(f"agreement with consensus {s.consensus_agreement:.2f} < {at:.2f} "
                           f"on {s.consensus_n} items")
        for metric, series in ((drift or {}).get(s.username) or {}).items():
            bad = [w for w in series[-recent:] if w.flagged]
            if bad:
                w = bad[-1]
                reasons.append(f"drift in {metric}: {w.correct}/{w.n} in the window from "
                               f"{w.start.date().isoformat()} vs baseline {w.baseline:.2f} "
                               f"(p={w.p_value:.2g})")
        s.flag_reasons = reasons
        s.flagged = bool(reasons)
        if reasons:
            flagged.append(s)
    return flagged
