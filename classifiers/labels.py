"""``schemas/labels.yaml``: identifiers that a word or a field name introduces in text.

Loaded once per process and validated: a mistake gives one :class:`PolicyError` line naming
the file, the line and the key (``labels.yaml:42: keywords.1.value: unknown value shape 'idd'
(expected one of id, login, secret)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from telescrub.core import entities
from telescrub.core.errors import PolicyError
from telescrub.core.yamlload import KeyPath, load_yaml

VALUE_SHAPES = ("id", "login", "secret")
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt")


@dataclass(frozen=True)
class KeywordGroup:
    entity: str
    value: str  # one of VALUE_SHAPES
    keywords: tuple[str, ...]  # every language's, lower case


@dataclass(frozen=True)
class Labels:
    key_value_roles: dict[str, str]  # role -> entity
    keywords: tuple[KeywordGroup, ...]


def default_labels_path() -> str:
    return str(resources.files("telescrub.schemas").joinpath("labels.yaml"))


def load_labels(path: str) -> Labels:
    data, where = load_yaml(path)

    def fail(kp: KeyPath, msg: str) -> PolicyError:
        dotted = ".".join(str(k) for k in kp) or "(top level)"
        return PolicyError(f"{where(kp)}: {dotted}: {msg}")

    def mapping(value: object, kp: KeyPath, allowed: set[str]) -> dict[str, object]:
        if not isinstance(value, dict):
            raise fail(kp, f"expected a mapping, got {type(value).__name__}")
        for k in value:
            if k not in allowed:
                raise fail((*kp, k), f"unknown key {k!r} (expected one of "
                                     f"{', '.join(sorted(allowed))})")
        return value

    def entity(value: object, kp: KeyPath) -> str:
        if value not in entities.ALL:
            raise fail(kp, f"unknown entity {value!r}")
        return str(value)

    doc = mapping(data, (), {"version", "key_values", "keywords"})
    kv = mapping(doc.get("key_values") or {}, ("key_values",), {"roles"})
    raw_roles = kv.get("roles") or {}
    if not isinstance(raw_roles, dict):
        raise fail(("key_values", "roles"), "expected a mapping of role -> entity")
    roles = {str(r): entity(e, ("key_values", "roles", r)) for r, e in raw_roles.items()}
    groups: list[KeywordGroup] = []
    raw_groups = doc.get("keywords") or []
    if not isinstance(raw_groups, list):
        raise fail(("keywords",), "expected a list of keyword groups")
    for i, raw in enumerate(raw_groups):
        kp: KeyPath = ("keywords", i)
        g = mapping(raw, kp, {"entity", *LANGUAGES, "value"})
        if "entity" not in g or "value" not in g:
            raise fail(kp, "missing required key 'entity' or 'value'")
        if g["value"] not in VALUE_SHAPES:
            raise fail((*kp, "value"), f"unknown value shape {g['value']!r} (expected one of "
                                       f"{', '.join(VALUE_SHAPES)})")
        words: list[str] = []
        for lang in LANGUAGES:
            lst = g.get(lang) or []
            if not isinstance(lst, list) or not all(isinstance(w, str) and w.strip()
                                                    for w in lst):
                raise fail((*kp, lang), "expected a list of keywords")
            words += [w.strip().lower() for w in lst]
        if not words:
            raise fail(kp, "a keyword group needs keywords in at least one language")
        groups.append(KeywordGroup(entity(g["entity"], (*kp, "entity")), str(g["value"]),
                                   tuple(dict.fromkeys(words))))
    shapes: dict[str, str] = {}
    for i, grp in enumerate(groups):
        if shapes.setdefault(grp.entity, grp.value) != grp.value:
            raise fail(("keywords", i, "value"), f"entity {grp.entity} already has the value "
                                                 f"shape {shapes[grp.entity]!r}")
    return Labels(roles, tuple(groups))


@lru_cache(maxsize=4)
def labels(path: str | None = None) -> Labels:
    """The labels file (default: the bundled one), loaded once per process."""
    return load_labels(path or default_labels_path())
