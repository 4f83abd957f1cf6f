"""Beam stage: decide, then act — the per-record composite for pipelines that hold records.

    result = records | "Scrub" >> Scrub(policy, key)                       # batch
    result = records | "Scrub" >> Scrub(policy, key, FromSchemas(schemas))  # streaming
    result.scrubbed     # ScrubbedRecord
    result.decisions    # (table, TableDecision)
    result.stats        # typed report counts (telescrub.core.stats)
    result.dead_letter  # BadRecord: records whose actions failed (scrub before keeping)

The act step is the engine the batch file passes use too (``telescrub.core.act.BatchActor``):
same rows, tokens and counts. Two strategies are passed in rather than switched by flags:

* how fields are decided (``pipelines.classify``: :class:`FromProfile`, the default, profiles
  the whole input; :class:`FromSchemas` decides from reviewed schemas and rules as fields
  appear), which also sets how records are grouped for acting: bounded input in batches of up
  to ``ACT_BATCH`` records, streaming input one record at a time (its event timestamp kept);
* where known identifiers come from (:class:`RunWide`: every record's name / user / host
  columns, a side input, the default for a bounded input; :class:`PerBatch`: the records acted
  on together, the only scope an unbounded input has). Either way a known value found in text
  becomes the same hash token its column got.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from telescrub.classifiers.known import KnownValues, known_values
from telescrub.classifiers.quarantine import quarantine_row
from telescrub.classifiers.text import TextScrubber
from telescrub.core.act import BatchActor
from telescrub.core.decisions import Decisions, FrozenDecisions, TableDecision
from telescrub.core.keys import HashKey, resolve_key
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, is_bad_record, is_scrubbed
from telescrub.core.stats import DecisionStat, QuarantineStat, is_stat
from telescrub.pipelines.classify import FromProfile, FromSchemas
from telescrub.pipelines.outputs import outputs

DEAD_LETTER = "dead_letter"
STATS = "stats"
#: records acted on together on a bounded input (each distinct value once per batch)
ACT_BATCH = 4096


class RunWide:
    """Known identifiers from every record of the (bounded) input: a side input."""


class PerBatch:
    """Known identifiers from the records acted on together (streaming: one record)."""


KnownScope = RunWide | PerBatch


class ScrubResult(NamedTuple):
    scrubbed: beam.PCollection
    decisions: beam.PCollection
    stats: beam.PCollection
    dead_letter: beam.PCollection


def decision_stat(kv: tuple[str, TableDecision]) -> DecisionStat:
    table, td = kv
    return DecisionStat(table, td.records, td.timestamp_path, td.schema_path,
                        [d.to_json() for _, d in sorted(td.fields.items())])


class ActFn(beam.DoFn):
    """list[Record] -> ScrubbedRecord (main), BadRecord (dead letter), stats; engines are
    built in ``setup``. ``decisions`` (side input dict) when the strategy has no lookup of its
    own; ``known`` (side input list) for the run-wide scope."""

    def __init__(self, policy: Policy, key: HashKey, strategy: FromProfile | FromSchemas) -> None:
        self.policy, self.key, self.strategy = policy, key, strategy

    def setup(self) -> None:
        self.key = resolve_key(self.key)  # the job carries only the key's reference
        self.acting = BatchActor(self.policy, self.key, TextScrubber(self.policy, self.key))
        self.lookup = self.strategy.lookup(self.policy)
        self._frozen: tuple[object, Decisions] | None = None
        self._exampled: set[tuple[str, str]] = set()

    def _decisions(self, side: dict[str, TableDecision] | None) -> Decisions:
        if self.lookup is not None:
            return self.lookup
        if side is None:
            raise ValueError("a profiled Scrub needs its decisions side input")
        if self._frozen is None or self._frozen[0] is not side:
            self._frozen = (side, FrozenDecisions(side))
        return self._frozen[1]

    def process(self, batch: list[Record], decisions: dict[str, TableDecision] | None = None,
                known: list[tuple[str, str]] | None = None) -> Iterator[Any]:
        lookup = self._decisions(decisions)
        if known is not None:
            self.acting.set_known(known, lambda: KnownValues(known))
        else:  # the batch's own name / user / host columns
            items = tuple(sorted({i for r in batch for i in known_values(r, lookup)}))
            self.acting.set_known(items, lambda: KnownValues(items) if items else None)
        self.acting.reset_stats()
        for out in self.acting.act_batch(batch, lookup):
            if isinstance(out, BadRecord):
                yield pvalue.TaggedOutput(DEAD_LETTER, out)
            elif out is not None:
                yield out
        # counts leave with each batch, never from finish_bundle (pipelines.outputs); one
        # masked example per field and worker is enough
        for s in self.acting.stats():
            key = (getattr(s, "table", ""), getattr(s, "path", ""))
            if key[1] and key in self._exampled:
                continue
            self._exampled.add(key)
            yield pvalue.TaggedOutput(STATS, s)


def _one(rec: Record) -> list[Record]:
    return [rec]


class Scrub(beam.PTransform):
    """Decide (a strategy), then apply the policy's actions; see the module docstring."""

    def __init__(self, policy: Policy, key: HashKey,
                 decide: FromProfile | FromSchemas | None = None,
                 known: KnownScope | None = None) -> None:
        super().__init__()
        self.policy, self.key = policy, key
        self.decide = decide or FromProfile()
        self.known = known or (RunWide() if self.decide.bounded else PerBatch())

    def expand(self, records: beam.PCollection) -> ScrubResult:
        decisions = self.decide.decisions(records, self.policy)
        side: dict[str, Any] = {}
        if self.decide.lookup(self.policy) is None:
            side["decisions"] = beam.pvalue.AsDict(decisions)
        if isinstance(self.known, RunWide):
            lookup = self.decide.lookup(self.policy)
            finder = (_KnownFromLookup(lookup) if lookup is not None
                      else _KnownFromSide())
            found = (records | "FindKnownValues" >> beam.ParDo(finder, **(
                {} if lookup is not None else {"decisions": beam.pvalue.AsDict(decisions)}))
                | "DistinctKnownValues" >> beam.Distinct())
            side["known"] = beam.pvalue.AsList(found)
        if self.decide.bounded:
            batches = records | "Batch" >> beam.BatchElements(
                min_batch_size=1, max_batch_size=ACT_BATCH)
        else:  # one record at a time: keeps each record's (event) timestamp
            batches = records | "OneRecord" >> beam.Map(_one)
        applied = batches | "Act" >> beam.ParDo(
            ActFn(self.policy, self.key, self.decide), **side).with_outputs(
            DEAD_LETTER, STATS, main="scrubbed")
        typed = outputs(applied, scrubbed=is_scrubbed, dead_letter=is_bad_record, stats=is_stat)
        stats = ((typed[STATS], decisions | "DecisionStats" >> beam.Map(decision_stat))
                 | "AllScrubStats" >> beam.Flatten())
        return ScrubResult(typed["scrubbed"], decisions, stats, typed[DEAD_LETTER])


class _KnownFromSide(beam.DoFn):
    def process(self, rec: Record, decisions: dict[str, TableDecision],
                ) -> Iterator[tuple[str, str]]:
        yield from known_values(rec, FrozenDecisions(decisions))


class _KnownFromLookup(beam.DoFn):
    def __init__(self, lookup: Decisions) -> None:
        self.lookup = lookup

    def process(self, rec: Record) -> Iterator[tuple[str, str]]:
        yield from known_values(rec, self.lookup)


# ------------------------------------------------------------------ quarantine
class QuarantineFn(beam.DoFn):
    """BadRecord -> ScrubbedRecord for the quarantine table; the raw text is never kept
    (``telescrub.classifiers.quarantine``)."""

    def __init__(self, policy: Policy, key: HashKey) -> None:
        self.policy, self.key = policy, key

    def setup(self) -> None:
        self.key = resolve_key(self.key)
        self.scrubber = TextScrubber(self.policy, self.key)

    def process(self, bad: BadRecord) -> Iterator[ScrubbedRecord]:
        yield quarantine_row(bad, self.scrubber, self.key)


def quarantine_stat(row: ScrubbedRecord) -> QuarantineStat:
    return QuarantineStat(row.fields["table"], row.fields["reason"], 1)
