"""The contexts of the runs pages (list, run, sample, comparison, trends) of the web app.

Every run is found by its exact ``run_id`` in the workspace database (the absolute path of its
directory, as ``redline eval`` recorded it): no URL parameter ever names a file. A run's
``results.jsonl`` is streamed line by line (:func:`redline.data.limits.iter_lines`), never
loaded whole; ``gate.json`` and ``clusters.json`` beside it are read when present. Charts are
geometry only: the templates draw them as inline SVG with every label autoescaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from redline.errors import RedlineError

#: runs per page of the runs list; results per page of a run
RUNS_PAGE = 25
RESULTS_PAGE = 50
#: characters of a prompt / response shown in a results table (the sample page shows all)
_CLIP = 300
#: the largest gate.json / clusters.json read (they are small; a bigger file is not shown)
_MAX_SIDE_FILE = 20 * 1024 * 1024
OUTCOMES = ("harmful", "safe", "unassessable")


def clip(text: str | None, n: int = _CLIP) -> str:
    """``text`` cut to ``n`` characters, with a note of how many more there are."""
    if not text:
        return ""
    return text if len(text) <= n else text[:n] + f" … [{len(text) - n} more characters]"


def page_number(raw: str | None) -> int:
    """A 1-based page number from a query parameter (anything odd: page 1)."""
    try:
        return max(1, min(int(raw or 1), 1_000_000))
    except ValueError:
        return 1


def query(**params: Any) -> str:
    """A URL query string of the non-empty parameters (lists repeat the key)."""
    return urlencode([(k, x) for k, v in params.items() if v not in (None, "", [], False)
                      for x in (v if isinstance(v, list | tuple) else [v])])


# -- files beside a run ----------------------------------------------------------------------

def _side_json(run_dir: Path, name: str) -> dict[str, Any] | None:
    """``run_dir/name`` as a JSON object; None when absent; ``{"error": ...}`` when unreadable."""
    path = run_dir / name
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > _MAX_SIDE_FILE:
            return {"error": f"{name} is too large to show"}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"error": f"{name} could not be read: {e}"}
    return data if isinstance(data, dict) else {"error": f"{name} does not hold a JSON object"}


def gate_of(run_dir: Path) -> dict[str, Any] | None:
    """The run's release-gate result (``gate.json`` written by ``redline gate``), or None.

    Args:
        run_dir: The run directory.

    Returns:
        The gate result (``passed``, ``checks``), ``{"error": ...}`` when unreadable, None when absent.
    """
    return _side_json(run_dir, "gate.json")


def clusters_of(run_dir: Path) -> dict[str, Any] | None:
    """The run's failure clusters (``clusters.json``), or None when it has none.

    Args:
        run_dir: The run directory.

    Returns:
        The clusters document, ``{"error": ...}`` when unreadable, None when absent.
    """
    return _side_json(run_dir, "clusters.json")


@lru_cache(maxsize=32)
def _policy_names(source: str, content_hash: str) -> tuple[tuple[str, str], ...]:
    from redline.policy import load_policy

    try:
        pol = load_policy(source)
    except (RedlineError, OSError):
        return ()
    if pol.content_hash != content_hash:  # the pack changed since the run: ids only
        return ()
    return tuple((c.id, c.name) for c in pol.categories)


def category_names(manifest: dict[str, Any]) -> dict[str, str]:
    """Category id → name from the run's policy, when it still loads unchanged (else empty).

    Args:
        manifest: The run's manifest (``summary.json`` ``manifest``).

    Returns:
        The names by id (empty when the policy is gone or changed: pages then show ids).
    """
    pol = manifest.get("policy") or {}
    if not pol.get("source") or not pol.get("hash"):
        return {}
    return dict(_policy_names(str(pol["source"]), str(pol["hash"])))


# -- results.jsonl, streamed -----------------------------------------------------------------

def iter_results(path: Path, needle: bytes | None = None) -> Iterator[dict[str, Any]]:
    """The result records of a run's ``results.jsonl``, one at a time (bad lines skipped).

    Args:
        path: The results file.
        needle: Parse only the lines holding these bytes (a fast pre-filter; callers still check
            each record).

    Yields:
        Each record as written by the runner.
    """
    from redline.data.limits import iter_lines

    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, also when the generator is dropped
    except OSError:
        return
    with f:
        for _, raw in iter_lines(f):
            if isinstance(raw, int) or not raw.strip() or (needle is not None and needle not in raw):
                continue
            try:
                rec = json.loads(raw)
            except ValueError:
                continue  # a torn last line of an interrupted run
            if isinstance(rec, dict) and isinstance(rec.get("sample"), dict):
                yield rec


@dataclass
class ResultFilter:
    """Which results of a run to show: by category, outcome, over-refusal and failure cluster."""

    category: str = ""
    outcome: str = ""
    over_refusal: str = ""  # "", "yes", "no"
    cluster: str = ""
    cluster_ids: frozenset[str] | None = field(default=None, repr=False)

    def params(self) -> dict[str, str]:
        """The filter as query parameters."""
        return {"category": self.category, "outcome": self.outcome, "over_refusal": self.over_refusal,
                "cluster": self.cluster}

    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.params().values())

    def matches(self, rec: dict[str, Any]) -> bool:
        """Whether a result record passes the filter."""
        s = rec["sample"]
        if self.category and s.get("category") != self.category:
            return False
        if self.outcome and rec.get("outcome") != self.outcome:
            return False
        if self.over_refusal and bool(rec.get("over_refusal")) != (self.over_refusal == "yes"):
            return False
        return self.cluster_ids is None or str(s.get("id")) in self.cluster_ids


def page_of(path: Path | Iterable[dict[str, Any]], keep: Callable[[dict[str, Any]], bool], page: int,
            size: int = RESULTS_PAGE) -> tuple[list[dict[str, Any]], bool]:
    """One page of the matching records, streaming the file up to the page's end (plus one).

    Args:
        path: The results file, or the records themselves (from the workspace database).
        keep: Which records match.
        page: The 1-based page.
        size: Records per page.

    Returns:
        The page's records and whether a later page has any.
    """
    skip = (page - 1) * size
    out: list[dict[str, Any]] = []
    for rec in iter_results(path) if isinstance(path, Path) else path:
        if not keep(rec):
            continue
        if skip:
            skip -= 1
            continue
        if len(out) == size:
            return out, True
        out.append(rec)
    return out, False


def find_result(path: Path, sample_id: str) -> dict[str, Any] | None:
    """The record of one sample (its last line, as a rejudged or resumed file may repeat it).

    Args:
        path: The results file.
        sample_id: The sample's id.

    Returns:
        The record, or None when the run has no such sample.
    """
    found = None
    # an ASCII id is written the same way whatever the line's escaping: only its lines are parsed
    needle = json.dumps(sample_id).encode() if sample_id.isascii() else None
    for rec in iter_results(path, needle):
        if str(rec["sample"].get("id")) == sample_id:
            found = rec
    return found


def stored_elsewhere(row: dict[str, Any], db: Any) -> bool:
    """Whether a run's results are read from the workspace database: its directory is not on this
    machine (another machine's disk) and the database holds its records (PostgreSQL workspaces).

    Args:
        row: The run's database row.
        db: The workspace database (None: never).

    Returns:
        True when its records come from ``db``.
    """
    return (db is not None and not (Path(row["run_id"]) / "results.jsonl").is_file()
            and db.has_records(row["run_id"]))


def find_result_of(row: dict[str, Any], sample_id: str, db: Any = None) -> dict[str, Any] | None:
    """One sample's record: from the run's ``results.jsonl``, or from the workspace database
    when the run directory is on another machine (:func:`stored_elsewhere`).

    Args:
        row: The run's database row.
        sample_id: The sample's id.
        db: The workspace database.

    Returns:
        The record, or None when the run has no such sample.
    """
    if stored_elsewhere(row, db):
        return db.get_record(row["run_id"], sample_id)
    return find_result(Path(row["run_id"]) / "results.jsonl", sample_id)


def _texts(msg: dict[str, Any]) -> str:
    content = msg.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") if p.get("type") == "text" else "[image]"
                    for p in content or () if isinstance(p, dict))


def result_row(rec: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A results-table row: id, category, expected, outcome, the last user turn and the response, clipped."""
    s = rec["sample"]
    msgs = [m for m in s.get("messages") or () if isinstance(m, dict)]
    user = [m for m in msgs if m.get("role") == "user"]
    cat = str(s.get("category") or "")
    return {"id": str(s.get("id")), "category": cat, "category_name": names.get(cat, cat),
            "expected": s.get("expected"), "outcome": rec.get("outcome"),
            "over_refusal": rec.get("over_refusal"), "turns": len(msgs),
            "prompt": clip(_texts(user[-1] if user else msgs[-1]) if msgs else ""),
            "response": clip(rec.get("response")), "error": clip(rec.get("error"), 200),
            "labels": [f"{j.get('judge')}: {j.get('label') if j.get('label') is not None else 'error'}"
                       for j in rec.get("judgments") or () if isinstance(j, dict)]}


def sample_view(rec: dict[str, Any], suite_file: str | None = None) -> dict[str, Any]:
    """The sample page's content: every message of the conversation (its images inline, read from
    the run's suite folder: :func:`redline.data.messages.inline_images`) and every judge verdict."""
    from pydantic import ValidationError

    from redline.data.schema import Sample
    from redline.web._views import conversation

    try:
        conv = conversation(Sample.model_validate(rec["sample"]), "prompt-label")
    except ValidationError:  # an older or hand-edited record: show its text parts as they are
        conv = [{"role": str(m.get("role")), "response": False, "parts": [{"kind": "text", "text": _texts(m)}]}
                for m in rec["sample"].get("messages") or () if isinstance(m, dict)]
    _inline(conv, rec["sample"], suite_file)
    judgments = []
    for j in rec.get("judgments") or ():
        if isinstance(j, dict):
            judgments.append({"judge": j.get("judge"), "version": j.get("version"), "label": j.get("label"),
                              "score": j.get("score"), "error": j.get("error"),
                              "fields": j.get("fields") or {},
                              "other": {k: v for k, v in j.items() if k not in (
                                  "judge", "version", "label", "score", "error", "fields")}})
    return {"conversation": conv, "judgments": judgments}


def _inline(conv: list[dict[str, Any]], sample: dict[str, Any], suite_file: str | None) -> None:
    """Put the sample's images (as ``data:`` URLs, or the reason they are not shown) into the
    conversation's image parts, in order."""
    from redline.data.messages import inline_images

    shown = iter(inline_images(sample, suite_file))
    for m in conv:
        for i, p in enumerate(m["parts"]):
            if p.get("kind") in ("image", "missing"):  # _parts makes these of image parts only
                im = next(shown, None)
                if im is None:
                    return
                m["parts"][i] = ({"kind": "image", "src": im["src"]} if im["src"]
                                 else {"kind": "missing", "text": f"[{im['note']}]"})


# -- charts ----------------------------------------------------------------------------------

def ci_bar(r: dict[str, Any] | None, width: int = 120) -> dict[str, Any] | None:
    """Geometry of a small rate bar with its 95% interval whiskers (None when there is no rate)."""
    if not r or r.get("rate") is None:
        return None
    lo, hi = r.get("ci95") or (r["rate"], r["rate"])
    return {"w": width, "x": round(width * r["rate"], 1), "lo": round(width * lo, 1),
            "hi": round(width * hi, 1)}


_SERIES = (("harmful_rate", "harmful responses", "#c0392b", -4),
           ("over_refusal_rate", "over-refusal", "#2471a3", 4))


def trend_charts(runs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """One chart per category (and overall): each run's harmful and over-refusal rate with its CI.

    Args:
        runs: The target's runs, oldest first, each with ``name``, ``started`` and ``metrics``.
        names: Category names by id.

    Returns:
        Per chart: ``title``, ``category``, size, axis ticks, run labels and the points with their
        whiskers (x, y, y of the interval's ends, tooltip).
    """
    cats: list[str] = []
    for r in runs:
        for c in (r["metrics"].get("by_category") or {}):
            if c not in cats:
                cats.append(c)
    w, h, x0, x1, top, bottom = 560, 170, 40, 540, 12, 130
    step = (x1 - x0) / max(1, len(runs))

    def y_of(v: float) -> float:
        return round(bottom - (bottom - top) * v, 1)

    charts = []
    for cat in [None, *sorted(cats)]:
        points = []
        for i, r in enumerate(runs):
            block = r["metrics"].get("overall") if cat is None else (r["metrics"].get("by_category") or {}).get(cat)
            for key, label, colour, dx in _SERIES:
                m = (block or {}).get(key) or {}
                if m.get("rate") is None:
                    continue
                lo, hi = m.get("ci95") or (m["rate"], m["rate"])
                ci = f" [{100 * lo:.1f}, {100 * hi:.1f}]"
                points.append({"x": round(x0 + step * (i + 0.5) + dx, 1), "y": y_of(m["rate"]),
                               "lo": y_of(lo), "hi": y_of(hi), "colour": colour, "series": key,
                               "title": f"{r['name']} · {label}: {100 * m['rate']:.1f}%{ci} "
                                        f"({m.get('k')}/{m.get('n')})"})
        if not points:
            continue
        charts.append({
            "category": cat or "", "title": "Overall" if cat is None else names.get(cat, cat),
            "w": w, "h": h, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
            "ticks": [{"y": y_of(v), "label": f"{int(v * 100)}%"} for v in (0, 0.25, 0.5, 0.75, 1)],
            "xlabels": [{"x": round(x0 + step * (i + 0.5), 1), "label": r["label"]} for i, r in enumerate(runs)],
            "points": points})
    return charts


# -- page contexts ---------------------------------------------------------------------------

def parse_day(raw: str | None, name: str) -> tuple[datetime | None, str | None]:
    """A ``YYYY-MM-DD`` query parameter as the start of that day in UTC, or an error message."""
    if not raw:
        return None, None
    try:
        d = date.fromisoformat(raw.strip())
    except ValueError:
        return None, f"{name} must be a date like 2026-01-31 (got {raw!r})"
    return datetime(d.year, d.month, d.day, tzinfo=UTC), None


def summary_of(row: dict[str, Any]) -> dict[str, Any]:
    """The run's summary (from the database row; an unfinished run has none: ``{}``)."""
    try:
        s = json.loads(row.get("summary") or "{}")
    except ValueError:
        return {}
    return s if isinstance(s, dict) else {}


def live_status(row: dict[str, Any]) -> str:
    """The run's status; a run recorded as ``running`` that no process writes any more is ``incomplete``."""
    from redline.evals.runner import run_in_progress
    from redline.files import this_host

    if row.get("host") not in (None, this_host()):
        return str(row["status"])  # another machine's run: its lock is on that machine
    if row["status"] == "running" and not run_in_progress(Path(row["run_id"])):
        return "incomplete"
    return str(row["status"])


def run_label(row: dict[str, Any]) -> str:
    """A run's short name: its directory's name."""
    return Path(row["run_id"]).name


def list_context(db: Any, *, target: str, suite: str, policy: str, since: str, until: str,
                 page: int) -> tuple[dict[str, Any], int]:
    """The runs list: a filtered page of recorded runs with their gate status, and the filter menus.

    Args:
        db: The workspace database.
        target: Only this target ("" = any).
        suite: Only this suite.
        policy: Only this policy.
        since: Started on or after this day (``YYYY-MM-DD``).
        until: Started on or before this day.
        page: The page.

    Returns:
        The template context and the HTTP status (400 for a bad date).
    """
    errors = []
    t0, e0 = parse_day(since, "From")
    t1, e1 = parse_day(until, "To")
    errors += [e for e in (e0, e1) if e]
    rows, total = db.find_runs(target=target or None, suite=suite or None, policy=policy or None,
                               since=t0, until=t1 + timedelta(days=1) if t1 else None,
                               limit=RUNS_PAGE, offset=(page - 1) * RUNS_PAGE)
    for r in rows:
        r["name"] = run_label(r)
        r["gate"] = gate_of(Path(r["run_id"]))
        r["status"] = live_status(r)
    filters = {"target": target, "suite": suite, "policy": policy, "since": since, "until": until}
    pages = max(1, -(-total // RUNS_PAGE))
    return ({"runs": rows, "total": total, "facets": db.run_facets(), "filters": filters, "errors": errors,
             "page": page, "pages": pages,
             "prev_q": query(**filters, page=page - 1) if page > 1 else None,
             "next_q": query(**filters, page=page + 1) if page < pages else None},
            400 if errors else 200)


def run_context(row: dict[str, Any], flt: ResultFilter, page: int, db: Any = None) -> dict[str, Any]:
    """A run's page: its report (rates with CIs, calibration caveats), gate, clusters and a page of results.

    Args:
        row: The run's database row (with its summary).
        flt: Which results to list (its ``cluster`` is resolved against ``clusters.json`` here).
        page: The page of results.
        db: The workspace database: the results come from it when the run directory is on
            another machine (:func:`stored_elsewhere`).

    Returns:
        The template context.
    """
    run_dir = Path(row["run_id"])
    s = summary_of(row)
    man, metrics = s.get("manifest") or {}, s.get("metrics") or {}
    names = category_names(man)
    clusters = clusters_of(run_dir)
    cluster_list = [c for c in (clusters or {}).get("clusters") or () if isinstance(c, dict)]
    cluster_error = None
    if flt.cluster:
        chosen = next((c for c in cluster_list if str(c.get("id")) == flt.cluster), None)
        if chosen is None:
            cluster_error = f"This run has no failure cluster {flt.cluster!r}: showing no results."
            flt.cluster_ids = frozenset()
        else:
            flt.cluster_ids = frozenset(str(x) for x in chosen.get("sample_ids") or ())
    results_path = run_dir / "results.jsonl"
    from_db = stored_elsewhere(row, db)
    recs, more = page_of(db.iter_records(row["run_id"]) if from_db else results_path, flt.matches, page)
    cats = list((metrics.get("by_category") or {}).keys())
    params = flt.params()
    return {
        "row": row, "run_name": run_label(row), "run_id": row["run_id"], "man": man, "m": metrics,
        "cal": s.get("calibrated"), "names": names, "gate": gate_of(run_dir),
        "clusters": clusters, "cluster_list": cluster_list, "cluster_error": cluster_error,
        "bars": {c: {k: ci_bar((metrics["by_category"][c] or {}).get(k)) for k in
                     ("harmful_rate", "over_refusal_rate")} for c in cats},
        "overall_bars": {k: ci_bar((metrics.get("overall") or {}).get(k))
                         for k in ("harmful_rate", "over_refusal_rate", "unassessable_rate")},
        "categories": cats, "outcomes": OUTCOMES, "filter": params, "filtered": flt.active(),
        "results_missing": not (from_db or results_path.is_file()), "results_from_db": from_db,
        "results": [result_row(r, names) for r in recs], "page": page,
        "prev_q": query(run=row["run_id"], **params, page=page - 1) if page > 1 else None,
        "next_q": query(run=row["run_id"], **params, page=page + 1) if more else None,
    }


def trends_context(db: Any, target: str, suite: str = "", limit: int = 60) -> dict[str, Any]:
    """A target's category rates across its finished runs over time (the latest ``limit`` runs).

    Args:
        db: The workspace database.
        target: The target.
        suite: Only its runs on this suite ("" = all).
        limit: How many of its latest runs to show.

    Returns:
        The template context (``charts`` from :func:`trend_charts`).
    """
    rows, total = db.find_runs(target=target, suite=suite or None, limit=limit, with_summary=True)
    runs, names = [], {}
    for r in reversed(rows):  # oldest first
        s = summary_of(r)
        if not (s.get("metrics") or {}).get("overall"):
            continue  # unfinished: nothing to plot
        names.update(category_names(s.get("manifest") or {}))
        started = r["started"]
        runs.append({"name": run_label(r), "run_id": r["run_id"], "suite": r["suite"], "policy": r["policy"],
                     "started": started, "metrics": s["metrics"],
                     "label": started.strftime("%m-%d %H:%M") if isinstance(started, datetime) else str(started)})
    suites = sorted({r["suite"] for r in runs})
    all_suites = sorted({r["suite"] for r in db.find_runs(target=target, limit=1000)[0]})
    return {"target": target, "suite": suite, "runs": runs, "total": total, "limit": limit, "suites": suites,
            "all_suites": all_suites,
            "charts": trend_charts(runs, names)}


def compare_context(rows: list[dict[str, Any]], *, baseline: int, correction: str,
                    allow_judge_mismatch: bool, db: Any = None) -> dict[str, Any]:
    """The comparison page: :func:`redline.learn.compare.compare_runs` over the runs, with forest plots.

    Args:
        rows: The runs' database rows, in the order asked.
        baseline: Which of them is the baseline (index).
        correction: The multiple-testing correction (``holm`` or ``bh``).
        allow_judge_mismatch: Compare runs judged by different judges anyway.
        db: The workspace database: runs whose directory is on another machine are read from it.

    Returns:
        The template context.

    Raises:
        RedlineError: When the runs cannot be compared (e.g. different judges); its message is shown.
    """
    from redline.learn.compare import compare_runs
    from redline.learn.runs import run_from_row

    specs: list[Any] = [run_from_row(r, db) if stored_elsewhere(r, db) else Path(r["run_id"]) for r in rows]
    res = compare_runs(specs, baseline=baseline,
                       correction="bh" if correction == "bh" else "holm",
                       allow_judge_mismatch=allow_judge_mismatch)
    return {**compare_view(res, rows), "baseline": baseline, "correction": correction,
            "allow_judge_mismatch": allow_judge_mismatch}


def compare_view(res: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The comparison page's content from a :func:`redline.learn.compare.compare_runs` result.

    Args:
        res: The comparison (its JSON form).
        rows: The compared runs' database rows, in the comparison's order.

    Returns:
        The template context: runs (with their ``run_id``), warnings, comparisons with forest plots.
    """
    names: dict[str, str] = {}
    for r in rows:
        names.update(category_names(summary_of(r).get("manifest") or {}))
    runs = res.get("runs") or []
    for i, r in enumerate(runs):
        r["run_id"] = rows[i]["run_id"] if i < len(rows) else None
    from redline.report.compare import METRIC_NAMES, TEST_NAMES, forest_svg

    comparisons = []
    for c in res.get("comparisons") or ():
        plots = []
        for metric, label in METRIC_NAMES.items():
            rows_m = [{**r, "category": names.get(r["category"], r["category"])} if r.get("category") else r
                      for r in c.get("rows") or () if r.get("metric") == metric]
            if rows_m:
                plots.append(forest_svg(rows_m, title=label))
        comparisons.append({**c, "plots": plots})
    return {"result": res, "runs": runs, "warnings": res.get("warnings") or [], "comparisons": comparisons,
            "names": names, "test_names": TEST_NAMES, "run_ids": [r["run_id"] for r in rows]}
