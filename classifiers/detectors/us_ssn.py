"""US Social Security Numbers: ``AAA-GG-SSSS`` or ``AAA.GG.SSSS``; nine bare digits (or
space-split) only right after an SSN word (``SSN: 123456789``, ``social security number
123 45 6789``).

SSA rules reject area ``000``, ``666`` and ``900``-``999``, group ``00``, serial ``0000``
and the famously published ``078-05-1120`` and ``123-45-6789``.

Deliberately not matched: bare nine-digit runs without context, other dash groupings
(``12-345-6789``), mixed separators (``123-45 6789``), numbers inside longer dashed or
dotted runs (``2005-123-45-6789``, ``1.219.09.9999``, version-like ``219.09.9999.1``) or
glued to words.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_WORDS = r"(?i:\b(?:ssn|ss#|ssn#|social security(?: number| no\.?| #)?|sozialversicherungsnummer))"
_PUBLISHED = {"078051120", "123456789"}


def ssn_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if len(digits) != 9 or digits in _PUBLISHED:
        return False
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


class UsSsnDetector(Detector):
    ENTITY = entities.US_SSN
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ssn_dashed", rf"{_B}\d{{3}}-\d{{2}}-\d{{4}}{_E}", 0.5),
        Pattern("ssn_dotted", rf"{_B}\d{{3}}\.\d{{2}}\.\d{{4}}{_E}", 0.5),
        Pattern(
            "ssn_context",
            rf"{_WORDS}[^\w\n]{{0,4}}(?:(?i:is|number|no)\b[^\w\n]{{0,3}})?\K"
            rf"\d{{3}}([ .-]?)\d{{2}}\1\d{{4}}{_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["ssn", "social", "security", "ss#"]
    PREFILTER = r"\d{3}[ .-]?\d{2}[ .-]?\d{4}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not ssn_ok(pattern_text)
