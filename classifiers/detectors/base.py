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

:class:`CompoundDetector` is the shape for identifiers that *embed* a person's identifier in
something that is not personal (``CONTOSO\\jdoe``, an ARN naming an IAM user or a role
session, ``users/<id>`` in a resource path): the whole value is matched, but only the part
that identifies the person is reported as the span, so scrubbing keeps the rest readable
and joinable (``CONTOSO\\h1:...``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import regex
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS

_REGEX_TIMEOUT = REGEX_TIMEOUT_SECONDS  # Presidio's per-pattern timeout
#: texts at least this long get the timeout; arming it costs ~17 us per regex call (more than
#: matching a log line), and a pattern cannot take Presidio's 60 s on a shorter text (the regex
#: module short-cuts nested repeats; tests/unit/test_linear_time.py times hostile texts)
_TIMEOUT_FROM_CHARS = 8192
#: what a keyed hash token looks like (telescrub.keys): never the start of an identifier
NOT_A_TOKEN = r"(?!h1:[0-9a-f]{8}:)"


class Detector(PatternRecognizer):
    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    PREFILTER: ClassVar[str | None] = None
    #: optional RE2 regex (whole value) whose every match this detector accepts as a whole
    #: value with at least ``EXACT_SCORE`` (``match_value``), except the ``EXACT_EXCLUDE``
    #: values: lets a column of such values skip the detector per value
    #: (tests/unit/detectors/test_exact_forms.py holds each declaration to ``match_value``)
    EXACT: ClassVar[str | None] = None
    EXACT_SCORE: ClassVar[float] = 0.0
    EXACT_EXCLUDE: ClassVar[tuple[str, ...]] = ()
    #: regex flags for all patterns; case-insensitivity is opted into per pattern with (?i)
    FLAGS: ClassVar[int] = regex.MULTILINE
    #: whether every result comes from a match of one of ``PATTERNS`` (so a text that none of
    #: them can match needs no run: classifiers/scan.py). None: true for the default
    #: ``analyze``, false for a detector with its own (gazetteers, code).
    CANDIDATES_FROM_PATTERNS: ClassVar[bool | None] = None
    #: more necessary conditions (regexes every text with a detection matches) that only the
    #: candidate scan evaluates, as supersets in one pass with all others: for a detector
    #: whose own code finds spans, what its ``PREFILTER`` alone cannot say cheaply in Python
    SCAN_REQUIRES: ClassVar[tuple[str, ...]] = ()

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

    def find(self, text: str, only: Sequence[int] | None = None) -> list[RecognizerResult]:
        """Detections in ``text`` (validated, score > 0), without any NLP pipeline.

        ``only``: the indices of the only ``PATTERNS`` that can match ``text`` (a scan found
        no match of the others, classifiers/scan.py); the results are the same."""
        if not text or not self.might_contain(text):
            return []
        if type(self).analyze is not PatternRecognizer.analyze:
            return [r for r in self.analyze(text, [self.ENTITY]) if r.score > 0]
        return self._find_patterns(text, only)

    def _find_patterns(self, text: str, only: Sequence[int] | None = None,
                       ) -> list[RecognizerResult]:
        """``PatternRecognizer``'s pattern analysis (same patterns, flags, validation,
        invalidation, duplicate removal) without its per-pattern clock reads and debug
        logging; tests/unit/test_text_scrubber.py checks it against Presidio's engine."""
        results: list[RecognizerResult] = []
        patterns = self._patterns()
        if only is not None:
            patterns = [patterns[i] for i in only]
        for pattern in patterns:
            try:
                rx = self._compiled(pattern)
                found = rx.finditer(text, timeout=_REGEX_TIMEOUT) if len(text) >= \
                    _TIMEOUT_FROM_CHARS else rx.finditer(text)
                for m in found:
                    span = self._span(m)
                    if span is None:
                        continue
                    start, end, current = span
                    score = self._score(pattern, current)
                    if score > 0:
                        results.append(self.result(start, end, score, pattern.name,
                                                   "pattern"))
            except TimeoutError:  # Presidio logs and skips the pattern
                continue
        return EntityRecognizer.remove_duplicates(results) if len(results) > 1 else results

    def _span(self, m: Any) -> tuple[int, int, str] | None:
        """What a pattern match reports: (start, end, the text its score is computed on),
        or None for nothing. The whole match here; a detector that reports only part of
        what it matches (``CompoundDetector``) says which part."""
        start, end = m.span()
        return (start, end, m.group(0)) if end > start else None

    def match_value(self, value: str) -> float:
        """Score if the whole (stripped) value is one instance of this identifier, else 0."""
        v = value.strip()
        if not v:
            return 0.0
        if type(self).analyze is not PatternRecognizer.analyze:
            # a detector with its own analyze (context, gazetteers, post-filters)
            best = 0.0
            for r in self.find(v):
                if r.start == 0 and r.end == len(v):
                    best = max(best, r.score)
            return best
        return self._match_whole(v)

    def _compiled(self, pattern: Any) -> Any:
        """The pattern's regex, compiled (and cached on it) as Presidio compiles it."""
        flags = self.global_regex_flags
        if not pattern.compiled_regex or pattern.compiled_with_flags != flags:
            pattern.compiled_with_flags = flags
            pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
        return pattern.compiled_regex

    def _score(self, pattern: Any, matched: str) -> float:
        """A match's score after validation and invalidation, as Presidio computes it."""
        score: float = pattern.score
        valid = self.validate_result(matched)
        if valid is not None:
            score = 1.0 if valid else 0.0
        if self.invalidate_result(matched):
            score = 0.0
        return score

    def _patterns(self) -> list[Any]:
        return self.patterns  # type: ignore[no-any-return,has-type]

    def _match_whole(self, v: str) -> float:
        """``match_value`` for pure pattern detectors without building Presidio results:
        the same patterns, flags, validation and invalidation as ``PatternRecognizer``'s
        pattern analysis. Only a pattern's first match can span the whole value, and that
        match is the anchored ``match`` at position 0 (tests/unit/detectors check the two
        agree on every detector over the sample data's values)."""
        if not self.might_contain(v):
            return 0.0
        best = 0.0
        for pattern in self._patterns():
            try:
                rx = self._compiled(pattern)
                m = rx.match(v, timeout=_REGEX_TIMEOUT) if len(v) >= _TIMEOUT_FROM_CHARS \
                    else rx.match(v)
            except TimeoutError:  # Presidio logs and skips the pattern
                continue
            if m is None or m.start() != 0 or m.end() != len(v):
                continue  # (a \K in the pattern moves the reported start)
            best = max(best, self._score(pattern, v))
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


class CompoundDetector(Detector):
    """A detector whose patterns match a whole compound identifier but report only its named
    group ``PART`` (the person's part); a match without that group reports nothing (an ARN
    of a bucket names no person). ``match_value`` still tests the whole value, so a column of
    compound ids is classified as such."""

    PART: ClassVar[str] = "part"

    def _span(self, m: Any) -> tuple[int, int, str] | None:
        part = m.groupdict().get(self.PART)
        if not part or not m.group(0):
            return None
        start, end = m.span(self.PART)
        return start, end, m.group(0)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Presidio's entry point: the same part spans as :meth:`find`."""
        if self.ENTITY not in entities or not self.might_contain(text):
            return []
        return self._find_patterns(text)

    def match_value(self, value: str) -> float:
        v = value.strip()
        return self._match_whole(v) if v else 0.0
