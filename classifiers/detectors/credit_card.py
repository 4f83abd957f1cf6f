"""Payment card numbers (PANs): 13-19 digits, bare or in groups split by spaces or dashes.

Three patterns:

* ``card_luhn``: a bare or grouped number with a plausible IIN (first digit 2-6, or a
  ``1800``/``2131`` JCB prefix) that passes the Luhn check; scores 1.0, dropped otherwise;
* ``card_grouped``: exactly ``4-4-4-4`` grouped with one separator kind; kept at 0.5
  even when Luhn fails (test and synthetic data is often not Luhn-valid);
* ``card_context``: 12-19 digits right after a card word (``card``, ``visa``, ``amex``,
  ``mastercard``, ``cc``...), e.g. ``credit card 060426070011``; 0.6, no Luhn needed.

Deliberately not matched: digit runs glued to words or signs (``blk_-1608999687919862906``,
``attempt_1445144423722_0020``), epoch-millisecond timestamps (start with ``1``), IMEIs
after an ``IMEI`` label, numbers with mixed separators or dots, a single repeated digit
(``0000 0000 0000 0000``), four groups inside a longer list of numbers
(``( 3552 3534 3375 4245 3515 3479 )``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

# not glued to words, signs or dotted numbers, and not one stretch of a longer list of
# digit groups ('Fan speeds ( 3552 3534 3375 4245 3515 3479 )')
_B = r"(?<![\w.+/:=-])(?<!\d[ -])"
_E = r"(?![\w+/]|[.,:-]\d|[ -]\d{3,})"
_GROUPED = r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}"
_NOT_IMEI = r"(?<!(?i:imei|imeisv|meid)[\s:=#]{1,3})"  # IMEIs are 15 digits with a Luhn digit too
_IIN = r"(?=[2-6]|1800|2131)"
_CARD_WORDS = (
    r"(?i:\b(?:credit|debit|card|visa|master ?card|amex|american express|discover|cc|pan))"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class CreditCardDetector(Detector):
    ENTITY = entities.CREDIT_CARD
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("card_luhn", rf"{_B}{_NOT_IMEI}{_IIN}(?:\d{{13,19}}|{_GROUPED}){_E}", 0.01),
        Pattern("card_grouped", rf"{_B}\d{{4}}([ -])\d{{4}}\1\d{{4}}\1\d{{4}}{_E}", 0.5),
        Pattern(
            "card_context",
            rf"{_CARD_WORDS}\b[^\w\n]{{0,3}}(?:(?i:number|no|num|nr|ending)\b[^\w\n]{{0,3}})?"
            rf"(?:(?i:is)\b[^\w\n]{{0,3}})?\K\d(?:[ -]?\d){{11,18}}{_E}",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["card", "credit", "debit", "visa", "mastercard", "amex", "cc"]
    PREFILTER = r"\d(?:[ -]?\d){11}"
    CANDIDATES_FROM_PATTERNS = True  # analyze() only filters the patterns' results

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return True if luhn_ok(digits) else None

    def invalidate_result(self, pattern_text: str) -> bool:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return len(set(digits)) == 1 or not 12 <= len(digits) <= 19

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        # a card_luhn match only stands when validate_result lifted it to the max score
        return [
            r
            for r in results
            if r.score >= 1.0
            or getattr(r.analysis_explanation, "pattern_name", None) != "card_luhn"
        ]
