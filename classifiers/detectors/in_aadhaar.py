"""Indian Aadhaar numbers: twelve digits, the first 2-9, the last a Verhoeff check digit;
``2345 6789 0124``, ``2345-6789-0124`` or bare, only after an Aadhaar word (``Aadhaar``,
``Aadhar``, ``UIDAI``, ``आधार``): twelve Verhoeff-valid digits alone are too common (one in
ten) to be taken without it.

Deliberately not matched: Aadhaar-shaped numbers without the word, a failed Verhoeff check,
a first digit 0 or 1, a single repeated digit, other groupings, numbers glued to words or
inside longer digit runs (a 16-digit card in groups of four is no Aadhaar).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_E = r"(?![\w]|[.-]\d|[ -]\d{4})"
_WORDS = (r"(?:(?i:\b(?:aadhaar|aadhar|adhaar|uidai|uid[ \t]+(?:number|no\.?))\b)|आधार)")
# Verhoeff's dihedral-group multiplication and permutation tables
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 8, 7, 6, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def aadhaar_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return (len(digits) == 12 and digits[0] not in "01" and len(set(digits)) > 1
            and verhoeff_ok(digits))


class InAadhaarDetector(Detector):
    ENTITY = entities.IN_AADHAAR
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "aadhaar_context",
            rf"{_WORDS}[^\w\n]{{0,4}}(?:(?i:card|is|number|no|num)\b[^\w\n]{{0,3}}){{0,2}}\K"
            rf"(?<![\d-])\d{{4}}([ -]?)\d{{4}}\1\d{{4}}{_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["aadhaar", "aadhar", "uidai", "uid"]
    PREFILTER = r"\d{4}[ -]?\d{4}[ -]?\d{4}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not aadhaar_ok(pattern_text)
