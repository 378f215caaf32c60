"""Limits on input size and shape, and the one JSON and YAML loading path that enforces them.

Every limit is documented in ``docs/limits.md`` with the environment variable that raises it. The
values are read from the environment once, at import; tests patch the module attributes.

JSON (:func:`loads_json`, used by every JSON/JSONL reader and for JSON text in CSV/Excel cells):

- nesting deeper than :data:`MAX_DEPTH` is refused (CPython's decoder has no depth limit of its own
  and stops with ``RecursionError`` around 1,000 levels; deep values also crash later recursive
  code). The check is cheap: a value can only be as deep as its count of ``[`` and ``{``, so the
  parsed value is walked only when the text holds more brackets than the limit;
- an integer of more than 4,300 digits (CPython's int/str conversion limit) is refused;
- a lone UTF-16 surrogate (``"\\ud800"``) is refused: it is not Unicode text, and every UTF-8
  writer (results, quarantine files, SQLite) would fail on it. Only text holding a ``\\uD8…``-
  ``\\uDF…`` escape is checked, so ordinary rows cost nothing.

YAML (:func:`check_yaml` / :func:`load_yaml`, used for policy packs, mapping files, standards and
quota files): a first pass over the parser's events (iterative: no recursion, no node graph)
refuses nesting deeper than :data:`MAX_DEPTH`, aliases that expand the document by more than
:data:`MAX_YAML_ALIAS_NODES` nodes (an "alias bomb": 9 lines can stand for 10⁹ nodes), and
integers past the digit limit — each with its ``file:line``. Files larger than
:data:`MAX_CONFIG_BYTES` are refused before parsing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from redline.errors import InputError, Problem


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "").strip().replace("_", "")
    try:
        return int(v) if v else default
    except ValueError:
        return default


#: nesting of JSON and YAML values (arrays/objects, sequences/mappings)
MAX_DEPTH = _env_int("REDLINE_MAX_DEPTH", 64)
#: bytes of one JSONL line, and of one CSV/TSV field
MAX_LINE_BYTES = _env_int("REDLINE_MAX_LINE_BYTES", 64 * 2**20)
#: nodes that YAML aliases may add to a document, all aliases together
MAX_YAML_ALIAS_NODES = _env_int("REDLINE_MAX_YAML_ALIAS_NODES", 10_000)
#: size of a YAML file read whole (policy pack part, mapping, standards, quota)
MAX_CONFIG_BYTES = _env_int("REDLINE_MAX_CONFIG_BYTES", 16 * 2**20)
#: subcategory levels of a policy tree (a top-level category is level 1)
MAX_POLICY_DEPTH = _env_int("REDLINE_MAX_POLICY_DEPTH", 16)
#: uncompressed size of all the parts of an .xlsx workbook
MAX_XLSX_BYTES = _env_int("REDLINE_MAX_XLSX_BYTES", 256 * 2**20)
#: characters of one text that the heavy profile checks (MinHash shingles, language id, script) read
PROFILE_TEXT_CHARS = _env_int("REDLINE_PROFILE_TEXT_CHARS", 100_000)
#: CPython's own limit on converting decimal text to int (``sys.set_int_max_str_digits``)
INT_DIGITS = 4_300

ENV_VARS = ("REDLINE_MAX_DEPTH", "REDLINE_MAX_LINE_BYTES", "REDLINE_MAX_YAML_ALIAS_NODES",
            "REDLINE_MAX_CONFIG_BYTES", "REDLINE_MAX_POLICY_DEPTH", "REDLINE_MAX_XLSX_BYTES",
            "REDLINE_PROFILE_TEXT_CHARS")


class LimitError(ValueError):
    """A value that breaks a limit or cannot be represented; ``reason`` and ``fix`` for messages."""

    def __init__(self, reason: str, fix: str | None = None, line: int | None = None):
        super().__init__(reason + (f" — fix: {fix}" if fix else ""))
        self.reason = reason
        self.fix = fix
        self.line = line  # 1-based line inside the parsed text, when known


def depth_error(what: str = "JSON") -> LimitError:
    """The error of a value nested deeper than :data:`MAX_DEPTH`."""
    return LimitError(f"{what} nested deeper than {MAX_DEPTH} levels",
                      "flatten the value (or raise the limit: REDLINE_MAX_DEPTH, docs/limits.md)")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_FIX = "remove it or write the whole character (a valid pair such as \\ud83d\\ude00 is fine)"


def _walk(obj: Any, depth: bool, surrogates: bool) -> None:
    """Check a parsed value iteratively: its depth and/or lone surrogates in keys and strings."""
    kinds = (dict, list, str) if surrogates else (dict, list)
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, str):
            if surrogates and _SURROGATE.search(v):
                raise lone_surrogate_error(v)
            continue
        if isinstance(v, dict):
            if depth and d > MAX_DEPTH:
                raise depth_error()
            for k, x in v.items():
                if surrogates and isinstance(k, str) and _SURROGATE.search(k):
                    raise lone_surrogate_error(k, key=True)
                if isinstance(x, kinds):
                    stack.append((x, d + 1))
        elif isinstance(v, list):
            if depth and d > MAX_DEPTH:
                raise depth_error()
            stack.extend((x, d + 1) for x in v if isinstance(x, kinds))


def lone_surrogate_error(text: str, key: bool = False) -> LimitError:
    """The error of a string (or key) holding a lone UTF-16 surrogate, naming its position."""
    m = _SURROGATE.search(text)
    pos = m.start() if m else 0
    return LimitError(f"lone UTF-16 surrogate \\u{ord(text[pos]):04x} in a {'key' if key else 'string'} "
                      f"(character {pos + 1}): not Unicode text", _SURROGATE_FIX)


def needs_check(text: str) -> tuple[bool, bool]:
    """``(depth, surrogates)``: which checks a value parsed from ``text`` can need (a value is at
    most as deep as its count of ``[`` and ``{``; a lone surrogate needs a ``\\uD8…`` escape)."""
    return (text.count("[") + text.count("{") > MAX_DEPTH, _SURROGATE_ESCAPE.search(text) is not None)


def check_value(obj: Any, depth: bool = True, surrogates: bool = True) -> Any:
    """Check an already parsed JSON value (nesting, lone surrogates; see the module docstring);
    returns it. Raises :class:`LimitError`."""
    if depth or surrogates:
        _walk(obj, depth, surrogates)
    return obj


def loads_json_document(text: str) -> Any:
    """``json.loads`` of a whole document, turning what the parser itself cannot read (nesting past
    its recursion limit, a too long integer) into :class:`LimitError` with the line. The value is
    not checked: check it (or each of its items) with :func:`check_value`."""
    try:
        return json.loads(text)
    except RecursionError:
        err = depth_error()
        raise LimitError(err.reason, err.fix, line=_deep_line(text)) from None
    except json.JSONDecodeError:
        raise
    except ValueError as e:  # "Exceeds the limit (4300 digits) for integer string conversion"
        if "digits" in str(e):
            raise LimitError(f"an integer has more than {INT_DIGITS} digits",
                             "write it as a string (in quotes)", line=long_int_line(text)) from None
        raise


def loads_json(text: str) -> Any:
    """``json.loads`` with the limits; raises :class:`json.JSONDecodeError` for bad syntax and
    :class:`LimitError` (a ValueError) for a value past a limit."""
    return check_value(loads_json_document(text), *needs_check(text))


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}\n]')


def _deep_line(text: str) -> int | None:
    """The line where ``text``'s bracket nesting first passes MAX_DEPTH (strings skipped)."""
    depth, line = 0, 1
    for m in _TOKENS.finditer(text):
        t = m.group()
        if t == "\n":
            line += 1
        elif t in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif t in "]}":
            depth -= 1
        else:
            line += t.count("\n")
    return None


_LONG_INT = re.compile(rf"\d{{{INT_DIGITS + 1},}}")


def long_int_line(text: str) -> int | None:
    """The line of the first run of more than INT_DIGITS digits in ``text`` (None: there is none)."""
    m = _LONG_INT.search(text)
    return None if m is None else text.count("\n", 0, m.start()) + 1


def too_long_reason(n: int) -> str:
    """The reason a line of ``n`` bytes (or more) is rejected."""
    return (f"line longer than {MAX_LINE_BYTES} bytes ({n}+ bytes); split the record or raise the limit "
            "(REDLINE_MAX_LINE_BYTES, docs/limits.md)")


def iter_lines(f: IO[bytes]) -> Iterator[tuple[int, bytes | int]]:
    """``(line_no, raw line)`` of a binary file, or ``(line_no, length)`` for a line longer than
    :data:`MAX_LINE_BYTES` — skipped in chunks, never held in memory whole. A UTF-8 byte-order
    mark at the start of line 1 is dropped. The one line loop of every JSONL reader (data
    readers, suites, vendor batches, labels, batch judging, policy diffs)."""
    limit = MAX_LINE_BYTES
    lineno = 0
    while True:
        raw = f.readline(limit + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            n = len(raw)
            while True:
                chunk = f.readline(1 << 20)
                n += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield lineno, n
            continue
        yield lineno, raw[3:] if lineno == 1 and raw.startswith(b"\xef\xbb\xbf") else raw


@dataclass
class BadLine:
    """A JSONL line that yields no value: ``kind`` is ``"utf8"``, ``"json"`` (syntax), ``"limit"``
    (a value past a limit) or ``"long"`` (past :data:`MAX_LINE_BYTES`); ``raw`` the line as text."""

    kind: str
    reason: str
    fix: str | None
    raw: str | None


def json_error(e: json.JSONDecodeError) -> str:
    """``Invalid control character at column 39`` — the decoder's own messages may end in "at"."""
    return f"{e.msg.removesuffix(' at')} at column {e.colno}"


#: what :func:`parse_json_line` returns for a blank line
BLANK = object()


def parse_json_line(raw: bytes | int) -> Any:
    """One line of a JSON Lines file as :func:`iter_lines` gives it → its value, a
    :class:`BadLine`, or :data:`BLANK` for a blank line (skipped). The per-line half of
    :func:`iter_json_lines` (the Ray profile parses lines with it on the cluster)."""
    if isinstance(raw, int):
        return BadLine("long", too_long_reason(raw), None, None)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadLine("utf8", f"not UTF-8 (byte {e.start + 1}: {e.reason})", "re-encode the file as UTF-8",
                       raw.decode("utf-8", errors="replace").rstrip("\n"))
    if not line.strip():
        return BLANK
    try:
        return loads_json(line)
    except LimitError as e:
        return BadLine("limit", e.reason, e.fix, line.rstrip("\n"))
    except json.JSONDecodeError as e:
        return BadLine("json", f"invalid JSON ({json_error(e)})",
                       "each line must be one complete JSON object", line.rstrip("\n"))


def iter_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line_no, value | BadLine)`` for every non-blank line of a JSON Lines file — the one JSONL
    reading loop of Redline (data readers, suites, vendor batches). Reads bytes and decodes each
    line itself, so an encoding error names its own line and the lines after it are still read;
    a UTF-8 byte-order mark on line 1 is accepted; the limits of :func:`loads_json` apply."""
    with open(path, "rb") as f:
        for lineno, raw in iter_lines(f):
            value = parse_json_line(raw)
            if value is not BLANK:
                yield lineno, value


# -- YAML -----------------------------------------------------------------------------------------

_YAML_INT = re.compile(r"[-+]?(?:0b[0-1_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)")


def read_config_text(path: Path, what: str = "file") -> str:
    """A YAML file's text: size-limited, UTF-8 (BOM accepted); an error names the line of a bad byte."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputError(f"{path}: {what} too large", [Problem(
                str(path), f"{size} bytes, over the {MAX_CONFIG_BYTES}-byte limit for YAML files",
                "split it (a pack folder holds many files) or raise REDLINE_MAX_CONFIG_BYTES (docs/limits.md)")])
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}", [Problem(str(path), e.strerror or str(e),
                                                                     "check the path")]) from None
    return decode_utf8(raw, path, what)


def decode_utf8(raw: bytes, path: Path, what: str = "file", fix: str = "re-encode the file as UTF-8") -> str:
    """``raw`` as UTF-8 text (a BOM is dropped); a bad byte is an InputError naming its line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{path}: {what} is not UTF-8", [Problem(
            f"{path}:{line}", f"byte 0x{raw[e.start]:02x} is not UTF-8 ({e.reason})", fix)]) from None


def check_yaml(text: str, path: str | Path, loader: Any = None) -> None:
    """Refuse a YAML text past the limits (depth, alias expansion, integer digits), naming
    ``path:line``; a syntax error is left to the real load, which reports it."""
    import yaml

    loader = loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [nodes counted so far, anchor]
    added = 0

    def fail(ev: Any, message: str, fix: str) -> InputError:
        line = ev.start_mark.line + 1 if getattr(ev, "start_mark", None) else None
        where = f"{path}:{line}" if line else str(path)
        return InputError(f"{path}: {message}", [Problem(where, message, fix)])

    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise fail(ev, f"YAML nested deeper than {MAX_DEPTH} levels",
                               "flatten the document (or raise the limit: REDLINE_MAX_DEPTH, docs/limits.md)")
                stack.append([1, ev.anchor])
            elif isinstance(ev, yaml.CollectionEndEvent):
                n, anchor = stack.pop()
                if anchor is not None:
                    sizes[anchor] = n
                if stack:
                    stack[-1][0] += n
            elif isinstance(ev, yaml.ScalarEvent):
                if ev.anchor is not None:
                    sizes[ev.anchor] = 1
                if stack:
                    stack[-1][0] += 1
                v = ev.value
                if len(v) > INT_DIGITS and (ev.implicit[0] or ev.tag == "tag:yaml.org,2002:int") \
                        and _YAML_INT.fullmatch(v):
                    raise fail(ev, f"an integer with {len(v)} digits (more than {INT_DIGITS})",
                               "quote it to make it text")
            elif isinstance(ev, yaml.AliasEvent):
                n = sizes.get(ev.anchor, 1) if ev.anchor is not None else 1
                added += n
                if added > MAX_YAML_ALIAS_NODES:
                    raise fail(ev, f"YAML aliases expand the document by more than {MAX_YAML_ALIAS_NODES} "
                               f"nodes (alias *{ev.anchor} alone stands for {n})",
                               "write the values out instead of nesting aliases (an alias bomb?), or raise "
                               "REDLINE_MAX_YAML_ALIAS_NODES (docs/limits.md)")
                if stack:
                    stack[-1][0] += n
    except yaml.YAMLError as e:
        if "nesting depth" in str(getattr(e, "problem", "")):  # libyaml's own limit, met while scanning ahead
            mark = getattr(e, "problem_mark", None)
            raise InputError(f"{path}: YAML nested deeper than {MAX_DEPTH} levels", [Problem(
                f"{path}:{mark.line + 1}" if mark else str(path), f"YAML nested deeper than {MAX_DEPTH} levels",
                "flatten the document (or raise the limit: REDLINE_MAX_DEPTH, docs/limits.md)")]) from None
        return  # the loader reports other syntax errors with their own marks


def load_yaml(path: Path, what: str = "file") -> Any:
    """A small YAML settings file (mapping file, standards, quota), checked against the limits;
    errors are :class:`InputError` naming ``file:line``."""
    import yaml

    text = read_config_text(path, what)
    check_yaml(text, path)
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{path}: not valid YAML", [Problem(
            where, str(getattr(e, "problem", None) or e).splitlines()[0], "fix the YAML syntax")]) from None
    except (ValueError, RecursionError) as e:  # pragma: no cover - check_yaml catches these first
        raise InputError(f"{path}: cannot read the {what}", [Problem(str(path), str(e)[:200], None)]) from None


# -- zip containers (xlsx) ------------------------------------------------------------------------


def check_zip(path: Path, limit: int | None = None) -> None:
    """Refuse a zip container (an .xlsx) whose members expand past ``limit`` bytes in all (a zip
    bomb: a few hundred KB can hold gigabytes of XML). Reads only the central directory."""
    import zipfile

    limit = MAX_XLSX_BYTES if limit is None else limit
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # the reader reports an unreadable workbook itself
    total = sum(i.file_size for i in infos)
    if total > limit:
        big = max(infos, key=lambda i: i.file_size)
        raise InputError(f"{path}: the workbook expands to {total} bytes", [Problem(
            str(path), f"expands to {total} bytes uncompressed (its part {big.filename} alone {big.file_size}), "
            f"over the {limit}-byte limit",
            "export the sheet as CSV (streamed with no size limit) or raise REDLINE_MAX_XLSX_BYTES "
            "(docs/limits.md)")])
