"""The policy (actions, retention, thresholds) and classification rules, loaded from YAML.

Everything is validated at load: a bad file gives one :class:`PolicyError` line naming the
file, the line and the key, e.g.
``schemas/policy.yaml:27: categories.euii.action: unknown action 'hsh' (expected one of ...)``.
The loaded :class:`Policy` is an immutable, picklable value shipped to Beam workers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from telescrub.core.errors import PolicyError
from telescrub.core.ner_spec import check_ner_model
from telescrub.core.timeparse import IMPLAUSIBLE_ACTIONS, EventTimeRule
from telescrub.core.yamlload import KeyPath, load_yaml

CATEGORIES = ("customer_content", "account_data", "system_metadata", "oii", "euii", "eupi")
ACTIONS = ("hash", "redact", "mask", "truncate_ip", "email_domain", "scrub_text", "drop", "keep")
TEXT_ACTIONS = ("hash", "redact")
SUBJECT_ERASE_MODES = ("remove_rows", "tombstone")


def default_policy_path() -> str:
    return str(resources.files("telescrub.schemas").joinpath("policy.yaml"))


@dataclass(frozen=True)
class ActionSpec:
    action: str
    keep_last: int = 4  # for mask

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "keep_last": self.keep_last}


@dataclass(frozen=True)
class RoleRule:
    role: str
    name: re.Pattern[str]
    under: re.Pattern[str] | None = None
    table: re.Pattern[str] | None = None
    category: str | None = None
    action: str | None = None
    entity: str | None = None
    free_text: bool = False
    timestamp: bool = False
    where: str = ""  # file:line, for evidence

    def matches(self, table: str, parent: str, last: str) -> bool:
        if not self.name.fullmatch(last):
            return False
        if self.under is not None and not self.under.search(parent):
            return False
        return self.table is None or self.table.search(table) is not None


@dataclass(frozen=True)
class Policy:
    version: str
    path: str
    entity_share: float
    min_score: float
    sample_size: int
    verify_max_residual: int
    category_actions: dict[str, ActionSpec]
    retention_days: dict[str, int]
    entity_actions: dict[str, ActionSpec]
    field_actions: tuple[tuple[str, ActionSpec], ...]
    text_default: str
    text_entities: dict[str, str]
    drift_action: str
    roles: tuple[RoleRule, ...]
    entity_categories: dict[str, dict[str, str]]
    text_entity_categories: dict[str, str]
    digest: str = field(default="")
    #: optional spaCy NER model for person names in free text (``text.ner_model``, or
    #: ``telescrub run --ner-model``): an installed package name or a model directory
    ner_model: str | None = None
    #: ``subject_requests.erase``: what ``telescrub subject erase`` does with a subject's rows
    #: (``remove_rows``, default, or ``tombstone``: the subject's cells replaced, rows kept)
    subject_erase: str = "remove_rows"
    #: which event times are believable, and where the others go (``event_time``)
    event_time: EventTimeRule = field(default_factory=EventTimeRule)

    # ---------------------------------------------------------------- lookups
    def action_for(self, table: str, path: str, category: str, entity: str | None) -> ActionSpec:
        """field override > entity override > category default."""
        qualified = f"{table}.{path}"
        for pattern, spec in self.field_actions:
            if fnmatch.fnmatchcase(qualified, pattern) or fnmatch.fnmatchcase(path, pattern):
                return spec
        if entity and entity in self.entity_actions:
            return self.entity_actions[entity]
        return self.category_actions[category]

    def category_for(self, entity: str, role: str | None) -> str:
        table = self.entity_categories.get(entity)
        if table is None:
            return self.text_entity_category(entity)
        return table.get(role or "default", table["default"])

    def text_entity_category(self, entity: str) -> str:
        return self.text_entity_categories.get(entity, self.text_entity_categories["default"])

    def text_action(self, entity: str) -> str:
        return self.text_entities.get(entity, self.text_default)


# -------------------------------------------------------------------- validation
class Checker:
    def __init__(self, where: Callable[[KeyPath], str]) -> None:
        self.where = where

    def fail(self, keypath: KeyPath, msg: str) -> PolicyError:
        dotted = ".".join(str(k) for k in keypath) or "(top level)"
        return PolicyError(f"{self.where(keypath)}: {dotted}: {msg}")

    def mapping(self, value: Any, kp: KeyPath, allowed: set[str] | None = None,
                required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(kp, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if allowed is not None and key not in allowed:
                raise self.fail((*kp, key), f"unknown key {key!r} (expected one of "
                                            f"{', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                raise self.fail(kp, f"missing required key {key!r}")
        return value

    def number(self, value: Any, kp: KeyPath, lo: float, hi: float, integer: bool = False) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not lo <= value <= hi:
            kind = "an integer" if integer else "a number"
            raise self.fail(kp, f"bad value {value!r}: expected {kind} in [{lo:g}, {hi:g}]")
        return value

    def choice(self, value: Any, kp: KeyPath, options: tuple[str, ...], what: str) -> str:
        if value not in options:
            raise self.fail(kp, f"unknown {what} {value!r} (expected one of {', '.join(options)})")
        return str(value)

    def regex(self, value: Any, kp: KeyPath) -> re.Pattern[str]:
        if not isinstance(value, str):
            raise self.fail(kp, f"expected a regex string, got {value!r}")
        try:
            return re.compile(value)
        except re.error as exc:
            raise self.fail(kp, f"invalid regex: {exc}") from None

    def action_spec(self, value: Any, kp: KeyPath) -> ActionSpec:
        m = self.mapping(value, kp, {"action", "keep_last", "retention_days"}, ("action",))
        action = self.choice(m["action"], (*kp, "action"), ACTIONS, "action")
        keep_last = m.get("keep_last", 4)
        self.number(keep_last, (*kp, "keep_last"), 0, 64, integer=True)
        return ActionSpec(action, int(keep_last))


def _entity_names() -> tuple[str, ...]:
    from telescrub.core import entities

    return tuple(entities.ALL)


def _load_rules(path: str) -> tuple[tuple[RoleRule, ...], dict[str, dict[str, str]],
                                    dict[str, str]]:
    data, where = load_yaml(path)
    c = Checker(where)
    doc = c.mapping(data, (), {"version", "roles", "entity_categories",
                               "text_entity_categories"}, ("roles", "entity_categories"))
    known_entities = _entity_names()
    roles: list[RoleRule] = []
    if not isinstance(doc["roles"], list):
        raise c.fail(("roles",), "expected a list of rules")
    for i, raw in enumerate(doc["roles"]):
        kp: KeyPath = ("roles", i)
        r = c.mapping(raw, kp, {"role", "name", "under", "table", "category", "action", "entity",
                                "free_text", "timestamp"}, ("role", "name"))
        if r.get("category") is not None:
            c.choice(r["category"], (*kp, "category"), CATEGORIES, "category")
        if r.get("action") is not None:
            c.choice(r["action"], (*kp, "action"), ACTIONS, "action")
        if r.get("entity") is not None:
            c.choice(r["entity"], (*kp, "entity"), known_entities, "entity")
        for flag in ("free_text", "timestamp"):
            if flag in r and not isinstance(r[flag], bool):
                raise c.fail((*kp, flag), f"expected true or false, got {r[flag]!r}")
        roles.append(RoleRule(
            role=str(r["role"]), name=c.regex(r["name"], (*kp, "name")),
            under=c.regex(r["under"], (*kp, "under")) if "under" in r else None,
            table=c.regex(r["table"], (*kp, "table")) if "table" in r else None,
            category=r.get("category"), action=r.get("action"), entity=r.get("entity"),
            free_text=bool(r.get("free_text", False)), timestamp=bool(r.get("timestamp", False)),
            where=where(kp),
        ))
    ent_cats: dict[str, dict[str, str]] = {}
    for ent, table in c.mapping(doc["entity_categories"], ("entity_categories",)).items():
        kp = ("entity_categories", ent)
        c.choice(ent, kp, known_entities, "entity")
        t = c.mapping(table, kp, None, ("default",))
        for role, cat in t.items():
            c.choice(cat, (*kp, role), CATEGORIES, "category")
        ent_cats[ent] = dict(t)
    text_cats = c.mapping(doc.get("text_entity_categories", {"default": "euii"}),
                          ("text_entity_categories",), None, ("default",))
    for ent, cat in text_cats.items():
        if ent != "default":
            c.choice(ent, ("text_entity_categories", ent), known_entities, "entity")
        c.choice(cat, ("text_entity_categories", ent), CATEGORIES, "category")
    return tuple(roles), ent_cats, dict(text_cats)


def load_policy(path: str | None = None) -> Policy:
    """Load and validate a policy file (default: the bundled schemas/policy.yaml)."""
    path = path or default_policy_path()
    data, where = load_yaml(path)
    c = Checker(where)
    doc = c.mapping(data, (), {"version", "rules", "thresholds", "categories", "entities",
                               "fields", "text", "drift", "subject_requests", "event_time"},
                    ("version", "categories"))
    if not isinstance(doc["version"], (str, int, float)) or isinstance(doc["version"], bool):
        raise c.fail(("version",), f"bad value {doc['version']!r}: expected a version string")

    th = c.mapping(doc.get("thresholds", {}), ("thresholds",),
                   {"entity_share", "min_score", "sample_size", "verify_max_residual"})
    entity_share = c.number(th.get("entity_share", 0.6), ("thresholds", "entity_share"), 0.01, 1)
    min_score = c.number(th.get("min_score", 0.5), ("thresholds", "min_score"), 0, 1)
    sample_size = c.number(th.get("sample_size", 256), ("thresholds", "sample_size"), 1, 100_000,
                           integer=True)
    max_residual = c.number(th.get("verify_max_residual", 0),
                            ("thresholds", "verify_max_residual"), 0, 10**9, integer=True)

    cats = c.mapping(doc["categories"], ("categories",), set(CATEGORIES), CATEGORIES)
    category_actions: dict[str, ActionSpec] = {}
    retention: dict[str, int] = {}
    for cat, spec in cats.items():
        kp: KeyPath = ("categories", cat)
        m = c.mapping(spec, kp, {"action", "keep_last", "retention_days"},
                      ("action", "retention_days"))
        category_actions[cat] = c.action_spec(m, kp)
        retention[cat] = int(c.number(m["retention_days"], (*kp, "retention_days"), 1, 36500,
                                      integer=True))

    known_entities = _entity_names()
    entity_actions: dict[str, ActionSpec] = {}
    for ent, spec in c.mapping(doc.get("entities") or {}, ("entities",)).items():
        c.choice(ent, ("entities", ent), known_entities, "entity")
        entity_actions[ent] = c.action_spec(spec, ("entities", ent))

    fields_raw = doc.get("fields") or []
    if not isinstance(fields_raw, list):
        raise c.fail(("fields",), "expected a list of {match, action} overrides")
    field_actions: list[tuple[str, ActionSpec]] = []
    for i, raw in enumerate(fields_raw):
        m = c.mapping(raw, ("fields", i), {"match", "action", "keep_last"}, ("match", "action"))
        if not isinstance(m["match"], str) or not m["match"]:
            raise c.fail(("fields", i, "match"), f"bad value {m['match']!r}: expected a glob")
        field_actions.append((m["match"], c.action_spec(
            {k: v for k, v in m.items() if k != "match"}, ("fields", i))))

    text = c.mapping(doc.get("text") or {}, ("text",), {"default", "entities", "ner_model"})
    text_default = c.choice(text.get("default", "hash"), ("text", "default"), TEXT_ACTIONS,
                            "text action")
    text_entities: dict[str, str] = {}
    for ent, act in c.mapping(text.get("entities") or {}, ("text", "entities")).items():
        c.choice(ent, ("text", "entities", ent), known_entities, "entity")
        text_entities[ent] = c.choice(act, ("text", "entities", ent), TEXT_ACTIONS, "text action")
    ner_model = text.get("ner_model")
    if ner_model is not None:
        problem = check_ner_model(ner_model)
        if problem:
            raise c.fail(("text", "ner_model"), problem)

    drift = c.mapping(doc.get("drift") or {}, ("drift",), {"action"})
    drift_action = c.choice(drift.get("action", "scrub_text"), ("drift", "action"),
                            ("scrub_text", "drop"), "drift action")

    subj = c.mapping(doc.get("subject_requests") or {}, ("subject_requests",), {"erase"})
    subject_erase = c.choice(subj.get("erase", "remove_rows"), ("subject_requests", "erase"),
                             SUBJECT_ERASE_MODES, "erase mode")
    event_time = _event_time_rule(c, doc.get("event_time") or {})

    rules_ref = doc.get("rules", "rules.yaml")
    if not isinstance(rules_ref, str):
        raise c.fail(("rules",), f"bad value {rules_ref!r}: expected a file name")
    rules_path = rules_ref if os.path.isabs(rules_ref) else os.path.join(
        os.path.dirname(os.path.abspath(path)), rules_ref)
    roles, ent_cats, text_cats = _load_rules(rules_path)

    policy = Policy(
        version=str(doc["version"]), path=path, entity_share=float(entity_share),
        min_score=float(min_score), sample_size=int(sample_size),
        verify_max_residual=int(max_residual), category_actions=category_actions,
        retention_days=retention, entity_actions=entity_actions,
        field_actions=tuple(field_actions), text_default=text_default,
        text_entities=text_entities, drift_action=drift_action, roles=roles,
        entity_categories=ent_cats, text_entity_categories=text_cats,
        ner_model=ner_model, subject_erase=subject_erase, event_time=event_time,
    )
    return _with_digest(policy, path, rules_path)


def _event_time_rule(c: Checker, raw: Any) -> EventTimeRule:
    """``event_time: {earliest: YYYY-MM-DD | null, future_tolerance_days: N | null,
    implausible: null_partition | quarantine}``; absent keys take the defaults."""
    kp: KeyPath = ("event_time",)
    m = c.mapping(raw, kp, {"earliest", "future_tolerance_days", "implausible"})
    default = EventTimeRule()
    earliest = m.get("earliest", default.earliest)
    if isinstance(earliest, str):
        try:
            earliest = dt.date.fromisoformat(earliest)
        except ValueError:
            earliest = object()  # reported below
    if earliest is not None and (isinstance(earliest, dt.datetime)
                                 or not isinstance(earliest, dt.date)):
        raise c.fail((*kp, "earliest"), f"bad value {m.get('earliest')!r}: expected a date "
                                        "YYYY-MM-DD or null (no floor)")
    tolerance = m.get("future_tolerance_days", default.future_tolerance_days)
    if tolerance is not None:
        tolerance = int(c.number(tolerance, (*kp, "future_tolerance_days"), 0, 36500,
                                 integer=True))
    action = c.choice(m.get("implausible", default.implausible), (*kp, "implausible"),
                      IMPLAUSIBLE_ACTIONS, "routing")
    return EventTimeRule(earliest, tolerance, action)


def with_ner_model(policy: Policy, spec: str | None) -> Policy:
    """``policy`` with the NER model ``spec`` (``telescrub run --ner-model``); unchanged for
    None. The digest stays the policy files'; the model is recorded in ``describe``."""
    if spec is None:
        return policy
    problem = check_ner_model(spec)
    if problem:
        raise PolicyError(f"--ner-model: {problem}")
    return dataclasses.replace(policy, ner_model=spec)


def _with_digest(policy: Policy, *files: str) -> Policy:
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    object.__setattr__(policy, "digest", h.hexdigest()[:16])
    return policy


def describe(policy: Policy) -> dict[str, Any]:
    """JSON-able summary for reports."""
    return {
        "version": policy.version, "hash": policy.digest, "path": os.path.basename(policy.path),
        "categories": {c: {**policy.category_actions[c].to_json(),
                           "retention_days": policy.retention_days[c]} for c in CATEGORIES},
        "entities": {e: s.to_json() for e, s in policy.entity_actions.items()},
        "thresholds": {"entity_share": policy.entity_share, "min_score": policy.min_score,
                       "sample_size": policy.sample_size,
                       "verify_max_residual": policy.verify_max_residual},
        "drift_action": policy.drift_action,
        "event_time": {"earliest": (policy.event_time.earliest.isoformat()
                                    if policy.event_time.earliest else None),
                       "future_tolerance_days": policy.event_time.future_tolerance_days,
                       "implausible": policy.event_time.implausible},
        **({"ner_model": policy.ner_model} if policy.ner_model else {}),
    }


def policy_json(policy: Policy) -> str:
    return json.dumps(describe(policy), sort_keys=True)
