"""French social security numbers (NIR, *numéro de sécurité sociale*, INSEE number): 13
characters and a 2-digit key, ``2 55 08 14 168 025 38`` or ``255081416802538``.

The 13 characters are sex (1/2, or 3/4/7/8 for provisional numbers), year, month (01-12,
or 20-99 when unknown), department (two digits, Corsica ``2A``/``2B``), commune and order
number; the key is ``97 - (n mod 97)`` with ``2A`` read as 19 and ``2B`` as 18. A valid key
alone scores 0.5 for the sexes 1 and 2; after a NIR word (``NIR``, ``sécurité sociale``,
``carte vitale``, ``INSEE``) 0.8, provisional numbers included (alone they look too much like
15-digit Amex cards).

Deliberately not matched: a wrong key, month 00 or 13-19, other groupings, numbers glued to
words or inside longer digit runs.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_MONTH = r"(?:0[1-9]|1[0-2]|[2-9]\d)"
_DEPT = r"(?:\d{2}|2[ABab])"
_BODY = (rf"(?:\d{{2}}{_MONTH}{_DEPT}\d{{6}}|[ ]\d{{2}}[ ]{_MONTH}[ ]{_DEPT}[ ]\d{{3}}[ ]\d{{3}})"
         r"[ ]?\d{2}")
_NIR = rf"[12]{_BODY}"  # provisional numbers (3, 4, 7, 8) are rare: only after a NIR word
_WORDS = (r"(?i:\b(?:nir|n°[ \t]?ss|num[ée]ro[ \t]+(?:de[ \t]+)?s[ée]cu(?:rit[ée][ \t]+sociale)?"
          r"|s[ée]curit[ée][ \t]+sociale|carte[ \t]+vitale|insee|social[ \t]+security[ \t]+number"
          r"|french[ \t]+ssn))\b")


def nir_ok(text: str) -> bool:
    v = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[1-478]\d{4}(?:\d{2}|2[AB])\d{8}", v):
        return False
    dept = v[5:7]
    body = v[:5] + {"2A": "19", "2B": "18"}.get(dept, dept) + v[7:13]
    return 97 - int(body) % 97 == int(v[13:])


class FrNirDetector(Detector):
    ENTITY = entities.FR_NIR
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("nir", rf"{_B}{_NIR}{_E}", 0.5),
        Pattern(
            "nir_context",
            rf"{_WORDS}[^\w\n]{{0,4}}(?:(?i:est|is|number|no|n°|:)[^\w\n]{{0,3}})?\K[1-478]{_BODY}{_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["nir", "sécurité", "securite", "sociale", "vitale", "insee"]
    PREFILTER = r"[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab])"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not nir_ok(pattern_text)
