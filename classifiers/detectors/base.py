"""The shape every detector has: one identifier, a Presidio ``PatternRecognizer``.

A detector is usable three ways from one definition:

* inside Presidio's ``AnalyzerEngine`` (free-text scrubbing, context words apply);
* directly through :meth:`Detector.find` on a text (no NLP pipeline, fast);
* on a whole structured value through :meth:`Detector.match_value`, which a column
  classifier uses to count the share of values that *are* this identifier.

Subclasses set ``ENTITY``, ``PATTERNS`` and optionally ``CONTEXT`` and ``PREFILTER`` (a
cheap regex that any text holding this identifier must match; texts that fail it are
never handed to the pattern engine) and override ``validate_result`` (checksum) or
``invalidate_result`` as Presidio recognizers do.
"""

from __future__ import annotations

import re
from typing import ClassVar

import regex
from presidio_analyzer import AnalysisExplanation, Pattern, PatternRecognizer, RecognizerResult


class Detector(PatternRecognizer):
    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    PREFILTER: ClassVar[str | None] = None
    #: regex flags for all patterns; case-insensitivity is opted into per pattern with (?i)
    FLAGS: ClassVar[int] = regex.MULTILINE

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=supported_language,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=self.FLAGS,
        )
        self._prefilter = re.compile(self.PREFILTER) if self.PREFILTER else None

    def might_contain(self, text: str) -> bool:
        """Cheap necessary condition; False means :meth:`find` would return nothing."""
        return self._prefilter is None or self._prefilter.search(text) is not None

    def find(self, text: str) -> list[RecognizerResult]:
        """Detections in ``text`` (validated, score > 0), without any NLP pipeline."""
        if not text or not self.might_contain(text):
            return []
        return [r for r in self.analyze(text, [self.ENTITY]) if r.score > 0]

    def match_value(self, value: str) -> float:
        """Score if the whole (stripped) value is one instance of this identifier, else 0."""
        v = value.strip()
        if not v:
            return 0.0
        best = 0.0
        for r in self.find(v):
            if r.start == 0 and r.end == len(v):
                best = max(best, r.score)
        return best

    def result(self, start: int, end: int, score: float, rule: str, what: str,
               ) -> RecognizerResult:
        """A RecognizerResult as Presidio's own recognizers make it (explanation, metadata),
        for detectors that find spans with code rather than patterns."""
        name: str = type(self).__name__  # the name given to PatternRecognizer in __init__
        return RecognizerResult(
            entity_type=self.ENTITY, start=start, end=end, score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=name, original_score=score, pattern_name=rule,
                textual_explanation=f"{what} ({rule})"),
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )
