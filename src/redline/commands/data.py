"""``redline data …`` (convert, check, profile, coverage, generate, accept, register, formats) and ``redline sql``."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redline.commands._common import (
    DbOption,
    JsonOption,
    JsonReportOption,
    JsonSummaryOption,
    ProgressOption,
    exit_on_interrupt,
    print_json,
)

if TYPE_CHECKING:
    from redline.data.formats import FieldMap

data_app = typer.Typer(
    name="data", no_args_is_help=True,
    help="Convert, check, profile and cover safety data sets.",
)

@dataclass
class DataInput:
    """How a data command reads its input: ``--from`` and the field-mapping options.

    Attributes:
        frm: The input format (None: by extension).
        maps: ``FIELD=COLUMN`` mappings.
        sets: ``FIELD=VALUE`` constants.
        map_file: A YAML mapping file.
        json_key: JSON: the key of the list of rows; Excel: the sheet.
    """

    frm: str | None = None
    maps: list[str] | None = None
    sets: list[str] | None = None
    map_file: Path | None = None
    json_key: str | None = None

    def field_map(self) -> FieldMap:
        """The field mapping these options give.

        Returns:
            The parsed mapping.

        Raises:
            InputError: A mapping is malformed or the mapping file cannot be read.
        """
        from redline.data.formats import FieldMap

        return FieldMap.parse(self.maps, self.sets, self.map_file, self.json_key)


# The options that make a DataInput, defined once: `data_input` puts them where a command has `inp`.
_DATA_INPUT_OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=annotation)
    for name, annotation in (
        ("frm", Annotated[str | None, typer.Option(
            "--from", help="Input format (default: by extension; see `redline data formats`).")]),
        ("maps", Annotated[list[str] | None, typer.Option(
            "--map", help="Field mapping FIELD=COLUMN, e.g. --map prompt=question (repeatable).")]),
        ("sets", Annotated[list[str] | None, typer.Option(
            "--set", help="Constant FIELD=VALUE for every row, e.g. --set source=vendor-a (repeatable).")]),
        ("map_file", Annotated[Path | None, typer.Option(
            "--map-file", help="YAML mapping file: {map: {prompt: question}, set: {...}}.")]),
        ("json_key", Annotated[str | None, typer.Option(
            "--json-key", help="JSON: the key of the list that holds the rows; Excel: the sheet.")]),
    )
]


def data_input(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the ``--from``/``--map``/``--set``/``--map-file``/``--json-key`` options.

    They take the place of the command's ``inp: DataInput`` parameter (in ``--help`` too), and
    the command receives them as one :class:`DataInput`.

    Args:
        command: A command function with an ``inp`` parameter.

    Returns:
        The command as typer should register it.
    """
    sig = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        params += _DATA_INPUT_OPTIONS if p.name == "inp" else [p]
    names = [p.name for p in _DATA_INPUT_OPTIONS]

    @functools.wraps(command)
    def run(**kwargs: Any) -> None:
        inp = DataInput(**{n: kwargs.pop(n) for n in names})
        command(inp=inp, **kwargs)

    run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    return run


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress display counting rows (total unknown while streaming)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(what)
        pending = [0]

        def tick(n: int) -> None:
            pending[0] += n
            if pending[0] >= 2000:
                prog.advance(task, pending[0])
                pending[0] = 0

        yield tick


ExecutorOption = Annotated[str, typer.Option(
    "--executor", help="Where the rows are processed: local (this process) or ray (a Ray cluster with Ray Data, "
                       "for inputs larger than memory; pip install redline[ray]; docs/data.md).")]
RayAddressOption = Annotated[str | None, typer.Option(
    "--ray-address", help="--executor ray: the cluster's HOST:PORT (default: RAY_ADDRESS, else a local cluster).",
    show_default=False)]

QuarantineOption = Annotated[Path | None, typer.Option(
    "--quarantine", help="Where rows that cannot be read go, with their reasons (default: INPUT.rejected.jsonl; "
                         "written only when a row is rejected).")]


@contextmanager
def _quarantine(path: Path, given: Path | None) -> Iterator[Any]:
    """The :class:`~redline.data.io.Quarantine` for ``path``'s rejected rows (closed on exit)."""
    from redline.data.io import Quarantine, quarantine_path

    q = Quarantine(given or quarantine_path(path))
    try:
        yield q
    finally:
        q.close()


def _data_path(path: Path) -> Path:
    """Typer callback: a data command's input path, or the built-in suite it names."""
    from redline.data.suites import data_path

    return data_path(path)


def _console() -> Any:
    from rich.console import Console

    con = Console(highlight=False)
    return con if con.is_terminal else Console(highlight=False, width=120)


@data_app.command("formats")
def formats_cmd(as_json: JsonOption = False) -> None:
    """List the data formats (read/write)."""
    from redline.data.formats import formats

    out: list[dict[str, Any]] = [{"name": n, "extensions": list(f.extensions), "description": f.description,
            "write": n != "excel"} for n, f in sorted(formats().items())]
    if as_json:
        print_json(out)
        return
    for f in out:
        ext = " ".join(f["extensions"]) or "(--from/--to)"
        typer.echo(f"{f['name']:<13} {'rw' if f['write'] else 'r ':<3} {ext:<18} {f['description']}")


@data_app.command("convert")
@data_input
def convert_cmd(
    src: Annotated[Path, typer.Argument(help="Input file (or datasets folder). A built-in suite's name reads that suite.",
                                         callback=_data_path)],
    out: Annotated[Path, typer.Argument(help="Output file (or folder for --to hf).")],
    to: Annotated[str | None, typer.Option("--to", help="Output format (default: by extension).")] = None,
    inp: DataInput = DataInput(),  # replaced by its options: see data_input
    register: Annotated[bool, typer.Option(help="Register the output in the workspace (datasets, labels).")] = True,
    db: DbOption = None,
    as_json: JsonSummaryOption = False,
    progress: ProgressOption = True,
    allow_image_root: Annotated[list[Path] | None, typer.Option(
        "--allow-image-root", exists=True, file_okay=False,
        help="A folder besides the input's own from which image parts' local files may be embedded (repeatable).")] = None,
    strip_exif: Annotated[bool, typer.Option(
        "--strip-exif", help="Write images that carry EXIF (GPS, camera ids) again without it, into OUT.images/ "
                             "beside the output, and point the records at the copies (originals untouched).")] = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Convert a data set between formats. Unreadable rows go to OUT.rejected.jsonl (exit 2).

    Image parts given by local path are embedded (formats without paths, e.g. openai) only from
    inside the input's folder or an --allow-image-root folder, and only real PNG/JPEG/GIF/WebP
    images within the size limit (REDLINE_MAX_IMAGE_MB, default 20); other rows are rejected."""
    from redline.data.executor import convert
    from redline.data.formats import detect_format
    from redline.data.images import image_access
    from redline.data.register import register_dataset

    with exit_on_interrupt("interrupted (no output written)"):
        fmap = inp.field_map()
        to_fmt = to or detect_format(out)
        with _progress(progress, f"converting {src.name}") as tick, image_access(extra_roots=allow_image_root):
            res = convert(src, out, to_fmt, inp.frm, fmap, tick, register, strip_exif, executor, ray_address)
        if register and res.written:  # a conversion that wrote nothing is not a data set
            register_dataset(db, out, to_fmt, res.written, res.rejected, res.content_hash, res.iter_labels())
    summary = res.to_json()
    if as_json:
        print_json(summary)
    else:
        detail = f" ({res.unreadable} unreadable, {res.unwritable} not expressible as {to_fmt})" \
            if res.unreadable and res.unwritable else \
            (f" (not expressible as {to_fmt})" if res.unwritable else "")
        typer.echo(f"{src} → {out} ({to_fmt}): {res.rows} rows: {res.written} written, "
                   f"{res.rejected} rejected{detail}")
        for note in res.notes:
            typer.echo(f"  note: {note}")
        if res.exif is not None:
            x = res.exif
            typer.echo(f"  EXIF stripped from {x['stripped']} of {x['images']} images in {x['rows']} rows "
                       f"({x['gps']} with GPS, {x['device']} with device ids) → {x['folder'] or 'inline in the rows'}; "
                       "originals untouched")
        if res.rejected:
            for k, v in sorted(res.reasons.items(), key=lambda kv: -kv[1]):
                typer.echo(f"  {v} × {k}")
            typer.echo(f"rejected rows: {res.quarantine}")
        if not res.written:
            typer.echo(f"nothing was written: no output file {out} created"
                       + (" (the existing one was left unchanged)" if out.exists() else "")
                       + ("" if not register else "; not registered in the workspace"))
        typer.echo(res.counts().line())
    if res.rejected or not res.written:
        raise typer.Exit(2)


@data_app.command("register")
@data_input
def register_cmd(
    path: Annotated[Path, typer.Argument(help="Data file (or datasets folder). A built-in suite's name reads that suite.",
                                          callback=_data_path)],
    inp: DataInput = DataInput(),  # replaced by its options: see data_input
    db: DbOption = None,
    quarantine: QuarantineOption = None,
) -> None:
    """Register a data set in the workspace: content hash, row count, labels (for `redline sql`).

    Unreadable rows go to INPUT.rejected.jsonl (exit 2)."""
    from redline.data.io import RowCounts
    from redline.data.register import register_dataset, scan_file

    fmap = inp.field_map()
    with _quarantine(path, quarantine) as q:
        f = scan_file(path, inp.frm, fmap, q)
    register_dataset(db, path, f.fmt, f.rows, f.rejected, f.content_hash, f.labels)
    typer.echo(f"registered {path}: {f.rows} rows, {f.rejected} unreadable, {f.content_hash[:23]}…")
    if q.count:
        typer.echo(f"rejected rows: {q.path}")
    typer.echo(RowCounts(read=f.rows + f.rejected, written=f.rows, rejected=f.rejected, verb="registered").line())
    if f.rejected:
        raise typer.Exit(2)


@data_app.command("check")
@data_input
def check_cmd(
    path: Annotated[Path, typer.Argument(help="Data file to check. A built-in suite's name reads that suite.",
                                          callback=_data_path)],
    standard: Annotated[Path, typer.Option("--standard", help="Standards YAML (see docs/data.md).")],
    inp: DataInput = DataInput(),  # replaced by its options: see data_input
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON report here.")] = None,
    quarantine: QuarantineOption = None,
    as_json: JsonReportOption = False,
    progress: ProgressOption = True,
) -> None:
    """Check a delivery against a dataset standard; exit 1 on violations, 2 on unreadable rows
    (they go to INPUT.rejected.jsonl)."""
    import json

    from redline.data.standards import check_file, load_standard

    with exit_on_interrupt("interrupted"):
        std = load_standard(standard)
        fmap = inp.field_map()
        with _progress(progress, f"checking {path.name}") as tick, _quarantine(path, quarantine) as q:
            rep = check_file(path, std, inp.frm, fmap, tick, q)
        rep["quarantine"] = str(q.path) if q.count else None
    if out is not None:
        out.write_text(json.dumps(rep, indent=2, ensure_ascii=False))
    if as_json:
        print_json(rep)
    else:
        from rich.markup import escape
        from rich.table import Table

        con = _console()
        verdict = "[green]PASSED[/]" if rep["passed"] else f"[red]FAILED[/] — {rep['violations']} violation(s)"
        con.print(f"{escape(str(path))}: {rep['records']} records · standard {escape(rep['standard'])} · {verdict}")
        if rep["rules"]:
            t = Table()
            for c in ("rule", "count", "message", "rows (first 10)"):
                t.add_column(c)
            for v in rep["rules"]:
                t.add_row(escape(v["rule"]), str(v["count"]), escape(v["message"]),
                          escape(", ".join(v["ids"][:10]) + (" …" if len(v["ids"]) > 10 else "")))
            con.print(t)
        for u in rep.get("unreadable", [])[:20]:
            con.print(f"[red]unreadable[/] {escape(u['where'])}: {escape(u['reason'])}", soft_wrap=True)
        _echo_counts(rep)
    if any(v["rule"] == "readable" for v in rep["rules"]):
        raise typer.Exit(2)
    if not rep["passed"]:
        raise typer.Exit(1)


@data_app.command("profile")
@data_input
def profile_cmd(
    path: Annotated[Path, typer.Argument(help="Data file to profile. A built-in suite's name reads that suite.",
                                          callback=_data_path)],
    inp: DataInput = DataInput(),  # replaced by its options: see data_input
    against: Annotated[list[str] | None, typer.Option(
        "--against", help="Eval set to check for leakage: built-in suite name or file (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON report here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML page with plots here.")] = None,
    redact: Annotated[Path | None, typer.Option("--redact", help="Write a PII-redacted copy (JSONL) here.")] = None,
    threshold: Annotated[float, typer.Option(min=0.05, max=1.0, help="Near-duplicate Jaccard threshold.")] = 0.7,
    num_perm: Annotated[int, typer.Option(min=16, max=1024, help="MinHash permutations.")] = 128,
    shingle: Annotated[int, typer.Option(min=1, max=32, help="Character shingle size.")] = 5,
    near: Annotated[bool, typer.Option(help="Near-duplicate detection.")] = True,
    language: Annotated[bool, typer.Option(help="Language identification.")] = True,
    pii: Annotated[bool, typer.Option(help="PII detection.")] = True,
    phone_region: Annotated[str, typer.Option(help="Region for national phone numbers.")] = "US",
    images: Annotated[bool, typer.Option(help=(
        "Image checks: decode errors, formats, sizes, exact and perceptual near duplicates, EXIF, missing files."))] = True,
    image_threshold: Annotated[int, typer.Option(min=0, max=32, help=(
        "Near-duplicate images: the largest Hamming distance (of 64 bits) of both pHash and dHash."))] = 6,
    allow_image_root: Annotated[list[Path] | None, typer.Option(
        "--allow-image-root", exists=True, file_okay=False,
        help="A folder besides the data file's own from which image parts' local files may be read (repeatable).")] = None,
    quarantine: QuarantineOption = None,
    as_json: JsonReportOption = False,
    progress: ProgressOption = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Health checks: duplicates, leakage, PII, language, lengths, encoding, labels, images."""
    import json

    from redline.data.dedup import NearDupConfig
    from redline.data.executor import profile
    from redline.data.profile import ProfileOptions
    from redline.data.standards import load_eval_set

    with exit_on_interrupt("interrupted"):
        fmap = inp.field_map()
        opts = ProfileOptions(near=NearDupConfig(threshold=threshold, num_perm=num_perm, shingle=shingle),
                              near_dups=near, language=language, pii=pii, pii_region=phone_region,
                              against=[load_eval_set(a) for a in against or []], redact_to=redact,
                              images=images, image_threshold=image_threshold)
        with _progress(progress, f"profiling {path.name}") as tick, _quarantine(path, quarantine) as q:
            rep = profile(path, inp.frm, fmap, opts, tick, q, allow_image_root, executor, ray_address)
        rep["quarantine"] = str(q.path) if q.count else None
        if html is not None:
            from redline.data.profile_html import write_profile_html

            write_profile_html(rep, html)
    if out is not None:
        out.write_text(json.dumps(rep, indent=2, ensure_ascii=False))
    if as_json:
        print_json(rep)
    else:
        _print_profile(rep)
        for what, p in (("report", out), ("html", html), ("redacted", redact)):
            if p is not None:
                typer.echo(f"{what}: {p}")
        _echo_counts(rep)
    if rep["rejected"]["count"]:
        raise typer.Exit(2)


def _echo_counts(rep: dict[str, Any]) -> None:
    """The report's closing lines: where rejected rows went, then
    ``rows: N read = N checked + N rejected + N skipped (…)``."""
    from redline.data.io import RowCounts

    if rep.get("quarantine"):
        typer.echo(f"rejected rows: {rep['quarantine']}")
    typer.echo(RowCounts.from_json(rep["row_counts"]).line())


def _print_profile(rep: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{escape(rep['file'])}[/] ({rep['format']}): {rep['records']:,} records, "
              f"{rep['rejected']['count']} unreadable")
    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column()

    def top(d: dict[str, int], k: int = 8) -> str:
        items = list(d.items())
        s = ", ".join(f"{escape(str(a))} {b:,}" for a, b in items[:k])
        return s + (f", … ({len(items)} values)" if len(items) > k else "")

    c = rep["counts"]
    t.add_row("categories", top(c.get("category", {})))
    t.add_row("expected", top(c.get("expected", {})))
    t.add_row("language (declared)", top(c.get("language_declared", {})))
    if "language" in rep:
        lg = rep["language"]
        t.add_row("language (detected)", top(lg["detected"]))
        t.add_row("language mismatches", f"{lg['mismatch_with_declared']['count']:,}")
    t.add_row("scripts", top(rep["scripts"]["main"]) + f" · mixed {rep['scripts']['mixed']['count']:,}")
    pl = rep["lengths"]["prompt_chars"]
    if pl.get("n"):
        t.add_row("prompt chars", f"min {pl['min']} · median {pl['p50']:.0f} · p90 {pl['p90']:.0f} · max {pl['max']}")
    rl = rep["lengths"]["response_chars"]
    if rl.get("n"):
        t.add_row("response chars", f"min {rl['min']} · median {rl['p50']:.0f} · p90 {rl['p90']:.0f} · max {rl['max']}")
    t.add_row("user turns", f"max {rep['lengths']['user_turns'].get('max', 0)}")
    e = rep["empty"]
    t.add_row("empty / whitespace", f"{e['empty_prompt']['count']} / {e['whitespace_only']['count']}")
    enc = rep["encoding"]
    t.add_row("encoding", " · ".join(f"{k} {v['count']}" for k, v in enc.items()))
    t.add_row("duplicate ids", str(rep["duplicate_ids"]["count"]))
    d = rep["duplicates"]
    t.add_row("exact duplicates", f"{d['exact']['clusters']} clusters, {d['exact']['extra_copies']} extra copies")
    if "near" in d:
        n = d["near"]
        t.add_row("near duplicates", f"{n['clusters']} clusters, {n['rows']} rows (Jaccard ≥ {n['threshold']}, "
                  f"{n['num_perm']} perms, {n['shingle']}-char shingles)")
    if "pii" in rep:
        kinds = ", ".join(f"{k} {v['count']}" for k, v in rep["pii"]["by_kind"].items()) or "none"
        t.add_row("PII rows", f"{rep['pii']['rows']['count']} ({kinds})")
    for lab, info in rep["labels"].items():
        t.add_row(f"label {escape(lab)}", top(info.get("counts", {})) + f" · imbalance {info.get('imbalance_ratio')}")
    for lk in rep.get("leakage", []):
        near = lk.get("near", {}).get("rows", "–")
        t.add_row(f"leakage vs {escape(lk['against'])}", f"exact {lk['exact']['rows']} rows · near {near} rows")
    im = rep.get("images")
    if im:
        t.add_row("images", f"{im['images']:,} in {im['rows']:,} rows · decoded {im['decoded']:,} · "
                  f"{top(im['formats'])}")
        if im["width"].get("n"):
            w, h, b = im["width"], im["height"], im["file_bytes"]
            t.add_row("image size", f"width {w['min']}–{w['max']} (median {w['p50']:.0f}) · height {h['min']}–"
                      f"{h['max']} (median {h['p50']:.0f}) · bytes median {b['p50']:,.0f}, max {b['max']:,}")
        for key, label in (("missing", "images missing"), ("decode_errors", "images not decoding"),
                           ("not_read", "images not read"), ("remote_not_checked", "image URLs (not fetched)")):
            if im[key]["count"]:
                t.add_row(label, f"[red]{im[key]['count']:,} rows[/]: " + escape(", ".join(im[key]["ids"][:8])))
        x = im["exif"]
        risk = x["gps"]["count"] + x["device_ids"]["count"]
        t.add_row("image EXIF", f"{x['rows']['count']:,} rows · " + (
            f"[red]privacy risk: GPS {x['gps']['count']:,}, device ids {x['device_ids']['count']:,}[/] "
            f"({escape(', '.join(x['gps']['ids'][:5] or x['device_ids']['ids'][:5]))}; --strip-exif in data convert)"
            if risk else "no GPS or device ids"))
        de = im["duplicates"]["exact"]
        near = im["duplicates"].get("near")
        t.add_row("image duplicates", f"exact {de['clusters']} clusters ({de['extra_copies']} extra copies)" + (
            f" · near {near['clusters']} clusters, {near['images']} images (pHash+dHash ≤ {near['threshold']} bits)"
            if near else ""))
    con.print(t)
    if im:
        for kind, node in (("exact", im["duplicates"]["exact"]), ("near", im["duplicates"].get("near"))):
            if node and node["examples"]:
                con.print(f"{kind}-duplicate image clusters (first 5): " + escape(
                    " | ".join(", ".join(cl[:6]) for cl in node["examples"][:5])))
    if d["exact"]["examples"]:
        con.print("exact duplicate clusters (first 5): " + escape(
            " | ".join(", ".join(cl[:6]) for cl in d["exact"]["examples"][:5])))
    if "near" in d and d["near"]["examples"]:
        con.print("near-duplicate clusters (first 5): " + escape(
            " | ".join(", ".join(cl[:6]) for cl in d["near"]["examples"][:5])))
    for r in rep["rejected"]["rows"][:10]:
        con.print(f"[red]unreadable[/] {escape(r['where'])}: {escape(r['reason'])}")


@data_app.command("coverage")
@data_input
def coverage_cmd(
    path: Annotated[Path, typer.Argument(help="Data file. A built-in suite's name reads that suite.",
                                          callback=_data_path)],
    policy: Annotated[str, typer.Option("--policy", help="Built-in policy name or policy YAML.")] = "default",
    quota: Annotated[Path | None, typer.Option("--quota", help="Quota YAML (see docs/data.md).")] = None,
    requests: Annotated[Path | None, typer.Option("--requests", help=(
        "Write the data requests (JSONL) here: the cells under --quota, or without one under the "
        "default quota of --thin rows per top-level category × language × harmful/benign-contrast."))] = None,
    thin: Annotated[int, typer.Option(min=1, help="Cells with fewer rows than this are thin.")] = 5,
    inp: DataInput = DataInput(),  # replaced by its options: see data_input
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON report here.")] = None,
    strict: Annotated[bool, typer.Option(help=(
        "Exit 1 when there are gaps or rows outside the policy. Gaps: with --quota, cells under quota; "
        "without, empty cells of the top-level matrix (category × language × harmful/benign-contrast)."))] = False,
    assume_harmful: Annotated[bool, typer.Option(
        "--assume-harmful", help="Rows without 'expected' are harmful prompts (the policy's behaviour).")] = False,
    tree: Annotated[bool, typer.Option(
        "--tree", help="One row per policy node (own count and rolled-up total) instead of per top-level category.")
    ] = False,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="An extra coverage dimension: modality (text / image / text+image) (repeatable).")] = None,
    quarantine: QuarantineOption = None,
    as_json: JsonReportOption = False,
    progress: ProgressOption = True,
) -> None:
    """Coverage matrix against a policy (category × language × expected), gaps as data requests.

    Rows of sub-categories are rolled up into their top-level category unless --tree."""
    import json

    from redline.data.coverage import coverage_records, load_quota
    from redline.data.io import open_input
    from redline.policy import load_policy

    with exit_on_interrupt("interrupted"):
        pol = load_policy(policy)
        q = load_quota(quota) if quota else None
        if q is None and requests is not None:
            # Data requests need a quota; without one, the documented default asks every top-level
            # category × language × {harmful, benign-contrast} cell for --thin rows (docs/data.md).
            from redline.data.coverage import Quota

            q = Quota(min_per_cell=thin)
        fmap = inp.field_map()
        with _progress(progress, f"reading {path.name}") as tick, _quarantine(path, quarantine) as qf:
            rep = coverage_records(open_input(path, inp.frm, fmap, qf), pol, q, thin, tick, assume_harmful, tree,
                                   by=by or ())
    rep = {"file": str(path), **rep, "quarantine": str(qf.path) if qf.count else None}
    if quota is None and requests is not None:
        rep["quota"] = {"default": True, "min_per_cell": thin}
    if requests is not None:
        with open(requests, "w", encoding="utf-8") as f:
            for r in rep["requests"]:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if out is not None:
        out.write_text(json.dumps(rep, indent=2, ensure_ascii=False))
    if as_json:
        print_json(rep)
    else:
        _print_coverage(rep, pol)
        if requests is not None:
            basis = (f"the default quota: {thin} rows (--thin) per top-level category × language × "
                     "harmful/benign-contrast cell" if quota is None else f"the quota in {quota}")
            if rep["requests"]:
                typer.echo(f"data requests: {len(rep['requests'])} written to {requests} (against {basis})")
            else:
                typer.echo(f"data requests: none — every cell meets {basis}; {requests} is empty")
        _echo_counts(rep)
    if rep["rejected"]["count"]:
        raise typer.Exit(2)
    if strict and (rep["gaps"]["count"] or rep["outside_policy"]):
        raise typer.Exit(1)


@data_app.command("generate")
def generate_cmd(
    requests: Annotated[list[Path], typer.Option("--requests", help=(
        "Data requests (JSONL from `data coverage --requests` or `redline requests`; repeatable)."))],
    generator: Annotated[str, typer.Option(help="The generator: openai:MODEL | local | local:PATH.gguf | "
                                                "replay:FILE.jsonl (any target plug-in).")],
    out: Annotated[Path, typer.Option("--out", help=(
        "Candidates (JSONL). OUT.drafts.jsonl (the work file: re-running resumes), OUT.dropped.jsonl "
        "and OUT.rejected.jsonl are written beside it."))],
    policy: Annotated[str, typer.Option("--policy", help="Built-in policy name or policy YAML.")] = "default",
    per_request: Annotated[int | None, typer.Option("--per-request", min=1, help=(
        "Candidates to draft per request (default: the request's need)."), show_default=False)] = None,
    batch: Annotated[int, typer.Option(min=1, max=50, help="Prompts asked for per generator call.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of personas, styles, exemplar rotation and sampling.")] = 0,
    temperature: Annotated[float, typer.Option(min=0.0, help="The generator's temperature.")] = 0.9,
    max_tokens: Annotated[int, typer.Option(min=16, help="The generator's tokens per call.")] = 512,
    against: Annotated[list[str] | None, typer.Option("--against", help=(
        "Existing dataset to drop near-duplicates of (repeatable). Every built-in eval suite is always "
        "checked (leakage)."))] = None,
    threshold: Annotated[float, typer.Option(min=0.1, max=1.0, help="Near-duplicate Jaccard threshold.")] = 0.7,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (or OPENAI_BASE_URL).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Generator calls in flight at once.")] = 4,
    timeout: Annotated[float, typer.Option(min=0.1, help="Per-call timeout in seconds.")] = 120.0,
    max_retries: Annotated[int, typer.Option(min=0, max=20, help="Retries per call (hard cap).")] = 4,
    retry_base: Annotated[float, typer.Option(min=0.0, help="First backoff delay in seconds.")] = 0.5,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the generator again even when cached.")] = False,
    quarantine: QuarantineOption = None,
    as_json: JsonReportOption = False,
    progress: ProgressOption = True,
) -> None:
    """Draft candidate prompts for data requests, drop near-duplicates and eval-suite leaks, pre-label them.

    Next: `redline annotate create --task prompt-label --data OUT …`, review, then `redline data accept`
    (docs/production.md)."""
    from redline.data.generate import GenerateOptions, generate
    from redline.evals.runner import RetryPolicy
    from redline.policy import load_policy
    from redline.workspace import Workspace

    with exit_on_interrupt("interrupted: re-run the same command to resume"):
        opts = GenerateOptions(per_request=per_request, batch=batch, seed=seed, temperature=temperature,
                               max_tokens=max_tokens, concurrency=concurrency, against=list(against or []),
                               threshold=threshold, use_cache=not no_cache,
                               retry=RetryPolicy(max_retries=max_retries, base_delay=retry_base))
        rep = generate(list(requests), generator, out, policy=load_policy(policy), opts=opts,
                       target_options={"base_url": base_url, "timeout": timeout, "concurrency": concurrency},
                       cache_path=Workspace.default().cache_path, progress=progress, quarantine=quarantine)
    if as_json:
        print_json(rep.to_json())
        return
    typer.echo(f"{rep.requests} request(s), {rep.units} generator call(s): {rep.calls} made now, "
               f"{rep.resumed} already done ({rep.work})")
    for kind, n in sorted(rep.dropped.items(), key=lambda kv: -kv[1]):
        typer.echo(f"dropped: {n} {kind}")
    typer.echo("checked against: " + ", ".join(f"{k} ({v})" for k, v in rep.references.items()))
    typer.echo(f"{rep.counts.written} candidate(s) → {rep.out}")
    if rep.dropped_file:
        typer.echo(f"dropped rows, each with the row it collided with: {rep.dropped_file}")
    if rep.quarantine:
        typer.echo(f"unusable replies and items, with reasons: {rep.quarantine}")
    typer.echo(rep.counts.line())


@data_app.command("accept")
def accept_cmd(
    project: Annotated[str, typer.Argument(help="A prompt-label annotation project of generated candidates.")],
    into: Annotated[Path, typer.Option("--into", help="The dataset (JSONL) the accepted rows are appended to.")],
    method: Annotated[str, typer.Option(help="Consensus method: majority | dawid-skene | model.")] = "majority",
    db: DbOption = None,
    as_json: JsonReportOption = False,
) -> None:
    """Append a project's accepted items (a category other than none) to the dataset, with provenance.

    Re-running appends nothing twice."""
    from redline.annotate.service import Annotations
    from redline.data.accept import accept
    from redline.workspace import Workspace

    rep = accept(Annotations(Workspace.default(db).db), project, into, method=method)
    if as_json:
        print_json(rep.to_json())
        return
    for cell, n in rep.by_cell.items():
        typer.echo(f"accepted: {n} {cell}")
    typer.echo(f"{rep.counts.written} row(s) appended to {into} ({rep.matched_request} in the cell their "
               "request asked for)")
    typer.echo(rep.counts.line())


def _print_coverage(rep: dict[str, Any], pol: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    tree = rep.get("view") == "tree"
    cols: list[tuple[str, str]] = []
    for c in rep["cells"]:
        key = (c["language"], _COV_KIND.get(c["kind"], "O"))
        if key not in cols:
            cols.append(key)
    cols.sort()
    legend = "H = harmful, B = benign-contrast, O = other behaviour, U = unlabelled"
    t = Table(title=f"coverage vs policy {escape(rep['policy'])} · {rep['records']} records · {legend}",
              title_justify="left",
              caption=f"[red]red[/] empty · [yellow]yellow[/] thin (< {rep['thin_below']} or under quota)"
              + (" · total (own rows of the node)" if tree else " · sub-categories rolled up (--tree for all nodes)"),
              caption_justify="left")
    t.add_column("category", no_wrap=True)
    for lang, k in cols:
        t.add_column(f"{escape(lang)} {k}", justify="right")
    by: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for c in rep["cells"]:
        by.setdefault((c["category"], c["language"], _COV_KIND.get(c["kind"], "O")), []).append(c)
    for node in rep["categories"]:
        cid = node["id"]
        row = ["  " * node["depth"] + escape(cid)]
        for lang, k in cols:
            cells = by.get((cid, lang, k), [])
            if not cells:
                row.append("")
                continue
            n = sum(c["count"] for c in cells)
            q = sum(c["quota"] or 0 for c in cells)
            status = "empty" if n == 0 else ("thin" if any(c["status"] == "thin" for c in cells) else "ok")
            style = {"empty": "red", "thin": "yellow", "ok": ""}[status]
            txt = f"{n}" + (f"/{q}" if q else "")
            own = sum(c.get("own", n) for c in cells)
            if tree and own != n:
                txt += f" ({own})"
            row.append(f"[{style}]{txt}[/]" if style and k in ("H", "B") else txt)
        t.add_row(*row)
    con.print(t)
    we = rep["without_expected"]
    con.print(f"{rep['empty_cells']} empty and {rep['thin_cells']} thin cells; "
              f"{we['count']} rows without 'expected'"
              + (" (counted as harmful: --assume-harmful)" if we.get("assumed_harmful") and we["count"] else ""))
    g = rep["gaps"]
    con.print(f"gaps: {g['count']} " + ("cells under quota" if g["basis"] == "quota"
                                         else "empty cells (harmful / benign-contrast per category × language)"))
    for cat, o in rep["outside_policy"].items():
        con.print(f"[red]outside the policy[/]: category {escape(cat)!r} × {o['count']} "
                  f"(e.g. {escape(', '.join(o['ids'][:5]))})")
    mod = rep.get("by", {}).get("modality")
    if mod:
        mt = Table(title="coverage by modality (H = harmful, B = benign-contrast; all languages)",
                   title_justify="left")
        mt.add_column("category", no_wrap=True)
        for m in mod["values"]:
            for k in ("H", "B"):
                mt.add_column(f"{escape(m)} {k}", justify="right")
        sums: dict[tuple[str, str, str], int] = {}
        for c in mod["cells"]:
            mk = (c["category"], c["modality"], _COV_KIND[c["kind"]])
            sums[mk] = sums.get(mk, 0) + c["count"]
        for node in rep["categories"]:
            row = ["  " * node["depth"] + escape(node["id"])]
            for m in mod["values"]:
                for k in ("H", "B"):
                    n = sums.get((node["id"], m, k), 0)
                    row.append(f"[red]{n}[/]" if n == 0 else (f"[yellow]{n}[/]" if n < rep["thin_below"] else str(n)))
            mt.add_row(*row)
        con.print(mt)
        con.print("modality totals: " + ", ".join(f"{escape(k)} {v}" for k, v in mod["totals"].items())
                  + f" · {mod['empty_cells']} empty and {mod['thin_cells']} thin category × language × modality cells")
    for r in rep["requests"][:30]:
        con.print(f"• {escape(r['text'])}")
    if len(rep["requests"]) > 30:
        con.print(f"… and {len(rep['requests']) - 30} more data requests")


_COV_KIND = {"harmful": "H", "benign-contrast": "B", "other": "O", "unlabelled": "U"}


def sql_cmd(
    query: Annotated[str, typer.Argument(help="One read-only SQL statement, e.g. \"SELECT * FROM runs\".")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write the result to this file.")] = None,
    sync: Annotated[bool, typer.Option(help="Load new/changed run results into `results` first.")] = True,
    max_rows: Annotated[int | None, typer.Option(min=1, help="Stop after this many rows.")] = None,
    timeout: Annotated[float, typer.Option(min=0.0, help="Stop the statement after this many seconds (0: no limit).")] = 30.0,
) -> None:
    """Read-only SQL over the workspace: runs, results, datasets, labels (docs/data.md).

    A statement running longer than --timeout is stopped (exit 2); Ctrl-C stops it at once (exit 130)."""
    import csv
    import io
    import json

    from redline.errors import InputError, Problem
    from redline.workspace import Workspace

    if fmt not in ("table", "csv", "json"):
        raise InputError("bad --format", [Problem("--format", f"{fmt!r}", "use table, csv or json")])
    with exit_on_interrupt("interrupted: the query was stopped"):
        wdb = Workspace.default(db).db
        if sync:
            wdb.sync_results()
        cols, rows = wdb.query_readonly(query, max_rows, timeout=timeout or None)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        w.writerows(rows)
        text = buf.getvalue()
    elif fmt == "json":
        text = json.dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=2, default=str,
                          ensure_ascii=False) + "\n"
    else:
        if out is None:
            from rich.markup import escape
            from rich.table import Table

            t = Table(caption=f"{len(rows)} row(s)", caption_justify="left")
            for c in cols:
                t.add_column(escape(c))
            for r in rows:
                t.add_row(*("" if v is None else escape(str(v)) for v in r))
            _console().print(t)
            return
        text = "\t".join(cols) + "\n" + "".join("\t".join("" if v is None else str(v) for v in r) + "\n"
                                                for r in rows)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(rows)} row(s) → {out}")
    else:
        sys.stdout.write(text)


def register(app: typer.Typer) -> None:
    """Add ``redline data …`` and ``redline sql`` to the ``redline`` app.

    Args:
        app: The root app.
    """
    if data_app.registered_commands:
        app.add_typer(data_app, name="data")
    app.command("sql")(sql_cmd)
