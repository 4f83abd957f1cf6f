"""Spanish national identity numbers (DNI, as tax number NIF): eight digits and a check
letter, the remainder of the number divided by 23 indexing ``TRWAGMYFPDXBNJZSQVHLCKE``.

``12345678Z``, ``12345678-Z``, ``12.345.678-Z``; upper case alone (0.5), any case and
``12345678 Z`` after a DNI word (``DNI``, ``NIF``, ``documento nacional de identidad``: 0.8).

Deliberately not matched: a wrong letter, the letters I, Ñ, O and U (never used), seven or
nine digits, numbers glued to words or inside longer runs. Foreigners' numbers (NIE,
``X1234567L``) are :mod:`es_nie`.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_B = r"(?<![\w.+/=-])"
_E = r"(?![\w]|[.-]\d)"
_NUMBER = r"(?:\d{8}|\d{2}\.\d{3}\.\d{3})"
_WORDS = r"(?i:\b(?:dni|nif|d\.n\.i\.|documento[ \t]+nacional[ \t]+de[ \t]+identidad))"


def check_letter(number: int) -> str:
    """The check letter of a DNI number (and of a NIE once its X/Y/Z is read as 0/1/2)."""
    return LETTERS[number % 23]


def dni_ok(text: str) -> bool:
    v = re.sub(r"[\s.-]", "", text).upper()
    return re.fullmatch(r"\d{8}[A-Z]", v) is not None and check_letter(int(v[:8])) == v[8]


class EsDniDetector(Detector):
    ENTITY = entities.ES_NIF
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("dni", rf"{_B}{_NUMBER}-?[A-Z]{_E}", 0.5),
        Pattern(
            "dni_context",
            rf"{_WORDS}\b[^\w\n]{{0,4}}(?:(?i:es|is|number|no|n[º°])\b[^\w\n]{{0,3}})?\K"
            rf"{_NUMBER}[ -]?[A-Za-z]{_E}",
            0.8,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["dni", "nif", "documento", "identidad"]
    PREFILTER = r"\d{2}\.?\d{3}\.?\d{3}[ -]?[A-Za-z]"

    def invalidate_result(self, pattern_text: str) -> bool:
        return not dni_ok(pattern_text)
