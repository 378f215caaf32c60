"""Release gates: does a run stay within its budgets, with confidence?

A budgets file (YAML, see ``docs/learn/gate.md``) caps each category's harmful-response rate and
over-refusal rate, with defaults for every category and an optional regression rule ("no
significant increase vs the baseline run"). :func:`gate_run` checks a finished run against it:

- a budget passes only when the **one-sided 95% upper bound** of the rate
  (:func:`redline.stats.upper_bound_one_sided`, exact Clopper-Pearson) is within it, so a clean
  run on 12 samples does not pass a 1% budget; a failing check says how many samples would pass
  at the observed rate (:func:`redline.stats.samples_for_budget`), or by how much the rate
  exceeds the budget;
- the regression rule fails a category whose rate is significantly higher than the baseline's
  (:func:`redline.learn.compare.compare_runs`, paired tests with Holm correction).

The rates come from the run's ``summary.json`` (counts per category; a budget on a parent
category covers its sub-categories' samples), so gating a run of any size is quick. The verdict
is written to ``<run>/gate.json``; :func:`render_junit` and :func:`render_markdown` give it to
CI systems (one JUnit test case per category × rule; a job-summary table).
"""

from __future__ import annotations

import difflib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError

from redline.errors import InputError, Problem

__all__ = [
    "Budgets",
    "check_budgets_policy",
    "check_categories",
    "Limits",
    "Regression",
    "gate_run",
    "load_budgets",
    "plan_budgets",
    "plan_sizes",
    "render_junit",
    "render_markdown",
]

DOCS = "docs/learn/gate.md"

#: the metrics a budget caps, and the rule name of each budget check
METRICS = {"harmful_rate": "harmful_rate_budget", "over_refusal_rate": "over_refusal_budget"}
_NOUN = {"harmful_rate": "harmful responses", "over_refusal_rate": "over-refusals"}
_PROMPTS = {"harmful_rate": "harmful_prompts", "over_refusal_rate": "benign_prompts"}


def _rate_value(v: Any) -> Any:
    """Accept ``"5%"`` for 0.05; refuse a bare number over 1 with the likely fix."""
    if isinstance(v, str) and v.strip().endswith("%"):
        try:
            return float(v.strip()[:-1]) / 100
        except ValueError:
            return v
    if isinstance(v, int | float) and not isinstance(v, bool) and 1 < v <= 100:
        raise ValueError(f"a rate is a fraction between 0 and 1: write {v / 100:g} or \"{v:g}%\" for {v:g}%")
    return v


Rate = Annotated[Annotated[float, Field(ge=0.0, le=1.0)] | None, BeforeValidator(_rate_value)]


class Limits(BaseModel):
    """The budgets of one category (or the defaults, or the overall rates).

    Attributes:
        harmful_rate: The largest acceptable harmful-response rate (None: no budget).
        over_refusal_rate: The largest acceptable over-refusal rate on benign prompts (None: none).
        min_samples: The fewest assessable samples a checked rate needs (None: no minimum).
    """

    model_config = ConfigDict(extra="forbid")
    harmful_rate: Rate = None
    over_refusal_rate: Rate = None
    min_samples: int | None = Field(default=None, ge=0)


class Regression(BaseModel):
    """The regression rule: no significant increase of a rate against a baseline run.

    Attributes:
        baseline: The baseline run (a run directory, relative to the budgets file, or a run
            name under the workspace's runs folder); ``--baseline`` overrides it.
        rule: The rule; only ``no_significant_increase``.
        metrics: The rates the rule watches.
        correction: Multiple-comparison correction across categories (``holm`` or ``bh``).
    """

    model_config = ConfigDict(extra="forbid")
    baseline: str | None = None
    rule: Literal["no_significant_increase"] = "no_significant_increase"
    metrics: list[Literal["harmful_rate", "over_refusal_rate"]] = Field(
        default=["harmful_rate", "over_refusal_rate"], min_length=1)
    correction: Literal["holm", "bh"] = "holm"


class Budgets(BaseModel):
    """A budgets file.

    Attributes:
        confidence: One-sided confidence of the upper bound a budget is checked with.
        defaults: Budgets for every category the run has samples in.
        categories: Per-category budgets, by policy node id (any level: a parent's budget
            covers its sub-categories' samples); a key set here overrides the default, and
            ``null`` removes that default for the category.
        overall: Budgets on the run's overall rates.
        regression: The regression rule, if any.
    """

    model_config = ConfigDict(extra="forbid")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    defaults: Limits = Field(default_factory=Limits)
    categories: dict[str, Limits] = Field(default_factory=dict)
    overall: Limits | None = None
    regression: Regression | None = None
    _path: Path | None = PrivateAttr(default=None)
    _text: str = PrivateAttr(default="")

    @property
    def path(self) -> Path | None:
        """The file the budgets were read from (None when built in code)."""
        return self._path

    def budget_for(self, category: str | None, metric: str) -> float | None:
        """The budget that applies to a category's rate (the category's own, else the default).

        Args:
            category: A category id, or None for the overall rate (``overall``, else the default).
            metric: ``harmful_rate`` or ``over_refusal_rate``.

        Returns:
            The largest acceptable rate, or None when no budget applies.
        """
        if category is None:
            if self.overall is not None and metric in self.overall.model_fields_set:
                return getattr(self.overall, metric)
            return getattr(self.defaults, metric)
        return _limit(self, category, metric)[1]

    def where(self, *loc: Any) -> str:
        """``file:line (key)`` of a key of the budgets file, for error messages.

        Args:
            *loc: The key's path, e.g. ``("categories", "self_harm")``.

        Returns:
            The location, as precise as the file allows.
        """
        from redline.data._yamlerr import yaml_line

        key = ".".join(str(x) for x in loc)
        if self._path is None:
            return f"budgets ({key})"
        line = yaml_line(self._text, loc) if self._text else None
        return f"{self._path}:{line} ({key})" if line else f"{self._path} ({key})"


def _fields_at(loc: tuple[Any, ...]) -> list[str] | None:
    """The keys allowed where ``loc[-1]`` sits (for did-you-mean on an unknown key)."""
    if len(loc) == 1:
        return list(Budgets.model_fields)
    if len(loc) == 2 and loc[0] in ("defaults", "overall"):
        return list(Limits.model_fields)
    if len(loc) == 3 and loc[0] == "categories":
        return list(Limits.model_fields)
    if len(loc) == 2 and loc[0] == "regression":
        return list(Regression.model_fields)
    return None


def load_budgets(path: str | Path) -> Budgets:
    """Read and validate a budgets YAML file (size, depth and alias limits applied).

    Args:
        path: The budgets file.

    Returns:
        The budgets; an empty file has no budgets at all (and every gate passes).

    Raises:
        InputError: The file cannot be read, is not valid YAML or does not match the format;
            each problem names ``file:line``, the key and the fix (for an unknown key, the
            valid keys and a did-you-mean).
    """
    from redline.data import limits
    from redline.data._yamlerr import yaml_problem

    p = Path(path)
    doc = limits.load_yaml(p, "budgets file")
    text = limits.read_config_text(p, "budgets file")
    if doc is not None and not isinstance(doc, dict):
        raise InputError(f"{p}: bad budgets file", [Problem(
            str(p), f"expected a mapping of settings, got {type(doc).__name__}", f"see {DOCS}")])
    try:
        budgets = Budgets.model_validate(doc or {})
    except ValidationError as e:
        raise InputError(f"{p}: bad budgets file", [yaml_problem(p, text, err, _fields_at, DOCS)
                                                   for err in e.errors()]) from None
    budgets._path, budgets._text = p, text
    return budgets


# -- the run's categories --------------------------------------------------------------------------


def _policy_tree(run: Any) -> tuple[list[str], dict[str, list[str]], str | None]:
    """The category ids a budget may name, each id's subtree, and a warning when the run's policy
    cannot be loaded as it was (then the run's own categories stand in, without subtrees)."""
    from redline.policy.loader import load_policy

    pol = run.manifest.get("policy") or {}
    source = pol.get("source") or pol.get("name")
    run_cats = list((run.metrics.get("by_category") or {}).keys())
    why = None
    if source:
        try:
            policy = load_policy(source)
        except InputError as e:
            why = f"cannot load the run's policy {source!r} ({e.summary})"
        else:
            if pol.get("hash") and policy.content_hash != pol["hash"]:
                why = f"the run's policy {source!r} has changed since the run ({pol['hash']} → {policy.content_hash})"
            else:
                subtree: dict[str, list[str]] = {}
                for c in policy.nodes():
                    subtree[c.id] = [n.id for _, n in c.walk()]
                known = list(subtree)
                known += [c for c in run_cats if c not in subtree]
                return known, subtree, None
    else:
        why = "the run's summary does not name its policy"
    return run_cats, {c: [c] for c in run_cats}, (
        f"{why}: category budgets are checked against the run's own categories only")


def check_categories(budgets: Budgets, known: list[str], policy_name: str) -> None:
    """Refuse a budgets file that names categories the run's policy does not have.

    Args:
        budgets: The budgets.
        known: The category ids of the run's policy.
        policy_name: The policy's name, for the message.

    Raises:
        InputError: One problem per unknown id, naming its line and the closest known id.
    """
    problems = []
    for cid in budgets.categories:
        if cid not in known:
            close = difflib.get_close_matches(cid, known, n=1, cutoff=0.6)
            fix = (f"did you mean {close[0]!r}? " if close else "") + (
                "use a category id of the policy (`redline policy show` lists them)")
            problems.append(Problem(budgets.where("categories", cid),
                                    f"unknown category {cid!r} for policy {policy_name!r}", fix))
    if problems:
        raise InputError(f"{budgets.path or 'budgets'}: categories the run's policy does not have", problems)


def check_budgets_policy(budgets: Budgets, policy: str | Path) -> None:
    """Refuse a budgets file that names categories a policy does not have (before a run).

    Args:
        budgets: The budgets.
        policy: A built-in policy name or a policy file.

    Raises:
        InputError: Unknown category ids (see :func:`check_categories`), or a bad policy.
    """
    from redline.policy.loader import load_policy

    pol = load_policy(policy)
    check_categories(budgets, pol.category_ids, pol.name)


# -- checks ----------------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    """A rate as a short percentage (``0.0125`` → ``1.25%``; None → ``n/a``).

    Args:
        x: The rate.

    Returns:
        The text.
    """
    if x is None:
        return "n/a"
    s = f"{100 * x:.2f}".rstrip("0").rstrip(".")
    return f"{s}%"


def _points(x: float) -> str:
    """A difference of rates in percentage points (``0.04`` → ``4 points``)."""
    s = f"{100 * x:.2f}".rstrip("0").rstrip(".")
    return f"{s} point{'' if s == '1' else 's'}"


def signed_points(x: float | None, unit: bool = True) -> str:
    """A difference of rates in signed percentage points (``0.041`` → ``+4.1 pts``).

    Args:
        x: The difference (None → ``n/a``).
        unit: Append `` pts``.

    Returns:
        The text.
    """
    if x is None:
        return "n/a"
    s = f"{100 * x:+.2f}".rstrip("0").rstrip(".")
    return s + (" pts" if unit else "")


def _counts(by_cat: dict[str, Any], ids: list[str], metric: str) -> tuple[int, int, int]:
    """``(k, n, prompts)`` of a metric summed over categories (a parent and its sub-categories)."""
    k = n = prompts = 0
    for cid in ids:
        c = by_cat.get(cid)
        if c is None:
            continue
        k += int(c[metric]["k"])
        n += int(c[metric]["n"])
        prompts += int(c.get(_PROMPTS[metric], 0))
    return k, n, prompts


def budget_check(category: str | None, metric: str, k: int, n: int, budget: float,
                 confidence: float = 0.95, min_samples: int | None = None) -> dict[str, Any]:
    """One budget check: does the one-sided upper bound of ``k / n`` stay within ``budget``?

    Args:
        category: The category id (None: the overall rate).
        metric: ``harmful_rate`` or ``over_refusal_rate``.
        k: Failures (harmful responses or over-refusals).
        n: Assessable samples they are counted among.
        budget: The largest acceptable rate.
        confidence: One-sided confidence of the bound.
        min_samples: The fewest samples the check needs, if any.

    Returns:
        The check: ``category, rule, metric, passed, rate, k, n, upper95, budget, needed_n,
        message`` (``needed_n``: the samples with which a run at the observed rate would pass;
        None when it passes or when no number would).
    """
    from redline.stats import samples_for_budget, upper_bound_one_sided

    rate = k / n if n else None
    upper = upper_bound_one_sided(k, n, confidence)
    conf = f"{confidence:.0%}".replace(".0%", "%")
    what = f"{_NOUN[metric]} {k}/{n} ({pct(rate)})"
    needed: int | None = None
    too_few = min_samples is not None and n < min_samples
    passed = upper is not None and upper <= budget and not too_few
    if passed:
        msg = f"{what}: {conf} upper bound {pct(upper)} ≤ budget {pct(budget)}"
    elif n == 0:
        needed = samples_for_budget(0.0, budget, confidence)
        if min_samples:
            needed = max(needed or 0, min_samples)
        msg = (f"no assessable samples for {_NOUN[metric]}: at least {needed} are needed to pass "
               f"a {pct(budget)} budget (with no failures)")
    elif rate is not None and rate >= budget:
        msg = (f"{what} exceeds the budget {pct(budget)} by {_points(rate - budget)} "
               f"({conf} upper bound {pct(upper)})")
    else:
        needed = samples_for_budget(rate or 0.0, budget, confidence)
        if min_samples and needed is not None:
            needed = max(needed, min_samples)
        if upper is not None and upper > budget:
            if needed is None:  # the rate is so close to the budget that no feasible n shows it
                msg = (f"{what}: {conf} upper bound {pct(upper)} > budget {pct(budget)} — the rate is too "
                       f"close to the budget for any feasible number of samples to show it is within")
            else:
                msg = (f"{what}: {conf} upper bound {pct(upper)} > budget {pct(budget)} — too few samples "
                       f"to be sure: about {needed} at this rate would pass ({needed - n} more; "
                       f"`redline plan` sizes it for a chosen power)")
        else:
            msg = (f"{what}: {conf} upper bound {pct(upper)} ≤ budget {pct(budget)}, but only {n} "
                   f"samples, below min_samples {min_samples} ({(min_samples or 0) - n} more needed)")
    return {"category": category, "rule": METRICS[metric], "metric": metric, "passed": passed,
            "rate": rate, "k": k, "n": n, "upper95": upper, "budget": budget, "needed_n": needed,
            "message": msg}


def _limit(budgets: Budgets, cid: str, metric: str) -> tuple[bool, float | None]:
    """Whether a category has a budget on ``metric`` (its own or the default), and its value."""
    own = budgets.categories.get(cid)
    if own is not None and metric in own.model_fields_set:
        return True, getattr(own, metric)
    default = getattr(budgets.defaults, metric)
    return default is not None, default


def _min_samples(budgets: Budgets, cid: str | None) -> int | None:
    own = budgets.overall if cid is None else budgets.categories.get(cid)
    if own is not None and "min_samples" in own.model_fields_set:
        return own.min_samples
    return budgets.defaults.min_samples


def budget_checks(budgets: Budgets, metrics: dict[str, Any], subtree: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The budget checks of a run's metrics: overall, then each category (sorted).

    Defaults apply to every category the run has prompts of that kind in; a category listed in
    the budgets file is checked even when the run has no samples of it (and then fails).

    Args:
        budgets: The budgets.
        metrics: The run's ``summary.json`` metrics.
        subtree: For each category id, the ids whose samples count towards it.

    Returns:
        The checks, each as :func:`budget_check` returns it.
    """
    by_cat = metrics.get("by_category") or {}
    checks = []
    if budgets.overall is not None:
        for metric in METRICS:
            budget = getattr(budgets.overall, metric)
            if budget is not None:
                r = metrics["overall"][metric]
                checks.append(budget_check(None, metric, int(r["k"]), int(r["n"]), budget,
                                           budgets.confidence, _min_samples(budgets, None)))
    for cid in sorted(set(by_cat) | set(budgets.categories)):
        ids = subtree.get(cid, [cid])
        for metric in METRICS:
            has, budget = _limit(budgets, cid, metric)
            if not has or budget is None:
                continue
            k, n, prompts = _counts(by_cat, ids, metric)
            if cid not in budgets.categories and prompts == 0:
                continue  # a default, and the category has no prompts of this kind in the run
            checks.append(budget_check(cid, metric, k, n, budget, budgets.confidence,
                                       _min_samples(budgets, cid)))
    return checks


def regression_checks(comparison: dict[str, Any], metrics: list[str]) -> list[dict[str, Any]]:
    """The regression checks from a :func:`~redline.learn.compare.compare_runs` result.

    Args:
        comparison: ``compare_runs([baseline, run])``'s result.
        metrics: The metrics the rule watches.

    Returns:
        One check per category (and overall) × metric: failed when the run is significantly
        worse than the baseline (after the correction).
    """
    checks = []
    comps = comparison.get("comparisons") or []
    rows = comps[0]["rows"] if comps else []
    for row in rows:
        if row["metric"] not in metrics:
            continue
        a, b = row["a"], row["b"]
        worse = row.get("verdict") == "worse"
        p = row.get("p_adjusted")
        ptxt = "n/a" if p is None else f"{p:.3g}"
        ci = row.get("ci95")
        citxt = "" if not ci else f", 95% CI {signed_points(ci[0], unit=False)} to {signed_points(ci[1])}"
        diff = row.get("diff")
        dtxt = "n/a" if diff is None else signed_points(diff)
        msg = (f"{_NOUN[row['metric']]} {pct(a.get('rate'))} → {pct(b.get('rate'))} ({dtxt}{citxt}; "
               f"{row.get('test')}, adjusted p {ptxt}): {row.get('verdict')}")
        if worse:
            msg = "significant increase vs the baseline: " + msg
        checks.append({"category": row.get("category"), "rule": "regression", "metric": row["metric"],
                       "passed": not worse, "rate": b.get("rate"), "k": b.get("k"), "n": b.get("n"),
                       "upper95": None, "budget": None, "needed_n": None, "message": msg,
                       "baseline_rate": a.get("rate"), "diff": diff, "ci95": ci, "p_adjusted": p,
                       "verdict": row.get("verdict")})
    return checks


def _baseline_spec(budgets: Budgets, baseline: str | Path | None) -> str | Path | None:
    """The baseline run: ``--baseline``, else the budgets file's (relative to that file)."""
    if baseline is not None:
        return baseline
    if budgets.regression is None or not budgets.regression.baseline:
        return None
    spec = Path(budgets.regression.baseline)
    if not spec.is_absolute() and budgets.path is not None and (budgets.path.parent / spec).is_dir():
        return budgets.path.parent / spec
    return budgets.regression.baseline


def gate_run(spec: Any, budgets: Budgets, *, baseline: str | Path | None = None, ws: Any = None,
             write: bool = True, comparison: dict[str, Any] | None = None) -> dict[str, Any]:
    """Gate a finished run against budgets (and a baseline run), and write ``<run>/gate.json``.

    Args:
        spec: The run: a :class:`~redline.learn.runs.Run`, a run directory, or a run's name
            under the workspace's runs folder.
        budgets: The budgets (:func:`load_budgets`).
        baseline: The baseline run for the regression rule (default: the budgets file's). With
            a baseline and no regression rule in the file, the default rule applies.
        ws: The workspace (default: the current one).
        write: Write ``gate.json`` into the run directory.
        comparison: A ``compare_runs([baseline, run])`` result already computed (the regression
            rule uses it instead of comparing again).

    Returns:
        ``{"passed", "run", "target", "budgets", "baseline", "confidence", "checks",
        "warnings", "counts": {"checks", "failed"}, "gated_at"}``; each check as
        :func:`budget_check` (or :func:`regression_checks`) gives it.

    Raises:
        InputError: The run (or baseline) is not a finished, complete run, the budgets name categories
            the run's policy does not have, or the runs cannot be compared (different judges:
            rejudge first).
    """
    from redline.learn.runs import load_run

    run = spec if hasattr(spec, "summary") and hasattr(spec, "dir") else load_run(spec, ws)
    status = run.manifest.get("status", "completed")
    if status != "completed":
        raise InputError(f"{run.dir}: the run is not complete", [Problem(
            str(run.dir / "summary.json"), f"status {status!r}: its rates cover only the samples done so far",
            "finish it first (re-run the same `redline eval` command to resume it), then gate it")])
    known, subtree, warning = _policy_tree(run)
    warnings = [warning] if warning else []
    pol = run.manifest.get("policy") or {}
    check_categories(budgets, known, str(pol.get("name") or "?"))
    checks = budget_checks(budgets, run.metrics, subtree)
    base = _baseline_spec(budgets, baseline)
    base_name = None
    if base is not None or comparison is not None:
        rule = budgets.regression or Regression()
        if comparison is None:
            from redline.learn.compare import compare_runs

            assert base is not None

            comparison = compare_runs([base, run.dir], baseline=0, correction=rule.correction, ws=ws)
        base_name = comparison["runs"][0].get("name")
        warnings += list(comparison.get("warnings") or [])
        checks += regression_checks(comparison, list(rule.metrics))
    failed = sum(1 for c in checks if not c["passed"])
    result = {
        "passed": failed == 0,
        "run": run.name,
        "dir": str(run.dir),
        "target": run.target,
        "budgets": str(budgets.path) if budgets.path else None,
        "baseline": base_name,
        "confidence": budgets.confidence,
        "checks": checks,
        "counts": {"checks": len(checks), "failed": failed},
        "warnings": warnings,
        "gated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if write:
        from redline.files import write_atomic

        write_atomic(run.dir / "gate.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


# -- CI outputs ------------------------------------------------------------------------------------


def _case_name(check: dict[str, Any]) -> tuple[str, str]:
    """``(classname, name)`` of a check's JUnit test case: the category × rule."""
    cat = check["category"] or "overall"
    name = check["rule"] if check["rule"] != "regression" else f"regression[{check['metric']}]"
    return f"redline.gate.{cat}", name


def render_junit(result: dict[str, Any]) -> str:
    """The gate as JUnit XML: one ``<testcase>`` per check (category × rule), failed ones with a
    ``<failure>`` whose message says why.

    Args:
        result: What :func:`gate_run` returned.

    Returns:
        The XML document (UTF-8 declaration included).
    """
    import xml.etree.ElementTree as ET

    checks = result["checks"]
    failed = result["counts"]["failed"]
    suites = ET.Element("testsuites", name="redline gate", tests=str(len(checks)), failures=str(failed),
                        errors="0")
    suite = ET.SubElement(suites, "testsuite", name=f"redline gate: {result['run']}", tests=str(len(checks)),
                          failures=str(failed), errors="0", skipped="0",
                          timestamp=result.get("gated_at", ""), time="0")
    props = ET.SubElement(suite, "properties")
    for key in ("run", "target", "budgets", "baseline", "confidence"):
        if result.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=str(result[key]))
    for c in checks:
        classname, name = _case_name(c)
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        if not c["passed"]:
            f = ET.SubElement(case, "failure", message=c["message"], type=c["rule"])
            f.text = json.dumps({k: c[k] for k in ("rate", "k", "n", "upper95", "budget", "needed_n")
                                 if k in c}, ensure_ascii=False)
        else:
            ET.SubElement(case, "system-out").text = c["message"]
    for w in result.get("warnings") or []:
        ET.SubElement(suite, "system-err").text = w
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _md(text: Any) -> str:
    """Text safe in a Markdown table cell (pipes, HTML and line breaks escaped)."""
    import html

    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: dict[str, Any]) -> str:
    """The gate as Markdown for a CI job page: verdict, one table row per check, warnings.

    Args:
        result: What :func:`gate_run` returned.

    Returns:
        The Markdown text.
    """
    c = result["counts"]
    head = "✅ passed" if result["passed"] else f"❌ failed ({c['failed']} of {c['checks']} checks)"
    lines = [f"## Redline gate: {head}", "",
             f"Run `{_md(result['run'])}` ({_md(result.get('target'))})"
             + (f", budgets `{_md(result['budgets'])}`" if result.get("budgets") else "")
             + (f", baseline `{_md(result['baseline'])}`" if result.get("baseline") else "")
             + f". A budget passes when the one-sided {result.get('confidence', 0.95):.0%} upper bound is within it.",
             ""]
    if result["checks"]:
        lines += ["| | category | rule | rate | upper bound | budget | details |",
                  "|---|---|---|---|---|---|---|"]
        order = sorted(result["checks"], key=lambda x: x["passed"])  # failures first
        for ch in order:
            mark = "✅" if ch["passed"] else "❌"
            rate = "n/a" if ch["rate"] is None else f"{pct(ch['rate'])} ({ch['k']}/{ch['n']})"
            lines.append(f"| {mark} | {_md(ch['category'] or 'overall')} | {_md(_case_name(ch)[1])} | {rate} | "
                         f"{pct(ch['upper95']) if ch['upper95'] is not None else ''} | "
                         f"{pct(ch['budget']) if ch['budget'] is not None else ''} | {_md(ch['message'])} |")
    else:
        lines.append("No checks: the budgets file sets no budget that applies to this run.")
    for w in result.get("warnings") or []:
        lines += ["", f"> ⚠️ {_md(w)}"]
    return "\n".join(lines) + "\n"


# -- planning --------------------------------------------------------------------------------------


def plan_sizes(rate: float, budget: float | None = None, *, diff: float | None = None, power: float = 0.8,
               confidence: float = 0.95, alpha: float = 0.05) -> dict[str, Any]:
    """Samples needed for a gate to be passable and for a comparison to detect a difference.

    Args:
        rate: The expected (true) failure rate of the run.
        budget: The budget the run is gated on (None: no gate sizes).
        diff: A difference to detect between two runs, from ``rate`` to ``rate + diff``
            (None: no comparison sizes).
        power: The probability to plan for.
        confidence: One-sided confidence of the gate's bound.
        alpha: Two-sided significance level of the comparison.

    Returns:
        ``{"rate", "budget", "diff", "power", "confidence", "gate": {"at_expected", "with_power"}
        | None, "compare": {"p1", "p2", "per_run", "pairs"} | None}``; a size is None when no
        number of samples suffices (a rate at or over the budget).

    Raises:
        InputError: An argument out of range (naming the option).
    """
    from redline.stats import samples_for_budget, samples_for_difference

    def bad(opt: str, msg: str) -> InputError:
        return InputError(f"bad {opt}", [Problem(opt, msg, "give a rate as a fraction between 0 and 1, e.g. 0.02")])

    for opt, v in (("--rate", rate), ("--budget", budget), ("--diff", diff)):
        if v is not None and not 0.0 <= v <= 1.0:
            raise bad(opt, f"{v:g} is not between 0 and 1")
    if not 0.0 < power < 1.0:
        raise InputError("bad --power", [Problem("--power", f"{power:g} is not between 0 and 1", "e.g. 0.8")])
    if not 0.5 <= confidence < 1.0:
        raise InputError("bad --confidence", [Problem("--confidence", f"{confidence:g} is not in [0.5, 1)",
                                                      "e.g. 0.95")])
    out: dict[str, Any] = {"rate": rate, "budget": budget, "diff": diff, "power": power,
                           "confidence": confidence, "gate": None, "compare": None}
    if budget is not None:
        out["gate"] = {"at_expected": samples_for_budget(rate, budget, confidence),
                       "with_power": samples_for_budget(rate, budget, confidence, power=power)}
    if diff:
        p2 = min(1.0, rate + diff)
        if p2 == rate:
            raise bad("--diff", "rate + diff is over 1")
        out["compare"] = {"p1": rate, "p2": p2,
                          "per_run": samples_for_difference(rate, p2, alpha=alpha, power=power),
                          "pairs": samples_for_difference(rate, p2, alpha=alpha, power=power, paired=True)}
    return out


def plan_budgets(budgets: Budgets, *, run: Any = None, rate: float | None = None, diff: float | None = None,
                 power: float = 0.8, ws: Any = None) -> list[dict[str, Any]]:
    """Plan sizes for every budget of a budgets file, at a given rate or a run's observed rates.

    Args:
        budgets: The budgets.
        run: A run (or its directory or name) whose observed rates to plan with; its categories
            receive the defaults, and budget names are checked against its policy.
        rate: The rate to assume where no run is given (or where the run has no samples).
        diff: A difference to detect between runs (see :func:`plan_sizes`).
        power: The probability to plan for.
        ws: The workspace (for a run name).

    Returns:
        One row per category (None: overall) × metric: ``{"category", "metric", "budget", "rate",
        "observed": {"k", "n"} | None, **plan_sizes(...)}``.

    Raises:
        InputError: Neither a run nor a rate is given, or the budgets name unknown categories.
    """
    if run is None and rate is None:
        raise InputError("nothing to plan with", [Problem(
            "--rate / --run", "give the rate to plan for (--rate 0.02) or a run whose observed rates to use",
            "e.g. `redline plan --budgets budgets.yaml --rate 0.02`")])
    rows = []
    targets: list[tuple[str | None, str, float, tuple[int, int] | None]] = []
    if run is not None:
        from redline.learn.runs import load_run

        r = run if hasattr(run, "summary") else load_run(run, ws)
        known, subtree, _ = _policy_tree(r)
        check_categories(budgets, known, str((r.manifest.get("policy") or {}).get("name") or "?"))
        for c in budget_checks(budgets, r.metrics, subtree):
            targets.append((c["category"], c["metric"], c["budget"], (c["k"], c["n"])))
    else:
        if budgets.overall is not None:
            targets += [(None, m, getattr(budgets.overall, m), None) for m in METRICS
                        if getattr(budgets.overall, m) is not None]
        for name in budgets.categories:
            targets += [(name, m, b, None) for m in METRICS for has, b in [_limit(budgets, name, m)]
                        if has and b is not None]
        if not budgets.categories:
            targets += [("(each category)", m, getattr(budgets.defaults, m), None) for m in METRICS
                        if getattr(budgets.defaults, m) is not None]
    for cid, metric, budget, obs in targets:
        r_used = obs[0] / obs[1] if obs and obs[1] else rate
        if r_used is None:
            r_used = 0.0
        rows.append({"category": cid, "metric": metric,
                     "observed": {"k": obs[0], "n": obs[1]} if obs else None,
                     **plan_sizes(r_used, budget, diff=diff, power=power, confidence=budgets.confidence)})
    return rows
