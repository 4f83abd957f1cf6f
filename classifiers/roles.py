"""Field-name rules: which *role* a field path plays (user, tenant, device, free text, ...).

The path is normalised segment by segment (camelCase -> snake_case, lower case, ``[]`` removed,
and the type suffixes that Microsoft Sentinel's custom-log connector appends dropped:
``username_s``, ``SESSION_ID_d``, ``isAdmin_b`` -> ``username``, ``session_id``, ``is_admin``;
Salesforce's ``USER_ID_DERIVED`` -> ``user_id``) and the policy's role rules are tried in
order; the first match wins.
"""

from __future__ import annotations

import re
from functools import lru_cache

from telescrub.core.policy import Policy, RoleRule

_CAMEL1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9@]+")
#: Sentinel custom-log type suffixes (string, double, bool, datetime, guid) and Salesforce's
#: 18-character "derived" id columns: the name before them is what the field is
_TYPE_SUFFIX = re.compile(r"(?<=[a-z0-9])_(?:[sdbtg]|derived)$")


@lru_cache(maxsize=65536)
def normalise_segment(segment: str) -> str:
    s = segment.replace("[]", "")
    s = _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", s)).lower()
    s = _NON_WORD.sub("_", s).strip("_")
    return _TYPE_SUFFIX.sub("", s)


def split_path(path: str) -> tuple[str, str]:
    """(normalised parent path, normalised last segment) of a flattened field path."""
    parts = [normalise_segment(p) for p in path.split(".") if p]
    parts = [p for p in parts if p]
    if not parts:
        return "", ""
    return ".".join(parts[:-1]), parts[-1]


def role_for(policy: Policy, table: str, path: str) -> RoleRule | None:
    parent, last = split_path(path)
    if not last:
        return None
    for rule in policy.roles:
        if rule.matches(table, parent, last):
            return rule
    return None
