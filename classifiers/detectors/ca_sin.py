"""Canadian Social Insurance Numbers (SIN): nine digits with a Luhn check digit, bare or in
groups of three (``130 692 544``, ``130-692-544``), only right after a SIN word: ``SIN``,
``S.I.N.``, ``social insurance number``, ``numéro d'assurance sociale``.

Nine Luhn-valid digits alone are far too common (one in ten) to be taken without the word.
Service Canada never issues SINs starting with 0 or 8.

Deliberately not matched: SIN-shaped numbers without a SIN word, lower-case ``sin`` (the
Spanish and English word), numbers failing Luhn, other groupings (``0464 54286``), mixed
separators, numbers glued to words or inside longer digit runs.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.credit_card import luhn_ok
from telescrub.core import entities

_E = r"(?![\w]|[.-]\d)"
_WORDS = (r"(?:\b(?:SIN|Sin)\b|\bS\.I\.N\.|(?i:\bsocial[ \t]+insurance(?:[ \t]+(?:number|no\.?|num|#))?"
          r"|\bnum[ée]ro[ \t]+d['’][ \t]?assurance[ \t]+sociale)\b)")


def sin_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return len(digits) == 9 and digits[0] not in "08" and luhn_ok(digits)


class CaSinDetector(Detector):
    ENTITY = entities.CA_SIN
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "sin_context",
            rf"{_WORDS}[^\w\n]{{0,4}}(?:(?i:is|number|no)\b[^\w\n]{{0,3}})?\K"
            rf"(?<![\d-])\d{{3}}([ -]?)\d{{3}}\1\d{{3}}{_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["sin", "social", "insurance", "assurance"]
    PREFILTER = r"\d{3}[ -]?\d{3}[ -]?\d{3}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not sin_ok(pattern_text)
