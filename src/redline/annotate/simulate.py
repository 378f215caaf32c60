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

__all__ = ["AnchoringSimulation", "SimulatedCrowd", "simulate_anchoring", "simulate_crowd"]


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


# -- the anchoring experiment -------------------------------------------------------------------


@dataclass
class AnchoringSimulation:
    """A simulated anchoring experiment run through a real project (see :func:`simulate_anchoring`).

    Attributes:
        project: The project's name.
        truth: The true answer of each item (``{"category", "intent"}``).
        suggestions: The simulated model's suggestion of each item (``{"intent"}``).
        labels: Labels the simulated annotators submitted.
    """

    project: str
    truth: dict[str, dict[str, Any]]
    suggestions: dict[str, dict[str, Any]]
    labels: int


def simulate_anchoring(svc: Any, project: str, *, anchoring: float, n_items: int = 120, n_annotators: int = 6,
                       overlap: int = 2, accuracy: float = 0.85, suggestion_accuracy: float = 0.7,
                       policy: str = "default", seed: int = 0) -> AnchoringSimulation:
    """Run the anchoring experiment with simulated annotators through the annotation service.

    A ``prompt-label`` project of ``n_items`` prompts is created (true intent harmful or benign,
    half each; the category is given), each item gets a model suggestion for ``intent`` that is
    right with probability ``suggestion_accuracy``, and ``n_annotators`` annotators label
    everything they are served (``next_item`` → ``submit``, round-robin, so assignment puts each
    label in the shown or hidden arm as it would on the web). An annotator answers right with
    probability ``accuracy`` (else the other intent); in the shown arm it first copies the
    suggestion with probability ``anchoring`` (0: independent annotators).

    Args:
        svc: The annotation service (:class:`redline.annotate.service.Annotations`).
        project: Name of the project to create.
        anchoring: Probability of copying a visible suggestion.
        n_items: Items.
        n_annotators: Annotators (``sim00``, ``sim01``, …; created when missing).
        overlap: Labels per item.
        accuracy: Each annotator's own accuracy.
        suggestion_accuracy: The simulated model's accuracy.
        policy: The built-in policy the project follows.
        seed: Seed of everything random.

    Returns:
        The project, its truth, the suggestions and the number of labels made.
    """
    from redline.data.records import Record
    from redline.policy.loader import load_policy

    pol = load_policy(policy)
    cats = pol.top_level_ids
    rng = np.random.default_rng(seed)
    intents = ("harmful", "benign")
    truth: dict[str, dict[str, Any]] = {}
    records = []
    for i in range(n_items):
        iid = f"sim{i:04d}"
        truth[iid] = {"category": cats[i % len(cats)], "intent": intents[i % 2]}
        records.append(Record.model_validate({"id": iid, "prompt": f"simulated prompt {i}",
                                               "category": truth[iid]["category"]}))
    suggestions = {iid: {"intent": t["intent"] if rng.random() < suggestion_accuracy
                         else intents[1 - intents.index(t["intent"])]} for iid, t in truth.items()}
    svc.create_project(project, policy=pol, policy_ref=policy, task="prompt-label", records=records,
                       overlap=overlap, gold_rate=0.0)
    svc.set_assists(project, "suggestion", [(iid, 0, "simulated-model", s) for iid, s in suggestions.items()])
    names = [f"sim{j:02d}" for j in range(n_annotators)]
    for u in names:
        if svc.get_user(u) is None:
            svc.add_user(u, f"simulated-{u}-password", "annotator")
    made = 0
    active = list(names)
    while active:
        for u in list(active):
            a = svc.next_item(project, u)
            if a is None:
                active.remove(u)
                continue
            t = truth[a.item_id]
            if a.suggestion_arm == "shown" and rng.random() < anchoring:
                intent = suggestions[a.item_id]["intent"]
            elif rng.random() < accuracy:
                intent = t["intent"]
            else:
                intent = intents[1 - intents.index(t["intent"])]
            svc.submit(project, u, a.item_id, {"category": t["category"], "intent": intent}, source="simulation")
            made += 1
    return AnchoringSimulation(project, truth, suggestions, made)
