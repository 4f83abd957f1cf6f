"""Values labelled by a sibling field: arrays of name/value pairs.

Many audit schemas carry their most telling data as a list of pairs instead of named fields:
Google Workspace ``events[].parameters[] {name, value}``, Microsoft 365
``ExtendedProperties[]`` / ``Parameters[] {Name, Value}`` (``{"Name": "Identity", "Value":
"jdoe"}``), Entra ``additionalDetails[] {key, value}`` and ``modifiedProperties[]
{displayName, oldValue, newValue}``, Jira ``changedValues[] {fieldName, changedFrom,
changedTo}``. Flattened, the column ``Parameters[].Value`` mixes every kind of value, so no
column decision fits them all; the label next to each value says what it is.

:func:`label_path` finds the label column of such a value column among a record's fields;
:meth:`LabelledValues.decision` gives, for one label, the decision its name would get as a
field (``Identity`` / ``target_user`` -> a user, hashed; ``UserAgent`` -> kept) when that
decision changes values (hash, redact, mask...), else None: the value column's own decision
applies (fail closed: a value no label explains is still scanned as free text).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container
from functools import lru_cache

from telescrub.classifiers.decide import decide_field
from telescrub.classifiers.roles import normalise_segment
from telescrub.core.decisions import FieldDecision
from telescrub.core.policy import Policy

#: the member holding the value of a pair (normalised names)
VALUE_KEYS = frozenset({
    "value", "values", "new_value", "old_value", "multi_value", "string_value", "int_value",
    "bool_value", "changed_from", "changed_to", "from_string", "to_string", "from", "to",
})
#: the member naming it, most specific first (as spelled in the data: camelCase or not)
LABEL_KEYS = ("name", "Name", "key", "Key", "displayName", "DisplayName", "display_name",
              "fieldName", "field_name", "FieldName", "field", "Field", "property",
              "attribute", "label", "parameter")
#: actions that change a value: only these override the value column's own decision
_ACTING = frozenset({"hash", "redact", "mask", "truncate_ip", "email_domain", "drop"})


@lru_cache(maxsize=16384)
def _split(path: str) -> tuple[str, str] | None:
    """(array parent with ``[]``, value key) when ``path`` is ``<parent>[].<value key>``."""
    parent, dot, last = path.rpartition(".")
    if not dot or not parent.endswith("[]") or "\\" in last:
        return None
    return (parent, last) if normalise_segment(last) in VALUE_KEYS else None


@lru_cache(maxsize=16384)
def label_paths(path: str) -> tuple[str, ...]:
    """The paths that may label the value column ``path``, most specific first; () when
    ``path`` is not the value member of a pair array."""
    split = _split(path)
    if split is None:
        return ()
    parent = split[0]
    return tuple(c for c in (f"{parent}.{key}" for key in LABEL_KEYS) if c != path)


def label_path(path: str, present: Container[str]) -> str | None:
    """The label column of the value column ``path`` among ``present`` paths, or None."""
    return next((c for c in label_paths(path) if c in present), None)


class LabelledValues:
    """Decisions for labelled values, from the field-name rules (cached per label)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._cache: dict[tuple[str, str, str], FieldDecision | None] = {}

    def decision(self, table: str, value_path: str, label: object) -> FieldDecision | None:
        if not isinstance(label, str) or not label.strip() or len(label) > 128:
            return None
        k = (table, value_path, label)
        if k in self._cache:
            return self._cache[k]
        parent = value_path.rpartition(".")[0]
        name = label.strip().replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[")
        found = decide_field(self.policy, [], table, f"{parent}.{name}", None)
        d: FieldDecision | None = found
        if found.action not in _ACTING or found.drift:
            d = None
        elif found.action == "drop":  # a dropped pair member would misalign the pairs: redact
            d = dataclasses.replace(found, action="redact")
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[k] = d
        return d
