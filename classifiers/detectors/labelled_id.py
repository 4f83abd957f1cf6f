"""Identifiers introduced by words in free text: "passport no. K7741902", "account number
550019284", "tax id 47-1180235", "patient ID #QRT-551902", "employee id 804417",
"password: Blue!Harbor9", "my login is mvarga". The span is the value only.

The keywords are data (``schemas/labels.yaml``, per language: en, fr, de, es, it, nl, pt),
grouped by the entity they introduce; one detector class per entity below. Between keyword
and value only a short gap of fillers is allowed (``no.``, ``number``, ``nr``, ``#``, ``:``,
``=``, ``is``, ``was``), on one line; the value must have the group's shape:

* ``id``: letters, digits and ``- / .`` holding at least three digits;
* ``login``: a user name starting with a letter that is not a common English word;
* ``secret``: four or more characters holding a digit or a symbol.

Deliberately not matched: a keyword followed by other words ("account number of retries 3",
"employee id field empty", "login failed", "password reset"), a function call after a
keyword ("LOGIN chdir(...) failed"), values of too few digits
("policy number 12"), a keyword inside a longer word ("passporte", "pinned"), hash tokens
and placeholders.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import NOT_A_TOKEN, Detector
from telescrub.classifiers.labels import labels
from telescrub.core import entities

_GAP = (r"(?:[ \t]*(?:[:=#.]|-(?![\w])|(?i:number|numero|número|nummer|no|nr|num|n°|nº|id|is|"
        r"was|are|ist|est|es|è|é)\b\.?)){0,4}[ \t]*#?")
_VALUES = {
    "id": r"[A-Za-z0-9](?:[A-Za-z0-9/.-]{2,30})[A-Za-z0-9](?![\w/-]|\.\w)",
    "login": r"[A-Za-z][\w.-]{1,63}(?<![.-])(?![\w@(\[{-])",
    "secret": r"[^\s\"'<>]{4,64}(?<![.,;:?)])(?!\S)",
}
_SCORES = {"id": 0.6, "login": 0.55, "secret": 0.6}
_PLACEHOLDER = re.compile(r"(?i)null|none|n/a|\*+|x+|redacted|hidden|masked|unknown|required|"
                          r"h1:[0-9a-f]{8}:.*|<.*>|\[.*\]")


def _keyword_regex(words: tuple[str, ...]) -> str:
    alts = []
    for w in sorted(words, key=len, reverse=True):  # longest first: "account number" > "acct"
        parts = [re.escape(p).replace("'", "['’]") for p in w.split()]
        alts.append(r"[ \t]+".join(parts))
    return r"(?<![\w'’-])(?i:" + "|".join(alts) + r")(?![\w'’])"


def _patterns(entity: str) -> list[Pattern]:
    out = []
    for i, group in enumerate(g for g in labels().keywords if g.entity == entity):
        out.append(Pattern(f"{entity.lower()}_{group.value}_{i}",
                           rf"{_keyword_regex(group.keywords)}{_GAP}\K{NOT_A_TOKEN}"
                           rf"{_VALUES[group.value]}", _SCORES[group.value]))
    return out


def _prefilter(entity: str) -> str:
    """Any text holding one of the entity's keywords holds its first word."""
    firsts = {w.split()[0] for g in labels().keywords if g.entity == entity for w in g.keywords}
    alts = "|".join(re.escape(w).replace("'", "['’]") for w in sorted(firsts, key=len,
                                                                       reverse=True))
    return rf"(?i)(?<![\w'’-])(?:{alts})(?![\w'’])"


def _shape(entity: str) -> str:
    return next(g.value for g in labels().keywords if g.entity == entity)


class _LabelledDetector(Detector):
    """A value introduced by one of the entity's keywords (see the module doc)."""

    def invalidate_result(self, pattern_text: str) -> bool:
        v = pattern_text.strip()
        if _PLACEHOLDER.fullmatch(v):
            return True
        shape = _shape(self.ENTITY)
        if shape == "id":
            return sum(c.isdigit() for c in v) < 3
        if shape == "secret":
            return not any(not c.isalpha() for c in v)
        from telescrub.classifiers.detectors.person_name import STOP, english_words

        low = v.lower()
        return low in STOP or low in english_words() or low in _NOT_LOGINS


_NOT_LOGINS_TEXT = """admin administrator root guest user users unknown none null system
anonymous default test"""
_NOT_LOGINS = frozenset(_NOT_LOGINS_TEXT.split())


class NationalIdLabelDetector(_LabelledDetector):
    ENTITY = entities.NATIONAL_ID
    PATTERNS: ClassVar[list[Pattern]] = _patterns(entities.NATIONAL_ID)
    PREFILTER = _prefilter(entities.NATIONAL_ID)
    CONTEXT: ClassVar[list[str]] = ["passport", "id", "tax", "license", "licence"]


class AccountNumberLabelDetector(_LabelledDetector):
    ENTITY = entities.ACCOUNT_NUMBER
    PATTERNS: ClassVar[list[Pattern]] = _patterns(entities.ACCOUNT_NUMBER)
    PREFILTER = _prefilter(entities.ACCOUNT_NUMBER)
    CONTEXT: ClassVar[list[str]] = ["account", "bank", "routing"]


class PersonalIdLabelDetector(_LabelledDetector):
    ENTITY = entities.PERSONAL_ID
    PATTERNS: ClassVar[list[Pattern]] = _patterns(entities.PERSONAL_ID)
    PREFILTER = _prefilter(entities.PERSONAL_ID)
    CONTEXT: ClassVar[list[str]] = ["patient", "employee", "member", "policy", "customer"]


class SecretLabelDetector(_LabelledDetector):
    ENTITY = entities.SECRET
    PATTERNS: ClassVar[list[Pattern]] = _patterns(entities.SECRET)
    PREFILTER = _prefilter(entities.SECRET)
    CONTEXT: ClassVar[list[str]] = ["password", "passcode", "pin"]


class LoginLabelDetector(_LabelledDetector):
    ENTITY = entities.USERNAME
    PATTERNS: ClassVar[list[Pattern]] = _patterns(entities.USERNAME)
    PREFILTER = _prefilter(entities.USERNAME)
    CONTEXT: ClassVar[list[str]] = ["login", "username", "user"]
