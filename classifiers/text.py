"""In-text scrubbing: find identifiers inside free text and replace each one.

telescrub's detectors are Presidio recognizers; on the hot path they run directly (one
multi-pattern scan of the text, classifiers/scan.py, names the detectors and patterns that can
match at all — most log lines need few) and their results are merged as Presidio's
``AnalyzerEngine`` merges them; the spans are then replaced with keyed-HMAC tokens or
placeholders as Presidio's ``AnonymizerEngine`` replaces them (directly when no two spans
partly overlap, through the engine when its conflict resolution has to decide). Results are
cached per distinct text (logs repeat). A text longer than ``MAX_TEXT_CHARS`` is analysed in
overlapping chunks (linear time whatever its length). The ``AnalyzerEngine``
itself — configured offline, a blank spaCy pipeline written to a local directory so no model
is ever downloaded — is kept as the reference path (``analyze_with_engine``): with no
lemmas its context enhancement changes nothing, and running spaCy per text cost more than
all detectors together.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from telescrub.classifiers import scan
from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.key_value import KeyValueDetector
from telescrub.classifiers.embedded import EmbeddedJson
from telescrub.classifiers.labelled import LabelledValues, label_paths
from telescrub.core.actions import ActLeaf, ScanText, normalise
from telescrub.core.decisions import FieldDecision
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy

if TYPE_CHECKING:
    from telescrub.classifiers.ner import NerPersons

_CACHE_MAX = 200_000
#: texts in which no detector finds anything, per configuration (detectors, minimum score,
#: NER model), shared by every scrubber of the process: the post-write verification re-scans
#: a value the run kept unchanged (a clean message, a guarded id) without analysing it again
#: (the analysis is a function of the text and the configuration). Bounded like the caches.
_CLEAN: dict[tuple[Any, ...], set[str]] = {}
_clean_lock = threading.Lock()
#: a longer text is analysed in overlapping chunks of at most this many characters, so that
#: the cost stays linear in its length whatever the detectors' per-text work (the readers
#: quarantine longer lines by default: pipelines/readers.py DEFAULT_MAX_LINE_BYTES)
MAX_TEXT_CHARS = 1 << 20
#: characters two chunks share: an identifier (with the context its detector looks at) up to
#: this long lies whole in one chunk; one near a cut may be found twice (merged) or, cut
#: short, in addition (more is scrubbed, never less)
CHUNK_OVERLAP = 8192
#: Presidio's AnonymizerEngine merges two same-entity spans with only this between them
_SPACES_GAP = re.compile(r"^( )+$")
_blank_lock = threading.Lock()
_blank_dir: str | None = None

for _name in ("presidio-analyzer", "presidio-anonymizer"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def blank_spacy_model_dir() -> str:
    """A blank English spaCy pipeline on local disk (made once per process; never downloads)."""
    global _blank_dir
    with _blank_lock:
        if _blank_dir is None or not os.path.isdir(_blank_dir):
            import spacy

            path = tempfile.mkdtemp(prefix="telescrub-spacy-blank-")
            spacy.blank("en").to_disk(path)
            _blank_dir = path
        return _blank_dir


def build_analyzer(detectors: Iterable[Detector | KeyValueDetector],
                   model_dir: str | None = None) -> AnalyzerEngine:
    """Presidio AnalyzerEngine with our recognizers and an offline NLP engine."""
    nlp = SpacyNlpEngine(models=[{"lang_code": "en",
                                  "model_name": model_dir or blank_spacy_model_dir()}])
    registry = RecognizerRegistry(supported_languages=["en"])
    for det in detectors:
        registry.add_recognizer(det)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])


class TextScrubber:
    """Replace every detected identifier in a text; keep the rest of the text."""

    def __init__(self, policy: Policy, key: HashKey, entities: Iterable[str] | None = None,
                 model_dir: str | None = None) -> None:
        self.policy = policy
        self.key = key
        entities = None if entities is None else list(entities)
        self.detectors = build_detectors(entities)
        #: values labelled by a field name in the text (``user=jdoe``, EventData XML): decided
        #: by the policy's own field-name rules, so built here rather than in the registry
        self.key_values: KeyValueDetector | None = None
        if entities is None or set(entities) & set(KeyValueDetector(policy).supported_entities):
            self.key_values = KeyValueDetector(policy)
        self._model_dir = model_dir
        self._by_entity: dict[str, list[Detector]] = {}
        self._analyzer: AnalyzerEngine | None = None
        self.anonymizer = AnonymizerEngine()
        self._ops: dict[str, OperatorConfig] = {}
        self._cache: dict[tuple[str, frozenset[str]], tuple[str, tuple[tuple[str, int], ...]]] = {}
        self.cache_hits = 0
        self._scanner: scan.Scanner | None = None
        self.max_text_chars = MAX_TEXT_CHARS
        #: optional spaCy NER (policy ``text.ner_model``): its PERSON results are added to the
        #: detectors' (classifiers/ner.py); None by default, and then nothing changes
        self.ner: NerPersons | None = None
        if policy.ner_model and (entities is None or "PERSON" in entities):
            from telescrub.classifiers.ner import NerPersons

            self.ner = NerPersons(policy.ner_model)
        #: JSON documents held in string values are scrubbed by their keys' roles
        self.embedded = EmbeddedJson(policy)
        #: values of name/value pair arrays are decided by their labels (classifiers/labelled)
        self.labelled = LabelledValues(policy)
        self._clean = self._clean_set()

    def scrub_json(self, table: str, path: str, text: str, act: ActLeaf, scan: ScanText,
                   ) -> str | None:
        """``TextEngine.scrub_json``: the JSON document in ``text`` scrubbed member by member
        (classifiers/embedded.py), the actor acting on each member (``act``) and scanning
        what no rule decides (``scan``); None when ``text`` is not a JSON document."""
        return self.embedded.scrub(table, path, text, act, scan)

    def label_paths(self, path: str) -> tuple[str, ...]:
        """``TextEngine.label_paths`` (classifiers/labelled.py)."""
        return label_paths(path)

    def label_decision(self, table: str, path: str, label: Any) -> FieldDecision | None:
        """``TextEngine.label_decision``: the decision a value's label gives it, or None."""
        return self.labelled.decision(table, path, label)

    def __getstate__(self) -> dict[str, Any]:
        # the scanner (compiled databases) and the shared clean-text set stay in the process
        state = dict(self.__dict__)
        state["_scanner"] = None
        state["_clean"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clean = self._clean_set()

    def _clean_set(self) -> set[str]:
        """This configuration's clean texts (detector classes, minimum score, NER model)."""
        config = (tuple(type(d).__qualname__ for d in self.detectors), self.policy.min_score,
                  self.policy.ner_model if self.ner is not None else None, self.policy.digest)
        with _clean_lock:
            return _CLEAN.setdefault(config, set())

    def is_exactly(self, entity: str, value: str) -> bool:
        """The whole value is one instance of ``entity`` (a kept column's own identifier: the
        keep guard and the post-write verification skip scanning such a value)."""
        dets = self._by_entity.get(entity)
        if dets is None:
            dets = self._by_entity[entity] = [d for d in self.detectors if entity == d.ENTITY]
        return any(d.match_value(value) >= self.policy.min_score for d in dets)

    def exact_mask(self, entity: str, arr: Any) -> Any | None:
        """For an Arrow string column: True where the value is, by a detector's declared
        exact form (``Detector.EXACT``), one instance of ``entity`` — a subset of where
        :meth:`is_exactly` holds, found without calling the detectors; None when no
        detector of the entity declares one strong enough for the policy."""
        import pyarrow as pa
        import pyarrow.compute as pc

        dets = [d for d in self.detectors if entity == d.ENTITY and d.EXACT
                and self.policy.min_score <= d.EXACT_SCORE]
        if not dets:
            return None
        mask = None
        for d in dets:
            m = pc.fill_null(pc.match_substring_regex(arr, d.EXACT), False)
            if d.EXACT_EXCLUDE:
                m = pc.and_(m, pc.invert(pc.fill_null(
                    pc.is_in(arr, pa.array(list(d.EXACT_EXCLUDE), pa.string())), False)))
            mask = m if mask is None else pc.or_(mask, m)
        return mask

    @property
    def scanner(self) -> scan.Scanner:
        """The multi-pattern candidate scan over these detectors (one per process)."""
        if self._scanner is None:
            self._scanner = scan.scanner_for(self.detectors)
        return self._scanner

    @property
    def analyzer(self) -> AnalyzerEngine:
        """Presidio's engine over the same detectors, built on first use (spaCy start-up)."""
        if self._analyzer is None:
            recognizers: list[Detector | KeyValueDetector] = list(self.detectors)
            if self.key_values is not None:
                recognizers.append(self.key_values)
            self._analyzer = build_analyzer(recognizers, self._model_dir)
        return self._analyzer

    def _operator(self, entity: str) -> OperatorConfig:
        op = self._ops.get(entity)
        if op is None:
            if self.policy.text_action(entity) == "hash":
                key = self.key

                def _hash(s: str, _e: str = entity) -> str:
                    return key.token(normalise(_e, s))

                op = OperatorConfig("custom", {"lambda": _hash})
            else:
                cat = self.policy.text_entity_category(entity).upper()
                op = OperatorConfig("replace", {"new_value": f"<{cat}:{entity}>"})
            self._ops[entity] = op
        return op

    def analyze(self, text: str, exclude: frozenset[str] = frozenset()) -> list[RecognizerResult]:
        """Detections in ``text``: the detectors' prefilters pick the candidates, then each
        candidate's patterns run on the text (no NLP pipeline unless the policy names a
        ``text.ner_model``, whose PERSON results are added), duplicates are merged as
        Presidio's ``AnalyzerEngine`` merges them. The engine itself adds nothing here: with
        the offline blank spaCy pipeline it has no lemmas, so its context enhancement never
        changes a score; ``analyze_with_engine`` keeps that path, and
        tests/unit/test_text_scrubber.py checks both agree on the shipped and shared corpora.

        A text longer than :data:`MAX_TEXT_CHARS` is analysed in chunks of that size which
        overlap by :data:`CHUNK_OVERLAP` characters (tests/unit/test_linear_time.py)."""
        if text in self._clean:
            return []  # (nothing found without exclusions: nothing with any)
        if len(text) > self.max_text_chars:
            return self._analyze_chunks(text, exclude)
        results: list[RecognizerResult] = []
        min_score = self.policy.min_score
        # the scan names the detectors (and patterns) that can match at all: the others
        # would find nothing (classifiers/scan.py); the candidates run as before
        for d, plan in zip(self.detectors, self.scanner.plans(text) if text else (), strict=False):
            if plan is None or d.ENTITY in exclude:
                continue
            results.extend(r for r in d.find(text, plan or None) if r.score >= min_score)
        if self.key_values is not None and self.key_values.might_contain(text):
            results.extend(r for r in self.key_values.find(text)
                           if r.entity_type not in exclude and r.score >= min_score)
        if self.ner is not None and "PERSON" not in exclude:
            results.extend(r for r in self.ner.find(text) if r.score >= self.policy.min_score)
        if len(results) > 1:
            results = EntityRecognizer.remove_duplicates(results)
        elif not results and not exclude:
            if len(self._clean) >= _CACHE_MAX:
                self._clean.clear()
            self._clean.add(text)
        return results

    def _analyze_chunks(self, text: str, exclude: frozenset[str]) -> list[RecognizerResult]:
        size = self.max_text_chars
        step = max(1, size - min(CHUNK_OVERLAP, size // 2))
        results: list[RecognizerResult] = []
        for at in range(0, len(text), step):
            for r in self.analyze(text[at:at + size], exclude):
                r.start += at
                r.end += at
                results.append(r)
            if at + size >= len(text):
                break
        if len(results) > 1:
            results = EntityRecognizer.remove_duplicates(results)
        return results

    def analyze_with_engine(self, text: str, exclude: frozenset[str] = frozenset(),
                            ) -> list[RecognizerResult]:
        """The same detections through Presidio's ``AnalyzerEngine`` (the reference path)."""
        cands: list[Detector | KeyValueDetector] = [
            d for d in self.detectors if d.ENTITY not in exclude and d.might_contain(text)]
        if self.key_values is not None and self.key_values.might_contain(text):
            cands.append(self.key_values)
        if not cands:
            return []
        wanted = sorted({r.entity_type for d in cands for r in d.find(text)
                         if r.score >= self.policy.min_score and r.entity_type not in exclude})
        if not wanted:
            return []
        return [r for r in self.analyzer.analyze(text, language="en", entities=wanted)
                if r.score >= self.policy.min_score]

    def _replacement(self, entity: str, span: str) -> str:
        """What ``_operator(entity)`` makes of ``span``."""
        if self.policy.text_action(entity) == "hash":
            return self.key.token(normalise(entity, span))
        return f"<{self.policy.text_entity_category(entity).upper()}:{entity}>"

    def _replace_disjoint(self, text: str, results: list[RecognizerResult],
                          ) -> tuple[str, tuple[tuple[str, int], ...]] | None:
        """Presidio's ``AnonymizerEngine.anonymize`` when no two spans partly overlap (the
        usual case), without its per-span objects: a span inside another is dropped (the
        engine merges it into a same-entity one or drops it as contained), same-entity spans
        separated by spaces are merged (``_merge_entities_with_spaces_between``, same regex),
        then each span is replaced. None when spans partly overlap, or two entities claim the
        same span: the engine's conflict resolution (scores, trimming) decides those."""
        spans = sorted((r.start, -r.end, r.entity_type) for r in results)
        outer: list[list[Any]] = []
        for start, neg_end, entity in spans:
            end = -neg_end
            if start >= end:
                return None
            if outer and start < outer[-1][1]:
                top = outer[-1]
                if end > top[1] or (start == top[0] and end == top[1] and entity != top[2]):
                    return None
                continue  # inside the previous span
            outer.append([start, end, entity])
        merged: list[list[Any]] = []
        for start, end, entity in outer:
            if merged:
                last = merged[-1]
                if last[2] == entity and _SPACES_GAP.search(text[last[1]:start]):
                    last[1] = end
                    continue
            merged.append([start, end, entity])
        parts: list[str] = []
        pos = 0
        counts: Counter[str] = Counter()
        for start, end, entity in merged:
            parts.append(text[pos:start])
            parts.append(self._replacement(entity, text[start:end]))
            pos = end
            counts[entity] += 1
        parts.append(text[pos:])
        return "".join(parts), tuple(sorted(counts.items()))

    def scrub(self, text: str, exclude: frozenset[str] = frozenset(),
              ) -> tuple[str, tuple[tuple[str, int], ...]]:
        """(scrubbed text, ((entity, count), ...)); ``exclude`` entities are left alone."""
        ck = (text, exclude)
        hit = self._cache.get(ck)
        if hit is not None:
            self.cache_hits += 1
            return hit
        results = self.analyze(text, exclude)
        out: tuple[str, tuple[tuple[str, int], ...]] | None = (text, ()) if not results else (
            self._replace_disjoint(text, results))
        if out is None:  # overlapping spans: Presidio's conflict resolution decides
            ops = {r.entity_type: self._operator(r.entity_type) for r in results}
            anonymized = self.anonymizer.anonymize(
                text=text, analyzer_results=results, operators=ops)  # type: ignore[arg-type]
            counts = Counter(item.entity_type for item in anonymized.items)
            out = (anonymized.text, tuple(sorted(counts.items())))
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[ck] = out
        return out
