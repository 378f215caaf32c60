"""``redline data profile|convert --executor ray``: the data commands on a Ray cluster, with Ray Data.

- **Reading.** JSON Lines inputs (``jsonl`` and every JSON-row format reading JSON Lines) are
  read in parallel: the driver splits the file into byte ranges at line starts (one pass that
  counts newlines, memory flat), and each Ray Data read task reads its range's raw lines with their
  line numbers. Other formats (CSV, Parquet, Excel, JSON arrays, HF folders, …) are read by
  their own reader in one read task on the cluster, which streams their rows into blocks.
  The input path must be readable at the same path on the cluster's nodes (a shared file system),
  as for any Ray Data file read.
- **Per-row work** runs in ``map_batches`` on the cluster with the local commands' own code: the
  format's row parsing (:func:`~redline.data.formats.base.parse_rows`), the profile's per-row
  checks (:class:`~redline.data.profile.ProfileAcc`: schema, PII, scripts, lengths, encoding,
  language), MinHash signatures (:class:`~redline.data.dedup.MinHasher`), and for ``convert``
  the output format's writer (:class:`~redline.data.io.ConvertSink`).
- **Back to the driver** come small things: one accumulator per batch (counts, value counts of
  lengths, the first 1,000 ids of each finding), the rejected rows (written to the quarantine file
  in file order, as a local run writes them), and the duplicate findings. Duplicate ids, exact
  duplicates and near duplicates are counted with a ``groupby`` on the cluster — on the id, on a
  hash of the normalised text, and on each LSH band's bucket key ``(band, key)`` — and only the
  values two or more rows share come back; then only the rows that have one (their ids, and for
  near duplicates their signatures), on which the local
  :func:`~redline.data.dedup.near_duplicate_pairs` runs in row order (every member of a shared
  bucket is there, so the candidate and verified pairs are the local ones). The driver's memory
  grows with the duplicates found, not with the rows.

The report is the local run's (:func:`~redline.data.profile.build_report`); a test compares them.
Not on Ray (an error says so): image checks (``--no-images`` skips them); ``convert --strip-exif``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from redline.data.formats import FieldMap, Item, Rejected
from redline.errors import InputError, Problem

#: bytes of a JSON Lines file per read task (a Ray Data block is about this size)
CHUNK_BYTES = 16 << 20
#: rows per block a read task yields, and per map_batches call
BATCH_ROWS = 2048


def check_data_executor(name: str, address: str | None = None) -> None:
    """Fail early on a bad ``--executor`` for a data command (the eval command's checks and
    messages: an unknown name lists the valid ones; ``ray`` without Ray names the install).

    Args:
        name: The executor's name (``local`` or ``ray``).
        address: ``--ray-address``.

    Raises:
        InputError: An unknown executor, or Ray not installed.
    """
    from redline.executors import check_executor

    check_executor(name, {"address": address} if address else {})


@contextlib.contextmanager
def ray_data(address: str | None) -> Iterator[Any]:
    """Connect to (or start) the Ray cluster for a data command, Ray Data set up for it.

    Rows keep their order through every stage (``preserve_order``), Ray Data's progress bars and
    log lines stay off the terminal, and Ray's own output goes to stderr (stdout stays the
    command's, so ``--json`` stays JSON).

    Args:
        address: The cluster (``HOST:PORT``); None starts a local one (or joins ``RAY_ADDRESS``).

    Yields:
        The ``ray`` module.

    Raises:
        InputError: Ray (with Ray Data) is not installed, or the cluster cannot be reached.
    """
    from redline.executors.ray import INSTALL_HINT, RayExecutor, import_ray

    ray = import_ray()
    try:
        import ray.data  # noqa: F401 - needs pyarrow, pandas (the redline[ray] extra)
    except ImportError as e:
        raise InputError("--executor ray needs Ray Data, which cannot be imported", [Problem(
            "--executor ray", f"import ray.data: {e}", f"install it with `{INSTALL_HINT}` "
            "(ray[data]), or drop --executor ray to run locally")]) from None
    with contextlib.redirect_stdout(sys.stderr):
        connected = RayExecutor(address)._connect(ray)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        # the sort shuffle (tasks) for the groupbys: the hash shuffle's aggregator actors took ~7 s a
        # groupby to start on a 2-CPU machine (measured), whatever the data size
        ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        for name in ("ray.data", "ray"):
            logging.getLogger(name).setLevel(logging.WARNING)
        with contextlib.suppress(ImportError):  # Ray Data's "Progress bars disabled" note, said once: now
            from ray.util.debug import log_once

            log_once("ray_data_progress_manager_disabled")
        try:
            yield ray
        finally:
            if connected:
                ray.shutdown()


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


# -- reading --------------------------------------------------------------------------------------


def _jsonl_parser(fmt: Any, path: Path) -> bool:
    """Whether ``fmt`` reads ``path`` as JSON Lines with the shared row parser (then byte ranges
    of it can be read and parsed apart)."""
    from redline.data.formats.base import JsonRowFormat, RowFormat, sniff_json_array
    from redline.data.formats.jsonl import JsonlFormat

    cls = type(fmt)
    if getattr(cls, "read", None) is not RowFormat.read or not path.is_file():
        return False
    if cls.rows is JsonlFormat.rows:
        return True
    return cls.rows is JsonRowFormat.rows and not sniff_json_array(path)


def line_chunks(path: Path, chunk_bytes: int | None = None) -> list[tuple[int, int, int]]:
    """``(start, end, first line number)`` byte ranges of a JSON Lines file, each starting at a line.

    One pass over the file counting newlines (memory flat). A range never starts at a line that
    begins with a byte-order mark (only line 1 may drop one, as the local reader does).

    Args:
        path: The file.
        chunk_bytes: About how many bytes a range holds (default :data:`CHUNK_BYTES`).
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    size = path.stat().st_size
    bounds = [(0, 1)]
    target, pos, lines = chunk_bytes, 0, 0
    with open(path, "rb") as f:
        while True:
            buf = f.read(1 << 22)
            if not buf:
                break
            off = 0
            while True:
                t = max(target - pos, off)
                if t >= len(buf):
                    break
                i = buf.find(b"\n", t)
                if i < 0:
                    break
                lines += buf.count(b"\n", off, i + 1)
                off = i + 1
                if pos + off < size:
                    bounds.append((pos + off, lines + 1))
                target = pos + off + chunk_bytes
            lines += buf.count(b"\n", off)
            pos += len(buf)
        keep = [bounds[0]]
        for start, line in bounds[1:]:
            f.seek(start)
            if not f.read(3).startswith(b"\xef\xbb\xbf"):
                keep.append((start, line))
    ends = [s for s, _ in keep[1:]] + [size]
    return [(s, e, ln) for (s, ln), e in zip(keep, ends, strict=True)]


class _Range:
    """A binary file read only from ``start`` up to ``end`` (what :func:`iter_lines` reads)."""

    def __init__(self, f: Any, start: int, end: int):
        f.seek(start)
        self._f, self._left = f, end - start

    def readline(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if size < 0 else min(size, self._left)
        raw = self._f.readline(n)
        self._left -= len(raw)
        return bytes(raw)


def _read_lines(path: str, start: int, end: int, first_line: int) -> Iterator[Any]:
    """A read task: the raw lines of one byte range in blocks (``key``: line number; a line over
    the size limit is ``long``: its length, with no bytes)."""
    import pyarrow as pa

    from redline.data.limits import iter_lines

    keys: list[int] = []
    raws: list[bytes | None] = []
    longs: list[int] = []
    with open(path, "rb") as f:
        # a range's first line is line 1 to iter_lines, which drops a byte-order mark there: only
        # the file's own line 1 may have one (line_chunks never starts a later range at one)
        for n, raw in iter_lines(_Range(f, start, end)):  # type: ignore[arg-type]
            keys.append(first_line + n - 1)
            raws.append(None if isinstance(raw, int) else raw)
            longs.append(raw if isinstance(raw, int) else -1)
            if len(keys) >= BATCH_ROWS:
                yield pa.table({"key": pa.array(keys, pa.int64()), "raw": pa.array(raws, pa.binary()),
                                "long": pa.array(longs, pa.int64())})
                keys, raws, longs = [], [], []
    if keys:
        yield pa.table({"key": pa.array(keys, pa.int64()), "raw": pa.array(raws, pa.binary()),
                        "long": pa.array(longs, pa.int64())})


def _read_items(path: str, fmt: str, fmap: FieldMap) -> Iterator[Any]:
    """A read task: a file in any format through its own reader, the items pickled in blocks
    (``key``: the item's position)."""
    import pyarrow as pa

    from redline.data.io import open_input

    keys: list[int] = []
    items: list[bytes] = []
    for n, item in enumerate(open_input(path, fmt, fmap)):
        keys.append(n)
        items.append(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        if len(keys) >= BATCH_ROWS:
            yield pa.table({"key": pa.array(keys, pa.int64()), "item": pa.array(items, pa.binary())})
            keys, items = [], []
    if keys:
        yield pa.table({"key": pa.array(keys, pa.int64()), "item": pa.array(items, pa.binary())})


def read_dataset(ray: Any, path: Path, fmt: str, fmap: FieldMap) -> Any:
    """The input as a Ray Dataset of raw lines (JSON Lines) or pickled items (other formats).

    Args:
        ray: The connected ``ray`` module.
        path: The input file (or folder).
        fmt: Its format's name.
        fmap: The field map.

    Returns:
        A ``ray.data.Dataset``; :func:`items_of` turns one of its batches into items.
    """
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    from redline.data.formats import get_format

    jsonl = _jsonl_parser(get_format(fmt), path)
    spath = str(path.resolve())

    class _Source(Datasource):
        def get_name(self) -> str:
            return "RedlineLines" if jsonl else "RedlineReader"

        def estimate_inmemory_data_size(self) -> int:
            return path.stat().st_size if path.is_file() else 0

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[Any]:
            def meta(size: int | None) -> Any:
                return BlockMetadata(num_rows=None, size_bytes=size, exec_stats=None, input_files=(spath,))

            if not jsonl:
                return [ReadTask(functools.partial(_read_items, spath, fmt, fmap), meta(None))]
            return [ReadTask(functools.partial(_read_lines, spath, s, e, ln), meta(e - s))
                    for s, e, ln in line_chunks(path)]

    return ray.data.read_datasource(_Source(), override_num_blocks=None)


def items_of(batch: Any, path: str, fmt: str, fmap: FieldMap) -> Iterator[tuple[int, Item]]:
    """``(key, record | Rejected)`` of one batch of :func:`read_dataset`, in order: JSON Lines
    parsed with the format's own row code, as the local reader parses them."""
    keys = batch.column("key").to_pylist()
    if "item" in batch.column_names:
        for k, raw in zip(keys, batch.column("item").to_pylist(), strict=True):
            yield k, pickle.loads(raw)
        return
    from redline.data.formats import get_format
    from redline.data.formats.base import iter_jsonl_rows, parse_rows
    from redline.data.limits import BLANK, parse_json_line

    f = get_format(fmt)
    raws = batch.column("raw").to_pylist()
    longs = batch.column("long").to_pylist()
    lines = ((k, v) for k, raw, long in zip(keys, raws, longs, strict=True)
             if (v := parse_json_line(long if raw is None else raw)) is not BLANK)
    p = Path(path)
    for item in parse_rows(p, iter_jsonl_rows(p, lines), fmap, f.to_record, f.unit):  # type: ignore[attr-defined]
        yield (item.row or 0) if isinstance(item, Rejected) else item._source[2], item  # type: ignore[index]


# -- profile --------------------------------------------------------------------------------------


def _text_hash(text: str) -> bytes:
    """A stable 16-byte hash of a normalised text (the exact-duplicate groupby key)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class _ProfileBatch:
    """``map_batches`` on the cluster: a batch of input rows → their per-row checks.

    Returns one row per input item: ``key``, ``id``, the exact-duplicate hash ``h``, the MinHash
    signature ``sig`` (bytes), the pickled :class:`Rejected` ``rej``, the redacted line ``red``,
    and, on the batch's first row, its pickled :class:`~redline.data.profile.ProfileAcc` ``acc``.
    """

    def __init__(self, path: str, fmt: str, fmap: FieldMap, opts: Any, redact: bool):
        self.path, self.fmt, self.fmap, self.opts, self.redact = path, fmt, fmap, opts, redact
        self.__name__ = type(self).__name__  # Ray Data names its stages after it

    def __call__(self, batch: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        from redline.data.dedup import MinHasher, normalise
        from redline.data.langid import detect_many
        from redline.data.profile import ProfileAcc, base_language, dedup_text

        opts = self.opts
        acc = ProfileAcc(opts)
        keys: list[int] = []
        ids: list[str | None] = []
        hashes: list[bytes | None] = []
        rej: list[bytes | None] = []
        red: list[str | None] = []
        norm: list[str] = []
        heads: list[tuple[str, int, str, str | None]] = []
        for key, item in items_of(batch, self.path, self.fmt, self.fmap):
            keys.append(key)
            if isinstance(item, Rejected):
                acc.add_rejected(key, item.where, item.reason)
                ids.append(None)
                hashes.append(None)
                rej.append(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
                red.append(None)
                continue
            head, redacted = acc.add_record(item, key, self.redact)
            if opts.language:
                heads.append((head, key, item.id, base_language(item.language)))
            t = normalise(dedup_text(item))
            norm.append(t)
            ids.append(item.id)
            hashes.append(_text_hash(t))
            rej.append(None)
            red.append(redacted)
        if heads:
            for lang, (_, key, rid, declared) in zip(detect_many([h[0] for h in heads]), heads, strict=True):
                acc.add_language(key, rid, lang, declared)
        sig_col: list[bytes | None] = [None] * len(keys)
        if opts.near_dups and norm:
            from redline.data import limits

            sigs = MinHasher(opts.near).signatures([t[:limits.PROFILE_TEXT_CHARS] for t in norm])
            rows = iter(np.ascontiguousarray(sigs))
            sig_col = [None if h is None else next(rows).tobytes() for h in hashes]
        accs: list[bytes | None] = [pickle.dumps(acc, protocol=pickle.HIGHEST_PROTOCOL)] + [None] * (len(keys) - 1)
        return pa.table({"key": pa.array(keys, pa.int64()), "id": pa.array(ids, pa.string()),
                         "h": pa.array(hashes, pa.binary()), "sig": pa.array(sig_col, pa.binary()),
                         "rej": pa.array(rej, pa.binary()), "red": pa.array(red, pa.string()),
                         "acc": pa.array(accs, pa.binary())})


def _driver_rows(batch: Any) -> Any:
    """What the driver reads in order: the rows with an accumulator, a rejected row or a redacted line."""
    import pyarrow.compute as pc

    keep = pc.or_(pc.or_(pc.is_valid(batch["acc"]), pc.is_valid(batch["rej"])), pc.is_valid(batch["red"]))
    return batch.filter(keep).select(["key", "acc", "rej", "red"])


_BAND_SALT = 0x9E3779B97F4A7C15  # folds the band number into a bucket key (see _values)


def _signatures(batch: Any) -> Any:
    """The MinHash signatures of a batch's rows (all with one) as a ``(rows, num_perm)`` uint32 array."""
    import numpy as np

    sig_bytes = batch.column("sig").to_pylist()
    if not sig_bytes:
        return np.empty((0, 1), dtype=np.uint32)
    return np.frombuffer(b"".join(sig_bytes), dtype=np.uint32).reshape(len(sig_bytes), -1)


def _values(batch: Any, kind: str, threshold: float) -> Any:
    """The 64-bit values a duplicate search compares, for a batch of records (``(rows, k)`` int64).

    ``id``: a hash of the id; ``h``: the first 8 bytes of the normalised text's hash; ``band``: each
    LSH band's bucket key with the band folded in. Two rows that are duplicates have an equal value;
    a hash collision only brings a few more rows back to the driver, which compares the real
    ids, hashes and bucket keys.
    """
    import numpy as np

    if kind == "id":
        return np.array([int.from_bytes(hashlib.blake2b(i.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                        "little", signed=True) for i in batch.column("id").to_pylist()],
                        dtype=np.int64).reshape(-1, 1)
    if kind == "h":
        return np.frombuffer(b"".join(h[:8] for h in batch.column("h").to_pylist()), dtype=np.int64).reshape(-1, 1)
    return band_values(_signatures(batch), threshold)


def band_values(sig: Any, threshold: float) -> Any:
    """Each row's LSH bucket key in each band with the band folded in: ``(rows, bands)`` int64."""
    import numpy as np

    from redline.data.dedup import band_keys

    if not len(sig):
        return np.empty((0, 1), dtype=np.int64)
    keys = band_keys(sig, threshold)
    salt = (np.arange(1, keys.shape[1] + 1, dtype=np.uint64) * np.uint64(_BAND_SALT))[None, :]
    return (keys ^ salt).view(np.int64)


def _with(batch: Any, kind: str) -> Any:
    """The rows of a batch a duplicate search looks at: records (with a signature, for ``band``)."""
    import pyarrow.compute as pc

    return batch.filter(pc.is_valid(batch["sig" if kind == "band" else "id"]))


class _PartitionValues:
    """``map_batches``: a batch's values (:func:`_values`) split into ``parts`` partitions by value,
    one row per partition (``part``, the values as bytes)."""

    def __init__(self, kind: str, parts: int, threshold: float):
        self.kind, self.parts, self.threshold = kind, parts, threshold
        self.__name__ = type(self).__name__  # Ray Data names its stages after it

    def __call__(self, batch: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        v = _values(_with(batch, self.kind), self.kind, self.threshold).ravel()
        p = v.view(np.uint64) % np.uint64(self.parts)
        order = np.argsort(p, kind="stable")
        v, p = v[order], p[order]
        bounds = np.searchsorted(p, np.arange(self.parts + 1, dtype=np.uint64))
        return pa.table({"part": pa.array(np.arange(self.parts, dtype=np.int32)),
                         "vals": pa.array([v[bounds[i]:bounds[i + 1]].tobytes() for i in range(self.parts)],
                                          pa.binary())})


def _shared_in_part(batch: Any) -> Any:
    """``map_groups`` on ``part``: the partition's values that occur two or more times."""
    import numpy as np
    import pyarrow as pa

    v = np.frombuffer(b"".join(batch.column("vals").to_pylist()), dtype=np.int64)
    u, c = np.unique(v, return_counts=True)
    return pa.table({"vals": pa.array([u[c >= 2].tobytes()], pa.binary())})


def shared_values(ds: Any, kind: str, parts: int, threshold: float = 0.7) -> Any:
    """The values (:func:`_values`) two or more rows of ``ds`` share: a sorted int64 array.

    A shuffle in ``parts`` partitions by value (numpy on each side: a ``groupby`` on the partition
    number, not on the values, so no Python runs per value); only the shared values come back.
    """
    import numpy as np

    found = [np.frombuffer(b, dtype=np.int64)
             for t in ds.map_batches(_PartitionValues(kind, parts, threshold), batch_format="pyarrow")
             .groupby("part", num_partitions=parts).map_groups(_shared_in_part, batch_format="pyarrow")
             .iter_batches(batch_format="pyarrow", batch_size=None) for b in t.column("vals").to_pylist()]
    return np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


class _RowsWith:
    """``map_batches``: the rows that have one of the shared values (columns ``keep``)."""

    def __init__(self, kind: str, shared: Any, keep: list[str], threshold: float):
        self.kind, self.shared, self.keep, self.threshold = kind, shared, keep, threshold
        self.__name__ = type(self).__name__  # Ray Data names its stages after it

    def __call__(self, batch: Any) -> Any:
        import numpy as np
        import ray

        batch = _with(batch, self.kind)
        v = _values(batch, self.kind, self.threshold)
        hit = np.isin(v, ray.get(self.shared)).any(axis=1) if len(v) else np.zeros(0, dtype=bool)
        return batch.filter(hit).select(self.keep)


def rows_sharing(ray: Any, ds: Any, kind: str, keep: list[str], parts: int, threshold: float = 0.7) -> Any:
    """The rows of ``ds`` that share a value (:func:`_values`) with another row, on the driver
    (a pyarrow table of columns ``keep``, in row order), or None."""

    return rows_with_values(ray, ds, kind, shared_values(ds, kind, parts, threshold), keep, threshold)


def rows_with_values(ray: Any, ds: Any, kind: str, values: Any, keep: list[str], threshold: float = 0.7) -> Any:
    """The rows of ``ds`` that have one of ``values`` (:func:`_values`; a sorted int64 array), on
    the driver (a pyarrow table of columns ``keep``, in row order), or None."""
    import pyarrow as pa

    if not len(values):
        return None
    ref = ray.put(values)
    tables = [t for t in ds.map_batches(_RowsWith(kind, ref, keep, threshold), batch_format="pyarrow")
              .iter_batches(batch_format="pyarrow", batch_size=None) if t.num_rows]
    return pa.concat_tables(tables).sort_by("key") if tables else None


def _groups(table: Any, col: str) -> Iterator[tuple[list[int], list[str]]]:
    """``(keys, ids)`` of each group of two or more rows with equal ``col``, in key order."""
    import pyarrow.compute as pc

    table = table.take(pc.sort_indices(table, sort_keys=[(col, "ascending"), ("key", "ascending")]))
    vals = table.column(col).to_pylist()
    keys = table.column("key").to_pylist()
    ids = table.column("id").to_pylist()
    start = 0
    for i in range(1, len(vals) + 1):
        if i == len(vals) or vals[i] != vals[start]:
            if i - start >= 2:
                yield keys[start:i], ids[start:i]
            start = i


def near_pairs(ray: Any, facts: Any, threshold: float, parts: int) -> tuple[list[int], list[str], Any]:
    """The near-duplicate pairs of the records in ``facts``: the row keys and ids of the records in
    a shared LSH bucket, in row order, and the verified pairs (indices into them).

    The bucket keys two or more records share are found on the cluster (:func:`shared_values`);
    the records in those buckets come back with their signatures, and the local
    :func:`~redline.data.dedup.near_duplicate_pairs` runs on them in row order: every member of a
    shared bucket is there (and a record in none has no candidate), so the candidate and verified
    pairs are the local ones.
    """
    import numpy as np

    from redline.data.dedup import near_duplicate_pairs

    rows = rows_sharing(ray, facts.select_columns(["key", "id", "sig"]), "band", ["key", "id", "sig"], parts,
                        threshold)
    if rows is None:
        return [], [], np.empty((0, 2), dtype=np.int64)
    return rows.column("key").to_pylist(), rows.column("id").to_pylist(), near_duplicate_pairs(
        _signatures(rows), threshold)


def leakage_on_ray(ray: Any, facts: Any, against: list[tuple[str, Any]], near: Any) -> list[dict[str, Any]]:
    """:func:`redline.data.profile.leakage` on the cluster: the same findings.

    Only the rows with an eval row's text hash, and (for near duplicates) the rows in an LSH bucket
    with an eval row, come back to the driver; :func:`~redline.data.profile.leakage_entry` then runs
    on them as the local profile runs it on all rows (every row in such a bucket is there, so the
    candidate and verified pairs are the local ones).
    """
    import numpy as np

    from redline.data.dedup import MinHasher
    from redline.data.profile import eval_set_texts, leakage_entry

    out = []
    for name, records in against:
        eval_ids, eval_texts = eval_set_texts(records)
        ev_h = [_text_hash(t) for t in eval_texts]
        prefixes = np.unique(np.frombuffer(b"".join(h[:8] for h in ev_h), dtype=np.int64))
        rows = rows_with_values(ray, facts.select_columns(["key", "id", "h"]), "h", prefixes, ["key", "id", "h"])
        same: dict[bytes, list[str]] = {}
        if rows is not None:
            for h, rid in zip(rows.column("h").to_pylist(), rows.column("id").to_pylist(), strict=True):
                same.setdefault(h, []).append(rid)
        exact_pairs = [(rid, eval_ids[j]) for j, h in enumerate(ev_h) for rid in same.get(h, [])]
        train_ids: list[str] = []
        train_sig = None
        if near is not None:
            train_sig = np.empty((0, near.num_perm), dtype=np.uint32)
            if eval_texts:
                values = np.unique(band_values(MinHasher(near).signatures(eval_texts), near.threshold))
                rows = rows_with_values(ray, facts.select_columns(["key", "id", "sig"]), "band", values,
                                        ["key", "id", "sig"], near.threshold)
                if rows is not None:
                    train_ids, train_sig = rows.column("id").to_pylist(), _signatures(rows)
        out.append(leakage_entry(name, eval_ids, eval_texts, exact_pairs, train_ids, train_sig, near))
    return out


def profile_on_ray(path: Path, fmt: str | None, fmap: FieldMap, opts: Any, address: str | None,
                   on_progress: Callable[[int], None] | None = None, quarantine: Any = None) -> dict[str, Any]:
    """:func:`redline.data.profile.profile_file` on a Ray cluster: the same report.

    Args:
        path: The data file.
        fmt: Its format (None: by extension).
        fmap: The field map.
        opts: The :class:`~redline.data.profile.ProfileOptions`.
        address: The Ray cluster (None: a local one, or ``RAY_ADDRESS``).
        on_progress: Called with the number of rows of each block as the cluster finishes it.
        quarantine: The :class:`~redline.data.io.Quarantine` rejected rows are written to, in order.

    Returns:
        The profile report, with ``file`` and ``format``.

    Raises:
        InputError: Bad input, Ray missing or unreachable, or a check that does not run on Ray.
    """
    from redline.data.formats import detect_format, get_format
    from redline.data.profile import ProfileAcc, _Ids, build_report

    if not path.exists():
        from redline.data.io import open_input

        open_input(path, fmt, fmap)  # the local command's error for a missing file
    fmt = fmt or detect_format(path)
    get_format(fmt)  # an unknown format: the local error
    with ray_data(address) as ray:
        ds = read_dataset(ray, path, fmt, fmap)
        redact = opts.redact_to is not None and opts.pii
        # the per-row pass runs once; its blocks stay in the cluster's object store (the driver
        # holds their references only, and counts their rows for the progress display)
        refs = []
        for bundle in ds.map_batches(_ProfileBatch(str(path), fmt, fmap, opts, redact), batch_format="pyarrow",
                                     batch_size=BATCH_ROWS, zero_copy_batch=True).iter_internal_ref_bundles():
            for ref, meta in zip(bundle.block_refs, bundle.metadata, strict=True):
                refs.append(ref)
                if on_progress is not None:
                    on_progress(meta.num_rows or 0)
        facts = ray.data.from_arrow_refs(refs)
        acc = ProfileAcc(opts)
        red_f = open(opts.redact_to, "w", encoding="utf-8") if opts.redact_to else None  # noqa: SIM115
        try:
            for b in facts.map_batches(_driver_rows, batch_format="pyarrow").iter_batches(
                    batch_format="pyarrow", batch_size=None):
                for a, r, line in zip(b.column("acc").to_pylist(), b.column("rej").to_pylist(),
                                      b.column("red").to_pylist(), strict=True):
                    if a is not None:
                        acc.merge(pickle.loads(a))
                    if r is not None and quarantine is not None:
                        quarantine.add(pickle.loads(r))
                    if line is not None and red_f is not None:
                        red_f.write(line)
        finally:
            if red_f is not None:
                red_f.close()
        if opts.images and acc.counts["modality"].get("image"):
            raise InputError("image checks do not run on Ray", [Problem(
                "--executor ray", f"{acc.counts['modality']['image']} record(s) have images",
                "pass --no-images, or profile without --executor ray")])
        # partitions of the duplicate searches: at least one per CPU, and at most ~16M values each
        # (128 MiB) — a band search has a value per record and band
        parts = max(_cluster_cpus(ray), -(-acc.records * 32 // (1 << 24)))
        with_id = facts.select_columns(["key", "id", "h"])
        dup_ids = _Ids()
        rows = rows_sharing(ray, with_id, "id", ["key", "id"], parts)
        if rows is not None:
            later = [(k, i) for keys, ids in _groups(rows, "id") for k, i in zip(keys[1:], ids[1:], strict=True)]
            dup_ids = _Ids.of(len(later), later)
        rows = rows_sharing(ray, with_id, "h", ["key", "id", "h"], parts)
        exact = [] if rows is None else [(keys[0], ids) for keys, ids in _groups(rows, "h")]
        near = None
        if opts.near_dups:
            from redline.data.dedup import clusters

            keys, ids, pairs = near_pairs(ray, facts, opts.near.threshold, parts)
            near = ([(keys[c[0]], [ids[i] for i in c]) for c in clusters(len(keys), pairs)], len(pairs))
        leaks = leakage_on_ray(ray, facts, opts.against, opts.near if opts.near_dups else None) \
            if opts.against else None
    report = build_report(acc, opts, dup_ids, exact, near)
    if leaks is not None:
        report["leakage"] = leaks
    return {"file": str(path), "format": fmt, **report}


# -- convert --------------------------------------------------------------------------------------


def _line_writer(fmt: Any) -> bool:
    """Whether ``fmt`` writes one independent group of JSON lines per record (its parts join)."""
    from redline.data.formats.base import JsonlWriter

    with tempfile.TemporaryDirectory() as d:
        w = fmt.open_writer(Path(d) / "probe")
        try:
            return type(w) is JsonlWriter and getattr(w, "extra", None) is None and not hasattr(fmt, "finish")
        finally:
            w.close()


class _ConvertBatch:
    """``map_batches`` on the cluster: a batch of input rows → its part of the output
    (:class:`~redline.data.io.ConvertPart`, pickled, one row per batch), written by the output
    format's own writer through :class:`~redline.data.io.ConvertSink`."""

    def __init__(self, path: str, fmt: str, fmap: FieldMap, to: str, labels: bool):
        self.path, self.fmt, self.fmap, self.to, self.labels = path, fmt, fmap, to, labels
        self.__name__ = type(self).__name__  # Ray Data names its stages after it

    def __call__(self, batch: Any) -> Any:
        import io as _io

        import pyarrow as pa

        from redline.data.formats import get_format
        from redline.data.io import ConvertPart, ConvertResult, ConvertSink

        out_fmt = get_format(self.to)
        part = ConvertPart()
        res = ConvertResult()
        if self.labels:
            res._labels = _io.StringIO()
        canon: list[bytes] = []
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "part"
            writer = out_fmt.open_writer(tmp)
            sink = ConvertSink(self.to, Path(self.path), writer, res, part.rejected.append, canon.append,
                               getattr(out_fmt, "keeps", None))
            try:
                for _, item in items_of(batch, self.path, self.fmt, self.fmap):
                    sink.add(item)
            finally:
                writer.close()
            part.text = tmp.read_text(encoding="utf-8")
        part.canonical = b"".join(canon).decode()
        part.labels = res._labels.getvalue() if res._labels is not None else ""
        part.read, part.written, part.unreadable, part.unwritable = res.read, res.written, res.unreadable, res.unwritable
        part.reasons, part.dropped = res.reasons, res.dropped
        return pa.table({"part": pa.array([pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)], pa.binary())})


def _parse_batch(path: str, fmt: str, fmap: FieldMap) -> Callable[[Any], Any]:
    """``map_batches``: a batch of input rows → its items, parsed and pickled (``key``, ``item``)."""
    def parse(batch: Any) -> Any:
        import pyarrow as pa

        keys, items = [], []
        for k, item in items_of(batch, path, fmt, fmap):
            keys.append(k)
            items.append(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        return pa.table({"key": pa.array(keys, pa.int64()), "item": pa.array(items, pa.binary())})
    return parse


def convert_on_ray(src: Path, out: Path, to: str | None, frm: str | None, fmap: FieldMap,
                   address: str | None, on_progress: Callable[[int], None] | None = None,
                   collect_labels: bool = False) -> Any:
    """:func:`redline.data.io.convert` on a Ray cluster: the same output, counts and quarantine.

    The input is read and parsed on the cluster. An output format that writes JSON lines per
    record (``jsonl``, ``openai``, ``sharegpt``, ``alpaca``, ``trl-sft`` …) is also written there,
    batch by batch, and the driver appends the batches' lines to the one output file in order
    (byte for byte the local output); other formats (CSV, Parquet, HF, JSON arrays, TRL DPO/KTO,
    Label Studio …) are written by the driver from the parsed records as they stream back.

    Args:
        src: The input.
        out: The output file.
        to: The output format (None: by extension).
        frm: The input format (None: by extension).
        fmap: The field map.
        address: The Ray cluster (None: a local one, or ``RAY_ADDRESS``).
        on_progress: Called with the number of rows of each batch written.
        collect_labels: Spool the written records' labels (to register the output).

    Returns:
        The :class:`~redline.data.io.ConvertResult`.

    Raises:
        InputError: Bad input, or Ray missing or unreachable.
    """
    from redline.data.formats import detect_format, get_format
    from redline.data.io import convert, open_input

    if not src.exists():
        open_input(src, frm, fmap)  # the local command's error
    to = to or detect_format(out)
    frm = frm or detect_format(src)
    out_fmt = get_format(to)
    get_format(frm)
    if out.resolve() == src.resolve():
        raise InputError("output would overwrite the input", [Problem(str(out), "same path as the input",
                                                                      "write to another file")])
    with ray_data(address) as ray:
        ds = read_dataset(ray, src, frm, fmap)
        if _line_writer(out_fmt):
            conv = ds.map_batches(_ConvertBatch(str(src), frm, fmap, to, collect_labels), batch_format="pyarrow",
                                  batch_size=BATCH_ROWS, zero_copy_batch=True)
            parts = (pickle.loads(b) for batch in conv.iter_batches(batch_format="pyarrow", batch_size=None)
                     for b in batch.column("part").to_pylist())
            return convert(src, out, to, frm, fmap, on_progress, collect_labels, parts=parts)
        parsed = ds.map_batches(_parse_batch(str(src), frm, fmap), batch_format="pyarrow",
                                batch_size=BATCH_ROWS, zero_copy_batch=True)
        items = (pickle.loads(b) for batch in parsed.iter_batches(batch_format="pyarrow", batch_size=None)
                 for b in batch.column("item").to_pylist())
        return convert(src, out, to, frm, fmap, on_progress, collect_labels, items=items)
