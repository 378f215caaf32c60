"""Language identification and script detection, offline.

Language: ``py3langid`` (the maintained fork of langid.py; its model ships inside the package,
97 languages). Measured on MultiJail's 10 languages (3,150 prompts): 99.1% accuracy; lingua
(2.1) scored 89.7% there because it has no Javanese model, and needs ~1.4 GB with all models
loaded. Texts shorter than ``MIN_CHARS`` letters are ``und`` (undetermined).

Script: the Unicode script of each letter (from its Unicode character name), the record's main
script, and whether it mixes scripts (more than 10% of letters outside the main script).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

MIN_CHARS = 3

# Unicode-name prefixes that are scripts (the first word of a letter's name)
_SCRIPT_ALIASES = {"CJK": "Han", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Hangul",
                   "FULLWIDTH": "Latin", "HALFWIDTH": "Japanese"}


_LETTERS = re.compile(r"[^\W\d_]")


def detect_language(text: str) -> str:
    """ISO 639-1 code (``und`` when the text has fewer than MIN_CHARS letters)."""
    if len(text) < 40 and len(_LETTERS.findall(text)) < MIN_CHARS:
        return "und"
    import py3langid  # its model is loaded once, on the first call

    return str(py3langid.classify(text)[0])


def detect_many(texts: list[str]) -> list[str]:
    """:func:`detect_language` for a batch (what a worker process runs)."""
    return [detect_language(t) for t in texts]


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str | None:
    """The Unicode script of one character, from the first word of its Unicode name.

    Args:
        ch: A single character.

    Returns:
        ``None`` for a non-letter; ``Latin`` for ASCII letters; a script name such as ``Cyrillic``,
        ``Han``, ``Japanese`` (kana) or ``Hangul``; ``Unknown`` when the character has no name.
    """
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "Latin"
    try:
        first = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "Unknown"
    return _SCRIPT_ALIASES.get(first, first.title())


def scripts(text: str) -> tuple[str, bool]:
    """(main script, mixed?) of a text; ``("None", False)`` when it has no letters."""
    if text.isascii():
        return ("Latin", False) if any(c.isalpha() for c in text) else ("None", False)
    counts: Counter[str] = Counter()
    for ch in text:
        s = char_script(ch)
        if s is not None:
            counts[s] += 1
    if not counts:
        return "None", False
    main, n = counts.most_common(1)[0]
    total = sum(counts.values())
    return main, (total - n) / total > 0.10
