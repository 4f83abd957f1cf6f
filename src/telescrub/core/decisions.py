"""Decisions: what telescrub decided for each field (category, action, evidence) and table.

Frozen values: the classifiers make them (``telescrub.classifiers.decide``), the pipelines ship
them to workers, the actor applies them. A field a table's decisions do not name is resolved
by the table's ``resolver`` (a picklable callable the classifiers provide: rules only, or
"fail closed" drift), never guessed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from telescrub.core.policy import ActionSpec, Policy

#: what a value is after an action, for retention (DESIGN §3: "the category after the action
#: is what the output holds"). None = the action leaves nothing identifying.
_AFTER_HASH = {"euii": "eupi"}


def category_after(category: str, action: str) -> str | None:
    if action in ("drop", "redact"):
        return None
    if action == "hash":
        return _AFTER_HASH.get(category, category)
    if action in ("truncate_ip", "email_domain"):
        return "oii" if category in ("euii", "eupi", "oii") else category
    return category


@dataclass(frozen=True)
class FieldDecision:
    path: str
    category: str  # category of the input field
    action: str
    keep_last: int
    entity: str | None
    role: str | None
    evidence: str
    confidence: float
    free_text: bool = False
    drift: bool = False
    timestamp: bool = False
    arrow_type: str = "string"

    @property
    def output_category(self) -> str | None:
        return category_after(self.category, self.action)

    @property
    def spec(self) -> ActionSpec:
        return ActionSpec(self.action, self.keep_last)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_category"] = self.output_category
        return d


_TS_PREFERENCE = ("timestamp", "@timestamp", "time", "event_time", "eventtime", "created_at",
                  "createdat", "date", "ts")


@dataclass
class TableDecision:
    table: str
    fields: dict[str, FieldDecision]
    timestamp_path: str | None = None
    records: int = 0
    schema_path: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # counts only, no values
    #: decides a field these decisions do not name (streaming: rules and the reviewed
    #: schema; batch: fail closed, as drift); None: an unknown field is an error
    resolver: Callable[[str, str], FieldDecision] | None = None

    def decision(self, policy: Policy, path: str) -> FieldDecision:
        d = self.fields.get(path)
        if d is None:
            if self.resolver is None:
                raise KeyError(f"table {self.table!r} has no decision for a field")
            d = self.fields[path] = self.resolver(self.table, path)
            if self.timestamp_path is None and d.timestamp:
                self.timestamp_path = choose_timestamp(self.fields)
        return d


def choose_timestamp(decisions: dict[str, FieldDecision],
                     profiles: dict[str, Any] | None = None) -> str | None:
    cands = [p for p, d in decisions.items() if d.timestamp and d.action != "drop"
             and "[]" not in p]
    if not cands:
        return None

    def rank(p: str) -> tuple[int, int, str]:
        last = p.rsplit(".", 1)[-1].lower()
        pref = _TS_PREFERENCE.index(last) if last in _TS_PREFERENCE else len(_TS_PREFERENCE)
        recs = -(profiles[p].records if profiles and p in profiles else 0)
        return (recs, pref, p)

    return min(cands, key=rank)
