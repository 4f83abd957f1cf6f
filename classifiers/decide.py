"""Decide each field's category and action, keeping the evidence that won.

Evidence, strongest first (DESIGN §2):
1. reviewed source schema;
2. field-name role (may force an action, e.g. card security codes are dropped);
3. value detectors on a sample of the column: share of non-null values matching a detector;
4. entity x role -> category (policy rules);
5. free text is scrubbed inside; a field nothing knows fails closed (scanned as free text,
   reported as drift).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.roles import role_for
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core import entities
from telescrub.core.decisions import FieldDecision, TableDecision, choose_timestamp
from telescrub.core.policy import ActionSpec, Policy

#: entities whose values may be read as numbers (a CSV column of bare digits)
_DIGIT_ENTITIES = {"CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE", "US_DRIVER_LICENSE",
                   *entities.NATIONAL_IDS}


def _all_boolean(profile: FieldProfile | None) -> bool:
    """Every value seen is a boolean (JSON true/false, or the words as text)."""
    if profile is None or not profile.count:
        return False
    if profile.types == {"bool"}:
        return True
    return profile.types <= {"bool", "str"} and all(
        v.strip().lower() in ("true", "false") for v in profile.values())


def detect_entity(detectors: list[Detector], profile: FieldProfile, policy: Policy,
                  prefer: str | None = None) -> tuple[str | None, float, float]:
    """(entity, share of sampled values that are it, mean score) — or (None, best share, 0).

    ``prefer`` (the entity the field name gives) wins a tie: a column named ``nir`` whose
    values also happen to pass the card Luhn check stays a French NIR."""
    values = profile.values()
    if not values:
        return None, 0.0, 0.0
    numeric = not ({"str"} & profile.types)
    best: tuple[str | None, float, float] = (None, 0.0, 0.0)
    for det in detectors:
        if numeric and det.ENTITY not in _DIGIT_ENTITIES:
            continue
        hits = 0
        score_sum = 0.0
        for v in values:
            s = det.match_value(v)
            if s >= policy.min_score:
                hits += 1
                score_sum += s
        share = hits / len(values)
        if share > best[1] or (share and share == best[1] and prefer == det.ENTITY):
            best = (det.ENTITY, share, score_sum / hits)
    if best[1] >= policy.entity_share:
        return best
    return None, best[1], 0.0


def _decision(policy: Policy, table: str, path: str, category: str, entity: str | None,
              role: str | None, evidence: str, confidence: float, *, forced: str | None = None,
              free_text: bool = False, drift: bool = False, timestamp: bool = False,
              profile: FieldProfile | None = None) -> FieldDecision:
    if forced:
        spec = ActionSpec(forced)
    elif free_text:
        spec = policy.action_for(table, path, category, None)
        if spec.action not in ("drop", "redact", "hash"):
            spec = ActionSpec("scrub_text")
    else:
        spec = policy.action_for(table, path, category, entity)
    if role == "card_security_code":
        spec = ActionSpec("drop")  # never retained, whatever the policy says
    arrow = "string"
    if spec.action == "keep" and profile is not None:
        arrow = profile.arrow_type()
    elif profile is not None and profile.is_list:
        arrow = "list<string>"
    return FieldDecision(path, category, spec.action, spec.keep_last, entity, role, evidence,
                         round(confidence, 3), free_text, drift, timestamp, arrow)


def decide_field(policy: Policy, detectors: list[Detector], table: str, path: str,
                 profile: FieldProfile | None, schema: SourceSchema | None = None,
                 ) -> FieldDecision:
    """The decision for one field. ``profile`` is None in streaming mode (rules only)."""
    rule = role_for(policy, table, path)
    # 1. reviewed source schema (the role still says whether it is the event time)
    if schema is not None and path in schema.fields:
        f = schema.fields[path]
        return _decision(policy, table, path, f.category, f.entity, "schema",
                         f"schema:{f.where}", 1.0, forced=f.action, free_text=f.free_text,
                         timestamp=bool(rule and rule.timestamp), profile=profile)
    # 2. field-name role
    role = rule.role if rule else None
    if rule is not None and rule.action in ("drop", "redact"):
        return _decision(policy, table, path, rule.category or "euii", rule.entity, role,
                         f"role:{role}", 1.0, forced=rule.action, profile=profile)
    if rule is not None and rule.free_text:
        return _decision(policy, table, path, rule.category or "customer_content", None, role,
                         f"role:{role}", 0.9, free_text=True, profile=profile)
    # a column of JSON documents held as text (Sentinel exports: ``session``, ``actor_details``)
    # is scrubbed member by member by the roles of its keys (classifiers/embedded.py), not
    # hashed whole, whatever the column's own name suggests
    if rule is not None and profile is not None and "str" in profile.types \
            and profile.json_share >= policy.entity_share:
        category = rule.category or "customer_content"
        spec = policy.action_for(table, path, category, None)
        return _decision(policy, table, path, category, None, role,
                         f"role:{role}+value_shape:json ({profile.json_share:.0%} of values)",
                         0.8, forced=spec.action if spec.action in ("drop", "redact")
                         else "scrub_text", free_text=True, profile=profile)
    # 3./4. value detectors, then entity x role
    if profile is not None and profile.count:
        entity, share, score = detect_entity(detectors, profile, policy,
                                             rule.entity if rule is not None else None)
        if entity is not None and not (rule is not None and rule.timestamp
                                       and entity == "PHONE_NUMBER"):
            category = policy.category_for(entity, role)
            ev = f"role:{role}+entity:{entity}" if role else f"entity:{entity}"
            return _decision(policy, table, path, category, entity, role,
                             f"{ev} ({share:.0%} of sample)", share * score,
                             timestamp=bool(rule and rule.timestamp), profile=profile)
    if rule is not None and rule.category is not None:
        if rule.category in ("euii", "eupi") and _all_boolean(profile):
            # a flag named after an identity (low_risk_ip, from_new_user) identifies nobody
            return _decision(policy, table, path, "system_metadata", None, role,
                             f"role:{role}+value_shape:boolean", 0.8, profile=profile)
        return _decision(policy, table, path, rule.category, rule.entity, role, f"role:{role}",
                         0.8, timestamp=rule.timestamp, profile=profile)
    # 5. free text by shape, else fail closed
    if profile is not None and profile.text_like:
        return _decision(policy, table, path, "customer_content", None, None,
                         "value_shape:free_text", 0.6, free_text=True, drift=True,
                         profile=profile)
    return drift_decision(policy, table, path, profile)


def drift_decision(policy: Policy, table: str, path: str,
                   profile: FieldProfile | None = None) -> FieldDecision:
    """Fail closed: a field no schema or rule knows is scanned as free text (or dropped)."""
    if policy.drift_action == "drop":
        return _decision(policy, table, path, "customer_content", None, None,
                         "fail_closed:unknown_field", 0.0, forced="drop", drift=True)
    return _decision(policy, table, path, "customer_content", None, None,
                     "fail_closed:unknown_field", 0.0, free_text=True, drift=True,
                     profile=profile)


def static_decisions(policy: Policy, schemas: dict[str, SourceSchema],
                     tables: Iterable[str]) -> dict[str, TableDecision]:
    """Decisions from reviewed schemas and the rules only (no value sample): the fields a
    table's reviewed schema names. Streaming decides other fields as they appear
    (:class:`ReviewedDecisions`)."""
    out = {}
    for table in tables:
        schema = schemas.get(table)
        fields = {p: decide_field(policy, [], table, p, None, schema)
                  for p in (schema.fields if schema else {})}
        out[table] = TableDecision(table, fields, choose_timestamp(fields), 0,
                                   schema.path if schema else None)
    return out


class ReviewedDecisions:
    """Streaming's decision strategy: reviewed schemas + rules, decided per worker.

    A table's schema fields are decided up front; any other field when it first appears, from
    its name alone (rules, no value sample); a field no rule knows fails closed (scanned as
    free text, reported as drift). Every decision is a pure function of (policy, schema,
    table, path), so all workers agree without sharing state. A record's event time is read
    from the best timestamp field among the schema's and the record's own fields."""

    def __init__(self, policy: Policy, schemas: dict[str, SourceSchema] | None = None) -> None:
        self.policy, self.schemas = policy, schemas or {}
        self._tables: dict[str, TableDecision] = {}
        self._extra: dict[tuple[str, str], FieldDecision] = {}

    def __getstate__(self) -> dict[str, Any]:  # caches are rebuilt on each worker
        return {"policy": self.policy, "schemas": self.schemas}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["policy"], state["schemas"])  # type: ignore[misc]

    def table(self, name: str) -> TableDecision:
        td = self._tables.get(name)
        if td is None:
            td = self._tables[name] = static_decisions(self.policy, self.schemas, [name])[name]
        return td

    def field(self, table: str, path: str) -> FieldDecision:
        d = self.table(table).fields.get(path)
        if d is None:
            d = self._extra.get((table, path))
            if d is None:
                d = decide_field(self.policy, [], table, path, None, self.schemas.get(table))
                self._extra[(table, path)] = d
        return d

    def timestamp_path(self, table: str, paths: Iterable[str]) -> str | None:
        td = self.table(table)
        if td.timestamp_path is not None:
            return td.timestamp_path
        found = {p: self.field(table, p) for p in paths}
        return choose_timestamp({p: d for p, d in found.items() if d.timestamp})

    def fields_of(self, table: str, paths: Iterable[str]) -> dict[str, FieldDecision]:
        """The schema's fields plus ``paths``, decided (a streaming file's columns)."""
        out = dict(self.table(table).fields)
        for p in paths:
            out[p] = self.field(table, p)
        return out
