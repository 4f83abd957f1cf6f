"""German tax identification numbers (*steuerliche Identifikationsnummer*, Steuer-ID):
eleven digits, the first not 0, ``12 345 678 901`` or bare, only after a Steuer-ID word
(``Steuer-ID``, ``Steuer-IdNr``, ``Steueridentifikationsnummer``, ``IdNr``, ``TIN``).

Validated as the Federal Central Tax Office issues them: among the first ten digits exactly
one digit appears two or three times (three times never in a row) and the rest at most once;
the eleventh is the ISO 7064 MOD 11,10 check digit.

Deliberately not matched: eleven digits without the word, a wrong check digit, digit
patterns the BZSt never issues, numbers glued to words or inside longer digit runs.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_E = r"(?![\w]|[.-]\d)"
_WORDS = (r"(?i:\b(?:steuer[ \t-]?id(?:[ \t-]?nr\.?)?|steuer[ \t-]?identifikationsnummer"
          r"|steuerliche[ \t]+identifikationsnummer|identifikationsnummer|id[ \t-]?nr\.?|tin"
          r"|german[ \t]+tax[ \t]+id))")


def check_digit(first10: str) -> int:
    """ISO 7064 MOD 11,10 check digit of the first ten digits."""
    product = 10
    for ch in first10:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10


def tax_id_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if len(digits) != 11 or digits[0] == "0":
        return False
    counts = Counter(digits[:10]).values()
    if sorted(c for c in counts if c > 1) not in ([2], [3]):
        return False
    if re.search(r"(\d)\1\1", digits[:10]):
        return False
    return check_digit(digits[:10]) == int(digits[10])


class DeTaxIdDetector(Detector):
    ENTITY = entities.DE_TAX_ID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "tax_id_context",
            rf"{_WORDS}\b[^\w\n]{{0,4}}(?:(?i:ist|is|number|nummer|no|nr)\b[^\w\n]{{0,3}})?\K"
            rf"(?<![\d-])(?:\d{{11}}|\d{{2}} \d{{3}} \d{{3}} \d{{3}}){_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["steuer", "identifikationsnummer", "idnr", "tin"]
    PREFILTER = r"\d{2} ?\d{3} ?\d{3} ?\d{3}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not tax_id_ok(pattern_text)
