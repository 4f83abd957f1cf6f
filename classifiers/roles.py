"""Field-name rules: which *role* a field path plays (user, tenant, device, free text, ...).

The path is normalised segment by segment (camelCase -> snake_case, lower case, ``[]`` removed)
and the policy's role rules are tried in order; the first match wins.
"""

from __future__ import annotations

import re
from functools import lru_cache

from telescrub.core.policy import Policy, RoleRule

_CAMEL1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9@]+")


@lru_cache(maxsize=65536)
def normalise_segment(segment: str) -> str:
    s = segment.replace("[]", "")
    s = _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", s)).lower()
    return _NON_WORD.sub("_", s).strip("_")


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
