"""Payment card numbers (PANs): 13-19 digits, bare or in groups split by spaces or dashes.

Three patterns and a run splitter:

* ``card_luhn``: a bare or grouped number with a plausible IIN (first digit 2-6, or a
  ``1800``/``2131`` JCB prefix) that passes the Luhn check; scores 1.0, dropped otherwise. A
  bare 13-19 digit number may sit next to other numbers (``4111111111111111
  5555555555554444``: two cards);
* ``card_grouped``: exactly ``4-4-4-4`` grouped with one separator kind; kept at 0.5
  even when Luhn fails (test and synthetic data is often not Luhn-valid);
* ``card_context``: 12-19 digits right after a card word (``card``, ``visa``, ``amex``,
  ``mastercard``, ``cc``...), e.g. ``credit card 060426070011``; 0.6, no Luhn needed;
* several 4-4-4-4 cards in one run of groups (``4111 1111 1111 1111 5555 5555 5555 4444``):
  a run of 8, 12 or 16 groups is cut into cards of four groups, kept when every one of them
  has a card IIN and passes Luhn (a list of counters almost never does).

Deliberately not matched: digit runs glued to words or signs (``blk_-1608999687919862906``,
``attempt_1445144423722_0020``), epoch-millisecond timestamps (start with ``1``), IMEIs
after an ``IMEI`` label, numbers with mixed separators or dots, a single repeated digit
(``0000 0000 0000 0000``), four groups inside a longer list of numbers
(``( 3552 3534 3375 4245 3515 3479 )``).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

# not glued to words, signs or dotted numbers, and not one stretch of a longer list of
# digit groups ('Fan speeds ( 3552 3534 3375 4245 3515 3479 )')
_B = r"(?<![\w.+/:=-])(?<!\d[ -])"
_E = r"(?![\w+/]|[.,:-]\d|[ -]\d{3,})"
# a bare number may stand next to other numbers (two cards on one line)
_B_BARE = r"(?<![\w.+/:=-])"
_E_BARE = r"(?![\w+/]|[.:-]\d)"
_RUN = re.compile(r"(?<![\w.+/:=-])\d{4}(?:([ -])\d{4}){7,15}(?![\w+/]|[.,:-]\d|[ -]\d)")
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
        Pattern("card_luhn", rf"{_B}{_NOT_IMEI}{_IIN}(?:{_GROUPED}){_E}", 0.01),
        Pattern("card_luhn_bare", rf"{_B_BARE}{_NOT_IMEI}{_IIN}\d{{13,19}}{_E_BARE}", 0.01),
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
        results = [
            r
            for r in results
            if r.score >= 1.0
            or getattr(r.analysis_explanation, "pattern_name", None)
            not in ("card_luhn", "card_luhn_bare")
        ]
        return results + self._runs(text)

    def _runs(self, text: str) -> list[RecognizerResult]:
        """Cards of four groups in a run of 8, 12 or 16 groups, all of them valid."""
        out: list[RecognizerResult] = []
        for m in _RUN.finditer(text):
            groups = [(g.start(), g.end()) for g in re.finditer(r"\d{4}", m.group(0))]
            if len(groups) % 4 or len({m.group(0)[g[1]] for g in groups[:-1]}) != 1:
                continue
            cards = [(m.start() + groups[i][0], m.start() + groups[i + 3][1])
                     for i in range(0, len(groups), 4)]
            digits = ["".join(c for c in text[s:e] if c.isdigit()) for s, e in cards]
            if all(d[0] in "23456" and luhn_ok(d) and len(set(d)) > 1 for d in digits):
                out += [self.result(s, e, 1.0, "card_run", "pattern") for s, e in cards]
        return out
