"""UK National Insurance numbers (NINO): two prefix letters, six digits, a suffix ``A``-``D``.

``AB123456C`` or the printed form ``AB 12 34 56 C``, upper case, scored 0.5 alone; after an NI
word (``National Insurance number``, ``NI number``, ``NINO``) 0.8, in any case and with the
suffix optional (``NI number: ab123456``).

HMRC never allocates the first letters D, F, I, Q, U, V, the second letters D, F, I, O, Q,
U, V, nor the prefixes BG, GB, KN, NK, NT, TN, ZZ (so the published example
``QQ 12 34 56 C`` is no NINO).

Deliberately not matched: other groupings (``AB 123456 C`` is accepted, ``AB12 3456C`` not),
suffixes outside A-D, numbers glued to words or inside longer runs.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_DIGITS = r"(?:\d{6}|\d{2} \d{2} \d{2})"
_WORDS = (r"(?i:\b(?:national[ \t]+insurance(?:[ \t]+(?:number|no\.?|num|#))?|ni[ \t]+(?:number|no\.?)"
          r"|nino)\b)")
_PREFIX_OK = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]")
_NOT_ALLOCATED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_ok(text: str) -> bool:
    """Prefix letters allocatable by HMRC, six digits, suffix A-D or none."""
    v = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{6}[A-D]?", v):
        return False
    return _PREFIX_OK.fullmatch(v[:2]) is not None and v[:2] not in _NOT_ALLOCATED


class UkNinoDetector(Detector):
    ENTITY = entities.UK_NINO
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("nino", rf"{_B}[A-Z]{{2}} ?{_DIGITS} ?[A-D]{_E}", 0.5),
        Pattern(
            "nino_context",
            rf"{_WORDS}[^\w\n]{{0,4}}(?:(?i:is|number|no)\b[^\w\n]{{0,3}})?\K"
            rf"(?i:[A-Z]{{2}} ?{_DIGITS}(?: ?[A-D])?){_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["national", "insurance", "nino", "ni"]
    PREFILTER = r"[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not nino_ok(pattern_text)
