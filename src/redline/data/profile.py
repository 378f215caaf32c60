"""``redline data profile``: health checks over a data set in one streaming pass.

Duplicates (exact and near, :mod:`redline.data.dedup`), leakage against eval sets, PII
(:mod:`redline.data.pii`), language and script (:mod:`redline.data.langid`), lengths and turns,
empty content, encoding problems, label distributions and class imbalance, unreadable rows.
"""

from __future__ import annotations

import heapq
import json
import re
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from redline.data import limits
from redline.data.dedup import DupIndex, MinHasher, NearDupConfig, near_duplicate_pairs, normalise
from redline.data.formats import FieldMap, Rejected
from redline.data.io import Quarantine, RowCounts, open_input
from redline.data.records import Record, record_json
from redline.data.schema import TextPart

MAX_IDS = 1000  # ids listed per finding in the report (counts are always complete)
_MOJIBAKE = re.compile(r"Ã[\x80-\xbf]|â€[\x80-\x9f™œ]|Â[\xa0-\xbf]|ï»¿")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def dedup_text(r: Record) -> str:
    """The text duplicate and leakage checks compare: the user turns of the prompt side."""
    return "\n".join(m.text for m in r.prompt_messages if m.role == "user")


def base_language(code: str | None) -> str | None:
    """``fr_FR`` / ``fr-fr`` / ``FR`` → ``fr``."""
    if not code:
        return None
    return re.split(r"[-_]", code.strip())[0].lower() or None


class _Ids:
    """A count plus the first MAX_IDS ids, in row order.

    ``add`` takes rows in order (``key``: the row's position, any increasing number); :meth:`merge`
    and :meth:`of` join ids that arrive in any order by key (the Ray profile's partial results,
    :mod:`redline.data.ray_data`).
    """

    def __init__(self) -> None:
        self.count = 0
        self.ids: list[str] = []
        self._keys: list[int] = []

    def add(self, rid: str, key: int = 0) -> None:
        self.count += 1
        if len(self.ids) < MAX_IDS:
            self.ids.append(rid)
            self._keys.append(key)

    def merge(self, other: _Ids) -> None:
        """Add another part's count and ids (the first MAX_IDS of both, by key)."""
        self.count += other.count
        if other.ids:
            first = list(islice(heapq.merge(zip(self._keys, self.ids, strict=True),
                                            zip(other._keys, other.ids, strict=True)), MAX_IDS))
            self._keys = [k for k, _ in first]
            self.ids = [i for _, i in first]

    @classmethod
    def of(cls, count: int, keyed: Iterable[tuple[int, str]]) -> _Ids:
        """``count`` rows, of which ``(key, id)`` pairs in any order (the first MAX_IDS by key are kept)."""
        out = cls()
        out.count = count
        first = heapq.nsmallest(MAX_IDS, keyed)
        out._keys = [k for k, _ in first]
        out.ids = [i for _, i in first]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "ids": self.ids, "truncated": self.count > len(self.ids)}


def _stats(values: array) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    import numpy as np

    a = np.frombuffer(values, dtype=np.int32) if values.typecode == "i" else np.asarray(values)
    vals, cnt = np.unique(a, return_counts=True)
    return stats_of_counts(Counter(dict(zip(vals.tolist(), cnt.tolist(), strict=True))))


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation in ``np.percentile``: ``a + (b-a)·t``, from ``b`` when t ≥ ½."""
    d = b - a
    return b - d * (1 - t) if t >= 0.5 else a + d * t


def stats_of_counts(counts: Counter) -> dict[str, Any]:
    """Length statistics (n, min, mean, p50/p90/p99, max, a histogram of up to 30 bins) of integer
    values given as ``{value: rows}``.

    Equal to numpy's ``percentile`` (linear) and ``histogram`` of the values themselves; memory is
    bounded by the number of distinct values, and parts of a stream counted apart add up
    (``Counter`` sums: the Ray profile, :mod:`redline.data.ray_data`).

    Args:
        counts: How many rows have each value.

    Returns:
        The statistics as the profile report writes them (``{"n": 0}`` for no values).
    """
    if not counts:
        return {"n": 0}
    import numpy as np

    vals = np.array(sorted(counts), dtype=np.int64)
    cnt = np.array([counts[v] for v in vals.tolist()], dtype=np.int64)
    n = int(cnt.sum())
    cum = np.cumsum(cnt)

    def at(i: int) -> float:  # the i-th (0-based) smallest value
        return float(vals[int(np.searchsorted(cum, i, side="right"))])

    def pct(q: float) -> float:
        virtual = float(np.true_divide(q, 100) * (n - 1))
        lo = int(np.floor(virtual))
        return _lerp(at(lo), at(min(lo + 1, n - 1)), virtual - lo)

    lo_v, hi_v = int(vals[0]), int(vals[-1])
    hist, edges = np.histogram(vals, bins=min(30, max(1, hi_v - lo_v + 1)), weights=cnt)
    return {"n": n, "min": lo_v, "mean": round(int((vals * cnt).sum()) / n, 1), "p50": pct(50),
            "p90": pct(90), "p99": pct(99), "max": hi_v,
            "histogram": {"edges": [round(float(x), 1) for x in edges], "counts": [int(c) for c in hist]}}


def _imbalance(counts: Counter) -> dict[str, Any]:
    total = sum(counts.values())
    if not counts:
        return {"classes": 0}
    most, least = counts.most_common()[0], counts.most_common()[-1]
    return {"classes": len(counts), "counts": dict(counts.most_common()), "majority": most[0],
            "majority_share": round(most[1] / total, 4), "minority": least[0],
            "imbalance_ratio": round(most[1] / least[1], 2)}


class _Languages:
    """Language id in batches; from the second batch on in a worker process (the second core), so
    that it runs while the main process parses, scans and hashes the next rows. Each result goes to
    :meth:`ProfileAcc.add_language`."""

    BATCH = 4000

    def __init__(self, parallel: bool, acc: ProfileAcc):
        from redline.data.langid import detect_many

        self._detect = detect_many
        self._parallel = parallel
        self._acc = acc
        self._texts: list[str] = []
        self._meta: list[tuple[int, str, str | None]] = []
        self._futures: deque[tuple[Any, list[tuple[int, str, str | None]]]] = deque()
        self._pool: Any = None
        self._batches = 0

    def add(self, text: str, key: int, rid: str, declared: str | None) -> None:
        self._texts.append(text)
        self._meta.append((key, rid, declared))
        if len(self._texts) >= self.BATCH:
            self._submit()

    def _submit(self) -> None:
        texts, meta = self._texts, self._meta
        self._texts, self._meta = [], []
        self._batches += 1
        if self._parallel and self._batches > 1:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self._futures.append((self._pool.submit(self._detect, texts), meta))
            while len(self._futures) > 3:  # bound the memory held by queued batches
                self._consume(*self._futures.popleft())
        else:
            self._consume(self._detect(texts), meta)

    def _consume(self, result: Any, meta: list[tuple[int, str, str | None]]) -> None:
        langs = result.result() if hasattr(result, "result") else result
        for lang, (key, rid, declared) in zip(langs, meta, strict=True):
            self._acc.add_language(key, rid, lang, declared)

    def finish(self) -> None:
        if self._texts:
            self._submit()
        while self._futures:
            self._consume(*self._futures.popleft())
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


@dataclass
class ProfileOptions:
    """What :func:`profile_records` checks, and how.

    Attributes:
        near: The MinHash settings for near-duplicate detection.
        near_dups: Find near duplicates (exact duplicates are always found).
        language: Detect each record's language.
        pii: Scan the text for PII.
        pii_region: The region phone numbers are parsed for (e.g. ``US``).
        against: ``(name, records)`` eval sets to check for leakage into the profiled set.
        redact_to: A JSONL file to write every record to with its PII replaced by ``[KIND]``
            (needs ``pii``).
        max_clusters: The most duplicate clusters listed in the report.
        parallel: Run language detection in a worker process.
        images: Check the records' images (:mod:`redline.data.image_health`).
        image_threshold: Hamming distance (of 64 bits) of pHash and dHash for near-duplicate images.
    """

    near: NearDupConfig = field(default_factory=NearDupConfig)
    near_dups: bool = True
    language: bool = True
    pii: bool = True
    pii_region: str = "US"
    against: list[tuple[str, Iterable[Record]]] = field(default_factory=list)
    redact_to: Path | None = None
    max_clusters: int = 100
    parallel: bool = True  # language id in a worker process (the second core)
    images: bool = True
    image_threshold: int = 6


_COUNT_KEYS = ("category", "expected", "language_declared", "language_detected", "source", "persona",
               "modality", "script", "roles_last")


class ProfileAcc:
    """The per-row checks of the profile and their mergeable totals.

    Everything in the report except what needs all rows at once (duplicate ids, exact and near
    duplicates, leakage, images): counts, labels, lengths (as value counts), empty and encoding
    problems, scripts, PII, detected languages, unreadable rows. :meth:`add_record` is the one
    implementation of the per-row checks: the local profile runs it over the stream, the Ray
    profile (:mod:`redline.data.ray_data`) over each batch on the cluster, and adds the batches'
    accumulators up with :meth:`merge`. ``key`` orders rows (their position, or line number), so
    the ids a finding lists are the first ones in the file either way.
    """

    def __init__(self, opts: ProfileOptions):
        """Empty totals for ``opts``.

        Args:
            opts: What to check (``pii`` and ``pii_region``, ``redact_to`` are read here).
        """
        from redline.data.pii import KINDS

        self.records = 0
        self.rejected = 0
        self.rejected_rows: list[tuple[int, dict[str, Any]]] = []
        self.counts: dict[str, Counter] = {k: Counter() for k in _COUNT_KEYS}
        self.labels: dict[str, Counter] = {}
        self.prompt_len: Counter[int] = Counter()
        self.resp_len: Counter[int] = Counter()
        self.turns: Counter[int] = Counter()
        self.empty, self.whitespace, self.no_response = _Ids(), _Ids(), _Ids()
        self.enc = {"replacement_char": _Ids(), "mojibake": _Ids(), "control_chars": _Ids()}
        self.mixed_script = _Ids()
        self.detected: Counter[str] = Counter()
        self.mismatch = _Ids()
        self.pii_rows = _Ids()
        self.pii_kind = {k: _Ids() for k in KINDS}
        self._pii = opts.pii
        self._region = opts.pii_region
        self._scanner: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_scanner": None}  # rebuilt where needed (it holds a module)

    @property
    def scanner(self) -> Any:
        """The PII scanner (None when PII is not checked)."""
        if self._pii and self._scanner is None:
            from redline.data.pii import PiiScanner

            self._scanner = PiiScanner(region=self._region)
        return self._scanner

    def add_rejected(self, key: int, where: str, reason: str) -> None:
        """Count one unreadable row (the first MAX_IDS are listed)."""
        self.rejected += 1
        if len(self.rejected_rows) < MAX_IDS:
            self.rejected_rows.append((key, {"where": where, "reason": reason}))

    def add_record(self, r: Record, key: int, redact: bool = False) -> tuple[str, str | None]:
        """Run the per-row checks on one record.

        Args:
            r: The record.
            key: Its position in the stream (any number that increases with the position).
            redact: Also return the record's PII-redacted JSON line.

        Returns:
            The head of the prompt that language detection reads (the caller batches it, then
            calls :meth:`add_language`), and the redacted line (None unless ``redact``).
        """
        from redline.data.langid import scripts

        self.records += 1
        prompt = r.prompt
        response = r.response
        texts = r.texts()
        self.prompt_len[len(prompt)] += 1
        if response is not None:
            self.resp_len[len(response)] += 1
        else:
            self.no_response.add(r.id, key)
        self.turns[r.turns] += 1
        counts = self.counts
        counts["category"][r.category or "(none)"] += 1
        counts["expected"][r.expected.value if r.expected else "(none)"] += 1
        counts["language_declared"][r.language or "(none)"] += 1
        counts["source"][r.source or "(none)"] += 1
        persona = r.meta.get("persona") or r.meta.get("attack_style")
        if persona is not None:
            counts["persona"][str(persona)] += 1
        counts["modality"]["image" if r.has_images else "text"] += 1
        for k, v in r.labels.items():
            self.labels.setdefault(k, Counter())[str(v).lower() if isinstance(v, bool) else str(v)] += 1
        if not prompt:
            self.empty.add(r.id, key)
        elif not prompt.strip():
            self.whitespace.add(r.id, key)
        else:
            for m in r.messages:
                if m.text and not m.text.strip() and any(isinstance(p, TextPart) for p in m.content):
                    self.whitespace.add(r.id, key)
                    break
        joined = "\n".join(texts)
        if "\ufffd" in joined:
            self.enc["replacement_char"].add(r.id, key)
        if _MOJIBAKE.search(joined):
            self.enc["mojibake"].add(r.id, key)
        if _CONTROL.search(joined):
            self.enc["control_chars"].add(r.id, key)
        head = prompt[:limits.PROFILE_TEXT_CHARS]  # the heavy checks read a bounded head of the text
        script, mixed = scripts(head)
        counts["script"][script] += 1
        if mixed:
            self.mixed_script.add(r.id, key)
        redacted = None
        scanner = self.scanner
        if scanner is not None:
            kinds_here = {f.kind for t in texts for f in scanner.scan(t)}
            for k in kinds_here:
                self.pii_kind[k].add(r.id, key)
            if kinds_here:
                self.pii_rows.add(r.id, key)
            if redact:
                red = r.model_copy(deep=True)
                for m in [*red.messages, *(red.chosen or []), *(red.rejected or [])]:
                    for p in m.content:
                        if isinstance(p, TextPart):
                            p.text = scanner.redact(p.text)
                redacted = json.dumps(record_json(red), ensure_ascii=False) + "\n"
        return head, redacted

    def add_language(self, key: int, rid: str, lang: str, declared: str | None) -> None:
        """Record one row's detected language (``declared``: its base language code, if any)."""
        self.detected[lang] += 1
        if declared and lang != "und" and lang != declared:
            self.mismatch.add(rid, key)

    def merge(self, other: ProfileAcc) -> None:
        """Add another part's totals (its rows may come before or after this one's)."""
        self.records += other.records
        self.rejected += other.rejected
        self.rejected_rows = list(islice(heapq.merge(self.rejected_rows, other.rejected_rows,
                                                     key=lambda kr: kr[0]), MAX_IDS))
        for k, c in other.counts.items():
            self.counts[k].update(c)
        for k, c in other.labels.items():
            self.labels.setdefault(k, Counter()).update(c)
        self.prompt_len.update(other.prompt_len)
        self.resp_len.update(other.resp_len)
        self.turns.update(other.turns)
        self.detected.update(other.detected)
        for a, b in ((self.empty, other.empty), (self.whitespace, other.whitespace),
                     (self.no_response, other.no_response), (self.mixed_script, other.mixed_script),
                     (self.mismatch, other.mismatch), (self.pii_rows, other.pii_rows),
                     *((self.enc[k], other.enc[k]) for k in self.enc),
                     *((self.pii_kind[k], other.pii_kind[k]) for k in self.pii_kind)):
            a.merge(b)


def _cluster_node(clusters: Iterable[tuple[int, list[str]]], max_clusters: int) -> dict[str, Any]:
    """``clusters``/``rows``/``extra_copies`` and the ``max_clusters`` largest clusters' ids (ties:
    the one whose first row comes first) from ``(first row's key, member ids in row order)``."""
    n = rows = 0
    top: list[tuple[int, int, list[str]]] = []  # a min-heap of (size, -first key, ids): the kept ones
    for first, members in clusters:
        n += 1
        rows += len(members)
        item = (len(members), -first, members)
        if len(top) < max_clusters:
            heapq.heappush(top, item)
        elif item[:2] > top[0][:2]:
            heapq.heapreplace(top, item)
    examples = [m for _, _, m in sorted(top, key=lambda t: (-t[0], -t[1]))]
    return {"clusters": n, "rows": rows, "extra_copies": rows - n, "examples": examples}


def build_report(acc: ProfileAcc, opts: ProfileOptions, dup_ids: _Ids,
                 exact: Iterable[tuple[int, list[str]]],
                 near: tuple[Iterable[tuple[int, list[str]]], int] | None) -> dict[str, Any]:
    """The profile report from the totals and the duplicate findings (the local and the Ray
    profile's one report builder).

    Args:
        acc: The per-row totals.
        opts: What was checked.
        dup_ids: Rows whose id an earlier row has.
        exact: The exact-duplicate clusters: ``(first row's key, ids in row order)``.
        near: The near-duplicate clusters and the verified pair count (None: not checked).

    Returns:
        The report (without ``images``, ``leakage``, ``file`` and ``format``).
    """
    counts = {k: dict(v.most_common()) for k, v in acc.counts.items() if v and k != "roles_last"}
    ex = _cluster_node(exact, opts.max_clusters)
    report: dict[str, Any] = {
        "records": acc.records,
        "rejected": {"count": acc.rejected, "rows": [r for _, r in acc.rejected_rows]},
        "row_counts": RowCounts(read=acc.records + acc.rejected, written=acc.records, rejected=acc.rejected,
                                verb="profiled").to_json(),
        "duplicate_ids": dup_ids.to_json(),
        "counts": counts,
        "labels": {k: _imbalance(v) for k, v in acc.labels.items()},
        "category_balance": _imbalance(acc.counts["category"]),
        "lengths": {"prompt_chars": stats_of_counts(acc.prompt_len), "response_chars": stats_of_counts(acc.resp_len),
                    "user_turns": stats_of_counts(acc.turns), "without_response": acc.no_response.count},
        "empty": {"empty_prompt": acc.empty.to_json(), "whitespace_only": acc.whitespace.to_json()},
        "encoding": {k: v.to_json() for k, v in acc.enc.items()},
        "scripts": {"main": dict(acc.counts["script"].most_common()), "mixed": acc.mixed_script.to_json()},
        "duplicates": {"exact": {"clusters": ex["clusters"], "rows": ex["rows"],
                                 "extra_copies": ex["extra_copies"], "examples": ex["examples"]}},
    }
    if opts.language:
        report["counts"]["language_detected"] = dict(acc.detected.most_common())
        report["language"] = {"detected": dict(acc.detected.most_common()),
                              "mismatch_with_declared": acc.mismatch.to_json(), "library": "py3langid"}
    if near is not None:
        from redline.data.dedup import lsh_params

        node = _cluster_node(near[0], opts.max_clusters)
        b, rws = lsh_params(opts.near.threshold, opts.near.num_perm)
        report["duplicates"]["near"] = {
            "method": "MinHash LSH over character shingles of normalised text",
            "threshold": opts.near.threshold, "num_perm": opts.near.num_perm, "shingle": opts.near.shingle,
            "bands": b, "rows_per_band": rws, "clusters": node["clusters"], "rows": node["rows"],
            "pairs": int(near[1]), "examples": node["examples"]}
    if opts.pii:
        report["pii"] = {"rows": acc.pii_rows.to_json(),
                         "by_kind": {k: v.to_json() for k, v in acc.pii_kind.items() if v.count},
                         "redacted_copy": str(opts.redact_to) if opts.redact_to else None}
    return report


def profile_records(items: Iterable[Record | Rejected], opts: ProfileOptions | None = None,
                    on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The profile report (a JSON-able dict) of a stream of records / rejected rows."""
    opts = opts or ProfileOptions()
    acc = ProfileAcc(opts)
    dup = DupIndex(cfg=opts.near, near=opts.near_dups)
    ids: list[str] = []
    seen_ids: dict[str, int] = {}
    dup_ids = _Ids()
    langs = _Languages(opts.parallel, acc) if opts.language else None
    images: Any = None  # an ImageHealth, made at the first record with an image
    redact_f = open(opts.redact_to, "w", encoding="utf-8") if opts.redact_to else None
    redact = redact_f is not None and opts.pii
    try:
        for item in items:
            if on_progress is not None:
                on_progress(1)
            if isinstance(item, Rejected):
                acc.add_rejected(len(ids), item.where, item.reason)
                continue
            r = item
            idx = len(ids)
            ids.append(r.id)
            if r.id in seen_ids:
                dup_ids.add(r.id, idx)
            else:
                seen_ids[r.id] = idx
            if opts.images and r.has_images:
                if images is None:
                    from redline.data.image_health import ImageHealth, ImageHealthOptions

                    images = ImageHealth(_Ids, _stats, ImageHealthOptions(
                        threshold=opts.image_threshold, max_clusters=opts.max_clusters))
                images.add(r)
            head, redacted = acc.add_record(r, idx, redact)
            if langs is not None:
                langs.add(head, idx, r.id, base_language(r.language))
            if redacted is not None and redact_f is not None:
                redact_f.write(redacted)
            dup.add(dedup_text(r))
        if langs is not None:
            langs.finish()
    finally:
        if redact_f is not None:
            redact_f.close()
        if langs is not None:
            langs.close()

    def named(cl: list[list[int]]) -> Iterable[tuple[int, list[str]]]:
        return ((c[0], [ids[i] for i in c]) for c in cl)

    near = None
    if opts.near_dups:
        near_cl, pairs = dup.near_clusters()
        near = (named(near_cl), len(pairs))
    report = build_report(acc, opts, dup_ids, named(dup.exact_clusters()), near)
    if images is not None:
        report["images"] = images.to_json()
    if opts.against:
        report["leakage"] = leakage(dup, ids, opts.against, opts.near if opts.near_dups else None)
    return report


def eval_set_texts(records: Iterable[Record]) -> tuple[list[str], list[str]]:
    """An eval set's ids and normalised texts (what leakage compares)."""
    eval_ids: list[str] = []
    eval_texts: list[str] = []
    for r in records:
        eval_ids.append(r.id)
        eval_texts.append(normalise(dedup_text(r)))
    return eval_ids, eval_texts


def leakage_entry(name: str, eval_ids: list[str], eval_texts: list[str], exact_pairs: list[tuple[str, str]],
                  train_ids: list[str], train_sig: Any, near: NearDupConfig | None) -> dict[str, Any]:
    """One eval set's leakage finding (the local and the Ray profile's one builder).

    Args:
        name: The eval set.
        eval_ids: Its ids.
        eval_texts: Its normalised texts.
        exact_pairs: ``(row id, eval id)`` of equal texts, by eval row, then row order.
        train_ids: The ids of the profiled rows ``train_sig`` holds, in row order: all rows, or
            (on Ray) every row in an LSH bucket with an eval row, which gives the same pairs.
        train_sig: Their MinHash signatures (None: near duplicates not checked).
        near: The MinHash settings (None: near duplicates not checked).

    Returns:
        ``{"against", "eval_records", "exact": {"rows", "pairs"}, "near": {"rows", "pairs"}}``.
    """
    import numpy as np

    entry: dict[str, Any] = {"against": name, "eval_records": len(eval_ids),
                             "exact": {"rows": len({a for a, _ in exact_pairs}),
                                       "pairs": [list(p) for p in exact_pairs[:MAX_IDS]]}}
    if near is not None and train_sig is not None and eval_texts:
        ev_sig = MinHasher(near).signatures(eval_texts)
        allsig = np.concatenate([train_sig, ev_sig])
        pairs = near_duplicate_pairs(allsig, near.threshold)
        n = len(train_ids)
        cross = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
        entry["near"] = {"rows": int(len(np.unique(cross[:, 0]))) if len(cross) else 0,
                         "pairs": [[train_ids[int(a)], eval_ids[int(b) - n]] for a, b in cross[:MAX_IDS]]}
    return entry


def leakage(dup: DupIndex, ids: list[str], against: list[tuple[str, Iterable[Record]]],
            near: NearDupConfig | None) -> list[dict[str, Any]]:
    """Rows of the profiled set that also occur (exactly or nearly) in each eval set."""
    train_sig = dup.signatures() if near is not None else None
    out = []
    for name, records in against:
        eval_ids, eval_texts = eval_set_texts(records)
        exact_pairs = [(ids[i], eval_ids[j]) for j, t in enumerate(eval_texts) for i in dup.rows_with(t)]
        out.append(leakage_entry(name, eval_ids, eval_texts, exact_pairs, ids, train_sig, near))
    return out


def profile_file(path: str | Path, fmt: str | None = None, fmap: FieldMap | None = None,
                 opts: ProfileOptions | None = None,
                 on_progress: Callable[[int], None] | None = None,
                 quarantine: Quarantine | None = None,
                 image_roots: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Profile a data file in one streaming pass (see :func:`profile_records`).

    Args:
        path: The data file (or Hugging Face folder).
        fmt: The format name; ``None`` detects it from the extension.
        fmap: The field map applied to each row.
        opts: What to check; ``None`` means the defaults.
        on_progress: Called with 1 for every row read.
        quarantine: Where the rows that cannot be read are written, with their reasons.
        image_roots: Folders besides the data file's own whose local images may be read.

    Returns:
        The profile report, with ``file`` and ``format`` added.

    Raises:
        InputError: The file is missing, its format unknown or the file unreadable as a whole.
    """
    from redline.data.formats import detect_format
    from redline.data.images import image_access

    p = Path(path)
    items = open_input(p, fmt, fmap, quarantine)
    with image_access(p, extra_roots=image_roots):
        rep = profile_records(items, opts, on_progress)
    return {"file": str(p), "format": fmt or detect_format(p), **rep}
