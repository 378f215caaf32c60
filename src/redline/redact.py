"""The one redaction of secrets in text Redline stores or shows: error messages, server answers
(target and judge errors, judge answers, results, database rows, logs).

:func:`redact` replaces, with ``***``:

- the known secrets it is given (API keys, the values of a base URL's query), wherever they occur;
- the values of credential headers (``Authorization``, ``Proxy-Authorization``, ``X-Api-Key``,
  ``Api-Key``, ``Cookie``, ``Set-Cookie``), as servers echo them (``Name: value``, JSON or
  Python dict notation);
- ``Bearer`` tokens (also ``Bearer%20…``, ``Bearer+…``);
- credentials in URLs: the password of ``scheme://user:password@host`` and the values of query
  parameters named like keys (``key``, ``api_key``, ``api-key``, ``token``, ``access_token``,
  ``sig``, ``signature``, ``secret``, ``password``, ``code``, …, also after a prefix:
  ``subscription-key``, ``x-goog-api-key``);
- credentials as JSON or dict members (``"api_key": "…"``, ``'accessToken': '…'``);
- common API-key shapes (``sk-…``, ``hf_…``, ``AKIA…``, ``ghp_…``, ``xox?-…``).

A known secret of letters only and shorter than 12 (``EMPTY``, ``dummy``: what servers without
authentication are given) is a placeholder, not masked. Every pattern runs in time linear in the
length of the text (a hostile server's long answer must not stall a run).

With ``patterns=False`` only the known secrets are replaced (for a model's own answer, whose
text is graded as written unless it holds the user's key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit

MASK = "***"

_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bx-goog-api-key|\bocp-apim-subscription-key"
    r"|\bset-cookie|\bcookie)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\r\n\"']+)")
# the separator may be URL-encoded (``Bearer%20…``, ``Bearer+…``)
_BEARER = re.compile(r"(?i)(?<![a-z])(bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=\-]+")
# the scheme starts where no scheme character precedes it (not at every ``\b``: with ``\b`` a long
# run like ``a-b-c-…`` was rescanned from each of its positions, quadratic in its length)
_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://[^/\s:@\"']+):[^/\s@\"']+@")
# names of credentials, alone or after a prefix (``subscription-key``, ``x-goog-api-key``)
_CRED_NAMES = (r"(?:[a-z0-9]+[_\-])*(?:api[_\-]?key|apikey|access[_\-]?token|refresh[_\-]?token"
               r"|id[_\-]?token|token|secret|password|passwd|credential|signature)")
_KEY_NAMES = (r"(?:" + _CRED_NAMES + r"|(?:[a-z0-9]+[_\-])*key|auth|sig|pwd|code|x-amz-signature"
              r"|x-amz-credential|x-amz-security-token)")
_QUERY_KEY = re.compile(r"(?i)([?&;]" + _KEY_NAMES + r"=)[^&#\s\"']+")
# a credential as a JSON / Python dict member: "api_key": "…", 'accessToken': '…'
_JSON_KEY = re.compile(r"(?i)([\"']" + _CRED_NAMES + r"[\"']\s*:\s*[\"'])[^\"'\r\n]+")
_KEY_SHAPES = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,})")

#: secrets shorter than this are not searched for (they would mask ordinary words)
MIN_SECRET = 4
#: a "secret" of letters only and shorter than this is a placeholder (``EMPTY``, ``dummy``, ``none``,
#: as servers without authentication are given), not a key: masking it would change every answer
#: that uses the word
PLACEHOLDER_MAX = 12


def _is_secret(s: str) -> bool:
    return len(s) >= MIN_SECRET and not (s.isalpha() and len(s) < PLACEHOLDER_MAX)


_KEY_NAME = re.compile(_KEY_NAMES + "$", re.I)
_TOKENISH = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9._~+/=\-]{20,}$")


def url_secrets(url: str | None) -> list[str]:
    """The secrets a URL carries: its password, its query as a whole, and the values of query
    parameters named like keys or shaped like tokens (``api-version=2024-02-01`` is not one)."""
    if not url:
        return []
    try:
        p = urlsplit(url)
        out = [p.password or "", p.username or ""]  # a token may be given as the user name
    except ValueError:
        return []
    if p.query:
        out.append(p.query)
        for raw in p.query.split("&"):  # each value as sent (encoded) and decoded
            name, _, value = raw.partition("=")
            for k, v in [(name, value), *parse_qsl(raw, keep_blank_values=True)]:
                if _KEY_NAME.match(k) or _TOKENISH.match(v):
                    out.append(v)
    return [s for s in out if s]


def _echoed_forms(secret: str) -> set[str]:
    """``secret`` and the forms a server may echo it in."""
    js = json.dumps(secret)[1:-1]
    return {secret, js, js.replace("/", "\\/"), quote(secret, safe=""), quote(secret, safe="/")}


def redact(text: str | None, secrets: Iterable[str | None] = (), *, patterns: bool = True) -> str:
    """``text`` with ``secrets`` and (unless ``patterns=False``) credential-shaped content masked
    (see the module docstring). ``None`` becomes ``""``."""
    if not text:
        return text or ""
    # as given and as servers echo them (JSON-escaped, PHP's "\/", URL-encoded); longest first,
    # so that a secret containing another is masked whole
    known = {v for s in secrets if s and _is_secret(s) for v in _echoed_forms(s)}
    for s in sorted(known, key=len, reverse=True):
        if s in text:
            text = text.replace(s, MASK)
    if not patterns:
        return text
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = _QUERY_KEY.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _JSON_KEY.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _KEY_SHAPES.sub(MASK, text)
