"""Italian fiscal codes (*codice fiscale* of a person): 16 characters, ``RSSMRA85T10A562S``.

Three consonant-led letters each for surname and name, birth year (2), month letter
(``ABCDEHLMPRST``), day (01-31, women 41-71), the municipality (a letter and three digits)
and a check letter from the odd/even position tables of DM 23/12/1976. Digits may be
replaced by ``LMNPQRSTUV`` (*omocodia*, when two people would share a code). Upper case
alone (0.7: the shape and check letter make a chance match rare); any case after a word
such as ``codice fiscale``, ``C.F.``, ``fiscal code`` (0.85).

Deliberately not matched: a wrong check letter, impossible months or days, 11-digit codes
of companies (*partita IVA*), codes glued to other letters or digits.
"""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_D = r"[\dLMNP-V]"  # a digit, or its omocodia letter
_CODE = rf"[A-Z]{{6}}{_D}{{2}}[ABCDEHLMPRST]{_D}{{2}}[A-Z]{_D}{{3}}[A-Z]"
_WORDS = r"(?i:\b(?:codice[ \t]+fiscale|cod\.?[ \t]*fisc\.?|c\.f\.|cf|fiscal[ \t]+code|tax[ \t]+code))"
_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23], strict=True))
_OMOCODIA = str.maketrans("LMNPQRSTUV", "0123456789")
_SHAPE = regex.compile(_CODE)


def check_char(code15: str) -> str:
    """The check letter of the first 15 characters (upper case)."""
    total = 0
    for i, ch in enumerate(code15):
        if i % 2 == 0:  # odd positions, counting from 1
            total += _ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - ord("A")
    return chr(ord("A") + total % 26)


def fiscal_code_ok(text: str) -> bool:
    v = text.upper()
    if len(v) != 16 or _SHAPE.fullmatch(v) is None:
        return False
    day = int(v[9:11].translate(_OMOCODIA))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    return check_char(v[:15]) == v[15]


class ItFiscalCodeDetector(Detector):
    ENTITY = entities.IT_FISCAL_CODE
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("fiscal_code", rf"{_B}{_CODE}{_E}", 0.7),
        Pattern(
            "fiscal_code_context",
            rf"{_WORDS}\b[^\w\n]{{0,4}}(?:(?i:è|is|number|no|n[º°])\b[^\w\n]{{0,3}})?\K"
            rf"(?i:{_CODE}){_E}",
            0.85,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["codice", "fiscale", "cf", "fiscal"]
    PREFILTER = r"(?i)[a-z]{6}[\dlmnp-v]{2}[abcdehlmprst]"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not fiscal_code_ok(pattern_text)
