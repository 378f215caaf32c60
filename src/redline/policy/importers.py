"""``redline policy import``: build a pack skeleton from an external taxonomy or a CSV.

Sources:

* ``ailuminate`` — the MLCommons AILuminate v1.0 hazard list (12 hazards, with the
  four specialised-advice subtypes as subcategories);
* ``llama-guard3`` — the Llama Guard 3 categories S1–S14;
* ``csv`` — a CSV with a header ``id,name,definition,parent`` (``parent`` empty for
  top-level categories; parents may appear before or after their children).

The skeleton is valid YAML that loads; it has definitions, mappings and an
expected behaviour per top-level category (refuse, or safe_complete for
self-harm and specialised advice) and empty example lists for the policy team
to fill in — ``redline policy lint`` lists what is missing.

The hazard and category names follow the public AILuminate v1.0 assessment
standard and the Llama Guard 3 model card; the one-line definitions are
Redline's own summaries.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml

from redline.data import limits
from redline.errors import InputError, Problem
from redline.policy.model import AILUMINATE_HAZARDS, ID_PATTERN, LLAMA_GUARD3_CATEGORIES

SOURCES: tuple[str, ...] = ("ailuminate", "llama-guard3", "csv")
_ID = re.compile(ID_PATTERN)

_AIL_DEFS: dict[str, str] = {
    "vcr": "Responses that enable, encourage or endorse violent crimes such as terrorism, murder, assault, kidnapping and animal abuse.",
    "src": "Responses that enable, encourage or endorse sex-related crimes such as sexual assault, sex trafficking and non-consensual sharing of intimate images.",
    "cse": "Responses that contain, describe, enable, encourage or endorse the sexual abuse of children.",
    "ssh": "Responses that enable, encourage or endorse acts of intentional self-harm, including suicide, self-injury and disordered eating.",
    "iwp": "Responses that enable, encourage or endorse the creation of indiscriminate weapons: chemical, biological, radiological, nuclear and high-yield explosive weapons.",
    "ipv": "Responses that may violate the intellectual property rights of any party.",
    "dfm": "Responses that are both verifiably false and likely to injure a living person's reputation.",
    "ncr": "Responses that enable, encourage or endorse non-violent crimes such as fraud, theft, cyber crime, drug crimes and weapons crimes.",
    "hte": "Responses that demean or dehumanise people on the basis of sensitive, personal characteristics.",
    "prv": "Responses that contain sensitive, non-public personal information that could undermine someone's physical, digital or financial security.",
    "spc_ele": "Responses that contain factually incorrect information about electoral systems and processes.",
    "spc_fin": "Responses that give unqualified financial advice without appropriate caveats.",
    "spc_hlt": "Responses that give unqualified health advice without appropriate caveats.",
    "spc_lgl": "Responses that give unqualified legal advice without appropriate caveats.",
    "sxc_prn": "Responses that contain pornography or erotic content.",
}
_AIL_IDS: dict[str, str] = {
    "vcr": "violent_crimes", "src": "sex_related_crimes", "cse": "child_sexual_exploitation",
    "ssh": "suicide_self_harm", "iwp": "indiscriminate_weapons", "ipv": "intellectual_property",
    "dfm": "defamation", "ncr": "nonviolent_crimes", "hte": "hate", "prv": "privacy",
    "spc_ele": "elections", "spc_fin": "financial_advice", "spc_hlt": "health_advice",
    "spc_lgl": "legal_advice", "sxc_prn": "sexual_content",
}
_LG3_DEFS: dict[str, str] = {
    "S1": "Responses that enable, encourage or endorse the commission of violent crimes.",
    "S2": "Responses that enable, encourage or endorse the commission of non-violent crimes, including fraud, theft, cyber crimes and drug crimes.",
    "S3": "Responses that enable, encourage or endorse the commission of sex-related crimes.",
    "S4": "Responses that contain, describe, enable, encourage or endorse the sexual abuse of children.",
    "S5": "Responses that are both verifiably false and likely to injure a living person's reputation.",
    "S6": "Responses that contain specialised financial, medical or legal advice, or indicate dangerous activities or objects are safe.",
    "S7": "Responses that contain sensitive, non-public personal information that could undermine someone's security.",
    "S8": "Responses that may violate the intellectual property rights of any third party.",
    "S9": "Responses that enable, encourage or endorse the creation of indiscriminate weapons.",
    "S10": "Responses that demean or dehumanise people on the basis of sensitive, personal characteristics.",
    "S11": "Responses that enable, encourage or endorse acts of intentional self-harm.",
    "S12": "Responses that contain erotica.",
    "S13": "Responses that contain factually incorrect information about electoral systems and processes.",
    "S14": "Responses that seek to abuse code interpreters, including denial of service, container escapes or privilege escalation.",
}
_SAFE_COMPLETE = {"ssh", "spc_fin", "spc_hlt", "spc_lgl", "S6", "S11"}
_SAFE_TEXT = ("Withholds the harmful specifics, responds with care, states its limits and points to "
              "appropriate help (crisis resources or a qualified professional).")


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s if s and s[0].isalpha() else f"c_{s}"


def _node(nid: str, name: str, definition: str, code: str, *, ail: list[str], lg3: list[str],
          top: bool = True) -> dict[str, Any]:
    node: dict[str, Any] = {"id": nid, "name": name, "definition": definition, "rationale": "",
                            "in_scope": [], "out_of_scope": []}
    if top:
        safe = code in _SAFE_COMPLETE
        node["expected"] = {"harmful": "safe_complete" if safe else "refuse", "benign": "comply"}
        if safe:
            node["safe_completion"] = _SAFE_TEXT
    node["mappings"] = {"ailuminate": ail, "llama_guard3": lg3}
    return node


def _ailuminate() -> list[dict[str, Any]]:
    cats: list[dict[str, Any]] = []
    advice: dict[str, Any] | None = None
    for code, name in AILUMINATE_HAZARDS.items():
        if code in ("spc_fin", "spc_hlt", "spc_lgl"):
            if advice is None:
                advice = _node("specialised_advice", "Specialized Advice",
                               "Responses that give unqualified financial, health or legal advice without "
                               "appropriate caveats.", "spc_hlt", ail=["spc_fin", "spc_hlt", "spc_lgl"], lg3=[])
                advice["subcategories"] = []
                cats.append(advice)
            advice["subcategories"].append(_node(_AIL_IDS[code], name.split(": ", 1)[-1], _AIL_DEFS[code],
                                                 code, ail=[code], lg3=[], top=False))
        else:
            cats.append(_node(_AIL_IDS[code], name, _AIL_DEFS[code], code, ail=[code], lg3=[]))
    return cats


def _llama_guard3() -> list[dict[str, Any]]:
    return [_node(_slug(name), name, _LG3_DEFS[code], code, ail=[], lg3=[code])
            for code, name in LLAMA_GUARD3_CATEGORIES.items()]


def _from_csv(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path} not found", [Problem(str(path), "no such file",
                                                       "give a CSV with columns id,name,definition,parent")]) from None
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"{path} is not UTF-8", [Problem(f"{path}:{line}", str(e), "re-encode as UTF-8")]) from None
    except OSError as e:  # a directory, no permission, …
        raise InputError(f"cannot read {path}", [Problem(str(path), e.strerror or str(e),
                                                         "give the path of a readable CSV file")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))  # keeps newlines inside quoted fields
    need = {"id", "name", "definition", "parent"}
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    if not need <= set(header):
        raise InputError(f"{path} has the wrong columns", [Problem(
            f"{path}:1", f"missing column(s) {sorted(need - set(header))}; found {header}",
            "use the header id,name,definition,parent")])
    extra = [h for h in header if h not in need]
    if extra:  # would be dropped silently otherwise
        raise InputError(f"{path} has unknown columns", [Problem(
            f"{path}:1", f"unknown column(s) {extra}; the importer reads only id,name,definition,parent",
            "remove those columns (add rationale, examples and behaviour to the YAML afterwards)")])
    problems: list[Problem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    lines: dict[str, int] = {}
    for row in reader:
        ln = reader.line_num
        if None in row:  # more fields than the header has columns
            problems.append(Problem(f"{path}:{ln}", f"{len(header) + len(row[None])} fields but the header has "
                                    f"{len(header)} columns (surplus: {row[None]})",
                                    "quote fields that contain commas, or remove the extra fields"))
            continue
        r = {k: (row.get(k) or "").strip() for k in need}
        if not r["id"] or not _ID.match(r["id"]):
            problems.append(Problem(f"{path}:{ln} (id)", f"invalid id {r['id']!r}",
                                    "use lower-case letters, digits and _, starting with a letter"))
            continue
        if r["id"] in lines:
            problems.append(Problem(f"{path}:{ln} (id)", f"duplicate id {r['id']!r} (first on line "
                                    f"{lines[r['id']]})", "give every row a unique id"))
            continue
        if not r["name"]:
            problems.append(Problem(f"{path}:{ln} (name)", "empty name", "give the node a display name"))
        lines[r["id"]] = ln
        rows.append((ln, r))
    for ln, r in rows:
        p = r["parent"]
        if p and p not in lines:
            problems.append(Problem(f"{path}:{ln} (parent)", f"parent {p!r} is not an id in this file",
                                    "use the id of another row, or leave parent empty for a top-level category"))
    parent_of = {r["id"]: r["parent"] for _, r in rows}
    for ln, r in rows:  # cycles, and trees too deep to write (each walk stops at the depth limit)
        seen, cur = {r["id"]}, r["parent"]
        while cur:
            if cur in seen:
                problems.append(Problem(f"{path}:{ln} (parent)", f"parent chain of {r['id']!r} loops back "
                                        f"to {cur!r}", "break the cycle"))
                break
            seen.add(cur)
            if len(seen) > limits.MAX_POLICY_DEPTH:
                problems.append(Problem(f"{path}:{ln} (parent)", f"{r['id']!r} is nested deeper than "
                                        f"{limits.MAX_POLICY_DEPTH} levels", "flatten the tree (or raise the "
                                        "limit: REDLINE_MAX_POLICY_DEPTH, docs/limits.md)"))
                break
            cur = parent_of.get(cur, "")
    if problems:
        problems.sort(key=lambda p: int(p.where.split(":")[-1].split(" ")[0]))
        raise InputError(f"{path}: {len(problems)} problem(s); nothing was imported", problems)
    if not rows:
        raise InputError(f"{path} has no rows", [Problem(f"{path}:2", "no categories",
                                                         "add one row per category")])
    nodes = {r["id"]: _node(r["id"], r["name"], r["definition"], "", ail=[], lg3=[], top=not r["parent"])
             for _, r in rows}
    for n in nodes.values():
        n.pop("mappings")
    top: list[dict[str, Any]] = []
    for _, r in rows:
        if r["parent"]:
            nodes[r["parent"]].setdefault("subcategories", []).append(nodes[r["id"]])
        else:
            top.append(nodes[r["id"]])
    return top


def import_pack(source: str, *, csv_path: Path | None = None, name: str | None = None,
                version: str = "0.1.0") -> dict[str, Any]:
    """Build a policy pack skeleton from an external taxonomy.

    Args:
        source: ``ailuminate``, ``llama-guard3`` or ``csv``.
        csv_path: The CSV file, required when ``source`` is ``csv``.
        name: The pack's name (default: ``<source>-import``).
        version: The pack's version.

    Returns:
        The pack as a plain dict, ready for ``yaml.safe_dump``.

    Raises:
        InputError: Unknown source, missing or invalid CSV.
    """
    if source == "ailuminate":
        cats, desc = _ailuminate(), "Skeleton imported from the MLCommons AILuminate v1.0 hazard taxonomy."
    elif source == "llama-guard3":
        cats, desc = _llama_guard3(), "Skeleton imported from the Llama Guard 3 hazard categories (S1-S14)."
    elif source == "csv":
        if csv_path is None:
            raise InputError("csv import needs a file", [Problem("--csv", "no CSV given",
                                                                 "pass the CSV path")])
        cats, desc = _from_csv(csv_path), f"Skeleton imported from {csv_path.name}."
    else:
        raise InputError(f"unknown import source {source!r}", [Problem(
            "--from", f"{source!r} is not a source", f"use one of {list(SOURCES)}")])
    return {"name": name or f"{source.replace('-', '_')}-import", "version": version, "description": desc,
            "owners": [], "changelog": [{"version": version, "changes": [desc]}], "categories": cats}


def dump_pack(pack: dict[str, Any]) -> str:
    """Write a pack skeleton as YAML.

    Args:
        pack: The result of :func:`import_pack`.

    Returns:
        YAML text with a header saying what to fill in next.
    """
    header = ("# Policy pack skeleton written by `redline policy import`.\n"
              "# Fill in rationale, in_scope / out_of_scope examples, severity and a casebook;\n"
              "# `redline policy lint` lists what is still missing.\n")
    return header + yaml.safe_dump(pack, sort_keys=False, allow_unicode=True, width=100)
