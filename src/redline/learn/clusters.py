"""Failure clusters: where a run fails, grouped by what the failing prompts (and responses) say.

Two layers:

* :func:`cluster_texts` clusters any list of texts (a run's failures here, user feedback in
  :mod:`redline.learn.feedback`) and names each cluster by its distinctive terms.
* :func:`cluster_failures` reads a finished run, clusters its harmful responses (on prompt +
  response) and its over-refused benign prompts (on the prompt), once per kind across
  categories — each category's view is the same clusters restricted to its failures — and
  writes ``<run dir>/clusters.json``.

How texts are embedded (everything ships offline, nothing is downloaded): TF-IDF over word
unigrams + bigrams (Unicode ``\\w`` tokens, so accented and non-Latin words count) stacked with
TF-IDF over character 3–5-grams inside word boundaries (robust to inflection, typos, and scripts
written without spaces such as Chinese or Japanese), both sublinear and L2-normalised, reduced to
at most 100 dimensions with TruncatedSVD (latent semantic analysis) and normalised again, so
Euclidean distance ranks like cosine similarity.

How they are clustered, and why (measured with ``python bench/bench_clusters.py --quality``
on the synthetic failures of ``tests/_clusters_data.py``: five topics, one in French, written
through request framings, filler words and response boilerplate shared by all topics; adjusted
Rand index against the known topics, noise counted as its own group, seeds 0–2; the table is in
docs/learn/clusters.md):

* From :data:`HDBSCAN_FROM` (500) texts on: HDBSCAN (scikit-learn). At 1,000 texts it recovered
  the topics best (ARI 1.00 balanced, 1.00 with unequal sizes 60/25/10/4/1 %, 0.99 with 10 %
  one-off noise, which it reports as *unclustered* instead of forcing it into a cluster); Ward
  split the French topic by its framings (0.89–0.93) and k-means with k by silhouette split the
  big topic instead of separating the small ones (0.36–0.93). Real failure sets look like that:
  a few dominant modes and a long tail. It scales (10,000 failures: see bench_clusters.py).
* Under 500 texts: Ward-linkage agglomerative clustering, the tree cut where the silhouette
  score is best. HDBSCAN's density estimates are poor on few texts (60 texts: 0.17–0.79;
  150 texts with unequal sizes: 0.07–1.00); Ward was the most even (0.71–1.00 on every small
  case; k-means 0.32–1.00). Ward has no notion of noise: outliers join a cluster or form one.
  Known limit of the threshold: HDBSCAN's excess-of-mass selection kept two topics merged next
  to a distant third even at 500 texts (0.54–0.58, Ward 0.74–0.91).

HDBSCAN's noise points and clusters smaller than ``min_cluster_size`` are reported as one
*unclustered* group — never dropped. ``method="ward"`` / ``"hdbscan"`` force one method.

Names: class-based term scores — for each word or bigram (letters only; English, French,
German, Spanish, Italian and Portuguese function words removed) the share of the cluster's
members that contain it minus its share among all other texts, so words every failure shares
(response boilerplate, request framings) score near zero; a term must occur in at least two
members (one for a cluster of one or two). Representatives are the members closest to the
cluster's centroid.

Determinism: the same texts, parameters and ``seed`` give the same clusters, terms and order.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redline.learn.cluster_worker import ClusterWorker

#: The method, as recorded in clusters.json.
METHOD_NOTE = ("tf-idf (word 1-2-grams + char 3-5-grams) → truncated SVD (≤100 dims) → HDBSCAN "
               "(under 500 texts: Ward linkage, k by silhouette); names: class-based term shares")

#: From this many texts on, ``method="auto"`` uses HDBSCAN; below it, Ward linkage.
HDBSCAN_FROM = 500

#: Failures clustered per kind (harmful / over-refusal) by default; more are reservoir-sampled.
DEFAULT_MAX_FAILURES = 10_000

#: Characters of a prompt or response kept for clustering (and for an example excerpt).
TEXT_CHARS = 2000
EXCERPT_CHARS = 300

_DIMS = 100
_MAX_K = 20


def import_libraries() -> None:
    """Import what clustering uses (numpy, scipy, scikit-learn), e.g. in a thread ahead of time."""
    import numpy  # noqa: F401
    import scipy.cluster.hierarchy  # noqa: F401
    import scipy.sparse  # noqa: F401
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.preprocessing  # noqa: F401


def _embed(texts: list[str], seed: int) -> Any:
    """TF-IDF (word + char n-grams) → TruncatedSVD → L2-normalised dense vectors (n × d)."""
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    n = len(texts)
    min_df = 2 if n >= 20 else 1
    parts = []
    for vec in (TfidfVectorizer(token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 2), sublinear_tf=True,
                                min_df=min_df, max_features=50_000, dtype=np.float32),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                min_df=min_df, max_features=50_000, dtype=np.float32)):
        try:
            parts.append(vec.fit_transform(texts))
        except ValueError:  # empty vocabulary (e.g. only punctuation, or too few repeats)
            continue
    if not parts:
        return np.zeros((n, 1), dtype=np.float32)
    x = hstack(parts).tocsr()
    d = min(_DIMS, x.shape[1] - 1, n - 1)
    if d >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):  # identical texts: no variance
            x = TruncatedSVD(n_components=d, random_state=seed, algorithm="randomized",
                             n_iter=4).fit_transform(x)
    else:
        x = x.toarray()
    return normalize(np.asarray(x, dtype=np.float32))


def _ward(x: Any, min_size: int, max_k: int) -> Any:
    """Ward-linkage agglomerative labels, the tree cut at the k in 2..max_k (and at most √n,
    so that few texts are not cut into crumbs) with the best silhouette score; one cluster when
    no cut has a positive silhouette."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    n = x.shape[0]
    best_labels = np.zeros(n, dtype=int)
    best = 0.0
    tree = linkage(x, "ward")
    for k in range(2, min(max_k, n // max(2, min_size), math.isqrt(n)) + 1):
        labels = fcluster(tree, k, "maxclust") - 1
        if len(set(labels.tolist())) < 2:
            continue
        s = float(silhouette_score(x, labels))
        if s > best + 1e-9:
            best, best_labels = s, labels
    return best_labels


def _hdbscan(x: Any, min_size: int) -> Any:
    """HDBSCAN labels (-1 = noise)."""
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=max(2, min_size), min_samples=max(1, min_size // 2),
                   copy=True).fit_predict(x)


_WORD = r"(?u)\b[^\W\d_][^\W\d_]+\b"

# Function words of the commonest European languages besides English (sklearn's list), and the
# pieces English contractions leave ("I've" → "ve").
_STOP_OTHER = frozenset("""
ve ll re don didn doesn isn aren wasn weren won wouldn couldn shouldn hasn haven hadn ain let
le la les un une des du de et ou en au aux ce ces cet cette que qui quoi dans pour par sur avec sans
est sont être avoir il elle ils elles je tu nous vous on ne pas plus mon ma mes ton ta tes son sa ses
leur leurs comment quelle quel quels quelles se sa qu
der die das ein eine einen einem einer und oder zu mit von für auf ist sind nicht ich du er sie wir
ihr es den dem des im wie was
el los las una unos unas y o con por para es son lo como qué del al que se su sus mi tu
il lo gli uno una e di da per con è sono che come non si
os um uma umas uns com para não é são que como se do da dos das
""".split())


def _terms(texts: list[str], groups: list[list[int]], n_terms: int) -> list[list[str]]:
    """Distinctive terms per group: share of the group's texts with the term minus the share of
    all other texts with it (ties: higher in-group share, then the term)."""
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = sorted(ENGLISH_STOP_WORDS | _STOP_OTHER)
    words = CountVectorizer(token_pattern=_WORD, ngram_range=(1, 2), stop_words=stop).build_analyzer()

    def analyze(doc: str) -> list[str]:  # no bigram across lines (prompt | response)
        return [t for line in doc.split("\n") for t in words(line)]

    try:
        cv = CountVectorizer(analyzer=analyze, max_features=100_000, binary=True, dtype=np.float32)
        present = cv.fit_transform(texts).tocsr()
    except ValueError:  # no words at all
        return [[] for _ in groups]
    vocab = cv.get_feature_names_out()
    total = np.asarray(present.sum(axis=0)).ravel()
    n = len(texts)
    out = []
    for g in groups:
        inside = np.asarray(present[g].sum(axis=0)).ravel()
        rest = n - len(g)
        share_in = inside / len(g)
        share_out = (total - inside) / rest if rest else np.zeros_like(share_in)
        score = np.round(share_in - share_out, 6)
        ok = (inside >= (2 if len(g) > 2 else 1)) & (score > 0)
        order = np.lexsort((vocab, -np.round(share_in, 6), -score))
        chosen: list[str] = []
        covered: set[str] = set()
        for j in order:
            if not ok[j]:
                continue
            term = str(vocab[j])
            words = set(term.split())
            if words <= covered:
                continue
            chosen.append(term)
            covered |= words
            if len(chosen) == n_terms:
                break
        out.append(chosen)
    return out


def _representatives(x: Any, members: list[int], k: int) -> list[int]:
    """The ``k`` members closest (cosine) to the members' centroid; ties by index."""
    import numpy as np

    sub = x[members]
    centroid = sub.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    sims = sub @ (centroid / norm) if norm > 0 else np.zeros(len(members))
    order = np.lexsort((np.asarray(members), -np.round(sims, 6)))
    return [members[i] for i in order[:k]]


def cluster_texts(texts: list[str], *, seed: int = 0, method: str = "auto",
                  min_cluster_size: int | None = None, max_clusters: int = _MAX_K,
                  n_terms: int = 5, n_representatives: int = 3,
                  embed: Callable[[list[str]], Any] | None = None) -> list[dict[str, Any]]:
    """Cluster texts by content and name each cluster by its distinctive terms.

    Args:
        texts: The texts (any language); empty strings are allowed.
        seed: Random seed; the same inputs and seed give the same result.
        method: ``"auto"`` (HDBSCAN from :data:`HDBSCAN_FROM` texts on, else Ward; see the
            module docstring for why), ``"hdbscan"`` (density-based; its noise points become
            the unclustered group) or ``"ward"`` (agglomerative, k chosen by the silhouette
            score).
        min_cluster_size: Smallest reported cluster (default: 2% of the texts, at least 3,
            at most 50). Smaller clusters join the unclustered group (from twice that many
            texts on; fewer texts make one cluster).
        max_clusters: Largest k tried by Ward.
        n_terms: Distinctive terms per cluster.
        n_representatives: Representative members per cluster (closest to the centroid).
        embed: Another embedding: a function from the texts to one vector per text (an
            ``n × d`` array), e.g. the ``encode`` of a static-embedding model that is installed
            locally; default: TF-IDF + SVD (see the module docstring).

    Returns:
        Clusters, largest first, then one ``unclustered`` group when any text is in none:
        ``{"members": [indices], "size", "terms": [...], "label": "t1, t2, t3",
        "representatives": [indices], "unclustered": bool}``. Every index of ``texts``
        is in exactly one entry.

    Raises:
        ValueError: An unknown method.
    """
    if method not in ("auto", "ward", "hdbscan"):
        raise ValueError(f"unknown clustering method {method!r} (auto, ward or hdbscan)")
    if not texts:
        return []
    if embed is None:
        x = _embed(texts, seed)
    else:
        import numpy as np
        from sklearn.preprocessing import normalize

        x = normalize(np.asarray(embed(texts), dtype=np.float32).reshape(len(texts), -1))
    return _cluster(x, texts, seed=seed, method=method,
                    min_cluster_size=min_cluster_size, max_clusters=max_clusters, n_terms=n_terms,
                    n_representatives=n_representatives)


def _cluster(x: Any, texts: list[str], *, seed: int, method: str = "auto",
             min_cluster_size: int | None = None, max_clusters: int = _MAX_K, n_terms: int = 5,
             n_representatives: int = 3) -> list[dict[str, Any]]:
    """:func:`cluster_texts` on vectors already embedded (row i = ``texts[i]``)."""
    import numpy as np

    n = len(texts)
    min_size = min_cluster_size or max(3, min(50, round(0.02 * n)))
    if n < 2 * min_size or x.shape[1] < 2:
        labels = np.zeros(n, dtype=int)
    elif method == "hdbscan" or (method == "auto" and n >= HDBSCAN_FROM):
        labels = _hdbscan(x, min_size)
    else:
        labels = _ward(x, min_size, max_clusters)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        groups.setdefault(int(lab), []).append(i)
    noise = groups.pop(-1, [])
    if n >= 2 * min_size:
        for lab in [lab for lab, g in groups.items() if len(g) < min_size]:
            noise.extend(groups.pop(lab))
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    all_groups = ordered + ([sorted(noise)] if noise else [])
    terms = _terms(texts, all_groups, n_terms)
    out = []
    for i, (g, t) in enumerate(zip(all_groups, terms, strict=True)):
        loose = bool(noise) and i == len(all_groups) - 1
        out.append({"members": g, "size": len(g), "terms": t,
                    "label": "unclustered" if loose else ", ".join(t[:3]),
                    "representatives": _representatives(x, g, n_representatives),
                    "unclustered": loose})
    return out


# -- a run's failures ------------------------------------------------------------------------------

KINDS = ("harmful", "over_refusal")


def _text(content: Any) -> str:
    """The text of one message's content (a string, or a list of parts; images as ``[image]``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) and p.get("type") == "text" else "[image]"
                        for p in content)
    return ""


def prompt_text(rec: dict[str, Any]) -> str:
    """The last user message of a result record's sample (the last message when none is a user's).

    Args:
        rec: One record of ``results.jsonl``.

    Returns:
        Its text (image parts as ``[image]``); ``""`` when the record has no messages.
    """
    msgs = (rec.get("sample") or {}).get("messages") or []
    for m in reversed(msgs):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text(m.get("content"))
    return _text(msgs[-1].get("content")) if msgs and isinstance(msgs[-1], dict) else ""


class _Reservoir:
    """A seeded uniform sample of at most ``cap`` items of a stream (Algorithm R), in stream order."""

    def __init__(self, cap: int, rnd: random.Random):
        self.cap, self.rnd, self.seen = cap, rnd, 0
        self.items: list[tuple[int, Any]] = []

    def add(self, item: Any) -> None:
        """Offer one item."""
        self.seen += 1
        if len(self.items) < self.cap:
            self.items.append((self.seen, item))
            return
        j = self.rnd.randrange(self.seen)
        if j < self.cap:
            self.items[j] = (self.seen, item)

    def sample(self) -> list[Any]:
        """The kept items, in the order they came."""
        return [it for _, it in sorted(self.items, key=lambda t: t[0])]


def _excerpt(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + " …"


class FailureSampler:
    """Seeded reservoir samples of a stream of result records' failures, one per kind.

    :func:`cluster_failures` fills one from a finished run's ``results.jsonl``; ``redline eval``
    fills one as results are written (in the same order, so the sample is the same), so that the
    report's clusters never read the results back (a million-sample run included).

    Args:
        cap: Failures kept per kind.
        seed: The sample's seed.
    """

    def __init__(self, cap: int, seed: int = 0):
        self.cap, self.seed = cap, seed
        self.kinds = {k: _Reservoir(cap, random.Random(f"{seed}:{k}")) for k in KINDS}

    def add(self, rec: dict[str, Any]) -> None:
        """Offer one result record (only failures are kept).

        Args:
            rec: One record of ``results.jsonl``.
        """
        if rec.get("outcome") == "harmful":
            kind = "harmful"
        elif rec.get("over_refusal") is True:
            kind = "over_refusal"
        else:
            return
        self.kinds[kind].add({"id": str(rec["sample"]["id"]), "category": rec["sample"].get("category"),
                              "prompt": prompt_text(rec)[:TEXT_CHARS],
                              "response": (rec.get("response") or "")[:TEXT_CHARS]})


def _failures(run: Any, cap: int, seed: int) -> dict[str, _Reservoir]:
    """Reservoir samples of the harmful responses and the over-refusals of a run."""
    sampler = FailureSampler(cap, seed)
    for rec in run.iter_results():  # the first record of a sample id counts, as for the runner
        sampler.add(rec)
    return sampler.kinds


def _kind_clusters(kind: str, items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The clusters of one kind of failure: across categories, then per category."""
    if not items:
        return []
    texts = [(it["prompt"] + "\n" + it["response"]) if kind == "harmful" else it["prompt"]
             for it in items]
    x = _embed(texts, seed)
    across = _cluster(x, texts, seed=seed)
    rows: list[dict[str, Any]] = []

    def emit(cat: Any, c: dict[str, Any], members: list[int], reps: list[int], total: int,
             parent: str | None) -> str:
        cid = f"{kind[0]}{len(rows) + 1}"
        rows.append({
            "id": cid, "kind": kind, "category": cat, "parent": parent,
            "size": len(members), "share": round(len(members) / total, 4),
            "terms": c["terms"], "label": c["label"], "unclustered": c["unclustered"],
            "examples": [{"id": items[m]["id"], "category": items[m]["category"],
                          "prompt": _excerpt(items[m]["prompt"]),
                          "response": _excerpt(items[m]["response"])} for m in reps],
            "sample_ids": [items[m]["id"] for m in members]})
        return cid

    ids = [emit(None, c, c["members"], c["representatives"], len(items), None) for c in across]
    by_cat: dict[Any, set[int]] = {}
    for i, it in enumerate(items):
        by_cat.setdefault(it["category"], set()).add(i)
    # per category: the same clusters, restricted to the category's failures
    for cat in sorted(by_cat, key=str):
        mine = by_cat[cat]
        parts = [(c, cid, [m for m in c["members"] if m in mine]) for c, cid in zip(across, ids, strict=True)]
        parts = [p for p in parts if p[2]]
        parts.sort(key=lambda p: (p[0]["unclustered"], -len(p[2]), p[2][0]))
        for c, cid, members in parts:
            emit(cat, c, members, _representatives(x, members, 3), len(mine), cid)
    return rows


def cluster_failures(run: Any, *, max_failures: int = DEFAULT_MAX_FAILURES, seed: int = 0,
                     write: bool = True, failures: FailureSampler | None = None) -> dict[str, Any]:
    """Cluster a run's failures: harmful responses (on prompt + response) and over-refused
    benign prompts (on the prompt), across categories and per category.

    Args:
        run: A :class:`redline.learn.runs.Run`, a run directory, or a run's name under the
            workspace's runs folder.
        max_failures: Most failures clustered per kind; above it a seeded uniform reservoir
            sample is clustered and the output says so (``sampled``, ``note``).
        seed: Random seed of the sample, the embedding and the clustering.
        write: Write the result to ``<run dir>/clusters.json``.
        failures: The run's failures, already sampled (with ``max_failures`` and ``seed``) while
            the results were written; then ``run`` must be the run directory, which is not read.

    Returns:
        ``{"method", "run", "seed", "max_failures", "failures": {kind: n}, "sampled": {kind: n},
        "note", "clusters": [...]}``; each cluster: ``id`` (``h1``…, ``o1``…), ``kind``,
        ``category`` (None: across categories), ``parent`` (for a category's cluster: the id of
        the across-category cluster it is part of), ``size``, ``share`` (of that kind's
        failures in that category, in the sample), ``terms``, ``label``, ``unclustered``,
        ``examples`` (3 representatives: ``id``, ``category``, ``prompt`` and ``response``
        excerpts) and ``sample_ids``. The failures of each kind are clustered once, across
        categories; each category's clusters are those clusters restricted to its failures
        (same names, the category's own representatives), so the views agree. Across-category
        clusters come first, then categories by name; within each, largest first and the
        unclustered group last.

    Raises:
        InputError: ``run`` is not a finished run, or its results file is damaged.
        ValueError: ``max_failures`` below 1.
    """
    if max_failures < 1:
        raise ValueError("max_failures must be at least 1")
    if failures is not None:
        if (failures.cap, failures.seed) != (max_failures, seed):
            raise ValueError("the failures were sampled with another max_failures or seed")
        d, res = Path(run), failures.kinds
    else:
        from redline.learn.runs import Run, load_run

        r = run if isinstance(run, Run) else load_run(run)
        d, res = r.dir, _failures(r, max_failures, seed)
    return cluster_sampled(d, {k: (res[k].seen, res[k].sample()) for k in KINDS},
                           max_failures=max_failures, seed=seed, write=write)


def cluster_sampled(run_dir: Path, sampled: dict[str, tuple[int, list[dict[str, Any]]]], *,
                    max_failures: int, seed: int = 0, write: bool = True) -> dict[str, Any]:
    """:func:`cluster_failures` of failures already sampled (also what the cluster worker runs).

    Args:
        run_dir: The run directory (its name is recorded; ``clusters.json`` goes there).
        sampled: Per kind (``harmful``, ``over_refusal``): how many failures the run had, and
            the sampled failures in run order (``id``, ``category``, ``prompt``, ``response``).
        max_failures: The cap the sample was drawn with.
        seed: Random seed of the sample, the embedding and the clustering.
        write: Write the result to ``<run dir>/clusters.json``.

    Returns:
        As :func:`cluster_failures`.
    """
    d = Path(run_dir)
    seen = {k: int(sampled.get(k, (0, []))[0]) for k in KINDS}
    items = {k: list(sampled.get(k, (0, []))[1]) for k in KINDS}
    out: dict[str, Any] = {
        "method": METHOD_NOTE, "run": d.name, "seed": seed, "max_failures": max_failures,
        "failures": seen,
        "sampled": {k: len(items[k]) for k in KINDS},
        "note": None, "clusters": []}
    capped = [k for k in KINDS if seen[k] > max_failures]
    if capped:
        out["note"] = ("; ".join(f"{seen[k]} {k.replace('_', '-')} failures: a uniform random "
                                 f"sample of {max_failures} (seed {seed}) was clustered" for k in capped)
                       + "; sizes are of the sample and shares estimate the full run's")
    for kind in KINDS:
        out["clusters"] += _kind_clusters(kind, items[kind], seed)
    if write:
        from redline.files import write_atomic

        write_atomic(d / "clusters.json", json.dumps(out, indent=1, ensure_ascii=False))
    return out


#: Failures per kind clustered for the report that ``redline eval`` writes at the end of a run
#: (2,000 of each kind: about 4 s of CPU, imports included); ``redline clusters RUN`` clusters
#: up to :data:`DEFAULT_MAX_FAILURES` (or ``--max``).
REPORT_MAX_FAILURES = 2000


def clusters_for_report(run_dir: Path, metrics: dict[str, Any], *, seed: int = 0,
                        failures: FailureSampler | None = None,
                        worker: ClusterWorker | None = None) -> dict[str, Any] | None:
    """The failure clusters of a run that just completed, for its report (and clusters.json).

    Args:
        run_dir: The run directory.
        metrics: The run's metrics (``summary.json``'s ``metrics``).
        seed: Random seed.
        failures: The run's failures sampled as they were written (a
            ``FailureSampler(REPORT_MAX_FAILURES, seed)``); None reads them from the run.
        worker: A :class:`redline.learn.cluster_worker.ClusterWorker` that was given
            ``failures`` (:meth:`~redline.learn.cluster_worker.ClusterWorker.submit`): its result
            is used; should it fail, the clusters are computed here.

    Returns:
        None when the run has no failure; else :func:`cluster_failures`'s result (at most
        :data:`REPORT_MAX_FAILURES` failures per kind), or ``{"error": "..."}`` when the
        clustering failed — the report is written either way.
    """
    overall = metrics.get("overall") or {}
    k = sum(int((overall.get(m) or {}).get("k") or 0) for m in ("harmful_rate", "over_refusal_rate"))
    if not k:
        return None
    if worker is not None and failures is not None:
        done = worker.result()
        if done is not None:
            return done
    try:
        return cluster_failures(run_dir, max_failures=REPORT_MAX_FAILURES, seed=seed, failures=failures)
    except Exception as e:  # the report matters more than its clusters; the reason is shown
        from redline.files import is_disk_full
        from redline.redact import redact

        if is_disk_full(e):
            raise
        return {"error": redact(f"{type(e).__name__}: {e}")}
