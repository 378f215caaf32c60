"""Load policy packs from YAML, reporting every error with file and line.

A pack is one YAML file, or a folder holding ``pack.yaml`` (name, version, …)
plus any number of other ``*.yaml`` files that contribute ``categories`` and/or
``casebook`` entries (read in sorted path order).

``extends: NAME_OR_PATH`` merges the pack over a base pack:

* a category whose ``id`` exists anywhere in the base tree overrides the fields
  it gives (its ``subcategories`` are merged the same way, recursively);
* a new category is added at top level, or under ``parent: ID`` when it says so;
* ``remove: [ID, …]`` drops base nodes (and their cases);
* casebook cases are added, a case with an existing ``id`` replaces it;
* ``severity_levels`` replaces the base scale when given; name, version, owners,
  changelog, description, suite and audience are the pack's own.

A pack whose top level says ``kind: rubric`` is a rubric guideline pack
(:class:`~redline.policy.rubric.Rubric`: criteria with scoring levels instead of a category
tree; a folder's part files then hold ``criteria`` and/or ``casebook``). :func:`load_pack`
loads either kind; :func:`load_policy` (every harm-evaluation path) loads only taxonomies and
names the fix when given a rubric. ``kind: taxonomy`` may be written and is the default.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from redline.data import limits
from redline.errors import InputError, Problem
from redline.policy.model import Policy
from redline.policy.rubric import Rubric

BUILTIN_DIR = "packs/policies"
PACK_FILE = "pack.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
_O = "\x00origin"  # provenance key attached to raw dicts while merging
_INHERITED_META = {"severity_levels"}
_MERGED_FIELDS = {"expected", "mappings"}  # an override gives only the sub-fields it changes
_OWN_META = {"name", "version", "description", "owners", "changelog", "extends", "suite", "audience"}
KINDS = ("taxonomy", "rubric")
_PART_KEYS = {"taxonomy": {"categories", "casebook"}, "rubric": {"criteria", "casebook"}}
_KIND_LINE = re.compile(r"^kind:\s*['\"]?rubric['\"]?\s*(#.*)?$", re.MULTILINE)


def builtin_packs() -> dict[str, Path]:
    """List every built-in guideline pack (harm taxonomies and rubrics).

    Returns:
        Each pack's name mapped to its file (or folder) inside the installed package.
    """
    root = resources.files("redline").joinpath(BUILTIN_DIR)
    out: dict[str, Path] = {}
    for entry in root.iterdir():
        if entry.name.endswith((".yaml", ".yml")):
            out[entry.name.rsplit(".", 1)[0]] = Path(str(entry))
        elif entry.is_dir() and entry.joinpath(PACK_FILE).is_file():
            out[entry.name] = Path(str(entry))
    return dict(sorted(out.items()))


def pack_kind(path: Path) -> str:
    """Tell a pack's kind from its (top-level) file without loading it.

    A top-level ``kind: rubric`` line marks a rubric; anything else is a taxonomy (a wrong
    ``kind`` value is reported when the pack is loaded).

    Args:
        path: A pack's YAML file or folder.

    Returns:
        ``"rubric"`` or ``"taxonomy"``.
    """
    f = path / PACK_FILE if path.is_dir() else path
    try:
        text = f.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return "taxonomy"
    return "rubric" if _KIND_LINE.search(text) else "taxonomy"


def builtin_policies() -> dict[str, Path]:
    """List the built-in harm-taxonomy policy packs (rubric packs: :func:`builtin_packs`).

    Returns:
        Each pack's name mapped to its file (or folder) inside the installed package.
    """
    return {k: v for k, v in builtin_packs().items() if pack_kind(v) == "taxonomy"}


# -- provenance ---------------------------------------------------------------------------------
@dataclass
class _Doc:
    path: Path
    text: str
    _root: yaml.Node | None = None

    @property
    def root(self) -> yaml.Node | None:
        if self._root is None:
            try:
                self._root = yaml.compose(self.text, Loader=_Loader)
            except yaml.YAMLError:  # pragma: no cover - already parsed once
                return None
        return self._root

    def line(self, loc: tuple[Any, ...]) -> int:
        root = self.root
        if root is None:
            return 1
        return _node_at(root, loc).start_mark.line + 1


Origin = tuple[_Doc, tuple[Any, ...]]


@dataclass
class PackSource:
    """Where every part of a resolved pack came from (for ``file:line`` messages)."""

    files: list[Path] = field(default_factory=list)
    origins: dict[tuple[Any, ...], Origin] = field(default_factory=dict)
    node_locs: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # node id → merged loc

    def where(self, loc: tuple[Any, ...]) -> str:
        """Find where a part of the resolved pack was written.

        Args:
            loc: The part's location in the resolved pack (keys and list indexes).

        Returns:
            ``file:line`` of the closest written ancestor, else the pack's first file.
        """
        for cut in range(len(loc), -1, -1):
            got = self.origins.get(tuple(loc[:cut]))
            if got is not None:
                doc, dloc = got
                return f"{doc.path}:{doc.line(dloc + tuple(loc[cut:]))}"
        return str(self.files[0]) if self.files else "<policy>"

    def where_node(self, node_id: str, field_name: str | None = None) -> str:
        """Find where a category node (or one of its fields) was written.

        Args:
            node_id: The category id.
            field_name: A field of the node, such as ``definition``.

        Returns:
            ``file:line`` as for :meth:`where`.
        """
        loc = self.node_locs.get(node_id)
        if loc is None:
            return self.where(())
        return self.where(loc + ((field_name,) if field_name else ()))


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Follow a location through the YAML node tree (best effort)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    nxt = v
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _annotate(obj: Any, doc: _Doc, loc: tuple[Any, ...]) -> None:
    """Attach provenance to every dict of the pack tree (policy, nodes, cases)."""
    if not isinstance(obj, dict):
        return
    obj[_O] = {"": (doc, loc), **{k: (doc, (*loc, k)) for k in obj if k != _O}}
    for key in ("categories", "subcategories", "casebook", "criteria"):
        items = obj.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                _annotate(item, doc, (*loc, key, i))


def _collect_origins(obj: Any, loc: tuple[Any, ...], src: PackSource) -> None:
    if not isinstance(obj, dict):
        return
    orig = obj.pop(_O, None)
    if orig:
        for k, v in orig.items():
            src.origins[loc if k == "" else (*loc, k)] = v
    for key in ("categories", "subcategories"):
        items = obj.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    src.node_locs.setdefault(item["id"], (*loc, key, i))
                _collect_origins(item, (*loc, key, i), src)
    for key in ("casebook", "criteria"):
        cases = obj.get(key)
        if isinstance(cases, list):
            for i, item in enumerate(cases):
                _collect_origins(item, (*loc, key, i), src)


# -- reading ------------------------------------------------------------------------------------
def _read_yaml(path: Path) -> tuple[Any, _Doc]:
    try:
        if path.stat().st_size > limits.MAX_CONFIG_BYTES:
            raise InputError(f"policy {path} is too large", [Problem(
                str(path), f"{path.stat().st_size} bytes, over the {limits.MAX_CONFIG_BYTES}-byte limit",
                "split the pack into a folder of files, or raise REDLINE_MAX_CONFIG_BYTES (docs/limits.md)")])
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"policy {path} is not UTF-8", [Problem(
            f"{path}:{line}", f"not UTF-8 ({e.reason})", "re-encode the file as UTF-8")]) from None
    # depth, alias expansion (an alias bomb, even under an unused key) and integer size, before
    # anything builds or walks the document (docs/limits.md)
    limits.check_yaml(text, path, _Loader)
    loader = _Loader(text)
    try:  # what yaml.load does, keeping the node tree for line numbers and duplicate keys
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"policy {path} is not valid YAML",
                         [Problem(where, str(getattr(e, "problem", e)), "fix the YAML syntax")]) from None
    except (ValueError, RecursionError) as e:  # pragma: no cover - check_yaml refuses these first
        raise InputError(f"policy {path} cannot be read", [Problem(str(path), str(e)[:200], None)]) from None
    finally:
        loader.dispose()
    dups = _duplicate_keys(root, path) if root is not None else []
    if dups:
        raise InputError(f"policy {path} repeats {len(dups)} key(s)", dups)
    return data, _Doc(path, text, root)


def _duplicate_keys(root: yaml.Node, path: Path) -> list[Problem]:
    """YAML keeps only the last of two equal keys in a mapping (a second ``definition:`` pasted
    into a node silently replaces the first): report them instead."""
    problems: list[Problem] = []
    stack = [root]
    seen: set[int] = set()  # an alias is the same node object again: never walk it twice
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for k, v in node.value:
                stack.append(v)
                if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                    continue
                line = k.start_mark.line + 1
                if k.value in first:
                    problems.append(Problem(f"{path}:{line}", f"key {k.value!r} appears twice in this mapping "
                                            f"(first on line {first[k.value]}); YAML would keep only this one",
                                            "remove one of them or merge their content"))
                else:
                    first[k.value] = line
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(problems, key=lambda p: int(p.where.rsplit(":", 1)[1]))


def _resolve_path(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    builtins = builtin_packs()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        return builtins[name_or_path]
    path = Path(name_or_path)
    if relative_to is not None and not path.is_absolute() and (relative_to / path).exists():
        path = relative_to / path  # `extends` paths are relative to the extending pack first
    if not path.exists():
        raise InputError(
            f"policy {str(name_or_path)!r} not found",
            [Problem(str(name_or_path), "no such built-in policy or file",
                     f"use one of {sorted(builtins)} or a path to a policy YAML file or pack folder")],
        )
    if path.is_dir() and not (path / PACK_FILE).is_file():
        raise InputError(f"policy {path} is a folder without {PACK_FILE}", [Problem(
            str(path), f"a pack folder needs a {PACK_FILE} with name and version",
            f"add {path / PACK_FILE} or give the path of a policy YAML file")])
    if not path.is_dir() and not path.is_file():
        raise InputError(f"policy {path} is not a file", [Problem(
            str(path), "a special file", "give the path of a policy YAML file")])
    return path


def _not_mapping(doc: _Doc, what: str) -> InputError:
    return InputError(f"policy {doc.path} is invalid", [Problem(
        f"{doc.path}:1", f"the file must be a YAML mapping with {what}", None)])


def _keep_version_text(data: dict[str, Any], doc: _Doc) -> None:
    """Versions as written: YAML reads ``version: 1.10`` as the float 1.1, which would
    silently turn into "1.1" (and collide with a real 1.1); take the source text instead."""

    def raw(loc: tuple[Any, ...]) -> str | None:
        root = doc.root
        node = _node_at(root, loc) if root is not None else None
        return node.value if isinstance(node, yaml.ScalarNode) else None

    if isinstance(data.get("version"), int | float) and not isinstance(data.get("version"), bool):
        data["version"] = raw(("version",)) or str(data["version"])
    log = data.get("changelog")
    if isinstance(log, list):
        for i, entry in enumerate(log):
            v = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(v, int | float) and not isinstance(v, bool):
                entry["version"] = raw(("changelog", i, "version")) or str(v)


def _read_pack(path: Path, src: PackSource) -> dict[str, Any]:
    """The raw (annotated) dict of one file or folder pack, before ``extends``."""
    if path.is_file():
        data, doc = _read_yaml(path)
        src.files.append(path)
        if not isinstance(data, dict):
            raise _not_mapping(doc, "'name', 'version' and 'categories'")
        _keep_version_text(data, doc)
        _annotate(data, doc, ())
        return data
    data, doc = _read_yaml(path / PACK_FILE)
    src.files.append(path / PACK_FILE)
    if not isinstance(data, dict):
        raise _not_mapping(doc, "'name' and 'version'")
    _keep_version_text(data, doc)
    _annotate(data, doc, ())
    kind = "rubric" if data.get("kind") == "rubric" else "taxonomy"
    first = "'criteria'" if kind == "rubric" else "'categories'"
    for part in sorted(p for p in path.rglob("*.y*ml") if p.name != PACK_FILE and p.is_file()):
        pdata, pdoc = _read_yaml(part)
        src.files.append(part)
        if not isinstance(pdata, dict) or not (_PART_KEYS[kind] & set(pdata)):
            raise _not_mapping(pdoc, f"{first} and/or 'casebook' lists")
        extra = sorted(set(pdata) - _PART_KEYS[kind])
        if extra:
            raise InputError(f"policy part {part} has unexpected keys", [Problem(
                f"{part}:{pdoc.line((extra[0],))}", f"unexpected key(s) {extra}",
                f"put pack metadata in {PACK_FILE}; parts hold only {first} and 'casebook'")])
        _annotate(pdata, pdoc, ())
        for key in ("categories", "casebook") if kind == "taxonomy" else ("criteria", "casebook"):
            items = pdata.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                raise InputError(f"policy part {part} is invalid", [Problem(
                    f"{part}:{pdoc.line((key,))}", f"'{key}' must be a list", None)])
            existing = data.setdefault(key, [])
            if not isinstance(existing, list):
                raise InputError(f"policy {path / PACK_FILE} is invalid", [Problem(
                    f"{path / PACK_FILE}:{doc.line((key,))}", f"'{key}' must be a list", None)])
            existing.extend(items)
    return data


def _find(nodes: list[Any], nid: str) -> dict[str, Any] | None:
    """The node ``nid`` of a tree, pre-order (iterative: a tree's depth is checked only later)."""
    stack = [iter(nodes)]
    while stack:
        n = next(stack[-1], None)
        if n is None:
            stack.pop()
            continue
        if not isinstance(n, dict):
            continue
        if n.get("id") == nid:
            return n
        sub = n.get("subcategories")
        if isinstance(sub, list):
            stack.append(iter(sub))
    return None


def _check_depth(data: dict[str, Any]) -> None:
    """Refuse a category tree deeper than ``MAX_POLICY_DEPTH`` levels (YAML nesting, or chains of
    ``parent:`` in packs that extend each other) before recursive code walks it."""
    cats = data.get("categories")
    stack = [(n, 1) for n in cats if isinstance(n, dict)] if isinstance(cats, list) else []
    while stack:
        n, d = stack.pop()
        if d > limits.MAX_POLICY_DEPTH:
            raise InputError(f"policy tree deeper than {limits.MAX_POLICY_DEPTH} levels", [Problem(
                _where_raw(n, "id"), f"node {str(n.get('id'))[:80]!r} is at level {d}: subcategories nested "
                f"deeper than {limits.MAX_POLICY_DEPTH} levels",
                "flatten the tree (or raise the limit: REDLINE_MAX_POLICY_DEPTH, docs/limits.md)")])
        sub = n.get("subcategories")
        if isinstance(sub, list):
            stack.extend((x, d + 1) for x in sub if isinstance(x, dict))


def _remove(nodes: list[Any], nid: str) -> list[str] | None:
    """Remove node ``nid``; return the ids removed (it and its descendants)."""
    for i, n in enumerate(nodes):
        if not isinstance(n, dict):
            continue
        if n.get("id") == nid:
            gone: list[str] = []
            stack = [n]
            while stack:
                cur = stack.pop()
                gone.append(str(cur.get("id")))
                stack.extend(x for x in cur.get("subcategories") or [] if isinstance(x, dict))
            del nodes[i]
            return gone
        sub = n.get("subcategories")
        if isinstance(sub, list):
            got = _remove(sub, nid)
            if got is not None:
                return got
    return None


def _where_raw(d: dict[str, Any], key: str | None = None) -> str:
    orig = d.get(_O) or {}
    got = orig.get(key or "") or orig.get("")
    if not got:
        return "<policy>"
    doc, loc = got
    return f"{doc.path}:{doc.line(loc)}"


def _merge_node(base: dict[str, Any], over: dict[str, Any], root: list[Any], problems: list[Problem]) -> None:
    borig = base.setdefault(_O, {})
    oorig = over.get(_O) or {}
    for key, value in over.items():
        if key in (_O, "id", "parent", "subcategories"):
            continue
        if key in _MERGED_FIELDS and isinstance(value, dict) and isinstance(base.get(key), dict):
            value = {**base[key], **value}  # override only the sub-fields given
        base[key] = value
        if key in oorig:
            borig[key] = oorig[key]
    subs = over.get("subcategories")
    if isinstance(subs, list):
        target = base.setdefault("subcategories", [])
        if not isinstance(target, list):
            target = base["subcategories"] = []
        _merge_list(target, subs, root, problems)


def _merge_list(target: list[Any], overlay: list[Any], root: list[Any], problems: list[Problem]) -> None:
    for item in overlay:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            target.append(item)  # let validation report it with its location
            continue
        existing = _find(root, item["id"])
        if existing is not None:
            _merge_node(existing, item, root, problems)
            continue
        parent = item.get("parent")
        if parent is not None:
            pnode = _find(root, str(parent))
            if pnode is None:
                problems.append(Problem(_where_raw(item, "parent"), f"parent {parent!r} is not a node "
                                        "of the base pack or this pack", "use an existing node id"))
                continue
            item = {k: v for k, v in item.items() if k != "parent"}
            subs = pnode.setdefault("subcategories", [])
            subs.append(item)
        else:
            target.append(item)


def _overlay_shape(items: list[Any], owner: dict[str, Any], key: str) -> list[Problem]:
    """Every node an extending pack gives must be a mapping with an ``id`` (reported at its own
    line: once merged into the base tree, a malformed item could no longer be placed)."""
    problems: list[Problem] = []
    got = (owner.get(_O) or {}).get(key)
    for i, item in enumerate(items):
        where = f"{got[0].path}:{got[0].line((*got[1], i))}" if got else _where_raw(owner, key)
        if not isinstance(item, dict):
            problems.append(Problem(where, f"{key}[{i}] must be a mapping with id, name, …, "
                                    f"not {type(item).__name__}", "give the node as `- id: …` with its fields"))
            continue
        if not isinstance(item.get("id"), str):
            problems.append(Problem(where, f"{key}[{i}] has no string 'id'",
                                    "give the id of the node to override, or a new id"))
            continue
        subs = item.get("subcategories")
        if isinstance(subs, list):
            problems += _overlay_shape(subs, item, "subcategories")
    return problems


def _overlay_duplicates(over_cats: list[Any], data: dict[str, Any]) -> list[Problem]:
    """An extending pack that names the same node or case id twice would have the second silently
    merged into (or replace) the first: report it instead."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    stack = [n for n in over_cats if isinstance(n, dict)]
    while stack:
        n = stack.pop(0)
        nid = n.get("id")
        if isinstance(nid, str):
            here = _where_raw(n, "id")
            if nid in seen:
                problems.append(Problem(here, f"node id {nid!r} is given twice in this pack (first at "
                                        f"{seen[nid]})", "merge the two entries into one"))
            else:
                seen[nid] = here
        subs = n.get("subcategories")
        if isinstance(subs, list):
            stack.extend(x for x in subs if isinstance(x, dict))
    cases = data.get("casebook")
    got = (data.get(_O) or {}).get("casebook")
    first: dict[str, str] = {}
    for i, c in enumerate(cases if isinstance(cases, list) else []):
        cid = c.get("id") if isinstance(c, dict) else None
        if not isinstance(cid, str):
            continue
        here = _where_raw(c, "id") if _O in c else (f"{got[0].path}:{got[0].line((*got[1], i))}" if got else "")
        if cid in first:
            problems.append(Problem(here, f"casebook case id {cid!r} is given twice in this pack (first at "
                                    f"{first[cid]})", "give every case a unique id (a case replaces a base "
                                    "case only by reusing the base case's id once)"))
        else:
            first[cid] = here
    return problems


def _resolve(path: Path, src: PackSource, stack: tuple[Path, ...]) -> dict[str, Any]:
    real = path.resolve()
    if real in stack:
        chain = " → ".join(str(p) for p in (*stack, real))
        raise InputError("policy packs extend each other in a cycle", [Problem(
            str(path), f"extends cycle: {chain}", "remove one of the 'extends' fields")])
    data = _read_pack(path, src)
    kind = data.get("kind", "taxonomy")
    if kind not in KINDS:
        raise InputError(f"policy {path} is invalid", [Problem(
            _where_raw(data, "kind"), f"unknown pack kind {kind!r}",
            "use kind: taxonomy (a harm policy, the default) or kind: rubric (criteria with scoring levels)")])
    base_ref = data.get("extends")
    if kind == "rubric" and base_ref is not None:
        raise InputError(f"policy {path} is invalid", [Problem(
            _where_raw(data, "extends"), "a rubric pack cannot extend another pack",
            "copy the base rubric's criteria into this pack and drop 'extends'")])
    if base_ref is None:
        _check_depth(data)
        return data
    if not isinstance(base_ref, str):
        raise InputError(f"policy {path} is invalid", [Problem(
            _where_raw(data, "extends"), "'extends' must be a pack name or path", None)])
    try:
        base_path = _resolve_path(base_ref, relative_to=path if path.is_dir() else path.parent)
    except InputError as e:
        raise InputError(f"policy {path}: cannot find the pack it extends ({base_ref!r})", [
            Problem(_where_raw(data, "extends"), f"extends {base_ref!r}: {p.message}", p.fix)
            for p in e.problems]) from None
    if base_path.resolve() in (*stack, real):
        chain = " → ".join(str(p) for p in (*stack, real, base_path.resolve()))
        raise InputError("policy packs extend each other in a cycle", [Problem(
            _where_raw(data, "extends"), f"extends cycle: {chain}", "remove one of the 'extends' fields")])
    base = _resolve(base_path, src, (*stack, real))
    if base.get("kind") == "rubric":
        raise InputError(f"policy {path} cannot extend {base_ref!r}", [Problem(
            _where_raw(data, "extends"), f"{base_ref!r} is a rubric pack; a harm taxonomy can only "
            "extend another taxonomy", "extend a taxonomy pack (`redline policies`), or drop 'extends'")])
    problems: list[Problem] = []
    merged = copy.copy(base)
    merged[_O] = dict(base.get(_O) or {})
    for key in _OWN_META:
        merged.pop(key, None)
        merged[_O].pop(key, None)
    for key, value in data.items():
        if key in (_O, "categories", "casebook", "remove"):
            continue
        merged[key] = value
        merged[_O][key] = (data.get(_O) or {}).get(key)
    cats = merged.get("categories")
    cats = list(cats) if isinstance(cats, list) else []
    removed: set[str] = set()
    to_remove = data.get("remove") or []
    if isinstance(to_remove, str):
        to_remove = [to_remove]  # `remove: some_id` means one id, not its letters
    if not isinstance(to_remove, list):
        problems.append(Problem(_where_raw(data, "remove"), "'remove' must be a list of node ids",
                                "write remove: [id, …]"))
        to_remove = []
    for nid in to_remove:
        gone = _remove(cats, str(nid))
        if gone is None:
            problems.append(Problem(_where_raw(data, "remove"), f"cannot remove {nid!r}: not a node "
                                    f"of the base pack", "use an existing node id"))
        else:
            removed.update(gone)
    over_cats = data.get("categories") or []
    if not isinstance(over_cats, list):
        problems.append(Problem(_where_raw(data, "categories"), "'categories' must be a list", None))
        over_cats = []
    problems += _overlay_shape(over_cats, data, "categories")
    problems += _overlay_duplicates(over_cats, data)
    _merge_list(cats, over_cats, cats, problems)
    merged["categories"] = cats
    _check_depth(merged)
    cases = [c for c in merged.get("casebook") or []
             if not (isinstance(c, dict) and c.get("node") in removed)]
    over_cases = data.get("casebook") or []
    if not isinstance(over_cases, list):
        problems.append(Problem(_where_raw(data, "casebook"), "'casebook' must be a list", None))
        over_cases = []
    for case in over_cases:
        idx = next((i for i, c in enumerate(cases) if isinstance(c, dict) and isinstance(case, dict)
                    and c.get("id") == case.get("id")), None)
        if idx is None:
            cases.append(case)
        else:
            cases[idx] = case
    merged["casebook"] = cases
    if problems:
        raise InputError(f"policy {path} cannot extend {base_ref!r}: {len(problems)} error(s)", problems)
    return merged


def _strip(obj: Any) -> Any:
    """A deep copy of the raw tree without provenance keys."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != _O}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _duplicate_ids(data: dict[str, Any], src: PackSource) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, tuple[Any, ...]] = {}

    def visit(items: Any, loc: tuple[Any, ...], top: bool) -> None:
        if not isinstance(items, list):
            return
        for i, n in enumerate(items):
            if not isinstance(n, dict):
                continue
            nloc = (*loc, i)
            nid = n.get("id")
            if isinstance(nid, str):
                if nid in seen:
                    kind = "category" if top else "node"
                    problems.append(Problem(f"{src.where((*nloc, 'id'))} ({_fmt_loc((*nloc, 'id'))})",
                                            f"duplicate {kind} id {nid!r} (first at {src.where(seen[nid])})",
                                            "give every node a unique id"))
                else:
                    seen[nid] = (*nloc, "id")
            visit(n.get("subcategories"), (*nloc, "subcategories"), False)

    visit(data.get("categories"), ("categories",), True)
    cases: dict[str, tuple[Any, ...]] = {}
    for i, c in enumerate(data.get("casebook") or [] if isinstance(data.get("casebook"), list) else []):
        cid = c.get("id") if isinstance(c, dict) else None
        if isinstance(cid, str) and cid in cases:
            problems.append(Problem(f"{src.where(('casebook', i, 'id'))} (casebook[{i}].id)",
                                    f"duplicate casebook case id {cid!r} (first at {src.where(cases[cid])})",
                                    "give every case a unique id"))
        elif isinstance(cid, str):
            cases[cid] = ("casebook", i, "id")
    return problems


def _fill_partial_expected(items: Any, parent: dict[str, Any] | None = None) -> None:
    """A sub-node may give only part of ``expected`` (``{ambiguous: refuse}``): the behaviours it
    leaves out come from its parent, as a whole missing ``expected`` would."""
    if not isinstance(items, list):
        return
    for n in items:
        if not isinstance(n, dict):
            continue
        exp = n.get("expected")
        if parent is not None and isinstance(exp, dict) and "harmful" not in exp:
            n["expected"] = exp = {**{k: v for k, v in parent.items() if k in ("harmful", "benign", "ambiguous")},
                                   **exp}
        own = exp if isinstance(exp, dict) else parent
        _fill_partial_expected(n.get("subcategories"), own)


def _validation_problems(e: ValidationError, src: PackSource) -> list[Problem]:
    problems = []
    for err in e.errors():
        loc = tuple(err["loc"])
        loc = tuple(k for k in loc if k != "TopCategory")
        fld = _fmt_loc(loc)
        msg = err["msg"]
        fix = None
        if err["type"] == "literal_error":
            fix = f"use one of {err.get('ctx', {}).get('expected', '')}"
        elif err["type"] == "missing":
            fix = f"add the field '{loc[-1]}'"
        elif err["type"] == "extra_forbidden":
            fix = f"remove or rename '{loc[-1]}'"
        where = src.where(loc)
        problems.append(Problem(f"{where} ({fld})" if fld else where, msg, fix))
    return problems


def load_pack_source(name_or_path: str | Path) -> tuple[Policy | Rubric, PackSource]:
    """Load a guideline pack of either kind and record where each part came from.

    Args:
        name_or_path: A built-in pack name, or a pack's YAML file or folder.

    Returns:
        The pack (a :class:`Policy` for a harm taxonomy, a :class:`Rubric` for
        ``kind: rubric``) and its :class:`PackSource`.

    Raises:
        InputError: The pack is unreadable or invalid; lists every problem as
            ``file:line (field)`` with a fix.
    """
    path = _resolve_path(name_or_path)
    src = PackSource()
    raw = _resolve(path, src, ())
    _collect_origins(raw, (), src)
    data = _strip(raw)
    if data.get("kind") == "rubric":
        try:
            return Rubric.model_validate(data), src
        except ValidationError as e:
            problems = []
            for p in _validation_problems(e, src):
                if p.fix is None and "; " in p.message:  # the rubric model's messages end with "; <fix>"
                    what, _, fix = p.message.removeprefix("Value error, ").partition("; ")
                    p = Problem(p.where, what, fix)
                elif p.fix is None:
                    fix = ("give a whole number (a level value)" if "valid integer" in p.message else
                           "write it as the rubric format asks (docs/policy.md, guideline packs)")
                    p = Problem(p.where, p.message, fix)
                problems.append(p)
            raise InputError(f"rubric pack {path} has {len(problems)} error(s)", problems) from None
    data.pop("kind", None)  # "taxonomy", the default: not part of a policy's content (or hash)
    _fill_partial_expected(data.get("categories"))
    dups = _duplicate_ids(data, src)
    if dups:
        raise InputError(f"policy {path} has {len(dups)} error(s)", dups)
    try:
        return Policy.model_validate(data), src
    except ValidationError as e:
        problems = _validation_problems(e, src)
        raise InputError(f"policy {path} has {len(problems)} error(s)", problems) from None


def load_pack(name_or_path: str | Path) -> Policy | Rubric:
    """Load a guideline pack of either kind (harm taxonomy or rubric) by name or path.

    Args:
        name_or_path: A built-in pack name, or a pack's YAML file or folder.

    Returns:
        A :class:`Policy` or a :class:`Rubric`.

    Raises:
        InputError: The pack is unreadable or invalid.
    """
    return load_pack_source(name_or_path)[0]


def pack_data_path(name_or_path: str | Path) -> Path | None:
    """Find the data file a rubric pack names in ``data`` (relative to the pack's folder or file).

    Args:
        name_or_path: A built-in pack name, or a pack's YAML file or folder.

    Returns:
        The data file's path, or None when the pack names none (or it does not exist).

    Raises:
        InputError: The pack is unreadable or invalid.
    """
    pack = load_pack(name_or_path)
    if not isinstance(pack, Rubric) or not pack.data:
        return None
    path = _resolve_path(name_or_path)
    got = (path if path.is_dir() else path.parent) / pack.data
    return got if got.is_file() else None


def load_policy_source(name_or_path: str | Path) -> tuple[Policy, PackSource]:
    """Load a harm-taxonomy pack and record where each part came from.

    Args:
        name_or_path: A built-in policy name, or a pack's YAML file or folder.

    Returns:
        The policy and its :class:`PackSource`.

    Raises:
        InputError: The pack is unreadable or invalid, or is a rubric pack; lists every
            problem as ``file:line (field)``.
    """
    pack, src = load_pack_source(name_or_path)
    if isinstance(pack, Rubric):
        raise InputError(f"{name_or_path} is a rubric guideline pack, not a harm policy", [Problem(
            src.where(("kind",)), f"{pack.name} scores items on criteria ({', '.join(pack.criterion_ids)}); "
            "it has no harm categories to evaluate or label against",
            "use a harm policy here (`redline policies`); rubric packs work with `redline policy "
            "lint|diff|render|compile|show` and `redline annotate create --task rubric-score`")])
    return pack, src


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in policy by name, or a pack (YAML file or folder) by path.

    Args:
        name_or_path: A built-in policy name, or a pack's YAML file or folder.

    Returns:
        The validated policy, with inherited fields filled in.

    Raises:
        InputError: The pack is unreadable or invalid; lists every problem as
            ``file:line (field)``.
    """
    return load_policy_source(name_or_path)[0]
