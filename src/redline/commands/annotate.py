"""``redline annotate …``: labelling projects — create, users, serve the web UI, vendor batches,
agreement, consensus, the review queue, the quality report and the exports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redline.commands._common import DbOption, JsonOption, cannot_write, print_json, writing
from redline.errors import InputError, Problem

if TYPE_CHECKING:
    from redline.annotate.service import Annotations

annotate_app = typer.Typer(
    name="annotate", no_args_is_help=True,
    help="Annotation projects: label prompts, responses and preferences against a policy, with "
         "overlap, gold, agreement, consensus, adjudication and exports.",
)
user_app = typer.Typer(name="user", no_args_is_help=True, help="Annotators, reviewers and admins.")
annotate_app.add_typer(user_app, name="user")

_PROJECT = Annotated[str, typer.Argument(help="Project name (see `redline annotate status`).")]
_METHOD = Annotated[str, typer.Option(help="Consensus method: majority | dawid-skene | model | median "
                                             "(ordinal fields, e.g. rubric scores; nominal ones use majority).")]
_JUDGE = Annotated[str | None, typer.Option(help="Judge whose probabilities the model-assisted consensus "
                                                  "uses (e.g. harm, refusal).")]


def _svc(db: str | None) -> Annotations:
    from redline.annotate.service import Annotations
    from redline.workspace import Workspace

    return Annotations(Workspace.default(db).db)


def _console() -> Any:
    from rich.console import Console

    con = Console(highlight=False, soft_wrap=True)
    if not con.is_terminal:
        con = Console(highlight=False, soft_wrap=True, width=160)
    return con


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")


def _rate_map(values: list[str] | None, flag: str, kind: type) -> dict[str, Any]:
    """``["0.1", "self_harm=0.3"]`` → ``{"*": 0.1, "self_harm": 0.3}``."""
    out: dict[str, Any] = {}
    problems = []
    for v in values or []:
        for part in v.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, num = part.rpartition("=")
            key = key.strip() if sep else "*"
            try:
                val = kind(num.strip())
            except ValueError:
                problems.append(Problem(f"{flag} {part}", f"{num!r} is not a number",
                                        f"write {flag} 0.1 or {flag} CATEGORY=0.2" if kind is float
                                        else f"write {flag} 20 or {flag} CATEGORY=10"))
                continue
            if val < 0 or (kind is float and val > 1):
                problems.append(Problem(f"{flag} {part}", f"{val} is out of range",
                                        "a rate is between 0 and 1" if kind is float else "give a count ≥ 0"))
                continue
            out[key] = val
    if problems:
        raise InputError(f"bad {flag}", problems)
    return out


def _check_judge(name: str) -> None:
    from redline.annotate.exports import check_judge

    check_judge(name)


@annotate_app.command("create")
def create_cmd(
    policy: Annotated[str, typer.Option(help="Policy pack: built-in name, YAML file or pack folder.")],
    data: Annotated[Path, typer.Option(help="Items to label, in any supported format (`redline data formats`).")],
    task: Annotated[str, typer.Option(help="prompt-label | response-label | preference | sft-write | "
                                           "revise | rubric-score (with a rubric pack).")],
    name: Annotated[str | None, typer.Option(help="Project name (default: the data file's stem).")] = None,
    overlap: Annotated[int, typer.Option(min=1, max=50, help="Independent labels per item (k).")] = 3,
    gold: Annotated[Path | None, typer.Option(help="Gold items: records whose labels.* hold the answer.")] = None,
    gold_rate: Annotated[list[str] | None, typer.Option(
        "--gold-rate", help="Share of served items that are gold: 0.1, or CATEGORY=0.2 (repeatable).")] = None,
    blur: Annotated[list[str] | None, typer.Option(
        "--blur", help="Category whose content is blurred until revealed (repeatable).")] = None,
    exposure_budget: Annotated[list[str] | None, typer.Option(
        "--exposure-budget", help="Items per annotator per day: N, or CATEGORY=N (repeatable).")] = None,
    judge: Annotated[str | None, typer.Option(
        help="A judge (e.g. harm, refusal) whose disagreement with the consensus sends an item to the review "
             "queue; default: none (the queue holds disagreement and low-confidence items).")] = None,
    quarantine: Annotated[Path | None, typer.Option(help="Where unreadable rows go (default DATA.rejected.jsonl).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a project: the label schema is compiled from the policy; rows that cannot be read go to a
    quarantine file (exit 2)."""
    from redline.annotate.project_files import ItemFiles, create_project_from_files
    from redline.annotate.rows import ProjectSettings
    from redline.annotate.schema import TASKS
    from redline.data.io import quarantine_path
    from redline.policy.loader import load_pack

    if task not in TASKS:
        raise InputError(f"unknown task {task!r}", [Problem("--task", f"{task!r}", f"use one of {', '.join(TASKS)}")])
    pol = load_pack(policy)
    ref = str(Path(policy).resolve()) if Path(policy).exists() else policy
    rates = _rate_map(gold_rate, "--gold-rate", float) or {"*": 0.1}
    budget = _rate_map(exposure_budget, "--exposure-budget", int)
    unknown = [c for c in [*(blur or []), *[k for k in {**rates, **budget} if k != "*"]]
               if c not in pol.category_ids]
    if unknown:
        raise InputError("unknown categories", [Problem(c, "not a node of the policy",
                                                        f"use one of {', '.join(pol.category_ids)}")
                                                for c in unknown])
    if judge is not None:
        _check_judge(judge)
    files = ItemFiles.read(data, gold)
    settings = ProjectSettings(blur_categories=list(blur or []), exposure_budget=budget, judge=judge)
    made = create_project_from_files(_svc(db), name or data.stem, files, quarantine or quarantine_path(data),
                                     policy=pol, policy_ref=ref, task=task, overlap=overlap, gold_rate=rates,
                                     settings=settings)
    proj, recs, grecs = made.project, files.records, files.gold_records
    rejected, gold_rejected, q, gq = made.rejected, made.gold_rejected, made.quarantine, made.gold_quarantine
    summary: dict[str, Any] = {"project": proj.name, "task": proj.task, "policy": {"name": proj.policy_name,
               "version": proj.policy_version, "hash": proj.policy_hash}, "items": len(recs),
               "gold": len(grecs), "overlap": proj.overlap, "gold_rate": proj.gold_rate,
               "rejected": rejected + gold_rejected,
               "quarantine": [str(p) for p, n in ((q, rejected), (gq, gold_rejected)) if n and p]}
    from redline.data.io import RowCounts

    counts = RowCounts(read=len(recs) + len(grecs) + rejected + gold_rejected, written=len(recs) + len(grecs),
                       rejected=rejected + gold_rejected, verb="added as items")
    summary["row_counts"] = counts.to_json()
    slashed = [r.id for r in [*recs, *grecs] if "/" in r.id]
    if slashed:  # they work (the web UI encodes ids in URLs), but proxies may refuse %2F
        summary["warnings"] = [
            f"{len(slashed)} item id(s) contain '/' (e.g. {slashed[0]!r}): the web UI encodes them in "
            "URLs (%2F), which some reverse proxies refuse by default (nginx merge_slashes, Apache "
            "AllowEncodedSlashes); ids without '/' avoid that"]
        for w in summary["warnings"]:
            sys.stderr.write(f"warning: {w}\n")
    if as_json:
        print_json(summary)
    else:
        _echo(f"project {proj.name}: {proj.task}, {len(recs)} items + {len(grecs)} gold, k={proj.overlap}, "
              f"policy {proj.policy_name} {proj.policy_version} ({proj.policy_hash})")
        if rejected or gold_rejected:
            _echo(f"{rejected + gold_rejected} row(s) rejected, with reasons: {', '.join(summary['quarantine'])}")
        _echo("next: redline annotate user add NAME --role annotator; redline annotate serve")
        _echo(counts.line())
    if rejected or gold_rejected:
        raise typer.Exit(2)


@annotate_app.command("set-policy")
def set_policy_cmd(project: _PROJECT,
                   policy: Annotated[str, typer.Option(help="The new policy pack (name, YAML or folder).")],
                   db: DbOption = None) -> None:
    """Switch a project to a new policy version; labels made under the old one are kept and shown as such."""
    from redline.policy.loader import load_pack

    pol = load_pack(policy)
    ref = str(Path(policy).resolve()) if Path(policy).exists() else policy
    p = _svc(db).set_policy(project, pol, ref)
    _echo(f"project {p.name}: policy {p.policy_name} {p.policy_version} ({p.policy_hash})")


# -- users ---------------------------------------------------------------------------------


@user_app.command("add")
def user_add_cmd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin | reviewer | annotator.")] = "annotator",
    vendor: Annotated[str | None, typer.Option(help="Vendor/team (none: in-house). A reviewer with a vendor "
                                                    "is that vendor's manager.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin "
                                                 "(else one is generated and printed once).")] = False,
    db: DbOption = None,
) -> None:
    """Add a user (password from stdin, or generated and printed once)."""
    import secrets

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < 8:
            raise InputError("password too short", [Problem("stdin", "fewer than 8 characters",
                                                            "give a longer password")])
    else:
        password = secrets.token_urlsafe(12)
    svc = _svc(db)
    if vendor:
        svc.add_vendor(vendor)
    u = svc.add_user(username, password, role, vendor)
    _echo(f"user {u.username}: {u.role}" + (f" of vendor {u.vendor}" if u.vendor else " (in-house)"))
    if not password_stdin:
        _echo(f"password: {password}")
        sys.stderr.write("the password is shown only once: hand it over now\n")


def _check_vendor(svc: Annotations, vendor: str) -> None:
    """``vendor`` exists, else InputError with the closest names."""
    import difflib

    names = svc.list_vendors()
    if vendor in names:
        return
    close = difflib.get_close_matches(vendor, names, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise InputError(f"unknown vendor {vendor!r}", [Problem(
        "--vendor", f"no vendor named {vendor!r}",
        f"{hint}vendors: {', '.join(names)}" if names else "no vendor yet: `redline annotate user add NAME --vendor V`"
        " creates one")])


@user_app.command("list")
def user_list_cmd(vendor: Annotated[str | None, typer.Option(help="Only this vendor's users.")] = None,
                  db: DbOption = None, as_json: JsonOption = False) -> None:
    """List users."""
    svc = _svc(db)
    if vendor is not None:
        _check_vendor(svc, vendor)
    users = svc.list_users(vendor)
    if as_json:
        print_json([u.model_dump(mode="json") for u in users])
        return
    for u in users:
        state = "active" if u.active else f"paused ({u.paused_reason or 'no reason'})"
        _echo(f"{u.username:<20} {u.role:<10} {u.vendor or '(in-house)':<16} {state}")


@user_app.command("pause")
def user_pause_cmd(username: Annotated[str, typer.Argument()],
                   reason: Annotated[str, typer.Option(help="Why (shown to the annotator).")] = "paused by an admin",
                   db: DbOption = None) -> None:
    """Pause a user: no new items until resumed."""
    _svc(db).pause(username, reason)
    _echo(f"paused {username}")


@user_app.command("resume")
def user_resume_cmd(username: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Resume a paused user."""
    _svc(db).resume(username)
    _echo(f"resumed {username}")


@user_app.command("passwd")
def user_passwd_cmd(username: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Set a user's password from stdin."""
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise InputError("password too short", [Problem("stdin", "fewer than 8 characters", "give a longer password")])
    _svc(db).set_password(username, password)
    _echo(f"password of {username} changed")


# -- status and serve ------------------------------------------------------------------------


@annotate_app.command("status")
def status_cmd(project: Annotated[str | None, typer.Argument(help="A project (default: all).")] = None,
               vendor: Annotated[str | None, typer.Option(help="Only this vendor's work.")] = None,
               db: DbOption = None, as_json: JsonOption = False) -> None:
    """Progress of the projects (or of one, per annotator)."""
    svc = _svc(db)
    projects = [svc.get_project(project)] if project else svc.list_projects()
    out = []
    for p in projects:
        pr = svc.progress(p.name, vendor=vendor)
        out.append({"project": p.name, "task": p.task, "policy": f"{p.policy_name} {p.policy_version}",
                    "overlap": p.overlap, **pr.model_dump(mode="json")})
    if as_json:
        print_json(out if project is None else out[0])
        return
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    if not out:
        _echo("no projects yet: redline annotate create --policy PACK --data FILE --task TASK")
        return
    t = Table(title="projects")
    for c in ("project", "task", "policy", "items", "k", "labels", "target", "done items", "open", "skipped"):
        t.add_column(c, justify="left" if c in ("project", "task", "policy") else "right")
    for r in out:
        t.add_row(escape(r["project"]), r["task"], escape(r["policy"]), str(r["items"]), str(r["overlap"]),
                  str(r["labels"]), str(r["target_labels"]), str(r.get("done_items", "")), str(r["open"]),
                  str(r["skipped"]))
    con.print(t)
    if project and out[0].get("per_user"):
        u = Table(title="annotators")
        cols = sorted({k for v in out[0]["per_user"].values() for k in v})
        u.add_column("user")
        for c in cols:
            u.add_column(c, justify="right")
        for name, v in sorted(out[0]["per_user"].items()):
            u.add_row(escape(name), *[str(v.get(c, 0)) for c in cols])
        con.print(u)


@annotate_app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on (use a reverse proxy with TLS to "
                                           "expose it beyond this machine).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind HTTPS).")] = False,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        "--forwarded-allow-ips", help="Comma-separated IPs/networks of reverse proxies whose "
        "X-Forwarded-For/-Proto headers are trusted (the client IP of the login rate limit comes from "
        "them). Default: none, the headers are ignored and the peer address is the client IP.")] = None,
    db: DbOption = None,
) -> None:
    """Serve the web UI: annotation (annotators, reviewers, dashboard) and the runs pages."""
    import uvicorn

    from redline.web.app import create_app
    from redline.workspace import Workspace

    trusted = [x.strip() for x in (forwarded_allow_ips or "").split(",") if x.strip()]
    if forwarded_allow_ips is not None and not trusted:
        raise InputError("bad --forwarded-allow-ips", [Problem(
            "--forwarded-allow-ips", "empty", "give the proxy's address, e.g. 127.0.0.1, or leave it out")])
    app = create_app(Workspace.default(db).db_url, secure_cookies=secure_cookies)
    sys.stderr.write(f"serving on http://{host}:{port}/ (Ctrl-C to stop)\n")
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (or $FORWARDED_ALLOW_IPS) by default: anyone able
    # to reach the port through a local process could then pick the client IP of the login rate
    # limit. Proxy headers are trusted only from the addresses given here.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=bool(trusted),
                forwarded_allow_ips=",".join(trusted) if trusted else None)


# -- quality ---------------------------------------------------------------------------------


def _fmt_metric(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "–"
    ci = m.get("ci")
    return f"{m['value']:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


@annotate_app.command("agreement")
def agreement_cmd(
    project: _PROJECT,
    field: Annotated[str | None, typer.Option(help="Only this field.")] = None,
    by: Annotated[str | None, typer.Option(help="Break down by category | vendor | policy-version.")] = None,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's labels.")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Inter-annotator agreement with 95% bootstrap CIs: Krippendorff's α (at each field's level),
    Fleiss' κ, mean pairwise Cohen's κ, Gwet's AC1 and percent agreement."""
    from redline.annotate.project_quality import project_quality

    keys = {None: "by_field", "category": "by_category", "vendor": "by_vendor", "policy-version": "by_policy_version"}
    if by not in keys:
        raise InputError(f"unknown --by {by!r}", [Problem("--by", f"{by!r}", "use category, vendor or policy-version")])
    q = project_quality(_svc(db), project, vendor=vendor, judge=None)  # agreement needs no judge
    ag = q["agreement"][keys[by]]
    groups: dict[str, dict[str, Any]] = {"all": ag} if by is None else ag
    names = [f["name"] for f in q["fields"]]
    if field is not None:
        if field not in names:
            raise InputError(f"no agreement for field {field!r}", [Problem(
                "--field", f"{field!r}", f"use one of {', '.join(names) or '(none)'}")])
        groups = {g: {field: v[field]} for g, v in groups.items() if field in v}
    if as_json:
        print_json(groups if by else groups["all"])
        return
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(f"{project}: agreement" + (f" by {by}" if by else "") + " (95% bootstrap CI)"))
    for c in ("group", "field", "level", "items", "raters", "α", "Fleiss κ", "Cohen κ", "Gwet AC1", "% agree"):
        t.add_column(c, justify="left" if c in ("group", "field", "level") else "right")
    for g, per in groups.items():
        for f, r in per.items():
            t.add_row(escape(str(g)), escape(f), r["level"], str(r["n_items"]), str(r["n_raters"]),
                      _fmt_metric(r["alpha"]), _fmt_metric(r["fleiss_kappa"]), _fmt_metric(r["cohen_kappa"]),
                      _fmt_metric(r["gwet_ac1"]), _fmt_metric(r["percent_agreement"]))
    _console().print(t)


@annotate_app.command("consensus")
def consensus_cmd(project: _PROJECT, method: _METHOD = "dawid-skene", judge: _JUDGE = None,
                  out: Annotated[Path | None, typer.Option(help="Also write the decided labels (JSONL records).")] = None,
                  db: DbOption = None, as_json: JsonOption = False) -> None:
    """Decide each item's label: adjudication > gold answer > consensus of the annotators."""
    from redline.annotate.exports import decide, export_project

    with writing(out):
        svc = _svc(db)
        decided, unlabelled = decide(svc, project, method=method, judge=judge)
        written = export_project(svc, project, "records", out, method=method, judge=judge, fmt="jsonl") if out else None
    by_how: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    low = 0
    for d in decided:
        by_how[d.how] = by_how.get(d.how, 0) + 1
        conf = [c for c in d.confidence.values() if c is not None]
        if conf and min(conf) < 0.7:
            low += 1
        for k, v in d.values.items():
            if v is not None and not isinstance(v, str) or (isinstance(v, str) and len(v) <= 40):
                counts.setdefault(k, {})
                counts[k][str(v)] = counts[k].get(str(v), 0) + 1
    judges = sorted({j for d in decided for j in d.judges.values()})
    res = {"project": project, "method": method, "judges": judges, "items": len(decided), "unlabelled": unlabelled,
           "decided_by": by_how, "low_confidence": low, "label_counts": counts,
           **({"out": str(out)} if written else {})}
    if as_json:
        print_json(res)
        return
    _echo(f"{project}: {len(decided)} items decided ({', '.join(f'{k} {v}' for k, v in sorted(by_how.items()))}), "
          f"{unlabelled} unlabelled, {low} below 0.7 confidence")
    for k, c in counts.items():
        _echo(f"  {k}: " + ", ".join(f"{v}={n}" for v, n in sorted(c.items(), key=lambda kv: -kv[1])))
    if written:
        _echo(f"wrote {out}")


@annotate_app.command("queue")
def queue_cmd(project: _PROJECT,
              vendor: Annotated[str | None, typer.Option(help="Only this vendor's items.")] = None,
              min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="Items below this consensus "
                                                            "confidence are queued.")] = 0.7,
              limit: Annotated[int, typer.Option(min=1)] = 50,
              include_incomplete: Annotated[bool, typer.Option(
                  "--include-incomplete", help="Also items whose labelling is not complete yet (fewer "
                  "than k labels while annotators may still get them).")] = False,
              db: DbOption = None, as_json: JsonOption = False) -> None:
    """The adjudication queue: disagreements, low-confidence consensus, consensus vs judge — on any
    labelled field; by default only items whose labelling is complete."""
    from redline.annotate.project_quality import review_queue

    entries = review_queue(_svc(db), project, vendor=vendor, min_confidence=min_confidence,
                           include_incomplete=include_incomplete)
    rows = [e.to_dict() for e in entries]
    if as_json:
        print_json(rows)
        return
    _echo(f"{project}: {len(rows)} item(s) to adjudicate")
    for r in rows[:limit]:
        conf = r.get("confidence")
        _echo(f"  {r['item_id']:<24} {r.get('detail') or r['reason']} · confidence "
              f"{'–' if conf is None else f'{conf:.2f}'} · {r.get('n_labels', '?')} labels"
              + ("" if r.get("complete", True) else " · labelling incomplete"))
    if len(rows) > limit:
        _echo(f"  … {len(rows) - limit} more (--limit, or --json for all)")
    from redline.annotate.critique import critique_flags

    flags = critique_flags(_svc(db), project)
    if flags:
        _echo(f"{len(flags)} item(s) flagged by the model critique (not adjudicated yet): "
              + ", ".join(f["item_id"] for f in flags[:limit]))


@annotate_app.command("report")
def report_cmd(project: _PROJECT,
               out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("annotation-report.html"),
               vendor: Annotated[str | None, typer.Option(help="Only this vendor's work.")] = None,
               judge: _JUDGE = None,
               db: DbOption = None) -> None:
    """The quality report: one self-contained HTML page with tables and plots."""
    from redline.annotate.report import write_report

    with writing(out):
        path = write_report(_svc(db), project, out, vendor=vendor, judge=judge)
    _echo(f"wrote {path}")


# -- outputs ---------------------------------------------------------------------------------


@annotate_app.command("export")
def export_cmd(project: _PROJECT,
               as_: Annotated[str, typer.Option("--as", help="records | sft | dpo | kto.")] = "records",
               out: Annotated[Path, typer.Option(help="Output file.")] = Path("labels.jsonl"),
               to: Annotated[str | None, typer.Option("--to", help="Records: the data format (default: by "
                                                      "extension).")] = None,
               method: _METHOD = "dawid-skene", judge: _JUDGE = None,
               db: DbOption = None, as_json: JsonOption = False) -> None:
    """Export decided labels: records (labels + provenance in meta) or TRL SFT/DPO/KTO data."""
    from redline.annotate.exports import export_project

    with writing(out):
        res = export_project(_svc(db), project, as_, out, method=method, judge=judge, fmt=to)
    if as_json:
        print_json(res.to_json())
        return
    extra = "".join(f", {n} {why}" for why, n in res.not_exportable.items())
    _echo(f"wrote {res.written} row(s) from {res.items} item(s) to {out} ({res.unlabelled} unlabelled{extra})")


@annotate_app.command("casebook")
def casebook_cmd(project: _PROJECT,
                 out: Annotated[Path, typer.Option(help="The policy pack YAML to write.")] = Path("casebook.yaml"),
                 name: Annotated[str | None, typer.Option(help="Name of the new pack.")] = None,
                 db: DbOption = None) -> None:
    """Write a policy pack that extends the project's policy with its promoted adjudicated cases."""
    from redline.annotate.exports import casebook_pack

    with writing(out, "choose a writable path"):
        text, n = casebook_pack(_svc(db), project, name=name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    _echo(f"wrote {out}: {n} adjudicated case(s); check it with: redline policy lint {out}")


# -- vendor round-trip -----------------------------------------------------------------------


@annotate_app.command("export-batch")
def export_batch_cmd(
    project: _PROJECT,
    vendor: Annotated[str, typer.Option(help="The vendor the batch is for.")],
    annotators: Annotated[str, typer.Option(help="Comma-separated annotators of that vendor.")],
    out: Annotated[Path, typer.Option(help="Batch file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv | jsonl | label-studio.")] = "jsonl",
    per_annotator: Annotated[int, typer.Option(min=1, help="Items per annotator.")] = 50,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Assign items to a vendor's annotators and write them for an external platform (gold hidden)."""
    from redline.annotate.vendor import export_batch

    names = [a.strip() for a in annotators.split(",") if a.strip()]
    with writing(out):
        res = export_batch(_svc(db), project, vendor, names, fmt, out, per_annotator=per_annotator)
    if as_json:
        print_json(res.to_json())
        return
    _echo(f"wrote {res.rows} row(s) to {out}: " + ", ".join(f"{u} {n}" for u, n in res.per_annotator.items()))
    if res.config:
        _echo(f"Label Studio labelling config: {res.config}")


@annotate_app.command("import-batch")
def import_batch_cmd(
    project: _PROJECT,
    file: Annotated[Path, typer.Argument(help="The returned batch (CSV, JSONL, or Label Studio JSON export).")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv | jsonl | label-studio (default: by extension).")] = None,
    quarantine: Annotated[Path | None, typer.Option(help="Where rejected rows go (default FILE.rejected.jsonl).")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import returned labels: every row validated and attributed to its annotator; rejected rows go
    to a quarantine file with file:line and reason (exit 2). Re-importing a file is idempotent."""
    from redline.annotate.vendor import import_batch

    try:
        res = import_batch(_svc(db), project, file, fmt=fmt, quarantine=quarantine)
    except OSError as e:  # the quarantine file
        raise cannot_write(quarantine, e, "choose a path in a writable folder (--out)") from None
    if as_json:
        print_json(res.to_json())
    else:
        _echo(f"{res.rows} row(s): {res.imported} imported, {res.already} already imported, {res.skipped} skipped, "
              f"{res.rejected} rejected")
        if res.rejected:
            _echo(f"rejected rows, with reasons: {res.quarantine}")
            for why, n in sorted(res.reasons.items(), key=lambda kv: -kv[1]):
                _echo(f"  {n} × {why}")
        _echo(res.counts().line())
    if res.rejected:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``redline annotate …`` and ``redline serve`` (the same web app) to the ``redline`` app.

    Args:
        app: The root app.
    """
    app.add_typer(annotate_app, name="annotate")
    app.command("serve", help="Serve the web app: annotation, and the runs pages (runs list, run "
                "reports and samples, comparisons, trends, release gates).")(serve_cmd)


# -- model assistance: suggestions (anchoring experiment), drafts, critique -------------------

_BASE_URL = Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (or OPENAI_BASE_URL).")]
_API_KEY = Annotated[str | None, typer.Option(help="API key (prefer the OPENAI_API_KEY variable).",
                                              show_default=False)]


def _cache(db: str | None) -> Path:
    from redline.workspace import Workspace

    return Workspace.default(db).cache_path


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in sorted(d.items())) or "none"


@annotate_app.command("prelabel")
def prelabel_cmd(project: _PROJECT,
                 judge: Annotated[str | None, typer.Option(
                     help="Judge whose verdict on each item's response becomes the suggestion (e.g. harm, "
                          "refusal). Without it: the suggestions imported with the items (meta.suggestion).")] = None,
                 db: DbOption = None, as_json: JsonOption = False) -> None:
    """Attach model suggestions to items. They are shown to a random half of the assignments (never
    on gold items): the anchoring experiment (`redline annotate anchoring`)."""
    from redline.annotate.suggestions import prelabel

    res = prelabel(_svc(db), project, judge=judge)
    if as_json:
        print_json(res.to_json())
        return
    _echo(f"{project}: {res.suggested} item(s) got a suggestion from {res.source}; "
          f"without one: {_counts(res.skipped)}")


@annotate_app.command("anchoring")
def anchoring_cmd(project: _PROJECT, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The anchoring experiment: agreement with the suggestion and accuracy in the shown and hidden
    arms, and the anchoring effect (shown - hidden) with its confidence intervals."""
    from redline.annotate.anchoring import anchoring_report, format_report

    rep = anchoring_report(_svc(db), project)
    if as_json:
        print_json(rep)
        return
    _echo(format_report(rep))


@annotate_app.command("draft")
def draft_cmd(project: _PROJECT,
              drafter: Annotated[str, typer.Option(help="The drafting model: a target spec (openai:MODEL, local, …).")],
              n: Annotated[int, typer.Option(min=1, max=8, help="Drafts per item (2+ feed a preference task).")] = 1,
              temperature: Annotated[float | None, typer.Option(
                  help="Sampling temperature (default 0, or 0.8 when --n > 1).")] = None,
              max_tokens: Annotated[int, typer.Option(min=16)] = 512,
              concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
              preference_project: Annotated[str | None, typer.Option(
                  help="Then create this preference project from the items with 2+ drafts.")] = None,
              overlap: Annotated[int, typer.Option(min=1, max=50, help="k of the preference project.")] = 3,
              base_url: _BASE_URL = None, api_key: _API_KEY = None,
              db: DbOption = None, as_json: JsonOption = False) -> None:
    """Draft the responses of a revise (or sft-write) project from the policy's safe-completion
    elements; annotators revise the drafts. Resumes: items with their drafts are not asked again."""
    from redline.annotate.drafts import draft_items, preference_project_from_drafts

    svc = _svc(db)
    res = draft_items(svc, project, drafter, n=n, cache_path=_cache(db), temperature=temperature,
                      options={"base_url": base_url, "api_key": api_key}, max_tokens=max_tokens,
                      concurrency=concurrency)
    out: dict[str, Any] = res.to_json()
    if preference_project:
        made, left = preference_project_from_drafts(svc, project, preference_project, overlap=overlap)
        out["preference_project"] = {"name": preference_project, "items": made, "left_out": left}
    if as_json:
        print_json(out)
    else:
        _echo(f"{project}: {res.stored} draft(s) stored ({res.cached} from the cache), {res.already} already there; "
              f"failed: {_counts(res.failed)}; not drafted: {_counts(res.skipped)}")
        if preference_project:
            pp = out["preference_project"]
            _echo(f"created preference project {preference_project}: {pp['items']} item(s); "
                  f"left out: {_counts(pp['left_out'])}")
    if res.failed:
        raise typer.Exit(1)


@annotate_app.command("critique")
def critique_cmd(project: _PROJECT,
                 critic: Annotated[str, typer.Option(help="The critic model: a target spec (openai:MODEL, local, …).")],
                 method: _METHOD = "dawid-skene",
                 concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
                 base_url: _BASE_URL = None, api_key: _API_KEY = None,
                 db: DbOption = None, as_json: JsonOption = False) -> None:
    """Ask a model to flag likely label errors against the policy, for a reviewer's attention (the
    queue page and the dashboard). It never changes a label."""
    from redline.annotate.critique import critique_flags, critique_labels

    svc = _svc(db)
    res = critique_labels(svc, project, critic, cache_path=_cache(db), method=method,
                          options={"base_url": base_url, "api_key": api_key}, concurrency=concurrency)
    flags = critique_flags(svc, project)
    if as_json:
        print_json({**res.to_json(), "open_flags": flags})
    else:
        _echo(f"{project}: {res.asked} label(s) critiqued, {res.flagged} flagged, {res.not_flagged} fine, "
              f"{res.already} already critiqued; failed: {_counts(res.failed)}; not critiqued: {_counts(res.skipped)}")
        for f in flags:
            _echo(f"  {f['item_id']:<24} {f.get('field') or '?'}: {f.get('reason') or ''}")
    if res.failed:
        raise typer.Exit(1)
