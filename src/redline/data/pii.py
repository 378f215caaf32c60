"""PII detection and redaction, offline.

Recognisers (see docs/data.md for the rationale):

- ``email``: RFC-5322-ish address pattern;
- ``phone``: Google's libphonenumber (``phonenumbers``), matcher leniency VALID — only numbers
  that are valid for their region; national numbers are read for ``region`` (default US),
  ``+``-prefixed international numbers for any region;
- ``credit_card``: 13–19 digits (spaces/dashes allowed) with a known card prefix and a valid Luhn
  checksum;
- ``iban``: country code + check digits + BBAN, mod-97 checksum valid;
- ``ip_address``: IPv4/IPv6 candidates validated by ``ipaddress``;
- ``us_ssn``: ``AAA-GG-SSSS`` with the SSA's never-issued ranges excluded (without dashes only
  right after "SSN" / "social security number");
- ``uk_nino``: UK National Insurance numbers (HMRC prefix rules);
- ``street_address``: "12 Baker Street"-like English address lines (a heuristic).

Presidio was considered: its recognisers need a spaCy language model, which would have to be
downloaded at run time, so it is not used.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KINDS = ("email", "phone", "credit_card", "iban", "ip_address", "us_ssn", "uk_nino", "street_address")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
# a dotted quad right after "version", "build", "release", "firmware", "ver", "v" … is a version number
_VERSION_BEFORE = re.compile(r"(?:\b(?:v|ver|version|versions|build|release|firmware|update|patch|"
                             r"upgrade to|downgrade to)\.?:?)\s*$", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]|\.\d)")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
# without dashes only when named: "SSN 078 05 1120", "social security number: 078051120"
_SSN_NAMED = re.compile(r"\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}(?:is\s+)?"
                        r"((?!000|666|9\d\d)\d{3} ?(?!00)\d{2} ?(?!0000)\d{4})\b", re.IGNORECASE)
# UK National Insurance number: two prefix letters (HMRC never issues BG, GB, KN, NK, NT, TN, ZZ), six digits, A-D
_NINO = re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
# a street address: a house number, one to three capitalised words and a street type
_STREET_TYPES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln", "Drive", "Dr",
                 "Court", "Ct", "Way", "Place", "Pl", "Terrace", "Close", "Crescent", "Square", "Sq", "Parkway", "Pkwy",
                 "Highway", "Hwy")
_STREET = re.compile(r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\.?\s+){1,3}(?:" + "|".join(_STREET_TYPES) + r")\b\.?")
_DIGIT = re.compile(r"\d")
_DIGITS7 = re.compile(r"\d(?:\D{0,2}\d){6}")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9])|35)")


def luhn_ok(digits: str) -> bool:
    """Whether a card number passes the Luhn checksum.

    Args:
        digits: The number as ASCII digits only (no spaces or dashes).

    Returns:
        True when the Luhn sum is a multiple of 10.
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(s: str) -> bool:
    """Whether a string is a plausible IBAN: 15-34 characters (spaces ignored) passing the mod-97 check.

    Args:
        s: The candidate, country code and check digits first; spaces are removed.

    Returns:
        True when the length fits and the ISO 13616 checksum is 1; the country code is not checked.
    """
    s = s.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        num = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return num % 97 == 1


@dataclass(frozen=True)
class Finding:
    """One PII span found in a text.

    Attributes:
        kind: The recogniser that found it, one of :data:`KINDS`.
        start: The span's start offset in the text.
        end: The span's end offset (exclusive).
        text: The matched text.
    """

    kind: str
    start: int
    end: int
    text: str


class PiiScanner:
    """Finds PII spans in text. ``kinds`` limits the recognisers; ``region`` is for phone numbers."""

    def __init__(self, kinds: tuple[str, ...] | list[str] = KINDS, region: str = "US"):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kind(s) {sorted(unknown)}; use {', '.join(KINDS)}")
        self.kinds = tuple(kinds)
        self.region = region
        self._pn: Any = None

    def _phones(self, text: str) -> Iterator[Finding]:
        if self._pn is None:
            import phonenumbers

            self._pn = phonenumbers
        pn = self._pn
        for m in pn.PhoneNumberMatcher(text, self.region, leniency=pn.Leniency.VALID):
            yield Finding("phone", m.start, m.end, m.raw_string)

    def scan(self, text: str) -> list[Finding]:
        """Find the PII spans of the enabled kinds in a text.

        Checksums and formats filter the candidates (Luhn for cards, mod-97 for IBANs, valid IP
        addresses, valid phone numbers for ``region``); a phone match that overlaps another finding
        is dropped. Other kinds may overlap each other.

        Args:
            text: The text to scan.

        Returns:
            The findings, sorted by start offset (longer first at the same start).
        """
        out: list[Finding] = []
        k = self.kinds
        has_digit = _DIGIT.search(text) is not None
        if "email" in k and "@" in text:
            out += [Finding("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]
        if has_digit:
            if "credit_card" in k:
                for m in _CARD.finditer(text):
                    d = re.sub(r"\D", "", m.group())
                    if 13 <= len(d) <= 19 and _CARD_PREFIX.match(d) and luhn_ok(d):
                        out.append(Finding("credit_card", m.start(), m.end(), m.group()))
            if "iban" in k:
                out += [Finding("iban", m.start(), m.end(), m.group()) for m in _IBAN.finditer(text)
                        if iban_ok(m.group())]
            if "ip_address" in k:
                if "." in text:
                    for m in _IPV4.finditer(text):
                        try:
                            ipaddress.IPv4Address(m.group())
                        except ValueError:
                            continue
                        if _VERSION_BEFORE.search(text[max(0, m.start() - 24):m.start()]):
                            continue
                        out.append(Finding("ip_address", m.start(), m.end(), m.group()))
            if "us_ssn" in k:
                if "-" in text:
                    out += [Finding("us_ssn", m.start(), m.end(), m.group()) for m in _SSN.finditer(text)]
                out += [Finding("us_ssn", m.start(1), m.end(1), m.group(1)) for m in _SSN_NAMED.finditer(text)]
            if "uk_nino" in k:
                out += [Finding("uk_nino", m.start(), m.end(), m.group()) for m in _NINO.finditer(text)]
            if "street_address" in k:
                out += [Finding("street_address", m.start(), m.end(), m.group()) for m in _STREET.finditer(text)]
        if "ip_address" in k and text.count(":") >= 2:
            for m in _IPV6.finditer(text):
                try:
                    ipaddress.IPv6Address(m.group())
                except ValueError:
                    continue
                out.append(Finding("ip_address", m.start(), m.end(), m.group()))
        if "phone" in k and has_digit and _DIGITS7.search(text):
            taken = [(f.start, f.end) for f in out]
            for f in self._phones(text):
                if not any(s < f.end and f.start < e for s, e in taken):  # a card/SSN is not also a phone
                    out.append(f)
        out.sort(key=lambda f: (f.start, -f.end))
        return out

    def redact(self, text: str, findings: list[Finding] | None = None) -> str:
        """``text`` with each finding replaced by ``[KIND]``."""
        findings = self.scan(text) if findings is None else findings
        parts, pos = [], 0
        for f in findings:
            if f.start < pos:
                continue  # overlaps an earlier finding
            parts += [text[pos:f.start], f"[{f.kind.upper()}]"]
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts)
