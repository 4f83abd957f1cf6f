"""Typed count records: what the stages tell the report (never a raw value).

Every stage of a run (reading, deciding, acting, writing, quarantining; batch and streaming)
emits these small records; ``telescrub.core.report`` folds them into the run report. They are
plain NamedTuples: cheap to pickle between Beam workers, and a Beam filter can tell them from
data by type (:func:`is_stat`).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class InputStat(NamedTuple):
    """One input file (or one byte range of it): checksum, size, records and bad lines, and
    the records the reader repaired (``decoded_with_fallback``: not UTF-8, decoded anyway;
    the report lists it only when some were)."""

    source: str
    table: str
    format: str
    sha256: str | None
    bytes: int
    records: int
    bad: int
    decoded_with_fallback: int = 0


class StreamInputStat(NamedTuple):
    """Records read from a streaming source (adds up over the run, per source)."""

    source: str
    table: str | None
    records: int
    bad: int


class DecisionStat(NamedTuple):
    """A table's field decisions, as the report lists them."""

    table: str
    records: int
    timestamp_path: str | None
    schema_path: str | None
    fields: list[dict[str, Any]]


class ActStat(NamedTuple):
    """Counts of acting: ``entities`` [(table, path, entity, n)], ``guard`` [(table, path,
    n)] values the keep guard scrubbed, ``dropped`` {source: records the policy dropped},
    ``event_time`` [(table, reason, n)] implausible event times (policy ``event_time``)."""

    entities: list[tuple[str, str, str, int]]
    guard: list[tuple[str, str, int]]
    dropped: dict[str, int]
    event_time: list[tuple[str, str, int]] = []


class ExampleStat(NamedTuple):
    """One masked before -> after example of a field."""

    table: str
    path: str
    before: str
    after: str


class PartitionStat(NamedTuple):
    """Files written into one partition (and window, in streaming) with rows per source."""

    table: str
    event_date: str | None
    files: list[str]
    rows: int
    retention_days: int
    expires_on: str
    retention_category: str
    sources: dict[str, int]
    event_window: str | None = None


class QuarantineStat(NamedTuple):
    """Records quarantined, by table and reason."""

    table: str
    reason: str
    n: int


class WatermarkStat(NamedTuple):
    """Streaming: the largest event time seen per table (microseconds since the epoch)."""

    max_event_us: dict[str, int]


STAT_TYPES = (InputStat, StreamInputStat, DecisionStat, ActStat, ExampleStat, PartitionStat,
              QuarantineStat, WatermarkStat)
Stat = (InputStat | StreamInputStat | DecisionStat | ActStat | ExampleStat | PartitionStat
        | QuarantineStat | WatermarkStat)


def is_stat(x: Any) -> bool:
    """A module-level predicate (pickled by reference) for the ``Filter`` steps after
    multi-output ``ParDo``s: Beam 2.77's DaskRunner hands every tagged output the union of all
    outputs."""
    return isinstance(x, STAT_TYPES)
