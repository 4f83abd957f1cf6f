"""Beam stage: profile every field of every table, then decide its category and action.

``Classify`` turns a PCollection of :class:`Record` into ``(table, TableDecision)`` pairs:
a deterministic bottom-k sample per field (a ``CombineFn``, lifted before the shuffle), then
the decision per field with the policy, the detectors and the reviewed source schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from telescrub.classifiers.decide import DriftResolver, RulesResolver, decide_field
from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core.decisions import TableDecision, choose_timestamp
from telescrub.core.policy import Policy


class TableProfileFn(beam.CombineFn):
    """Combine the fields of one table's records into ``{path: FieldProfile}``."""

    def __init__(self, sample_size: int) -> None:
        self.sample_size = sample_size

    def create_accumulator(self) -> tuple[int, dict[str, FieldProfile]]:
        return (0, {})

    def add_input(self, acc: tuple[int, dict[str, FieldProfile]], fields: dict[str, Any],
                  ) -> tuple[int, dict[str, FieldProfile]]:
        n, profs = acc
        for path, value in fields.items():
            prof = profs.get(path)
            if prof is None:
                prof = profs[path] = FieldProfile(path, self.sample_size)
            prof.add(value)
        return (n + 1, profs)

    def merge_accumulators(self, accs: Iterable[tuple[int, dict[str, FieldProfile]]],
                           ) -> tuple[int, dict[str, FieldProfile]]:
        total = 0
        merged: dict[str, FieldProfile] = {}
        for n, profs in accs:
            total += n
            for path, prof in profs.items():
                if path in merged:
                    merged[path].merge(prof)
                else:
                    merged[path] = prof
        return (total, merged)

    def extract_output(self, acc: tuple[int, dict[str, FieldProfile]],
                       ) -> tuple[int, dict[str, FieldProfile]]:
        return acc


class DecideFn(beam.DoFn):
    """(table, (records, profiles)) -> (table, TableDecision). Detectors built in setup."""

    def __init__(self, policy: Policy, schemas: dict[str, SourceSchema]) -> None:
        self.policy = policy
        self.schemas = schemas

    def setup(self) -> None:
        self.detectors = build_detectors()

    def process(self, element: tuple[str, tuple[int, dict[str, FieldProfile]]],
                ) -> Iterator[tuple[str, TableDecision]]:
        table, (n, profiles) = element
        schema = self.schemas.get(table)
        decisions = {path: decide_field(self.policy, self.detectors, table, path, prof, schema)
                     for path, prof in sorted(profiles.items())}
        summary = {p: {"values": pr.count, "records": pr.records, "distinct_sampled":
                       len(pr.sample), "types": sorted(pr.types)}
                   for p, pr in profiles.items()}
        yield table, TableDecision(table, decisions, choose_timestamp(decisions, profiles), n,
                                   schema.path if schema else None, summary,
                                   resolver=DriftResolver(self.policy))


class Classify(beam.PTransform):
    """PCollection[Record] -> PCollection[(table, TableDecision)] (batch: from a sample)."""

    def __init__(self, policy: Policy, schemas: dict[str, SourceSchema] | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.schemas = schemas or {}

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "KeyByTable" >> beam.Map(lambda r: (r.table, r.fields))
            | "ProfileFields" >> beam.CombinePerKey(TableProfileFn(self.policy.sample_size))
            | "DecideFields" >> beam.ParDo(DecideFn(self.policy, self.schemas))
        )


def static_decisions(policy: Policy, schemas: dict[str, SourceSchema],
                     tables: Iterable[str]) -> dict[str, TableDecision]:
    """Streaming mode: decisions from reviewed schemas and rules only (no global sample)."""
    detectors: list = []
    out = {}
    for table in tables:
        schema = schemas.get(table)
        fields = {p: decide_field(policy, detectors, table, p, None, schema)
                  for p in (schema.fields if schema else {})}
        out[table] = TableDecision(table, fields, choose_timestamp(fields), 0,
                                   schema.path if schema else None,
                                   resolver=RulesResolver(policy, schema))
    return out


