"""Spanish foreigners' identity numbers (NIE): ``X``, ``Y`` or ``Z``, seven digits and the
DNI check letter computed with X, Y, Z read as 0, 1, 2 (``X1234567L``, ``Y-1234567-X``).

Upper case alone (0.5), any case after a NIE word (``NIE``, ``número de identidad de
extranjero``: 0.8).

Deliberately not matched: a wrong letter, other first letters (``K``/``L``/``M`` numbers are
rare and unchecked), six or eight digits, numbers glued to words.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.es_dni import check_letter
from telescrub.core import entities

_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_NIE = r"[XYZ]-?\d{7}-?[A-Z]"
_WORDS = (r"(?i:\b(?:nie|n\.i\.e\.|n[úu]mero[ \t]+de[ \t]+identidad[ \t]+de[ \t]+extranjero"
          r"|foreigner'?s?[ \t]+identity[ \t]+number))")


def nie_ok(text: str) -> bool:
    v = re.sub(r"[\s-]", "", text).upper()
    if re.fullmatch(r"[XYZ]\d{7}[A-Z]", v) is None:
        return False
    return check_letter(int(str("XYZ".index(v[0])) + v[1:8])) == v[8]


class EsNieDetector(Detector):
    ENTITY = entities.ES_NIE
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("nie", rf"{_B}{_NIE}{_E}", 0.5),
        Pattern(
            "nie_context",
            rf"{_WORDS}\b[^\w\n]{{0,4}}(?:(?i:es|is|number|no|n[º°])\b[^\w\n]{{0,3}})?\K"
            rf"(?i:{_NIE}){_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["nie", "extranjero", "identidad"]
    PREFILTER = r"[XYZxyz][ -]?\d{7}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not nie_ok(pattern_text)
