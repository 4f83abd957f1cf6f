"""US driver licence numbers, only right after a licence phrase: ``driver's license number is
F162823540116``, ``DL# D1234567``, ``driving licence: 6940579``, ``license no. A12-345-678``.

States use dozens of formats (one to three letters, 4 to 19 digits, some dashed), so the
number alone says nothing; the phrase decides. The value is one token of upper-case letters,
digits and dashes, 5-20 long, with at least four digits and letters only in front or at the
end in short runs; 0.8 after ``driver('s) license``/``driving licence``/``CDL``/``DL``,
0.6 after ``license/licence number`` (which may also name a software licence).

Deliberately not matched: numbers without a licence phrase, lower-case or mixed-case
tokens, words, dates, values with fewer than four digits (``license number is pending``),
software keys in five-character groups (``ABCDE-12345-FGHIJ``), ``DL`` in other senses
(``DL 5 files``).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_E = r"(?![\w-])"
_VALUE = r"[A-Z]{0,3}\d[\dA-Z-]{3,18}[\dA-Z]"
_TAIL = r"(?:[ \t]*(?:(?i:number|no\.?|num|nr|id)\b|#)){0,2}[^\w\n]{0,4}(?:(?i:is|was)\b[^\w\n]{0,3})?"
_DRIVER = (r"(?:(?i:\b(?:driver'?s?|drivers['’]|driving|operator'?s?)[ \t]+licen[cs]e)"
           r"|\bC?DL(?=[ \t]*(?:#|:|(?i:no\b|number\b|num\b))))")
_LICENSE = r"(?i:\blicen[cs]e[ \t]*(?:number|no\.?|num|#))"


def dl_ok(text: str) -> bool:
    """At least four digits; letters only as a short prefix or suffix; not all one digit."""
    v = text.replace("-", "")
    digits = re.sub(r"\D", "", v)
    if len(digits) < 4 or len(set(digits)) == 1 or "--" in text:
        return False
    return re.fullmatch(r"[A-Z]{0,3}\d+[A-Z]{0,2}\d*", v) is not None


class UsDriverLicenseDetector(Detector):
    ENTITY = entities.US_DRIVER_LICENSE
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("dl_driver_phrase", rf"{_DRIVER}{_TAIL}\K(?<![\w-]){_VALUE}{_E}", 0.8),
        Pattern("dl_license_number", rf"{_LICENSE}[^\w\n]{{0,4}}(?:(?i:is|was)\b[^\w\n]{{0,3}})?"
                rf"\K(?<![\w-]){_VALUE}{_E}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["driver", "license", "licence", "dl", "driving"]
    PREFILTER = r"(?i:licen[cs]e|\bc?dl\b)"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not dl_ok(pattern_text)
