"""Values labelled by a field name inside text: ``user=jdoe``, ``"TargetUserName": "jdoe"``,
``<Data Name="TargetUserName">jdoe</Data>``, ``<Owner>jdoe</Owner>``, ``Account Name:\\tjdoe``.

Machine-written text (a log line with key=value pairs, JSON that is part of a message, a
Windows event's ``EventData`` XML or message text) says what each value is. The key is
decided by the policy's field-name rules exactly like a column of that name (``TargetUserName``
-> ``username``, ``createdBy`` -> ``actor``, ``WorkstationName`` -> ``host``); when the role is
one of ``labels.yaml``'s ``key_values.roles``, the value is reported as that role's entity,
whatever it looks like: an alias that no value detector recognises is still found.

Not in the detector registry: it needs the policy (its rules), so
:class:`~telescrub.classifiers.text.TextScrubber` builds it. Several entities, one recognizer.

Deliberately not matched: keys whose role is not listed (``error=``, ``status:``), one-word
keys of generic roles (``session:``, ``uid=``, ``device=``: ``session_id=`` counts), keys that
name a person only inside a known object (``"displayName": "Finance Team"``), ``Key:
value`` followed by more words on the line (a chat's ``User: Maja Holm`` is a speaker, not a
field), a value followed by ``{`` or ``(`` (an object's text, ``Token{a64f992 ...}``), empty and
placeholder values (``-``, ``null``, ``N/A``, ``%%2313``, ``0x0``, ``localhost``, ``${USER}``),
one-character values and numbers under three digits, hash tokens, ``key: value`` with no space after the colon
(``https://``, ``10:00:00``).
"""

from __future__ import annotations

import re
from typing import Any

import regex
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from telescrub.classifiers.labels import labels
from telescrub.classifiers.roles import role_for, split_path
from telescrub.core.policy import Policy

_KEY = r"[A-Za-z_@$][\w.$@-]{0,63}"
_PATTERNS = [
    # "key": "value" and \"key\":\"value\" (JSON inside text), "key": 12345
    ("json", regex.compile(rf'\\?"(?P<key>{_KEY})\\?"\s*:\s*\\?"(?P<value>[^"\\\n]{{1,256}})\\?"')),
    ("json_number", regex.compile(rf'\\?"(?P<key>{_KEY})\\?"\s*:\s*(?P<value>-?\d{{3,20}})(?=\s*[,}}\]])')),
    # Windows EventData: <Data Name="TargetUserName">jdoe</Data>
    ("xml_data", regex.compile(r"""Name\s*=\s*["'](?P<key>[\w.-]{1,64})["']\s*>(?P<value>[^<\n]{1,256})<""")),
    # <TargetUserName>jdoe</TargetUserName>
    ("xml_element", regex.compile(rf"<(?P<key>{_KEY})>(?P<value>[^<\n]{{1,256}})</(?P=key)>")),
    # key=value, key="value", key='value'
    ("kv_quoted", regex.compile(rf"""(?<![\w.$@-])(?P<key>{_KEY})\s?=\s?(?P<q>["'])(?P<value>[^"'\n]{{1,256}})(?P=q)""")),
    ("kv_bare", regex.compile(rf"""(?<![\w.$@-])(?P<key>{_KEY})=(?P<value>[^\s,;&"'<>()\[\]{{}}|]{{1,256}}+)(?!\s?[{{(\[])""")),
    # Key: value and Two Words:<tab>value (Windows event messages, mail headers, notes)
    ("colon", regex.compile(r"(?<![\w.-])(?P<key>[A-Za-z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9]*){0,3})"
                            r":[ \t]+(?P<value>[^\s,;\"'<>()\[\]{}|]{1,128})(?<![.:])"
                            r"(?=[ \t]*(?:$|[\r\n,;|]))", regex.MULTILINE)),
]
_PREFILTER = re.compile(r"[=:>]")
_PLACEHOLDER = re.compile(
    r"(?i)-+|null|nil|none|n/a|na|unknown|undefined|empty|true|false|yes|no|0x0+|0+|%%\d+|"
    r"localhost|127\.0\.0\.1|::1|\*+|x+|h1:[0-9a-f]{8}:.*|<.*>|\$\{.*\}|\$\w+|\{\{.*\}\}|"
    r"%\(.*\)s|\[.*\]|system|anonymous|n\.a\.|[\w.$]+@[0-9a-f]{4,16}")
#: roles whose one-word keys are too generic in text (``Session: 3054_42`` of a servicing
#: stack, Android's app ``uid=10037``): only a longer key counts (``session_id``, ``user_id``)
_NEEDS_LONG_KEY = frozenset({"user", "session", "device"})
#: keys that say what a value is only inside a known object (an app's or a group's
#: ``displayName`` is no person): in text, without that object, they count for nothing
_GENERIC_KEYS = frozenset({"name", "display_name", "displayname", "title", "label"})
_SCORE = 0.7
_NAME = "KeyValueDetector"


class KeyValueDetector(EntityRecognizer):
    """Labelled values in text, decided by the field-name rules of the label (module doc)."""

    ENTITY = "USERNAME"  # the commonest; results carry the entity of their label's role

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.roles = labels().key_value_roles
        super().__init__(supported_entities=sorted(set(self.roles.values())),
                         name=_NAME, supported_language="en")
        self._entity_of: dict[str, str | None] = {}

    def load(self) -> None:  # Presidio's hook; nothing to load
        pass

    def might_contain(self, text: str) -> bool:
        return _PREFILTER.search(text) is not None

    def entity_for(self, key: str) -> str | None:
        """The entity a value labelled ``key`` is, or None (cached per key)."""
        hit = self._entity_of.get(key, "")
        if hit != "":
            return hit
        rule = role_for(self.policy, "", key.replace(" ", "_"))
        entity = self.roles.get(rule.role) if rule is not None else None
        if split_path(key.replace(" ", "_"))[1] in _GENERIC_KEYS:
            entity = None
        if rule is not None and rule.role in _NEEDS_LONG_KEY and "_" not in split_path(
                key.replace(" ", "_"))[1]:
            entity = None
        if len(self._entity_of) > 20_000:
            self._entity_of.clear()
        self._entity_of[key] = entity
        return entity

    def find(self, text: str) -> list[RecognizerResult]:
        if not text or not self.might_contain(text):
            return []
        results: list[RecognizerResult] = []
        for name, rx in _PATTERNS:
            for m in rx.finditer(text):
                entity = self.entity_for(m.group("key"))
                if entity is None:
                    continue
                value = m.group("value")
                v = value.strip()
                if len(v) < 2 or (len(v) < 3 and v.isdigit()) or _PLACEHOLDER.fullmatch(v):
                    continue
                start = m.start("value") + (len(value) - len(value.lstrip()))
                results.append(self._result(entity, start, start + len(v), name))
        return EntityRecognizer.remove_duplicates(results) if len(results) > 1 else results

    def _result(self, entity: str, start: int, end: int, rule: str) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity, start=start, end=end, score=_SCORE,
            analysis_explanation=AnalysisExplanation(
                recognizer=_NAME, original_score=_SCORE, pattern_name=rule,
                textual_explanation=f"labelled value ({rule})"),
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: _NAME,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None,
                ) -> list[RecognizerResult]:
        return [r for r in self.find(text) if r.entity_type in entities]
