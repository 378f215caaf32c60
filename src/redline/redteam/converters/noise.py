"""Noise converters: character-level perturbations that keep the prompt readable to people."""

from __future__ import annotations

import random
import re
from typing import Annotated

from pydantic import Field

from redline.redteam.converters import FnConverter, converter

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
_WORD = re.compile(r"[A-Za-z]+")

# QWERTY neighbours, for typos a person would make
_NEAR = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


@converter("char_swap", "noise")
def char_swap(rate: Rate = 0.3) -> FnConverter:
    """Two adjacent inner letters swapped in words of 4+ letters, with probability ``rate`` per word."""
    def fn(text: str, r: random.Random) -> str:
        def swap(m: re.Match[str]) -> str:
            w = m.group(0)
            if len(w) < 4 or r.random() >= rate:
                return w
            i = r.randrange(1, len(w) - 2)
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        return _WORD.sub(swap, text)
    return FnConverter("char_swap", fn)


@converter("random_case", "noise")
def random_case(rate: Rate = 0.5) -> FnConverter:
    """Each letter's case flipped with probability ``rate``."""
    def fn(text: str, r: random.Random) -> str:
        return "".join(c.swapcase() if c.isalpha() and r.random() < rate else c for c in text)
    return FnConverter("random_case", fn)


@converter("spacing", "noise")
def spacing(separator: str = " ") -> FnConverter:
    """Every character of every word separated by ``separator`` (words by three of them)."""
    def fn(text: str, _r: random.Random) -> str:
        return (separator * 3).join(separator.join(w) for w in text.split())
    return FnConverter("spacing", fn)


@converter("typos", "noise")
def typos(rate: Rate = 0.05) -> FnConverter:
    """Keyboard typos (a neighbouring key, a dropped or a doubled letter) with probability ``rate`` per letter."""
    def fn(text: str, r: random.Random) -> str:
        out = []
        for c in text:
            low = c.lower()
            if low in _NEAR and r.random() < rate:
                kind = r.randrange(3)
                if kind == 0:
                    n = r.choice(_NEAR[low])
                    out.append(n.upper() if c.isupper() else n)
                elif kind == 2:
                    out.append(c + c)
                # kind 1: the letter is dropped
            else:
                out.append(c)
        return "".join(out)
    return FnConverter("typos", fn)


@converter("word_split", "noise")
def word_split(min_length: Annotated[int, Field(ge=2)] = 5, separator: str = "-") -> FnConverter:
    """Words of ``min_length``+ letters split in two at a random point (``expl-osive``)."""
    def fn(text: str, r: random.Random) -> str:
        def split(m: re.Match[str]) -> str:
            w = m.group(0)
            if len(w) < min_length:
                return w
            i = r.randrange(1, len(w))
            return w[:i] + separator + w[i:]
        return _WORD.sub(split, text)
    return FnConverter("word_split", fn)
