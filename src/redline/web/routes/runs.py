"""Evaluation runs: the runs list, a run's page, a sample's verdicts, comparisons and trends.

Any logged-in user may view runs. A run is addressed only by its ``run_id`` as recorded in the
workspace database (``?run=…``); an id the database does not hold is answered 404, so no URL
parameter can make the app read another path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from redline.errors import RedlineError
from redline.web import _runs
from redline.web.deps import SessionDep, WebDep

router = APIRouter()

Text = Annotated[str, Query(max_length=2000)]


def _row(w: Any, run_id: str) -> dict[str, Any]:
    """The database row of the run ``run_id``; 404 when the database holds none."""
    row = w.svc.db.get_run(run_id) if run_id else None
    if row is None:
        raise HTTPException(404, "No such run in this workspace.")
    return row


@router.get("/runs", response_class=HTMLResponse)
def runs_list(request: Request, w: WebDep, sess: SessionDep, target: Text = "", suite: Text = "",
              policy: Text = "", since: Text = "", until: Text = "", page: Text = "") -> Response:
    """The recorded runs, newest first, filtered by target, suite, policy and start date, with gate status."""
    ctx, status = _runs.list_context(w.svc.db, target=target, suite=suite, policy=policy, since=since,
                                     until=until, page=_runs.page_number(page))
    return w.render(request, "runs.html", status=status, session=sess, **ctx)


@router.get("/runs/run", response_class=HTMLResponse)
def run_page(request: Request, w: WebDep, sess: SessionDep, run: Text = "", category: Text = "",
             outcome: Text = "", over_refusal: Text = "", cluster: Text = "", page: Text = "") -> Response:
    """One run: its rates with CIs, calibration caveats, gate, clusters and a filtered page of results."""
    row = _row(w, run)
    row["status"] = _runs.live_status(row)
    if outcome and outcome not in _runs.OUTCOMES:
        raise HTTPException(400, f"Unknown outcome {outcome!r}: choose one of {', '.join(_runs.OUTCOMES)}.")
    if over_refusal not in ("", "yes", "no"):
        raise HTTPException(400, "over_refusal is 'yes', 'no' or empty.")
    flt = _runs.ResultFilter(category=category, outcome=outcome, over_refusal=over_refusal, cluster=cluster)
    ctx = _runs.run_context(row, flt, _runs.page_number(page), w.svc.db)
    return w.render(request, "run.html", session=sess, **ctx)


@router.get("/runs/sample", response_class=HTMLResponse)
def sample_page(request: Request, w: WebDep, sess: SessionDep, run: Text = "", sample: Text = "") -> Response:
    """One sample of a run: the whole conversation, the response and every judge's verdict."""
    row = _row(w, run)
    rec = _runs.find_result_of(row, sample, w.svc.db) if sample else None
    if rec is None:
        raise HTTPException(404, "This run has no such sample.")
    man = _runs.summary_of(row).get("manifest") or {}
    names = _runs.category_names(man)
    return w.render(request, "run_sample.html", session=sess, run_id=row["run_id"], run_name=_runs.run_label(row),
                    rec=rec, row=_runs.result_row(rec, names),
                    **_runs.sample_view(rec, (man.get("suite") or {}).get("path")))


@router.get("/runs/compare", response_class=HTMLResponse)
def compare_page(request: Request, w: WebDep, sess: SessionDep,
                 runs: Annotated[list[str], Query(max_length=2000)] = [],  # noqa: B006 - FastAPI reads it
                 baseline: Text = "0", correction: Text = "holm", allow_judge_mismatch: Text = "",
                 order: Text = "") -> Response:
    """Compare runs against a baseline: per-category differences with CIs, tests and forest plots.

    The runs are compared in the order given (the first is the baseline unless ``baseline`` picks
    another); ``order=oldest`` (the runs list's form) puts them in start order, oldest first.
    """
    rows = [_row(w, r) for r in dict.fromkeys(r for r in runs if r)]
    if order == "oldest":
        rows.sort(key=lambda r: r["started"])
    ids = [r["run_id"] for r in rows]
    base = {"run_ids": ids, "labels": [_runs.run_label(r) for r in rows], "correction": correction,
            "allow_judge_mismatch": bool(allow_judge_mismatch)}

    def problem(status: int, message: str) -> Response:
        return w.render(request, "runs_compare.html", status=status, session=sess, **base, error=message)

    if len(rows) < 2:
        return problem(400, "Choose at least two different runs to compare (tick them in the runs list).")
    try:
        b = int(baseline or 0)
    except ValueError:
        b = -1
    if not 0 <= b < len(rows):
        return problem(400, f"The baseline is the index of one of the {len(rows)} runs (0 to {len(rows) - 1}).")
    base["baseline"] = b
    if correction not in ("holm", "bh"):
        return problem(400, "The correction is 'holm' or 'bh'.")
    try:
        ctx = _runs.compare_context(rows, baseline=b, correction=correction,
                                    allow_judge_mismatch=bool(allow_judge_mismatch), db=w.svc.db)
    except ImportError:
        return problem(501, "Run comparison is not available in this version of Redline.")
    except RedlineError as e:
        return problem(400, str(e))
    return w.render(request, "runs_compare.html", session=sess, **{**base, **ctx, "error": None})


@router.get("/runs/trends", response_class=HTMLResponse)
def trends_page(request: Request, w: WebDep, sess: SessionDep, target: Text = "", suite: Text = "") -> Response:
    """Each category's harmful and over-refusal rate across a target's runs over time, with CIs."""
    if not target or target not in w.svc.db.run_facets()["target"]:
        raise HTTPException(404, "No runs of this target in this workspace.")
    return w.render(request, "runs_trends.html", session=sess, **_runs.trends_context(w.svc.db, target, suite))
