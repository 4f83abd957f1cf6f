"""Decisions: what telescrub decided for each field (category, action, evidence) and table.

Frozen values: the classifiers make them (``telescrub.classifiers.decide``), the pipelines ship
them to workers (a side input), the actor applies them. Lookups go through a
:class:`Decisions` strategy: :class:`FrozenDecisions` (batch: a field the profile never saw
has no decision, and its record is quarantined) or the classifiers' ``ReviewedDecisions``
(streaming: a field is decided from the reviewed schema and the rules when it appears).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from telescrub.core import entities
from telescrub.core.policy import ActionSpec

#: what a value is after an action, for retention (DESIGN §3: "the category after the action
#: is what the output holds"). None = the action leaves nothing identifying.
_AFTER_HASH = {"euii": "eupi"}
_PERSONAL = frozenset({"euii", "eupi", "oii"})


def category_after(category: str, action: str, entity: str | None = None) -> str | None:
    if action in ("drop", "redact"):
        return None
    if action == "hash":
        return _AFTER_HASH.get(category, category)
    if action == "scrub_text" and entity in entities.COMPOUND and category in _PERSONAL:
        return "eupi"  # the person's part is a hash token now, the rest is OII

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
        return category_after(self.category, self.action, self.entity)

    @property
    def spec(self) -> ActionSpec:
        return ActionSpec(self.action, self.keep_last)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_category"] = self.output_category
        return d


_TS_PREFERENCE = ("timestamp", "@timestamp", "time", "event_time", "eventtime", "created_at",
                  "createdat", "date", "ts")


@dataclass(frozen=True)
class TableDecision:
    table: str
    fields: dict[str, FieldDecision]  # read-only once made
    timestamp_path: str | None = None
    records: int = 0
    schema_path: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # counts only, no values


class Decisions(Protocol):
    """How the engine looks decisions up (a strategy; see the module docstring)."""

    def table(self, name: str) -> TableDecision | None:
        """The table's decisions, or None when this run has none for the table."""

    def field(self, table: str, path: str) -> FieldDecision | None:
        """A field's decision, or None when the field has none (its record is quarantined)."""

    def timestamp_path(self, table: str, paths: Iterable[str]) -> str | None:
        """The field holding the event time of a record of ``table`` with these fields."""


class FrozenDecisions:
    """Batch: exactly the decisions the profile made (``{table: TableDecision}``)."""

    def __init__(self, tables: Mapping[str, TableDecision]) -> None:
        self.tables = tables

    def table(self, name: str) -> TableDecision | None:
        return self.tables.get(name)

    def field(self, table: str, path: str) -> FieldDecision | None:
        td = self.tables.get(table)
        return None if td is None else td.fields.get(path)

    def timestamp_path(self, table: str, paths: Iterable[str]) -> str | None:
        td = self.tables.get(table)
        return None if td is None else td.timestamp_path


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
