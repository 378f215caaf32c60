"""A simulated crowd with known truth, to compare consensus methods and test quality tools.

``simulate_crowd`` draws each item's true class from ``priors`` (a rare class is just a small
prior), gives every item ``overlap`` distinct annotators chosen at random, and lets each
annotator answer according to its kind:

- ``good``: correct with its accuracy (drawn uniformly from ``accuracy_range``), otherwise a
  uniformly random *other* class;
- ``spammer``: a uniformly random class, whatever the truth;
- ``adversarial``: with probability 0.9 the *next* class after the truth (cyclically: for two
  classes, the opposite one) — a systematic, learnable bias; otherwise the truth.

The model (a stand-in for a judge) has a per-item confidence ``c`` drawn from a Beta
distribution with mean ``model_accuracy`` (concentration 8), clipped to ``[1/K + 0.01, 0.995]``;
its top class is the truth with probability ``c`` (so it is calibrated: among items where it
says 0.8, 80% are right), otherwise a random other class; it reports ``c`` on its top class and
``(1 - c)/(K - 1)`` on the others. ``model_overconfidence > 1`` reports ``c ** (1/oc)`` instead
(overconfident, same accuracy). Everything is seeded (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from redline.errors import InputError, Problem

__all__ = ["SimulatedCrowd", "simulate_crowd"]


@dataclass
class SimulatedCrowd:
    """A simulated crowd's labels with the truth behind them (see the module docstring).

    Attributes:
        ratings: ``(item_id, annotator, label)`` triples, as the consensus methods take them.
        truth: The true class of each item.
        model_probs: Per item, the simulated model's class probabilities (empty when no model
            was simulated).
        annotator_kind: Per annotator, ``"good"``, ``"spammer"`` or ``"adversarial"``.
        annotator_accuracy: Per annotator, the probability it gives the true class.
        classes: The classes, in the order given.
    """

    ratings: list[tuple[str, str, Any]]
    truth: dict[str, Any]
    model_probs: dict[str, dict[Any, float]]
    annotator_kind: dict[str, str]
    annotator_accuracy: dict[str, float]
    classes: list[Any] = field(default_factory=list)

    def accuracy(self, labels: dict[str, Any]) -> float:
        """Share of items whose ``labels`` entry equals the truth (missing counts as wrong)."""
        return sum(labels.get(i) == y for i, y in self.truth.items()) / max(len(self.truth), 1)


def simulate_crowd(n_items: int = 500, n_annotators: int = 12,
                   classes: Sequence[Any] = ("safe", "harmful", "borderline"),
                   priors: Sequence[float] = (0.75, 0.2, 0.05), *,
                   accuracy_range: tuple[float, float] = (0.65, 0.95), n_spammers: int = 2,
                   n_adversarial: int = 1, overlap: int = 3, seed: int = 0,
                   model_accuracy: float | None = 0.8,
                   model_overconfidence: float = 1.0) -> SimulatedCrowd:
    """Simulate ratings, truth and model probabilities (see the module docstring)."""
    K = len(classes)
    pr = np.asarray(priors, dtype=float)
    problems = []
    if K < 2 or len(pr) != K:
        problems.append(Problem("priors", f"{len(pr)} priors for {K} classes",
                                "give one prior per class, at least two classes"))
    if n_spammers + n_adversarial > n_annotators:
        problems.append(Problem("n_annotators", "more spammers/adversaries than annotators",
                                "raise n_annotators"))
    if not 1 <= overlap <= n_annotators:
        problems.append(Problem("overlap", f"{overlap} not in 1..{n_annotators}",
                                "use an overlap between 1 and the number of annotators"))
    if problems:
        raise InputError("bad crowd simulation settings", problems)
    pr = pr / pr.sum()
    rng = np.random.default_rng(seed)
    names = [f"ann{j:02d}" for j in range(n_annotators)]
    kinds = (["spammer"] * n_spammers + ["adversarial"] * n_adversarial
             + ["good"] * (n_annotators - n_spammers - n_adversarial))
    order = rng.permutation(n_annotators)
    kind = {names[j]: kinds[order[j]] for j in range(n_annotators)}
    lo, hi = accuracy_range
    acc = {}
    for a in names:
        acc[a] = {"good": float(rng.uniform(lo, hi)), "spammer": 1.0 / K,
                  "adversarial": 0.1}[kind[a]]
    truth_idx = rng.choice(K, size=n_items, p=pr)
    items = [f"item{i:05d}" for i in range(n_items)]
    ratings: list[tuple[str, str, Any]] = []
    for i, y in enumerate(truth_idx):
        for j in rng.choice(n_annotators, size=overlap, replace=False):
            a = names[j]
            k = kind[a]
            if k == "spammer":
                lab = int(rng.integers(K))
            elif k == "adversarial":
                lab = (y + 1) % K if rng.random() < 0.9 else int(y)
            elif rng.random() < acc[a]:
                lab = int(y)
            else:
                lab = int((y + rng.integers(1, K)) % K)
            ratings.append((items[i], a, classes[lab]))
    model: dict[str, dict[Any, float]] = {}
    if model_accuracy is not None:
        conc = 8.0
        for i, y in enumerate(truth_idx):
            c = float(np.clip(rng.beta(model_accuracy * conc, (1 - model_accuracy) * conc),
                              1.0 / K + 0.01, 0.995))
            top = int(y) if rng.random() < c else int((y + rng.integers(1, K)) % K)
            shown = c ** (1.0 / model_overconfidence)
            model[items[i]] = {cl: (shown if k == top else (1 - shown) / (K - 1))
                               for k, cl in enumerate(classes)}
    return SimulatedCrowd(ratings, {items[i]: classes[int(y)] for i, y in enumerate(truth_idx)},
                          model, kind, acc, list(classes))
