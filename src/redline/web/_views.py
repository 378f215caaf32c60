"""What the pages show: context builders over the annotation service (no HTTP here)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from redline.errors import InputError, Problem

_PAGE_KEYS = ("g", "r", "s")  # guidelines panel, reveal blurred content, skip (schema leaves them free)
_STRETCH_GAP = timedelta(minutes=15)  # a pause this long ends a working stretch
_CHART_W, _CHART_H, _PAD = 640, 220, 36


# -- formatting filters ------------------------------------------------------------------------

def fmt_time(v: Any) -> str:
    """A time (datetime or ISO text) as ``YYYY-MM-DD HH:MM UTC``; other values as text."""
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if v is None else str(v)


def fmt_pct(v: Any) -> str:
    """A share as a whole percentage ("–" for None)."""
    return "–" if v is None else f"{100 * float(v):.0f}%"


def fmt_num(v: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals ("–" for None; other values as text)."""
    if v is None:
        return "–"
    if isinstance(v, int | float):
        return f"{v:.{digits}f}"
    return str(v)


def _as_text(v: Any, *, none: str, yes_no: tuple[str, str], sep: str, seqs: tuple[type[list[Any]] | type[tuple[Any, ...]], ...]) -> str:
    if v is None:
        return none
    if isinstance(v, bool):
        return yes_no[0] if v else yes_no[1]
    if isinstance(v, seqs):
        return sep.join(str(x) for x in v)
    return str(v)


def fmt_value(v: Any) -> str:
    """A label value as the pages show it ("–", yes/no, a comma-separated list)."""
    return _as_text(v, none="–", yes_no=("yes", "no"), sep=", ", seqs=(list,))


def form_str(v: Any) -> str:
    """An option value as the form sends it."""
    return _as_text(v, none="", yes_no=("true", "false"), sep=",", seqs=(list, tuple))


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


# -- content ---------------------------------------------------------------------------------

def _image_src(part: Any) -> str | None:
    """A safe ``src`` for an image part: ``data:image/…`` only (never an outside URL, which would
    tell a third party who looks at what and when, nor javascript: or a local file path)."""
    url = getattr(part, "url", None)
    if url:
        return None
    b64 = getattr(part, "base64", None)
    if b64:
        if b64.startswith("data:"):
            return b64 if b64.lower().startswith("data:image/") and ";base64," in b64 else None
        mime = getattr(part, "mime_type", None) or "image/png"
        return f"data:{mime};base64,{b64}" if mime.startswith("image/") else None
    return None


def _parts(msg: Any) -> list[dict[str, Any]]:
    out = []
    for p in msg.content:
        if getattr(p, "type", "") == "text":
            out.append({"kind": "text", "text": p.text})
        else:
            src = _image_src(p)
            if src:
                out.append({"kind": "image", "src": src})
            else:
                url = getattr(p, "url", None)
                where = getattr(p, "path", None) or url or "embedded data"
                why = "outside URLs are never loaded" if url and url.lower().startswith(("http://", "https://")) else ""
                out.append({"kind": "missing", "text": f"[image not shown: {where}]" + (f" ({why})" if why else "")})
    return out


def conversation(record: Any, task: str) -> list[dict[str, Any]]:
    """The record's messages for the page: role, text/image parts, and which one is the response to label."""
    msgs = list(record.messages)
    view = []
    for i, m in enumerate(msgs):
        is_response = (task == "response-label" and i == len(msgs) - 1 and m.role == "assistant")
        view.append({"role": m.role, "parts": _parts(m), "response": is_response})
    return view


# -- the service's views ---------------------------------------------------------------------

class Views:
    """The pages' contexts over the annotation service (policies cached per project version)."""

    def __init__(self, svc: Any):
        self.svc = svc
        self._policies: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    # policy and guidelines ------------------------------------------------------------------
    def policy(self, proj: Any) -> Any | None:
        """The project's policy (cached per policy version); None when it cannot be loaded."""
        key = (proj.name, proj.policy_hash)
        with self._lock:
            if key in self._policies:
                return self._policies[key]
        try:
            pol = self.svc.policy(proj.name)
        except Exception:  # the pack moved or is broken: guidelines from the stored schema only
            pol = None
        with self._lock:
            self._policies[key] = pol
        return pol

    def guide(self, proj: Any, category: str | None) -> dict[str, Any]:
        """The guidelines panel of a category: its policy node and path, the policy's and the
        project's promoted cases for it, all categories and the severity levels."""
        from redline.annotate.schema import find_node

        schema = proj.schema
        node = find_node(schema, category) if category else None
        path: list[dict[str, Any]] = []
        if node is not None:
            path = _schema_path(schema.get("categories") or [], category) or []
        pol = self.policy(proj)
        cases: list[Any] = []
        ids = {category} if category else None
        if pol is not None:
            cases += [c for c in pol.casebook if ids is None or c.node in ids]
        try:
            promoted = list(self.svc.casebook(proj.name))
        except Exception:
            promoted = []
        promoted = [c for c in promoted if ids is None or c.node in ids]
        return {"node": node, "path": path, "cases": cases, "promoted": promoted,
                "categories": _flat(schema.get("categories") or []),
                "severity": (node or {}).get("severity_levels") or schema.get("severity_levels") or [],
                "criteria": schema.get("criteria") or [],  # a rubric-score project's scoring guide
                "rubric_cases": schema.get("casebook") or [] if schema.get("kind") == "rubric" else []}

    def warning(self, proj: Any, category: str | None) -> str | None:
        """The content warning shown before an item of ``category``, if the project sets one."""
        if not category:
            return None
        path = _schema_path(proj.schema.get("categories") or [], category) or []
        if not path:
            return None
        warn_ids = proj.settings.warn_categories
        text = next((n.get("content_warning") for n in reversed(path) if n.get("content_warning")), None)
        if warn_ids is None:
            return text
        if any(n["id"] in warn_ids for n in path):
            return text or f"This item is about {path[-1]['name']}."
        return None

    def blurred(self, proj: Any, category: str | None) -> bool:
        """Whether items of ``category`` are shown blurred until revealed."""
        if not category or not proj.settings.blur_categories:
            return False
        path = _schema_path(proj.schema.get("categories") or [], category) or []
        return any(n["id"] in proj.settings.blur_categories for n in path) or \
            category in proj.settings.blur_categories

    # fields --------------------------------------------------------------------------------
    def fields(self, proj: Any, record: Any, order: list[int] | None,
               values: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The form fields of the task, with options in the item's order and the given values."""
        from redline.annotate.schema import task_fields

        specs = task_fields(proj.task, proj.schema, record, order)
        out = []
        for f in specs:
            if values is not None and f.name in values:
                current = str(values.get(f.name) or "")
            elif f.default is not None:
                current = form_str(f.default)
            elif (proj.task == "sft-write" and f.name == "response" and record is not None
                  and record.messages[-1].role == "assistant"):
                current = record.messages[-1].text  # revise the response the data came with
            else:
                current = None
            opts = []
            for o in f.options:
                key = o.key if o.key and o.key not in _PAGE_KEYS else None
                opts.append({"value": form_str(o.value), "label": o.label, "key": key,
                             "help": o.help, "checked": current is not None and current == form_str(o.value)})
            help_text = f.help
            if f.type == "ranking":  # the page names candidates by letter, in the order shown
                current = _rank_letters(values.get(f.name) if values else None, order)
                help_text = "every response once, best first, by its letter, e.g. B, A, C"
            widget = "radio" if f.options and f.type != "ranking" else (
                "textarea" if f.type == "text" else "ranking" if f.type == "ranking" else "number")
            out.append({"name": f.name, "label": f.label, "type": f.type, "widget": widget,
                        "options": opts, "required": f.required, "help": help_text,
                        "when": json.dumps(f.when) if f.when else None, "current": current or ""})
        return out

    def form_values(self, proj: Any, form: Any, item_id: str, username: str | None) -> dict[str, Any]:
        """The task's fields of a submitted form, as text; a ranking given by letters becomes the
        original candidate indices (the user's assignment gives the order shown)."""
        from redline.annotate.schema import task_fields

        names = {f.name for f in task_fields(proj.task, proj.schema)}
        names |= {"ranking", "choice", "margin", "reason"} if proj.task == "preference" else set()
        out = {k: str(v) for k, v in form.items() if k in names}
        if out.get("ranking"):
            a = self.open_assignment(proj.name, username, item_id) if username else None
            out["ranking"] = _rank_indices(out["ranking"], a.order if a is not None else None)
        return out

    # annotator -------------------------------------------------------------------------------
    def open_assignment(self, project: str, username: str, item_id: str) -> Any | None:
        """The user's open assignment of ``item_id``; None when there is none."""
        for a in self.svc.assignments(project, username=username):
            if a.item_id == item_id and a.status == "open":
                return a
        return None

    def annotate_context(self, proj: Any, user: Any, *, errors: list[Problem] | None = None,
                         values: dict[str, Any] | None = None,
                         skip_error: str | None = None) -> dict[str, Any]:
        """The annotate page: the user's next item (or why there is none), its form and progress."""
        svc = self.svc
        name = proj.name
        now = datetime.now(UTC)
        ctx: dict[str, Any] = {"errors": errors or [], "skip_error": skip_error,
                               "page_keys": {"guide": "g", "reveal": "r", "skip": "s"}}
        mine = svc.assignments(name, username=user.username)
        done = [a for a in mine if a.status == "submitted"]
        ctx["progress"] = {"mine_done": len(done),
                           "mine_skipped": sum(a.status == "skipped" for a in mine),
                           "project": None}
        ctx["break_in_s"], ctx["break_due"] = self._break(proj, mine, now)
        labels = svc.labels(name, username=user.username, include_gold=False)
        ctx["recent"] = sorted(labels, key=lambda lab: lab.created, reverse=True)[:5]
        from redline.annotate.schema import task_fields

        specs = task_fields(proj.task, proj.schema)
        ctx["recent_values"] = {
            lab.id: [(f.label, _short_label(f, lab.values.get(f.name))) for f in specs
                     if lab.values.get(f.name) not in (None, "") or f.level != "none"
                     if f.type != "text" or lab.values.get(f.name)]
            for lab in ctx["recent"]}
        ctx["paused"] = None if user.active else (user.paused_reason or "paused by an admin")
        ctx["assignment"] = None
        ctx["budget_reached"] = self._budget_reached(proj, user.username)
        a = None if ctx["paused"] else svc.next_item(name, user.username)
        # after next_item: a vendor's view counts the items assigned to the vendor
        ctx["progress"]["project"] = svc.progress(name, vendor=user.vendor)
        if a is None:
            return ctx
        item = a.item
        ctx["assignment"] = a
        # the anchoring experiment: the model's suggestion in the shown arm only (never on gold)
        ctx["suggestion"] = self._suggestion(proj, item.item_id, a.suggestion_arm)
        if values is None and proj.task in ("revise", "sft-write"):
            drafts = svc.assists(name, "draft", item_id=item.item_id)
            if drafts:  # the annotator revises the model's draft
                values = {"response": str(drafts[0]["values"].get("text") or "")}
                ctx["draft_source"] = drafts[0]["source"]
        ctx["item"] = {"item_id": item.item_id, "category": item.category,
                       "conversation": conversation(item.record, proj.task),
                       "candidates": self._candidates(item.record, a.order)}
        ctx["fields"] = self.fields(proj, item.record, a.order, values)
        ctx["warning"] = self.warning(proj, item.category)
        ctx["blur"] = self.blurred(proj, item.category)
        ctx["guide"] = self.guide(proj, item.category)
        ctx["started"] = a.assigned_at
        return ctx

    def _suggestion(self, proj: Any, item_id: str, arm: str | None) -> dict[str, Any] | None:
        """The suggestion as the page shows it (field label → value text), in the shown arm."""
        from redline.annotate.schema import task_fields

        got = self.svc.shown_suggestion(proj.name, item_id, arm)
        if got is None:
            return None
        specs = {f.name: f for f in task_fields(proj.task, proj.schema)}
        return {"source": got["source"],
                "fields": [{"name": k, "label": specs[k].label if k in specs else k,
                            "value": _short_label(specs.get(k), v)} for k, v in got["values"].items()]}

    def _candidates(self, record: Any, order: list[int] | None) -> list[dict[str, Any]]:
        from redline.annotate.schema import candidates

        cands = candidates(record)
        if not cands:
            return []
        shown = order if order and sorted(order) == list(range(len(cands))) else list(range(len(cands)))
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return [{"letter": letters[pos] if pos < 26 else str(pos + 1), "index": idx, "text": cands[idx]}
                for pos, idx in enumerate(shown)]

    def _budget_reached(self, proj: Any, username: str) -> list[str]:
        budget = proj.settings.exposure_budget or {}
        if not budget:
            return []
        seen = self.svc.exposure_today(proj.name, username)
        reached = []
        for cat in sorted(seen):
            left = self.svc.budget_left(proj.name, username, None if cat == "none" else cat)
            if left is not None and left <= 0:
                reached.append(cat)
        return reached

    def _break(self, proj: Any, mine: list[Any], now: datetime) -> tuple[int, bool]:
        """(seconds until a break is due, due now): a working stretch is the run of assignments
        without a gap of 15 minutes; a break is due after ``break_every_minutes`` of it, or after
        ``min_items_before_break`` items in it (when > 0)."""
        every = timedelta(minutes=proj.settings.break_every_minutes)
        times = sorted(a.assigned_at for a in mine if a.assigned_at is not None)
        if not times or now - times[-1] > _STRETCH_GAP:
            return int(every.total_seconds()), False
        start, count = times[-1], 1
        for prev in reversed(times[:-1]):
            if start - prev > _STRETCH_GAP:
                break
            start, count = prev, count + 1
        left = every - (now - start)
        by_items = proj.settings.min_items_before_break
        due = left <= timedelta(0) or (by_items > 0 and count > by_items)
        return max(0, int(left.total_seconds())), due

    # reviewer --------------------------------------------------------------------------------
    def visible_item_ids(self, project: str, vendor: str | None) -> set[str] | None:
        """None: everything (in-house); else the ids of the vendor's items."""
        if vendor is None:
            return None
        return {i.item_id for i in self.svc.items(project, vendor=vendor)}

    def queue_context(self, proj: Any, user: Any, *, include_incomplete: bool = False) -> dict[str, Any]:
        """The review queue page: items most in need of review, visible to the user."""
        name = proj.name
        try:
            from redline.annotate.project_quality import review_queue
            entries = review_queue(self.svc, name, vendor=user.vendor,
                                   include_incomplete=include_incomplete)
            queue_error = None
        except (ImportError, NotImplementedError) as e:
            entries, queue_error = [], f"the review queue is not available: {e}"
        visible = self.visible_item_ids(name, user.vendor)
        from redline.annotate.schema import task_fields

        labels_of = {f.name: f.label for f in task_fields(proj.task, proj.schema)}
        specs = {f.name: f for f in task_fields(proj.task, proj.schema)}
        rows = []
        for entry in entries:
            iid = _get(entry, "item_id")
            if visible is not None and iid not in visible:
                continue
            per = _get(entry, "per_field") or {}
            rows.append({"item_id": iid, "reason": _get(entry, "reason"),
                         "detail": _get(entry, "detail") or _get(entry, "reason"),
                         "confidence": _get(entry, "confidence"), "n_labels": _get(entry, "n_labels"),
                         "complete": _get(entry, "complete", True),
                         "fields": [{"name": f, "label": labels_of.get(f, f),
                                     "value": _short_label(specs.get(f), d.get("label")),
                                     "confidence": d.get("confidence"),
                                     "judge": None if d.get("judge_label") is None
                                     else fmt_value(d.get("judge_label"))}
                                    for f, d in per.items()]})
        done = {a.item_id for a in self.svc.adjudications(name)} if user.vendor is None else set()
        for r in rows:
            r["adjudicated"] = r["item_id"] in done
        items = self.svc.items(name, vendor=user.vendor, include_gold=user.vendor is None)
        from redline.annotate.critique import critique_flags

        flags = [f for f in critique_flags(self.svc, name) if visible is None or f["item_id"] in visible]
        return {"queue": rows, "queue_error": queue_error, "all_items": items, "critique_flags": flags,
                "include_incomplete": include_incomplete, "overlap": proj.overlap,
                "adjudicated_n": len(done)}

    def review_context(self, proj: Any, user: Any, item_id: str, *, errors: list[Problem] | None = None,
                       values: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The review page of one item; None when the user may not see it."""
        name = proj.name
        visible = self.visible_item_ids(name, user.vendor)
        if visible is not None and item_id not in visible:
            return None
        in_house = user.vendor is None
        try:
            item = self.svc.item(name, item_id, include_gold=in_house)
        except (InputError, KeyError, LookupError):
            return None
        labels = self.svc.labels(name, item_id=item_id, vendor=user.vendor, include_gold=in_house)
        from redline.annotate.schema import task_fields

        specs = task_fields(proj.task, proj.schema, item.record)
        rows = []
        agreed: dict[str, str] = {}
        for f in specs:
            raw = [lab.values.get(f.name) for lab in labels]
            # None is an answer for a field always asked (category "none"), else "not asked"
            given = {json.dumps(v, sort_keys=True, default=str) for v in raw
                     if v is not None or f.when is None}
            rows.append({"label": f.label, "name": f.name,
                         "values": [_rank_letters(v, None) if f.type == "ranking" else _short_label(f, v)
                                    for v in raw],
                         "disagree": f.level != "none" and len(given) > 1})
            if f.level != "none" and labels and len({json.dumps(v, default=str) for v in raw}) == 1:
                agreed[f.name] = form_str(raw[0])
        adj = self.svc.adjudication(name, item_id) if in_house else None
        if values is None and adj is not None:
            values = {k: form_str(v) for k, v in adj.values.items()}
        elif values is None and agreed:  # start from what every annotator agreed on
            values = agreed
        return {"item": {"item_id": item.item_id, "category": item.category,
                         "conversation": conversation(item.record, proj.task),
                         "candidates": self._candidates(item.record, None),
                         "is_gold": item.is_gold if in_house else None,
                         "gold": item.gold if in_house else None},
                "labels": labels, "rows": rows, "adjudication": adj, "can_adjudicate": in_house,
                "critique": [c for c in self.svc.assists(name, "critique", item_id=item_id)
                             if c["values"].get("flag")] if in_house else [],
                "contested": [r["label"] for r in rows if r["disagree"]],
                "prefilled": sorted(agreed) if adj is None and errors is None else [],
                "fields": self.fields(proj, item.record, None, values), "errors": errors or [],
                "casebook": self._casebook_form(proj, item, adj, values),
                "rationale": (values or {}).get("rationale") or (adj.rationale if adj else ""),
                "warning": self.warning(proj, item.category), "blur": self.blurred(proj, item.category),
                "guide": self.guide(proj, item.category),
                "page_keys": {"guide": "g", "reveal": "r", "skip": "s"}}

    def _casebook_form(self, proj: Any, item: Any, adj: Any, values: dict[str, Any] | None) -> dict[str, Any]:
        """The policy node and intent a promoted case gets: what the reviewer chose, else
        pre-filled from the adjudicated category/intent (else the item's category, record
        ``meta.intent``, else the intent the record's expected behaviour implies at the node);
        no guess when none is known."""
        from redline.annotate.casebook import INTENTS, intent_from_expected
        from redline.annotate.schema import _nodes, find_node

        v = values or {}
        rec = item.record
        node = str(v.get("casebook_node") or v.get("category") or item.category or "")
        intent = str(v.get("casebook_intent") or v.get("intent") or "")
        if not intent:
            meta = rec.meta.get("intent")
            if meta in INTENTS:
                intent = str(meta)
            elif rec.expected is not None:  # known from the start, not only after a failed submit
                intent = intent_from_expected(find_node(proj.schema, node) if node else None,
                                              str(rec.expected.value)) or ""
        nodes = [{"id": n["id"], "name": ("— " * n["_depth"]) + n["name"]} for n in _nodes(proj.schema)]
        return {"node": node if any(n["id"] == node for n in nodes) else "", "intent": intent, "nodes": nodes,
                "intents": list(INTENTS),
                "checked": v.get("promote_casebook") == "on" if values is not None and "rationale" in v
                else bool(adj and adj.promoted_casebook)}

    # dashboard -------------------------------------------------------------------------------
    def dashboard_context(self, proj: Any, user: Any) -> dict[str, Any]:
        """The dashboard: progress, agreement, annotator quality and drift (a vendor's own only)."""
        name = proj.name
        try:
            from redline.annotate.project_quality import project_quality
            q = project_quality(self.svc, name, vendor=user.vendor)
            q_error = None
        except (ImportError, NotImplementedError) as e:
            q, q_error = {}, f"quality metrics are not available: {e}"
        prog = q.get("progress") or {}
        if not prog:
            p = self.svc.progress(name, vendor=user.vendor)
            prog = {"items": p.items, "target_labels": p.target_labels, "labels": p.labels,
                    "open": p.open, "skipped": p.skipped, "items_complete": p.done_items,
                    "fraction": (p.labels / p.target_labels) if p.target_labels else None}
        prog = dict(prog)
        if user.vendor is None:  # in-house: data labels vs. quality-check (gold) labels, one definition
            p = self.svc.progress(name, include_gold=True)
            prog.update(items=p.items, target_labels=p.target_labels, labels=p.labels,
                        items_complete=p.done_items, other_labels=p.gold_labels,
                        fraction=p.labels / p.target_labels if p.target_labels else None)
        annotators = list(q.get("annotators") or [])
        if q_error:  # no quality pipeline: counts from the service only
            annotators = self._basic_annotators(name, user.vendor)
        if user.vendor is not None:  # belt and braces: a vendor view lists only that vendor
            annotators = [a for a in annotators if a.get("vendor") == user.vendor]
        by_field = ((q.get("agreement") or {}).get("by_field") or {})
        by_vendor = ((q.get("agreement") or {}).get("by_vendor") or {})
        if user.vendor is not None:
            by_vendor = {k: v for k, v in by_vendor.items() if k == user.vendor}
        names = {a["username"] for a in annotators}
        drift = {u: s for u, s in (q.get("drift") or {}).items() if user.vendor is None or u in names}
        anchoring = None
        if user.vendor is None and self.svc.assists(name, "suggestion"):
            from redline.annotate.anchoring import anchoring_report

            anchoring = anchoring_report(self.svc, name)
        from redline.annotate.critique import critique_flags

        return {"anchoring": anchoring, "critique_open": len(critique_flags(self.svc, name)) if user.vendor is None else None,
                "q": q, "q_error": q_error, "prog": prog, "annotators": annotators,
                "agreement": by_field, "by_vendor": by_vendor,
                "fields_meta": {f["name"]: f for f in q.get("fields") or []},
                "charts": drift_charts(drift), "flags": q.get("flags") or [],
                "consensus": q.get("consensus") if user.vendor is None else None}

    def _basic_annotators(self, project: str, vendor: str | None) -> list[dict[str, Any]]:
        per = self.svc.progress(project, vendor=vendor).per_user
        out = []
        for u in self.svc.list_users(vendor=vendor):
            if u.username not in per or (vendor is not None and u.vendor != vendor):
                continue
            d = per[u.username]
            n = d.get("submitted", 0) + d.get("skipped", 0) + d.get("open", 0)
            out.append({"username": u.username, "vendor": u.vendor, "active": u.active,
                        "paused_reason": u.paused_reason, "labels": d.get("submitted", 0),
                        "gold_n": 0, "gold_accuracy": None, "gold_ci": None,
                        "consensus_agreement": None, "consensus_ci": None, "median_seconds": None,
                        "skip_rate": d.get("skipped", 0) / n if n else None, "flagged": False,
                        "flag_reasons": []})
        return sorted(out, key=lambda a: a["username"])


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _rank_indices(raw: str, order: list[int] | None) -> str:
    """A ranking typed with the letters the page shows ("B, A, C") as original candidate indices
    ("2,0,1" when the candidates were shown in order [0, 2, 1]); numbers pass through, anything
    else is left for the schema's validation to report."""
    import re

    toks = [t for t in re.split(r"[\s,;>]+", raw.strip()) if t]
    if not toks or not all(len(t) == 1 and t.isalpha() for t in toks):
        return raw
    out = []
    for t in toks:
        pos = _LETTERS.index(t.upper())
        if order is not None:
            if pos >= len(order):
                return raw
            out.append(str(order[pos]))
        else:
            out.append(str(pos))
    return ",".join(out)


def _rank_letters(v: Any, order: list[int] | None) -> str:
    """Stored/posted ranking (indices) as the letters shown on the page."""
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        if not all(t.strip().isdigit() for t in v.split(",")):
            return v
        v = [int(t) for t in v.split(",")]
    try:
        shown = list(order) if order else sorted(v)
        return ", ".join(_LETTERS[shown.index(int(i))] for i in v)
    except (ValueError, IndexError, TypeError):
        return ", ".join(str(i) for i in v)


def _short_label(spec: Any, v: Any) -> str:
    """The option's label of a consensus value ("Harassment and bullying"; "none" for the explicit
    none answer)."""
    if v == "(none)":
        v = None
    for o in (spec.options if spec is not None else []):
        if o.value == v and type(o.value) is type(v):
            return str(o.label)
    return fmt_value(v)


def _schema_path(nodes: list[dict[str, Any]], nid: str | None) -> list[dict[str, Any]] | None:
    for n in nodes:
        if n["id"] == nid:
            return [n]
        sub = _schema_path(n.get("children") or [], nid)
        if sub:
            return [n, *sub]
    return None


def _flat(nodes: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    out = []
    for n in nodes:
        out.append({"id": n["id"], "name": n["name"], "definition": n.get("definition") or "",
                    "depth": depth})
        out += _flat(n.get("children") or [], depth + 1)
    return out


# -- the drift chart (inline SVG built here, rendered by an autoescaped template) ---------------

def drift_charts(drift: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """One chart per series kind ("gold", "consensus"): a polyline per annotator over the
    windows, the 3-sigma lower limit as dashes, flagged windows as red dots."""
    charts = []
    users = sorted(drift)  # one colour per annotator across the charts
    for kind, title in (("gold", "Gold accuracy per window"),
                        ("consensus", "Agreement with consensus per window")):
        series = {u: s.get(kind) or [] for u, s in sorted(drift.items()) if s.get(kind)}
        if not series:
            continue
        starts = sorted({w["start"] for ws in series.values() for w in ws})
        if not starts:
            continue
        xi = {s: i for i, s in enumerate(starts)}
        n = len(starts) - 1  # 0: one window, drawn in the middle
        pw, ph = _CHART_W - 2 * _PAD, _CHART_H - 2 * _PAD

        def px(i: int, n: int = n, pw: int = pw) -> float:
            return round(_PAD + pw * (i / n if n else 0.5), 1)

        def py(rate: float, ph: int = ph) -> float:
            return round(_PAD + ph * (1 - max(0.0, min(1.0, rate))), 1)

        lines, dots, limits = [], [], []
        palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
        for user, ws in series.items():
            k = users.index(user)
            pts = [(px(xi[w["start"]]), py(w["rate"])) for w in ws if w.get("rate") is not None]
            colour = palette[k % len(palette)]
            lines.append({"user": user, "colour": colour, "swatch": k % len(palette),
                          "points": " ".join(f"{x},{y}" for x, y in pts)})
            for w in ws:
                if w.get("rate") is None:
                    continue
                dots.append({"x": px(xi[w["start"]]), "y": py(w["rate"]), "flagged": bool(w.get("flagged")),
                             "colour": colour, "title": f"{user} {fmt_time(w['start'])}: "
                             f"{fmt_pct(w['rate'])} of {w.get('n')}"
                             + (" — flagged" if w.get("flagged") else "")})
                if w.get("lcl") is not None:
                    limits.append({"x": px(xi[w["start"]]), "y": py(w["lcl"])})
        ticks = [{"y": py(v), "label": f"{int(v * 100)}%"} for v in (0.0, 0.5, 1.0)]
        xlabels = [{"x": px(i), "label": fmt_time(s)[:10]} for i, s in enumerate(starts)
                   if i in (0, len(starts) - 1)]
        charts.append({"kind": kind, "title": title, "w": _CHART_W, "h": _CHART_H, "lines": lines,
                       "dots": dots, "limits": limits, "ticks": ticks, "xlabels": xlabels,
                       "x0": _PAD, "x1": _CHART_W - _PAD})
    return charts
