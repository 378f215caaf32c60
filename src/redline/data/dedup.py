"""Exact and near-duplicate detection: MinHash signatures + LSH banding, vectorised with numpy.

Method (documented in docs/data.md):

- text normalisation: Unicode NFKC, case-folding, whitespace collapsed to one space;
- exact duplicates: equal normalised text;
- near duplicates: character ``k``-shingles (default 5) of the normalised text, a MinHash signature
  of ``num_perm`` (default 128) permutations, LSH with the band/row split that datasketch's
  ``MinHashLSH`` picks for the threshold (default Jaccard 0.7), candidate pairs verified by the
  estimated Jaccard similarity, clusters = connected components of the verified pairs.

The permutations are datasketch's default scheme (``affine32``: ``a·fmix32(h) + b mod 2^32`` with
``datasketch.MinHash(num_perm, seed).permutations``), so a signature equals
``datasketch.MinHash(num_perm, seed, hashfunc=identity)`` updated with the same 32-bit shingle
hashes (a test checks this). Only the loop is replaced: datasketch hashes one text per Python
call; here a whole batch of texts is hashed per numpy call.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redline.data import limits

_WS = re.compile(r"\s+")
MAX_HASH = (1 << 32) - 1


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed (the text duplicate detection compares)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass
class NearDupConfig:
    """Near-duplicate detection: Jaccard ``threshold``, MinHash permutations, shingle length
    (characters) and the permutations' seed."""

    threshold: float = 0.7
    num_perm: int = 128
    shingle: int = 5
    seed: int = 1


@functools.lru_cache(maxsize=64)  # ~0.5 s of numerical integration per call; a pure function
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that minimise the false-positive plus false-negative probability mass.

    The minimisation datasketch's ``MinHashLSH(threshold, num_perm)`` runs to choose its ``b`` and
    ``r`` (equal weights), with the same integrals; done here because ``MinHashLSH`` refuses a
    single band, which a high threshold with few permutations needs.

    Args:
        threshold: the Jaccard similarity at which pairs should become candidates.
        num_perm: MinHash permutations (bands × rows ≤ num_perm).
    """
    from scipy.integrate import quad

    def false_positive(b: int, r: int) -> float:
        return float(quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0])

    def false_negative(b: int, r: int) -> float:
        return float(quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)[0])

    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            error = false_positive(b, r) * 0.5 + false_negative(b, r) * 0.5
            if error < best:
                best, opt = error, (b, r)
    return opt


class MinHasher:
    """Batched MinHash signatures (uint32, ``num_perm`` columns) of normalised texts."""

    def __init__(self, cfg: NearDupConfig | None = None):
        import numpy as np
        from datasketch import MinHash

        self.cfg = cfg or NearDupConfig()
        perms = MinHash(num_perm=self.cfg.num_perm, seed=self.cfg.seed).permutations
        self._a = np.asarray(perms[0], dtype=np.uint32)
        self._b = np.asarray(perms[1], dtype=np.uint32)
        self._np = np
        k = self.cfg.shingle
        # polynomial shingle hash: sum c[i+j] * B^(k-1-j) (mod 2^64), then a 64→32-bit mix
        self._pow = np.array([pow(1_000_003, k - 1 - j, 1 << 64) for j in range(k)], dtype=np.uint64)

    def shingle_hashes(self, texts: list[str]) -> tuple[Any, Any]:
        """Concatenated 32-bit shingle hashes of all texts and the start offset of each text.

        A text shorter than ``k`` characters is one shingle (itself); an empty text gets a fixed
        hash so that it still has a signature (all empty texts are then exact duplicates).
        """
        np = self._np
        k = self.cfg.shingle
        lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        joined = "".join(texts)
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        nsh = np.maximum(lens - k + 1, 1)  # shingles per text
        total = int(nsh.sum())
        off = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(nsh[:-1], out=off[1:])
        # position of each shingle's first character
        owner = np.repeat(np.arange(len(texts)), nsh)
        pos = starts[owner] + (np.arange(total) - off[owner])
        short = lens[owner] < k  # the whole (short) text is the shingle
        pad = np.concatenate([cps, np.zeros(k, dtype=np.uint64)])
        h = np.zeros(total, dtype=np.uint64)
        for j in range(k):
            cj = pad[pos + j]
            if short.any():
                cj = np.where(short & (j >= lens[owner]), np.uint64(0), cj)
            h = h + cj * self._pow[j]
        h = h + np.where(short, lens[owner].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15), np.uint64(0))
        # fmix64 (MurmurHash3 finaliser), keep 32 bits
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB93FE1A85EC5)
        h ^= h >> np.uint64(33)
        return h & np.uint64(MAX_HASH), off

    def signatures(self, texts: list[str], chunk_shingles: int = 4096) -> Any:
        """``(len(texts), num_perm)`` uint32 signatures of already normalised texts (of their first
        ``PROFILE_TEXT_CHARS`` characters, docs/limits.md).

        The permutation step works on about ``chunk_shingles`` shingles at a time, so that its
        ``shingles × num_perm`` block stays in the CPU cache (measured fastest at ~4k).
        """
        np = self._np
        out = np.empty((len(texts), self.cfg.num_perm), dtype=np.uint32)
        if not texts:
            return out
        cap = limits.PROFILE_TEXT_CHARS  # a text's block is shingles x num_perm x 4 bytes: bound it
        texts = [t[:cap] for t in texts]
        # the shingle arrays take ~70 bytes a character: hash groups of at most GROUP_CHARS characters
        start, size = 0, 0
        for i, t in enumerate(texts):
            if size and size + len(t) > self.GROUP_CHARS:
                out[start:i] = self._signatures(texts[start:i], chunk_shingles)
                start, size = i, 0
            size += len(t)
        out[start:] = self._signatures(texts[start:], chunk_shingles)
        return out

    GROUP_CHARS = 1_000_000

    def _signatures(self, texts: list[str], chunk_shingles: int) -> Any:
        np = self._np
        out = np.empty((len(texts), self.cfg.num_perm), dtype=np.uint32)
        h, off = self.shingle_hashes(texts)
        hv = h.astype(np.uint32)  # datasketch's fmix32 pre-mix, then the affine permutations
        hv ^= hv >> np.uint32(16)
        hv *= np.uint32(0x85EBCA6B)
        hv ^= hv >> np.uint32(13)
        hv *= np.uint32(0xC2B2AE35)
        hv ^= hv >> np.uint32(16)
        bounds = np.r_[off, len(hv)]
        # text ranges [i, j) of about chunk_shingles shingles each
        cuts = np.searchsorted(off, np.arange(0, len(hv), chunk_shingles), side="right") - 1
        cuts = np.unique(np.r_[cuts, len(texts)])
        for i, j in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            lo, hi = int(bounds[i]), int(bounds[j])
            phv = hv[lo:hi, None] * self._a[None, :]
            phv += self._b[None, :]
            out[i:j] = np.minimum.reduceat(phv, off[i:j] - lo, axis=0)
        return out


def band_keys(sig: Any, threshold: float) -> Any:
    """The LSH bucket key of each row in each band: ``(rows, bands)`` uint64.

    Two rows are candidates in a band when their keys there are equal (the band's ``rows``
    signature values combined by a fixed random multiply-add).
    """
    import numpy as np

    n, num_perm = sig.shape
    bands, rows = lsh_params(threshold, num_perm)
    mult = np.random.RandomState(12345).randint(1, 2**62, size=rows, dtype=np.int64).astype(np.uint64) | np.uint64(1)
    out = np.empty((n, bands), dtype=np.uint64)
    for b in range(bands):
        out[:, b] = (sig[:, b * rows:(b + 1) * rows].astype(np.uint64) * mult[None, :]).sum(axis=1, dtype=np.uint64)
    return out


def bucket_candidates(key: Any) -> Any:
    """Candidate pairs ``(i, j)`` among rows by one band's keys: in each bucket (equal keys, rows in
    their order) each member is paired with the next one and with the bucket's first member.

    Args:
        key: One band's keys, one per row in row order.

    Returns:
        An int64 array of shape (pairs, 2) (unsorted, may repeat).
    """
    import numpy as np

    n = len(key)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = ks[1:] == ks[:-1]
    if not same.any():
        return np.empty((0, 2), dtype=np.int64)
    # chain consecutive members, and link each member to its bucket's first member
    idx = np.nonzero(same)[0]
    starts = np.r_[0, np.nonzero(~same)[0] + 1]
    head = np.repeat(starts, np.diff(np.r_[starts, n]))
    linked = order[head] != order
    return np.concatenate([np.stack([order[idx], order[idx + 1]], axis=1),
                           np.stack([order[head][linked], order[linked]], axis=1)]).astype(np.int64)


def verified(sig_a: Any, sig_b: Any, threshold: float) -> Any:
    """Which pairs' estimated Jaccard similarity (equal signature values) reaches ``threshold``."""
    return (sig_a == sig_b).mean(axis=1) >= threshold


def near_duplicate_pairs(sig: Any, threshold: float) -> Any:
    """Verified pairs ``(i, j)`` (int64 array of shape (n, 2)) whose estimated Jaccard ≥ threshold."""
    import numpy as np

    n, num_perm = sig.shape
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    keys = band_keys(sig, threshold)
    cand = [c for b in range(keys.shape[1]) if len(c := bucket_candidates(keys[:, b]))]
    if not cand:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(cand).astype(np.int64)
    pairs.sort(axis=1)
    pairs = np.unique(pairs, axis=0)
    keep = np.empty(len(pairs), dtype=bool)
    for s in range(0, len(pairs), 100_000):
        p = pairs[s:s + 100_000]
        keep[s:s + 100_000] = verified(sig[p[:, 0]], sig[p[:, 1]], threshold)
    return pairs[keep]


def clusters(n: int, pairs: Any) -> list[list[int]]:
    """Connected components (size ≥ 2) of the pair graph, largest first."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return []
    g = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    involved = np.unique(pairs)
    groups: dict[int, list[int]] = {}
    for i in involved.tolist():
        groups.setdefault(int(labels[i]), []).append(i)
    return sorted(groups.values(), key=lambda c: (-len(c), c[0]))


@dataclass
class DupIndex:
    """Collects texts in a stream; computes exact groups and near-duplicate clusters at the end."""

    cfg: NearDupConfig = field(default_factory=NearDupConfig)
    near: bool = True
    batch: int = 20_000
    _exact: dict[int, int] = field(default_factory=dict)
    exact_groups: dict[int, list[int]] = field(default_factory=dict)
    _pending: list[str] = field(default_factory=list)
    _sigs: list[Any] = field(default_factory=list)
    n: int = 0

    def __post_init__(self) -> None:
        self._hasher = MinHasher(self.cfg) if self.near else None

    def add(self, text: str) -> int:
        """Index one text: record it in its exact-duplicate group and queue it for MinHash.

        Args:
            text: The row's text; it is normalised first, and only its first
                ``limits.PROFILE_TEXT_CHARS`` characters are used for near-duplicate signatures.

        Returns:
            The row's index (0, 1, 2, ... in the order added).
        """
        i = self.n
        self.n += 1
        t = normalise(text)
        key = hash(t)
        first = self._exact.setdefault(key, i)
        if first != i:
            self.exact_groups.setdefault(first, [first]).append(i)
        if self._hasher is not None:
            self._pending.append(t[:limits.PROFILE_TEXT_CHARS])  # memory independent of the longest row
            if len(self._pending) >= self.batch:
                self._flush()
        return i

    def add_many(self, texts: Iterable[str]) -> None:
        """Index each text in order, as ``add`` does."""
        for t in texts:
            self.add(t)

    def _flush(self) -> None:
        if self._pending and self._hasher is not None:
            self._sigs.append(self._hasher.signatures(self._pending))
            self._pending = []

    def signatures(self) -> Any:
        """The MinHash signatures of all rows added so far, one row each (``uint32``, ``num_perm`` wide).

        Returns:
            A numpy array of shape ``(rows, cfg.num_perm)``; empty when nothing was added or
            ``near`` is off.
        """
        import numpy as np

        self._flush()
        if not self._sigs:
            return np.empty((0, self.cfg.num_perm), dtype=np.uint32)
        if len(self._sigs) > 1:
            self._sigs = [np.concatenate(self._sigs)]
        return self._sigs[0]

    def rows_with(self, normalised_text: str) -> list[int]:
        """Rows whose normalised text equals this one."""
        first = self._exact.get(hash(normalised_text))
        if first is None:
            return []
        return self.exact_groups.get(first, [first])

    def exact_clusters(self) -> list[list[int]]:
        """The groups of rows with equal normalised text (two or more rows each), largest first."""
        return sorted(self.exact_groups.values(), key=lambda c: (-len(c), c[0]))

    def near_clusters(self) -> tuple[list[list[int]], Any]:
        """Clusters and the verified pairs."""
        sig = self.signatures()
        pairs = near_duplicate_pairs(sig, self.cfg.threshold)
        return clusters(self.n, pairs), pairs
