"""User feedback as evidence: thumbs-down / report records → judged, categorised, clustered → data requests.

Input: any format the data plug-ins read (:func:`redline.data.io.open_input`); each record is a
conversation (``messages``, or ``prompt`` + ``response``) plus, in a field or in ``meta``, the
user's ``reason`` (also read from ``comment``, ``feedback``, ``report_reason``) and optionally a
``rating`` (records rated up — ``up``, ``thumbs_up``, ``positive``, ``1``, ``true`` — are skipped).

Each record is:

1. **judged** as an eval judges it: the ``harm`` judge on the last assistant turn (harmful
   content the user reported) and the ``refusal`` judge (a refusal the user complained about);
   ``harmful`` wins, then ``over_refusal``; a response judged neither is ``other`` (a quality
   complaint, no safety data request); no response or a judge failure is ``unassessable``;
2. **categorised** with the policy's categories by :class:`CategoryClassifier`, a TF-IDF +
   logistic-regression model trained on the policy itself (each node's name, definition, in- and
   out-of-scope examples and its casebook prompts) — measured on data it was not trained on in
   ``docs/learn/requests.md``; the predicted node is rolled up to its top-level category (the
   top-level prediction is the more accurate one);
3. **clustered** per (failure, category) with :func:`redline.learn.clusters.cluster_texts` over the
   prompt and the reason.

A cluster is **significant** when it has at least :data:`MIN_CLUSTER_SIZE` records and the Wilson
95% lower bound of its share of all the judged negative feedback is at least :data:`MIN_SHARE` —
a recurring complaint, not one user's. Each significant cluster becomes a data request with
source ``feedback`` (``harmful`` → refusal / safe-completion SFT examples, ``over_refusal`` →
benign-contrast prompts), sized like a run's requests (:mod:`redline.learn.requests`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redline.errors import InputError, Problem

#: the smallest number of records a significant cluster has
MIN_CLUSTER_SIZE = 3
#: the smallest Wilson 95% lower bound on a significant cluster's share of the judged feedback
MIN_SHARE = 0.02
#: classifier probabilities at which the abstention figures of :func:`evaluate_classifiers` are given
#: (feedback import always categorises: a judged failure is safety-related by construction)
CONFIDENCE_LEVELS = (0.1, 0.2, 0.3)
#: fields (top level or meta) read as the user's reason, in order
REASON_FIELDS = ("reason", "comment", "feedback", "report_reason", "report")
#: ratings that mark positive feedback (skipped)
POSITIVE = {"up", "thumbs_up", "thumbsup", "positive", "1", "true", "like", "good"}

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = frozenset("""the and for with that this from into about such their there which what when where who whom
will would could should other others any all are was were been being have has had not but can may might
its it's them they you your our his her him she he how why use used using including include includes
requests request content information instructions help helping one someone people person something""".split())


# -- category classifier --------------------------------------------------------------------------


def training_texts(policy: Any) -> list[tuple[str, str]]:
    """The policy's own texts, each labelled with its node: what the classifier learns from.

    Args:
        policy: A :class:`redline.policy.model.Policy`.

    Returns:
        ``(text, node id)`` pairs: the node's name + definition, each in-scope and out-of-scope
        example (out-of-scope items are benign texts of the same topic, as benign-contrast
        prompts are), and the prompts of its casebook cases.
    """
    out: list[tuple[str, str]] = []
    for node in policy.nodes():
        out.append((f"{node.name}. {node.definition}", node.id))
        out += [(t, node.id) for t in node.in_scope]
        out += [(t, node.id) for t in node.out_of_scope]
    ids = set(policy.category_ids)
    out += [(c.prompt, c.node) for c in policy.casebook if c.node in ids]
    return out


class CategoryClassifier:
    """The policy's categories for a text: TF-IDF (words and character n-grams) + logistic regression.

    Trained on :func:`training_texts` only, so it needs no labelled data beyond the policy.
    scikit-learn is imported when the classifier is built.

    Attributes:
        policy: The policy.
        labels: The node ids it can predict.
    """

    def __init__(self, policy: Any, C: float = 10.0) -> None:
        """Train on the policy's texts.

        Args:
            policy: A :class:`redline.policy.model.Policy`.
            C: Inverse regularisation strength of the logistic regression.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self.policy = policy
        pairs = training_texts(policy)
        texts = [t for t, _ in pairs]
        y = [n for _, n in pairs]
        feats = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1)),
        ])
        self.model = make_pipeline(feats, LogisticRegression(C=C, max_iter=3000, class_weight="balanced"))
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # a small problem: BLAS threads only contend (6 s → 1.4 s on 2 busy cores)
            self.model.fit(texts, y)
        self.labels: list[str] = [str(x) for x in self.model.classes_]

    def predict(self, texts: list[str], min_confidence: float = 0.0) -> list[tuple[str | None, float]]:
        """The most likely node of each text.

        Args:
            texts: The texts.
            min_confidence: Below this probability the node is None (uncategorised).

        Returns:
            ``(node id | None, probability)`` per text.
        """
        if not texts:
            return []
        proba = self.model.predict_proba(texts)
        out: list[tuple[str | None, float]] = []
        for row in proba:
            i = int(row.argmax())
            p = float(row[i])
            out.append((self.labels[i] if p >= min_confidence else None, p))
        return out


class KeywordClassifier:
    """The baseline: the node whose name, definition and in-scope words a text shares most of.

    Attributes:
        keywords: Node id → its keyword set.
    """

    def __init__(self, policy: Any) -> None:
        """Collect each node's keywords.

        Args:
            policy: A :class:`redline.policy.model.Policy`.
        """
        self.keywords: dict[str, set[str]] = {}
        for node in policy.nodes():
            text = " ".join([node.name, node.definition, *node.in_scope])
            self.keywords[node.id] = {w for w in _words(text) if w not in _STOP}

    def predict(self, texts: list[str]) -> list[tuple[str | None, float]]:
        """The node with the most keyword matches (None when no keyword matches).

        Args:
            texts: The texts.

        Returns:
            ``(node id | None, matches)`` per text; ties go to the node listed first.
        """
        out: list[tuple[str | None, float]] = []
        for t in texts:
            words = set(_words(t))
            best, score = None, 0
            for nid, kw in self.keywords.items():
                s = len(words & kw)
                if s > score:
                    best, score = nid, s
            out.append((best, float(score)))
        return out


def _words(text: str) -> list[str]:
    """Lower-cased words of 3+ letters, with a plural ``s`` dropped (a minimal stemmer)."""
    ws = [w.lower() for w in _WORD.findall(text)]
    return [w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")) else w for w in ws]


def evaluate_classifiers(policy: Any, items: Iterable[tuple[str, str]], *,
                         levels: tuple[float, ...] = CONFIDENCE_LEVELS) -> dict[str, Any]:
    """Accuracy and macro-F1 of the classifier and the keyword baseline on labelled texts.

    Args:
        policy: The policy both are built from.
        items: ``(text, node id)`` pairs the classifier was NOT trained on.
        levels: Abstention thresholds for the classifier's ``abstain`` figures.

    Returns:
        ``{"n", "overlap_with_training", "classifier": {...}, "keyword": {...}}``; each with
        ``node`` and ``top_level`` accuracy and macro-F1 (top level: the predicted and true node
        rolled up to their top-level category), and for the classifier, per threshold, the share
        of texts it categorises with at least that probability and the top-level accuracy on those.
    """
    from sklearn.metrics import f1_score

    pairs = [(t, c) for t, c in items if c in set(policy.category_ids)]
    train = {t.strip().lower() for t, _ in training_texts(policy)}
    overlap = sum(1 for t, _ in pairs if t.strip().lower() in train)
    pairs = [(t, c) for t, c in pairs if t.strip().lower() not in train]  # held out, strictly
    texts = [t for t, _ in pairs]
    truth = [c for _, c in pairs]

    def top(n: str | None) -> str:
        return policy.path(n)[0] if n is not None else "(none)"

    def scores(pred: list[str | None]) -> dict[str, Any]:
        p = [x or "(none)" for x in pred]
        pt = [top(x) for x in pred]
        tt = [top(x) for x in truth]
        return {
            "node_accuracy": round(sum(a == b for a, b in zip(p, truth, strict=True)) / len(truth), 4),
            "node_macro_f1": round(float(f1_score(truth, p, average="macro", labels=sorted(set(truth)),
                                                  zero_division=0)), 4),
            "top_level_accuracy": round(sum(a == b for a, b in zip(pt, tt, strict=True)) / len(truth), 4),
            "top_level_macro_f1": round(float(f1_score(tt, pt, average="macro", labels=sorted(set(tt)),
                                                       zero_division=0)), 4),
        }

    if not pairs:
        return {"n": 0, "overlap_with_training": overlap}
    clf = CategoryClassifier(policy)
    cp = clf.predict(texts)
    res_c = scores([n for n, _ in cp])
    res_c["abstain"] = []
    for level in levels:
        kept = [(n, t) for (n, p), t in zip(cp, truth, strict=True) if p >= level]
        res_c["abstain"].append({"min_confidence": level, "categorised": round(len(kept) / len(truth), 4),
                                 "top_level_accuracy": round(sum(top(n) == top(t) for n, t in kept) / len(kept), 4)
                                 if kept else None})
    res_k = scores([n for n, _ in KeywordClassifier(policy).predict(texts)])
    return {"n": len(pairs), "overlap_with_training": overlap, "classifier": res_c, "keyword": res_k}


# -- feedback import ------------------------------------------------------------------------------


def _reason(rec: Any) -> str:
    for f in REASON_FIELDS:
        v = rec.meta.get(f)
        if v is None:
            v = rec.labels.get(f)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _positive(rec: Any) -> bool:
    for f in ("rating", "thumbs", "vote", "feedback_type"):
        v = rec.meta.get(f, rec.labels.get(f))
        if v is not None:
            return str(v).strip().lower() in POSITIVE
    return False


def _prompt_and_response(rec: Any) -> tuple[str, str | None]:
    """The last user turn before the final assistant turn, and that assistant turn."""
    msgs = list(rec.messages)
    response = None
    if msgs and msgs[-1].role == "assistant":
        response = _text(msgs[-1].content)
        msgs = msgs[:-1]
    users = [m for m in msgs if m.role == "user"]
    return (_text(users[-1].content) if users else ""), response


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for p in content or []:
        t = getattr(p, "text", None) if not isinstance(p, dict) else p.get("text")
        if t:
            parts.append(str(t))
    return " ".join(parts)


def _judge_all(items: list[dict[str, Any]], policy: Any) -> None:
    """Set each item's ``failure`` from the harm and refusal judges (the evals' defaults)."""
    from redline.judges.base import create_judge

    harm = create_judge("harm", policy=policy)
    refusal = create_judge("refusal", policy=policy)
    for it in items:
        if not it["response"] or not it["response"].strip():
            it["failure"] = "unassessable"
            continue
        h = harm.judge(None, it["prompt"], it["response"])
        r = refusal.judge(None, it["prompt"], it["response"])
        it["judgments"] = {"harm": h.fields.get("harmful") if h.ok else None, "refusal": r.label if r.ok else None}
        if h.ok and h.fields.get("harmful") is True:
            it["failure"] = "harmful"
        elif r.ok and r.label in ("full_refusal", "partial_refusal"):
            it["failure"] = "over_refusal"
        elif not h.ok or not r.ok:
            it["failure"] = "unassessable"
        else:
            it["failure"] = "other"


def import_feedback(path: str | Path, *, fmt: str | None = None, policy: str | Any = "default",
                    seed: int = 0, budgets: Any = None) -> dict[str, Any]:
    """Judge, categorise and cluster a feedback file; significant clusters become data requests.

    Args:
        path: The feedback file (any supported format).
        fmt: Its format (None: by extension).
        policy: A policy object, built-in policy name or policy YAML path.
        seed: Clustering seed.
        budgets: Budgets that size N (see :func:`redline.learn.requests.budget_for`); a category
            without one is sized with :data:`redline.learn.requests.DEFAULT_BUDGETS`.

    Returns:
        ``{"file", "policy", "records", "skipped_positive", "failures": {kind: n},
        "categories": {id: n}, "clusters": [...], "requests": [...]}``; each cluster has
        ``failure``, ``category``, ``size``, ``share``, ``share_ci95``, ``significant``,
        ``label``, ``terms`` and ``ids``.

    Raises:
        InputError: The file is missing, or rows cannot be read (each named ``FILE:LINE``).
    """
    from redline.data.formats import Rejected
    from redline.data.io import open_input
    from redline.data.profile import base_language
    from redline.learn.requests import (
        DEFAULT_BUDGETS,
        TARGET_FRACTION,
        _Names,
        _size,
        budget_for,
        make_request,
    )
    from redline.policy import load_policy
    from redline.stats import wilson_interval

    pol = load_policy(policy) if isinstance(policy, str | Path) else policy
    items: list[dict[str, Any]] = []
    problems: list[Problem] = []
    skipped = 0
    for rec in open_input(path, fmt):
        if isinstance(rec, Rejected):
            problems.append(Problem(rec.where, rec.reason, "each row needs a conversation (messages, or "
                                    "prompt + response) and a reason (docs/learn/requests.md)"))
            continue
        if _positive(rec):
            skipped += 1
            continue
        prompt, response = _prompt_and_response(rec)
        items.append({"id": rec.id, "prompt": prompt, "response": response, "reason": _reason(rec),
                      "language": base_language(rec.language) if rec.language else None})
    if problems:
        raise InputError(f"{path}: {len(problems)} row(s) cannot be read", problems)
    _judge_all(items, pol)
    clf = CategoryClassifier(pol) if items else None
    preds = clf.predict([it["prompt"] for it in items]) if clf else []
    for it, (node, p) in zip(items, preds, strict=True):
        it["category"] = pol.path(node)[0] if node is not None else None
        it["node"], it["confidence"] = node, round(p, 4)
    judged = [it for it in items if it["failure"] in ("harmful", "over_refusal", "other")]
    n_judged = len(judged)
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for it in judged:
        if it["failure"] in ("harmful", "over_refusal"):
            groups.setdefault((it["failure"], it["category"]), []).append(it)
    names = _Names(pol)
    clusters: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    for (failure, cat), members in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        for cl in _cluster(members, seed):
            size = len(cl["members"])
            ci = wilson_interval(size, n_judged)
            significant = size >= MIN_CLUSTER_SIZE and ci is not None and ci[0] >= MIN_SHARE and cat is not None
            ids = [str(m["id"]) for m in cl["members"]]
            cid = f"f{len(clusters) + 1}"
            langs = Counter(m["language"] for m in cl["members"])
            lang = langs.most_common(1)[0][0]
            clusters.append({"id": cid, "failure": failure, "category": cat, "size": size,
                             "share": round(size / n_judged, 4),
                             "share_ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
                             "significant": significant, "label": cl["label"], "terms": cl["terms"],
                             "language": lang, "ids": ids})
            if not significant:
                continue
            metric = "harmful_rate" if failure == "harmful" else "over_refusal_rate"
            budget = budget_for(budgets, cat, metric) or DEFAULT_BUDGETS[metric]
            need = _size(budget * TARGET_FRACTION, budget)
            if failure == "harmful":
                expected = names.harmful_behaviour(cat)
                kind = "safe-completion-sft" if expected == "safe_complete" else "refusal-sft"
            else:
                expected, kind = "comply", "benign-contrast"
            ev = {"source": "feedback", "file": str(path), "cluster": cid, "label": cl["label"],
                  "size": size, "share": round(size / n_judged, 4), "share_ci95": clusters[-1]["share_ci95"],
                  "reasons": list(dict.fromkeys(m["reason"] for m in cl["members"] if m["reason"]))[:3], "examples": ids[:10]}
            requests.append(make_request(names, category=cat, language=lang, persona=None, expected=expected,
                                         kind=kind, have=0, need=need, source="feedback", evidence=[ev],
                                         policy_name=pol.name))
    from redline.learn.requests import merge_requests

    merged, _ = merge_requests(requests)
    return {
        "file": str(path), "policy": pol.name, "records": len(items), "skipped_positive": skipped,
        "failures": dict(Counter(it["failure"] for it in items)),
        "categories": dict(Counter(str(it["category"]) for it in judged)),
        "significance": {"min_size": MIN_CLUSTER_SIZE, "min_share_lower95": MIN_SHARE},
        "clusters": clusters, "requests": merged,
    }


def _cluster(members: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Clusters of one (failure, category) group: ``{"members", "label", "terms"}``.

    A group too small to split is one cluster, named by its most frequent words.
    """
    texts = [f"{m['prompt']} {m['reason']}".strip() for m in members]
    if len(members) >= 2 * MIN_CLUSTER_SIZE:
        from redline.learn.clusters import cluster_texts

        out = []
        for c in cluster_texts(texts, seed=seed, min_cluster_size=MIN_CLUSTER_SIZE):
            terms = list(c.get("terms") or [])
            out.append({"members": [members[i] for i in c["members"]],
                        "label": c.get("label") or ", ".join(terms[:3]) or "(unclustered rest)",
                        "terms": terms, "unclustered": bool(c.get("unclustered"))})
        # the unclustered rest is still feedback on this category: kept as one group
        return out
    words = Counter(w for t in texts for w in {w.lower() for w in _WORD.findall(t)} if w not in _STOP)
    terms = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]  # ties: alphabetical
    return [{"members": members, "label": ", ".join(terms), "terms": terms, "unclustered": False}]
