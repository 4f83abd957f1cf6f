"""Beam stage: decide every field's category and action (where a field's category is decided:
``telescrub.classifiers.decide``; this module only runs it on Beam).

Two strategies, passed to ``Scrub`` (and chosen by the batch and streaming drivers):

* :class:`FromProfile` (batch): a deterministic bottom-k sample of every field of every table
  (``TableProfileFn``, a ``CombineFn`` lifted before the shuffle; the file passes build the
  same profiles per input file and merge them with ``MergeProfilesFn``), then one decision per
  field by ``DecideFn`` with the policy, the detectors and the reviewed source schemas.
* :class:`FromSchemas` (streaming): reviewed source schemas and the rules only; a field is
  decided when it appears (``classifiers.decide.ReviewedDecisions``), so no global sample is
  needed and an unbounded input works.

Either way the decisions are a PCollection of ``(table, TableDecision)`` (for the report and
as a side input); ``FromSchemas`` also gives every worker the same lookup directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from telescrub.classifiers.decide import ReviewedDecisions, decide_field, static_decisions
from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core.act import LINE_COLUMN
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

    def add_block(self, acc: tuple[int, dict[str, FieldProfile]], data: Any,
                  ) -> tuple[int, dict[str, FieldProfile]]:
        """``add_input`` for every record of a columnar block (one column per path)."""
        n, profs = acc
        for path in data.column_names:
            if path == LINE_COLUMN:
                continue
            prof = profs.get(path)
            if prof is None:
                prof = profs[path] = FieldProfile(path, self.sample_size)
            prof.add_arrow(data.column(path))
        return (n + data.num_rows, profs)

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


class MergeProfilesFn(TableProfileFn):
    """Merges partial profiles (accumulators as inputs): the file passes' per-file profiles."""

    def add_input(self, acc: tuple[int, dict[str, FieldProfile]],
                  other: tuple[int, dict[str, FieldProfile]],  # type: ignore[override]
                  ) -> tuple[int, dict[str, FieldProfile]]:
        return self.merge_accumulators([acc, other])


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
                                   schema.path if schema else None, summary)


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


class FromProfile:
    """Batch decision strategy: profile every field over the whole input, then decide."""

    #: the input is bounded and acted on in batches; known identifiers are collected run-wide
    bounded = True

    def __init__(self, schemas: dict[str, SourceSchema] | None = None) -> None:
        self.schemas = schemas or {}

    def decisions(self, records: beam.PCollection, policy: Policy) -> beam.PCollection:
        return records | "Classify" >> Classify(policy, self.schemas)

    def lookup(self, policy: Policy) -> ReviewedDecisions | None:
        return None  # the decisions arrive as a side input (FrozenDecisions)


class FromSchemas:
    """Streaming decision strategy: reviewed schemas + rules, a field decided as it appears."""

    bounded = False

    def __init__(self, schemas: dict[str, SourceSchema] | None = None,
                 tables: Iterable[str] = ()) -> None:
        self.schemas = schemas or {}
        self.tables = sorted(set(tables) | set(self.schemas))

    def decisions(self, records: beam.PCollection, policy: Policy) -> beam.PCollection:
        static = static_decisions(policy, self.schemas, self.tables)
        return records.pipeline | "StaticDecisions" >> beam.Create(sorted(static.items()))

    def lookup(self, policy: Policy) -> ReviewedDecisions:
        return ReviewedDecisions(policy, self.schemas)
