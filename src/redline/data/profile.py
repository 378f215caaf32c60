"""``redline data profile``: health checks over a data set in one streaming pass.

Duplicates (exact and near, :mod:`redline.data.dedup`), leakage against eval sets, PII
(:mod:`redline.data.pii`), language and script (:mod:`redline.data.langid`), lengths and turns,
empty content, encoding problems, label distributions and class imbalance, unreadable rows.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redline.data import limits
from redline.data.dedup import DupIndex, MinHasher, NearDupConfig, near_duplicate_pairs, normalise
from redline.data.formats import FieldMap, Rejected
from redline.data.formats.base import RejectedSummary
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
    """A count plus the first MAX_IDS ids."""

    def __init__(self) -> None:
        self.count = 0
        self.ids: list[str] = []

    def add(self, rid: str) -> None:
        self.count += 1
        if len(self.ids) < MAX_IDS:
            self.ids.append(rid)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "ids": self.ids, "truncated": self.count > len(self.ids)}


def _stats(values: array) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    import numpy as np

    a = np.frombuffer(values, dtype=np.int32) if values.typecode == "i" else np.asarray(values)
    q = np.percentile(a, [50, 90, 99])
    counts, edges = np.histogram(a, bins=min(30, max(1, int(a.max() - a.min()) + 1)))
    return {"n": int(a.size), "min": int(a.min()), "mean": round(float(a.mean()), 1), "p50": float(q[0]),
            "p90": float(q[1]), "p99": float(q[2]), "max": int(a.max()),
            "histogram": {"edges": [round(float(x), 1) for x in edges], "counts": counts.tolist()}}


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
    that it runs while the main process parses, scans and hashes the next rows. Results are
    consumed in order."""

    BATCH = 4000

    def __init__(self, parallel: bool):
        from redline.data.langid import detect_many

        self._detect = detect_many
        self._parallel = parallel
        self._texts: list[str] = []
        self._meta: list[tuple[str, str | None]] = []
        self._futures: deque[tuple[Any, list[tuple[str, str | None]]]] = deque()
        self._pool: Any = None
        self._batches = 0
        self.detected: Counter[str] = Counter()
        self.mismatch = _Ids()

    def add(self, text: str, rid: str, declared: str | None) -> None:
        self._texts.append(text)
        self._meta.append((rid, declared))
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

    def _consume(self, result: Any, meta: list[tuple[str, str | None]]) -> None:
        langs = result.result() if hasattr(result, "result") else result
        for lang, (rid, declared) in zip(langs, meta, strict=True):
            self.detected[lang] += 1
            if declared and lang != "und" and lang != declared:
                self.mismatch.add(rid)

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


def profile_records(items: Iterable[Record | Rejected], opts: ProfileOptions | None = None,
                    on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The profile report (a JSON-able dict) of a stream of records / rejected rows."""
    opts = opts or ProfileOptions()
    from redline.data.langid import scripts
    from redline.data.pii import KINDS, PiiScanner

    scanner = PiiScanner(region=opts.pii_region) if opts.pii else None
    dup = DupIndex(cfg=opts.near, near=opts.near_dups)
    ids: list[str] = []
    rejected = RejectedSummary(MAX_IDS)
    seen_ids: dict[str, int] = {}
    dup_ids = _Ids()
    counts: dict[str, Counter] = {k: Counter() for k in ("category", "expected", "language_declared",
                                                         "language_detected", "source", "persona",
                                                         "modality", "script", "roles_last")}
    labels: dict[str, Counter] = {}
    prompt_len, resp_len, turns = array("i"), array("i"), array("i")
    empty, whitespace, no_response = _Ids(), _Ids(), _Ids()
    enc = {"replacement_char": _Ids(), "mojibake": _Ids(), "control_chars": _Ids()}
    mixed_script = _Ids()
    langs = _Languages(opts.parallel) if opts.language else None
    pii_rows = _Ids()
    pii_kind = {k: _Ids() for k in KINDS}
    images: Any = None  # an ImageHealth, made at the first record with an image
    redact_f = open(opts.redact_to, "w", encoding="utf-8") if opts.redact_to else None
    try:
        for r in rejected.records(items, on_progress):
            idx = len(ids)
            ids.append(r.id)
            if r.id in seen_ids:
                dup_ids.add(r.id)
            else:
                seen_ids[r.id] = idx
            prompt = r.prompt
            response = r.response
            texts = r.texts()
            prompt_len.append(len(prompt))
            if response is not None:
                resp_len.append(len(response))
            else:
                no_response.add(r.id)
            turns.append(r.turns)
            counts["category"][r.category or "(none)"] += 1
            counts["expected"][r.expected.value if r.expected else "(none)"] += 1
            counts["language_declared"][r.language or "(none)"] += 1
            counts["source"][r.source or "(none)"] += 1
            persona = r.meta.get("persona") or r.meta.get("attack_style")
            if persona is not None:
                counts["persona"][str(persona)] += 1
            counts["modality"]["image" if r.has_images else "text"] += 1
            if opts.images and r.has_images:
                if images is None:
                    from redline.data.image_health import ImageHealth, ImageHealthOptions

                    images = ImageHealth(_Ids, _stats, ImageHealthOptions(
                        threshold=opts.image_threshold, max_clusters=opts.max_clusters))
                images.add(r)
            for k, v in r.labels.items():
                labels.setdefault(k, Counter())[str(v).lower() if isinstance(v, bool) else str(v)] += 1
            if not prompt:
                empty.add(r.id)
            elif not prompt.strip():
                whitespace.add(r.id)
            else:
                for m in r.messages:
                    if m.text and not m.text.strip() and any(isinstance(p, TextPart) for p in m.content):
                        whitespace.add(r.id)
                        break
            joined = "\n".join(texts)
            if "\ufffd" in joined:
                enc["replacement_char"].add(r.id)
            if _MOJIBAKE.search(joined):
                enc["mojibake"].add(r.id)
            if _CONTROL.search(joined):
                enc["control_chars"].add(r.id)
            head = prompt[:limits.PROFILE_TEXT_CHARS]  # the heavy checks read a bounded head of the text
            script, mixed = scripts(head)
            counts["script"][script] += 1
            if mixed:
                mixed_script.add(r.id)
            if langs is not None:
                langs.add(head, r.id, base_language(r.language))
            if scanner is not None:
                kinds_here = {f.kind for t in texts for f in scanner.scan(t)}
                for k in kinds_here:
                    pii_kind[k].add(r.id)
                if kinds_here:
                    pii_rows.add(r.id)
                if redact_f is not None:
                    red = r.model_copy(deep=True)
                    for m in [*red.messages, *(red.chosen or []), *(red.rejected or [])]:
                        for p in m.content:
                            if isinstance(p, TextPart):
                                p.text = scanner.redact(p.text)
                    redact_f.write(json.dumps(record_json(red), ensure_ascii=False) + "\n")
            dup.add(dedup_text(r))
        if langs is not None:
            langs.finish()
    finally:
        if redact_f is not None:
            redact_f.close()
        if langs is not None:
            langs.close()

    def named(cl: list[list[int]]) -> list[list[str]]:
        return [[ids[i] for i in c] for c in cl[: opts.max_clusters]]

    exact = dup.exact_clusters()
    report: dict[str, Any] = {
        "records": len(ids),
        "rejected": rejected.to_json(),
        "row_counts": RowCounts(read=len(ids) + rejected.count, written=len(ids), rejected=rejected.count,
                                verb="profiled").to_json(),
        "duplicate_ids": dup_ids.to_json(),
        "counts": {k: dict(v.most_common()) for k, v in counts.items() if v and k != "roles_last"},
        "labels": {k: _imbalance(v) for k, v in labels.items()},
        "category_balance": _imbalance(counts["category"]),
        "lengths": {"prompt_chars": _stats(prompt_len), "response_chars": _stats(resp_len),
                    "user_turns": _stats(turns), "without_response": no_response.count},
        "empty": {"empty_prompt": empty.to_json(), "whitespace_only": whitespace.to_json()},
        "encoding": {k: v.to_json() for k, v in enc.items()},
        "scripts": {"main": dict(counts["script"].most_common()), "mixed": mixed_script.to_json()},
        "duplicates": {
            "exact": {"clusters": len(exact), "rows": sum(len(c) for c in exact),
                      "extra_copies": sum(len(c) - 1 for c in exact), "examples": named(exact)},
        },
    }
    if langs is not None:
        report["counts"]["language_detected"] = dict(langs.detected.most_common())
        report["language"] = {"detected": dict(langs.detected.most_common()),
                              "mismatch_with_declared": langs.mismatch.to_json(), "library": "py3langid"}
    if opts.near_dups:
        near, pairs = dup.near_clusters()
        from redline.data.dedup import lsh_params

        b, rws = lsh_params(opts.near.threshold, opts.near.num_perm)
        report["duplicates"]["near"] = {
            "method": "MinHash LSH over character shingles of normalised text",
            "threshold": opts.near.threshold, "num_perm": opts.near.num_perm, "shingle": opts.near.shingle,
            "bands": b, "rows_per_band": rws, "clusters": len(near), "rows": sum(len(c) for c in near),
            "pairs": int(len(pairs)), "examples": named(near)}
    if scanner is not None:
        report["pii"] = {"rows": pii_rows.to_json(),
                         "by_kind": {k: v.to_json() for k, v in pii_kind.items() if v.count},
                         "redacted_copy": str(opts.redact_to) if opts.redact_to else None}
    if images is not None:
        report["images"] = images.to_json()
    if opts.against:
        report["leakage"] = leakage(dup, ids, opts.against, opts.near if opts.near_dups else None)
    return report


def leakage(dup: DupIndex, ids: list[str], against: list[tuple[str, Iterable[Record]]],
            near: NearDupConfig | None) -> list[dict[str, Any]]:
    """Rows of the profiled set that also occur (exactly or nearly) in each eval set."""
    import numpy as np

    train_sig = dup.signatures() if near is not None else None
    out = []
    for name, records in against:
        eval_ids: list[str] = []
        eval_texts: list[str] = []
        for r in records:
            eval_ids.append(r.id)
            eval_texts.append(normalise(dedup_text(r)))
        exact_pairs = []
        for j, t in enumerate(eval_texts):
            for i in dup.rows_with(t):
                exact_pairs.append((ids[i], eval_ids[j]))
        entry: dict[str, Any] = {"against": name, "eval_records": len(eval_ids),
                                 "exact": {"rows": len({a for a, _ in exact_pairs}),
                                           "pairs": [list(p) for p in exact_pairs[:MAX_IDS]]}}
        if near is not None and train_sig is not None and eval_texts:
            ev_sig = MinHasher(near).signatures(eval_texts)
            allsig = np.concatenate([train_sig, ev_sig])
            pairs = near_duplicate_pairs(allsig, near.threshold)
            n = len(ids)
            cross = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
            entry["near"] = {"rows": int(len(np.unique(cross[:, 0]))) if len(cross) else 0,
                             "pairs": [[ids[int(a)], eval_ids[int(b) - n]] for a, b in cross[:MAX_IDS]]}
        out.append(entry)
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
