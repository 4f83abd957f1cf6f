"""Streaming mode (DESIGN §6): event-time windows over the shared ``Scrub`` transform.

One graph serves every runner::

    source (Records + BadRecords, element timestamp = arrival)
      -> EventTime    gate: re-timestamp each record to its event time; a record whose event
                      window closed (window end + allowed lateness < arrival watermark) goes
                      to quarantine as ``too_late`` instead of being dropped by Beam
      -> KnownInRecord  names / user names / host names of a record's identifier columns
                      redacted in its own text (batch Scrub does this run-wide)
      -> Scrub        Scrub(policy, key, schemas, streaming=True): reviewed schemas + rules,
                      an unseen field fails closed (scrubbed as free text, reported as drift)
      -> quarantine   reader errors, too-late records and dead letters, scrubbed (QuarantineFn)
      -> Window       FixedWindows(size), AfterWatermark(late=AfterCount(1)), DISCARDING,
                      allowed_lateness = lateness + safety margin
      -> GroupByWindow  GroupByKey on (table, shard); the Beam window is part of the group
      -> WriteWindow  one Parquet file set per (table, window, pane), plus manifest merge and
                      one rolling-report line

Layout (the batch Hive layout plus one level)::

    <out>/<table>/event_date=YYYY-MM-DD/event_window=HHMM/part-<shard>-<content hash>.parquet
    <out>/<table>/event_date=YYYY-MM-DD/event_window=HHMM/_manifest.json

``HHMM`` is the UTC start of the window. Window sizes must divide a day and be whole
minutes, so windows never straddle midnight and ``HHMM`` is unique. (Not ``window=``:
WINDOW is an SQL keyword. Readers infer ``event_window`` as an integer, e.g. 5 for 00:05;
:func:`streaming_partitioning` keeps it a string.) Files are written by
``parquet_out.write_partition_file`` into a staging directory (``_streaming/staging``,
ignored by Parquet readers) and ``os.replace``-d into the window directory; manifests are
merged (read, add, atomic replace) under a lock, so a window that gets several panes or
micro-batches lists every file once. Files are content-named: replaying the same records
rewrites the same file instead of adding a duplicate.

Lateness. Beam drops records that reach a GroupByKey after ``window end + allowed
lateness`` and only counts them in a metric: a silent loss. Here the ``EventTime`` gate
compares each record's event window with its *arrival* watermark — the element timestamp the
source gave it (Pub/Sub publish time, Kafka processing time) or, in the local micro-batch
mode, the per-table watermark of the landing directory — and routes a record that is too
late to quarantine (reason ``too_late``, counted in the report). Records it lets through
are re-timestamped to their event time and reach a GroupByKey whose allowed lateness has an
extra safety margin, so Beam could only drop one if the pipeline's watermark overtook that
record's arrival time by more than the margin while the record was in flight (see
docs/streaming.md). A record more than ``max_future`` ahead of its arrival goes to
quarantine too (``future_event_time``): it would otherwise wait in state until the watermark
reaches it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam import pvalue
from apache_beam.transforms import trigger
from apache_beam.transforms import window as beam_window
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming, WindowedValue

from telescrub.classifiers.known import (
    KnownValues,
)
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core import report as build
from telescrub.core.actions import redact_placeholder
from telescrub.core.decisions import TableDecision
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord
from telescrub.core.timeparse import parse_timestamp
from telescrub.formats import readers
from telescrub.pipelines.assemble import quarantine_layout
from telescrub.pipelines.classify import static_decisions
from telescrub.pipelines.report import ReportCombineFn, write_report
from telescrub.pipelines.scrub import (
    QUARANTINE_TABLE,
    RESERVED_NAMES,
    QuarantineFn,
    Scrub,
    known_items,
)
from telescrub.pipelines.scrub_files import layout_for
from telescrub.pipelines.write import shard_name, stable_shard
from telescrub.store.parquet import (
    MANIFEST_NAME,
    META_PREFIX,
    FileResult,
    RunInfo,
    TableLayout,
    partition_dir,
    partition_dirname,
    validate_table,
    write_manifest,
    write_partition_file,
)

STATS = "stats"
BAD = "bad"
TOO_LATE = "too_late"
DROPPED = "dropped"
FUTURE = "future_event_time"
WINDOW_COLUMN = "event_window"
STREAMING_DIR = "_streaming"
STAGING_DIR = os.path.join(STREAMING_DIR, "staging")
LOCK_NAME = "manifest.lock"
ROLLING_REPORT = os.path.join("_report", "streaming.jsonl")
DEFAULT_MARGIN_S = 600
DEFAULT_MAX_FUTURE_S = 7 * 86400
MICROS = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_WINDOW_RE = re.compile(r"(?:[01][0-9]|2[0-3])[0-5][0-9]", re.ASCII)
_DURATION_RE = re.compile(r"(\d+)\s*([smhd]?)", re.ASCII)
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PLACEHOLDER = re.compile(r"<[A-Z_]+:([A-Z0-9_]+)>")
_TOKEN = re.compile(r"\bh1:[0-9a-f]{8}:[0-9a-f]{32}\b")
_TRANSFORMING = frozenset({"hash", "redact", "mask", "truncate_ip", "email_domain"})


# --------------------------------------------------------------------------------------------
# Durations and windows
# --------------------------------------------------------------------------------------------


def parse_duration(text: str | int | float) -> int:
    """``'90'``/``'90s'``, ``'5m'``, ``'1h'``, ``'1h30m'``, ``'1d'`` -> whole seconds (>= 0)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0 or int(text) != text:
            raise ValueError(f"duration {text!r}: expected whole seconds >= 0")
        return int(text)
    s = str(text).strip().lower()
    pos, total = 0, 0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"duration {text!r}: expected e.g. 90s, 5m, 1h, 1h30m or 1d")
    return total


def check_window_size(seconds: int) -> int:
    """A window size must be whole minutes and divide a day (windows align to midnight UTC)."""
    if seconds < 60 or seconds % 60 or 86400 % seconds:
        raise ValueError(
            f"window of {seconds}s: must be whole minutes and divide 24h "
            "(1m, 2m, 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h, ...)")
    return seconds


def micros_of(when: dt.datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime (no float rounding)."""
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def iso_micros(us: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


def window_start_us(ts_us: int, size_s: int) -> int:
    size = size_s * MICROS
    return ts_us - ts_us % size


def window_id(start_us: int) -> str:
    """``HHMM`` (UTC) of a window start."""
    t = _EPOCH + dt.timedelta(microseconds=start_us)
    return f"{t.hour:02d}{t.minute:02d}"


def window_date(start_us: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=start_us)).date().isoformat()


def validate_window_id(value: object) -> str:
    """``HHMM`` with 00 <= HH < 24 and 00 <= MM < 60; nothing else reaches a path."""
    if not isinstance(value, str) or not _WINDOW_RE.fullmatch(value):
        raise ValueError(f"invalid window id {value!r}: must be HHMM (UTC window start)")
    return value


def window_dirname(wid: str) -> str:
    return f"{WINDOW_COLUMN}={validate_window_id(wid)}"


def window_dir(out_dir: str, table: str, event_date: str | None, wid: str) -> str:
    """``<out>/<table>/event_date=.../event_window=HHMM``; validated, never outside ``out_dir``."""
    path = os.path.join(partition_dir(out_dir, table, event_date), window_dirname(wid))
    root = os.path.realpath(out_dir)
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([root, real]) != root:
        raise ValueError(f"output path {path!r} resolves outside the output directory")
    return path


def streaming_partitioning() -> Any:
    """Explicit Hive partitioning for ``pyarrow.dataset`` over a streaming table."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([("event_date", pa.date32()),
                                      (WINDOW_COLUMN, pa.string())]), flavor="hive")


def window_relpath(table: str, event_date: str | None, wid: str) -> str:
    return "/".join([validate_table(table), partition_dirname(event_date), window_dirname(wid)])


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """Window size, allowed lateness and the two guards, in whole seconds."""

    size_s: int
    lateness_s: int
    margin_s: int = DEFAULT_MARGIN_S
    max_future_s: int = DEFAULT_MAX_FUTURE_S

    def __post_init__(self) -> None:
        check_window_size(self.size_s)
        if self.lateness_s < 0 or self.margin_s < 0 or self.max_future_s <= 0:
            raise ValueError("lateness and margin must be >= 0, max_future > 0")

    @property
    def beam_lateness_s(self) -> int:
        """What the GroupByKey is given: the gate's lateness plus the safety margin."""
        return self.lateness_s + self.margin_s


def _stat_window(value: Any) -> WindowedValue:
    return WindowedValue(value, GlobalWindow().max_timestamp(), (GlobalWindow(),))


# --------------------------------------------------------------------------------------------
# Sources: JSON messages -> Record / BadRecord (the JSONL reader's own parser)
# --------------------------------------------------------------------------------------------


def parse_message(payload: bytes | str | None, table: str, source: str, line: int,
                  limits: readers.ReadLimits | None = None) -> Record | BadRecord:
    """One message = one JSON object, parsed and flattened exactly like a JSONL line."""
    lim = limits or readers.ReadLimits()
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if not raw or not raw.strip():
        return BadRecord(table, source, line, "empty_message", "message has no content", "")
    item: bytes | readers.LineTooLong = raw
    if len(raw) > lim.max_line_bytes:
        item = readers.LineTooLong(raw[: readers.EXCERPT_BYTES], len(raw))
    for out in readers._read_jsonl(iter([(line, item)]), table, source, lim):
        return out
    return BadRecord(table, source, line, "empty_message", "message has no content", "")


def _table_for(name: str | None, fallback: str) -> str:
    """A table name from a message attribute / topic / subscription: lowercased, runs of
    other characters made ``_`` (so no separators, no ``..``); ``fallback`` if nothing is
    left."""
    t = re.sub(r"[^a-z0-9_]+", "_", str(name or "").lower()).strip("_")[:64]
    return t or fallback


def _stable_line(text: str) -> int:
    """A positive int63 for a message id that is not a small integer itself."""
    if text.isdigit() and len(text) < 19:
        return int(text)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


class _CountingParseFn(beam.DoFn):
    """Base for message parsers: counts per source, emitted per bundle as ``stream_input``."""

    def start_bundle(self) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}

    def _emit(self, item: Record | BadRecord) -> Iterator[Any]:
        c = self._counts.setdefault((item.source, item.table), [0, 0])
        if isinstance(item, BadRecord):
            c[1] += 1
            yield pvalue.TaggedOutput(BAD, item)
        else:
            c[0] += 1
            yield item

    def finish_bundle(self) -> Iterator[Any]:
        for (src, table), (n, bad) in sorted(self._counts.items()):
            yield pvalue.TaggedOutput(STATS, _stat_window({
                "kind": "stream_input", "source": src, "table": table, "records": n,
                "bad": bad}))


class ParsePubSubFn(_CountingParseFn):
    """PubsubMessage -> Record | BadRecord. Table: the ``table`` attribute, else the default."""

    def __init__(self, source: str, table: str) -> None:
        self.source, self.table = source, table

    def process(self, msg: Any) -> Iterator[Any]:
        attrs = getattr(msg, "attributes", None) or {}
        table = _table_for(attrs.get("table"), self.table)
        mid = getattr(msg, "message_id", None) or ""
        line = _stable_line(str(mid)) if mid else 0
        data = getattr(msg, "data", msg)
        yield from self._emit(parse_message(data, table, self.source, line))


class ParseKafkaFn(_CountingParseFn):
    """Kafka record (Row with metadata, or a (key, value) pair) -> Record | BadRecord.

    Table: the topic name made a table name (or the fixed ``table``); source
    ``kafka:<topic>/<partition>``, line = offset + 1."""

    def __init__(self, table: str | None = None) -> None:
        self.table = table

    def process(self, rec: Any) -> Iterator[Any]:
        if hasattr(rec, "topic") and hasattr(rec, "value"):  # a Row (a NamedTuple, too)
            topic = str(rec.topic)
            partition = int(getattr(rec, "partition", 0) or 0)
            offset = int(getattr(rec, "offset", -1))
            value = rec.value
        else:  # (key, value) from a read without metadata
            topic, partition, offset, value = "kafka", 0, -1, rec[1]
        table = self.table or _table_for(topic, "kafka")
        source = f"kafka:{topic}/{partition}"
        yield from self._emit(parse_message(value, table, source, offset + 1))


class SourceResult(NamedTuple):
    records: beam.PCollection  # Record, timestamp = arrival
    bad: beam.PCollection  # BadRecord, timestamp = arrival
    stats: beam.PCollection  # stream_input counts (global window)


class PubSubRecords(beam.PTransform):
    """PBegin -> SourceResult from a Pub/Sub subscription (preferred) or topic.

    Element timestamps are Pub/Sub publish times (no ``timestamp_attribute``): the arrival
    clock the EventTime gate compares event times with."""

    def __init__(self, subscription: str | None = None, topic: str | None = None,
                 table: str | None = None) -> None:
        super().__init__()
        if bool(subscription) == bool(topic):
            raise ValueError("give exactly one of subscription or topic")
        self.subscription, self.topic = subscription, topic
        name = (subscription or topic or "").rsplit("/", 1)[-1]
        self.table = table or _table_for(name, "pubsub")

    def expand(self, pbegin: beam.pvalue.PBegin) -> SourceResult:
        out = (pbegin
               | "ReadPubSub" >> beam.io.ReadFromPubSub(
                   subscription=self.subscription, topic=self.topic, with_attributes=True)
               | "ParseMessages" >> beam.ParDo(ParsePubSubFn(
                   f"pubsub:{self.subscription or self.topic}", self.table)).with_outputs(
                   BAD, STATS, main="records"))
        return SourceResult(out.records, out[BAD], out[STATS])


class KafkaRecords(beam.PTransform):
    """PBegin -> SourceResult from Kafka topics via ``apache_beam.io.kafka.ReadFromKafka``.

    ReadFromKafka is a cross-language (Java) transform: applying it asks an expansion service
    to expand it. ``expansion_service`` is passed through (an address ``host:port``, or an
    in-process ``ExpansionServiceServicer`` in tests); None uses Beam's default (it downloads
    and starts the Java IO expansion service jar, or uses ``--beam_services``).
    ``read_transform()`` builds the (unapplied) ReadFromKafka, for inspection."""

    def __init__(self, bootstrap_servers: str, topics: list[str], table: str | None = None,
                 consumer_config: dict[str, str] | None = None,
                 expansion_service: Any = None) -> None:
        super().__init__()
        if not bootstrap_servers or not topics:
            raise ValueError("Kafka needs bootstrap servers and at least one topic")
        self.bootstrap_servers, self.topics, self.table = bootstrap_servers, list(topics), table
        self.consumer_config = {"bootstrap.servers": bootstrap_servers,
                                "group.id": "telescrub", "auto.offset.reset": "earliest",
                                **(consumer_config or {})}
        self.expansion_service = expansion_service

    def read_transform(self) -> beam.PTransform:
        from apache_beam.io.kafka import ReadFromKafka

        return ReadFromKafka(consumer_config=self.consumer_config, topics=self.topics,
                             with_metadata=True, commit_offset_in_finalize=True,
                             timestamp_policy=ReadFromKafka.processing_time_policy,
                             expansion_service=self.expansion_service)

    def expand(self, pbegin: beam.pvalue.PBegin) -> SourceResult:
        out = (pbegin
               | "ReadFromKafka" >> self.read_transform()
               | "ParseMessages" >> beam.ParDo(ParseKafkaFn(self.table)).with_outputs(
                   BAD, STATS, main="records"))
        return SourceResult(out.records, out[BAD], out[STATS])


# --------------------------------------------------------------------------------------------
# The EventTime gate
# --------------------------------------------------------------------------------------------


class EventTimeFn(beam.DoFn):
    """Record (timestamp = arrival) -> Record re-timestamped to its event time (main),
    or a ``too_late`` / ``future_event_time`` BadRecord at its arrival time (TOO_LATE).

    The event time is read from the field Scrub itself uses for the event date (the same
    static decisions, the same rule). A record without a parseable event time keeps its
    arrival timestamp (and is written to the null event_date partition). ``watermarks``
    (table -> µs) replaces the arrival time as the lateness clock (local micro-batches).
    A record whose every field the policy drops is also sent to DROPPED (a marker: Scrub
    drops it and writes nothing, the rolling report still counts it in its window). A
    quarantined record's text never holds the fields the policy drops."""

    def __init__(self, policy: Policy, schemas: dict[str, SourceSchema], spec: WindowSpec,
                 watermarks: dict[str, int] | None = None) -> None:
        self.policy, self.schemas, self.spec = policy, schemas, spec
        self.watermarks = watermarks

    def setup(self) -> None:
        self._tables: dict[str, TableDecision] = {}

    def start_bundle(self) -> None:
        self._max_event: dict[str, int] = {}

    def _decide(self, rec: Record) -> tuple[int | None, TableDecision]:
        """(event time in µs or None, the table's decisions with every field decided)."""
        td = self._tables.get(rec.table)
        if td is None:
            td = static_decisions(self.policy, self.schemas, [rec.table])[rec.table]
            self._tables[rec.table] = td
        for path in rec.fields:
            td.decision(self.policy, path)
        ts_path = td.timestamp_path
        value = rec.fields.get(ts_path) if ts_path else None
        if value is None or isinstance(value, list):
            return None, td
        when = parse_timestamp(value)
        return (micros_of(when) if when is not None else None), td

    def process(self, rec: Record, ts: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        arrival_us = int(ts.micros)
        if arrival_us < 0:  # a source without timestamps (MIN_TIMESTAMP): processing time
            arrival_us = micros_of(dt.datetime.now(dt.timezone.utc))
        try:
            event_us, td = self._decide(rec)
        except Exception:  # a timestamp that cannot be read is "no event time", not a crash
            event_us, td = None, None
        kept = {p: v for p, v in rec.fields.items()
                if td is None or td.decision(self.policy, p).action != "drop"}
        spec = self.spec
        reason = detail = None
        if event_us is not None:
            start = window_start_us(event_us, spec.size_s)
            wmax = start + spec.size_s * MICROS - 1
            clock = arrival_us
            if self.watermarks is not None:
                clock = self.watermarks.get(rec.table, -(2**62))
            if clock > wmax + spec.lateness_s * MICROS:
                reason = TOO_LATE
                detail = (f"event window {iso_micros(start)} + {spec.size_s}s closed: "
                          f"watermark {iso_micros(clock)} is past window end + allowed "
                          f"lateness {spec.lateness_s}s")
            elif event_us > arrival_us + spec.max_future_s * MICROS:
                reason = FUTURE
                detail = (f"event time more than {spec.max_future_s}s after arrival "
                          f"{iso_micros(arrival_us)}")
        if reason is not None:  # fields the policy drops (card security codes) never kept
            text = json.dumps(kept, default=str, ensure_ascii=False)
            yield pvalue.TaggedOutput(TOO_LATE, beam_window.TimestampedValue(BadRecord(
                rec.table, rec.source, rec.line, reason, str(detail), text),
                Timestamp(micros=arrival_us)))
            return
        when = Timestamp(micros=event_us if event_us is not None else arrival_us)
        if event_us is not None and event_us > self._max_event.get(rec.table, -(2**62)):
            self._max_event[rec.table] = event_us
        if td is not None and not kept:
            # Scrub will drop it (every field's action is drop): a marker keeps it counted in
            # its window's rolling-report line (one element per record reaches the window)
            yield pvalue.TaggedOutput(DROPPED, beam_window.TimestampedValue(rec, when))
        yield beam_window.TimestampedValue(rec, when)

    def finish_bundle(self) -> Iterator[Any]:
        if self._max_event:
            yield pvalue.TaggedOutput(STATS, _stat_window({
                "kind": "stream_watermark", "max_event_us": dict(sorted(self._max_event.items()))}))


_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")


def record_known_values(rec: Record, td: TableDecision, policy: Policy,
                        ) -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    """(known identifier values of this record's name/user/host columns, the subset that are
    only parts of a longer value) — batch's ``known_values`` for one record."""
    items: list[tuple[str, str]] = []
    parts: set[tuple[str, str]] = set()
    for item, v in known_items(rec, lambda path: td.decision(policy, path)):
        items.append(item)
        if item[1] != v.strip():
            parts.add(item)
    return items, parts


class KnownInRecordFn(beam.DoFn):
    """Record -> Record whose free-text / guarded fields no longer hold the names, user names
    and host names that the same record carries in its own identifier columns.

    Batch ``Scrub`` collects such known values over the whole run and, after the detectors,
    replaces them in text by hash tokens. Its streaming branch does not propagate them, so a
    record ``{"user.name": "Tendai Moyo", "errorMessage": "... failed for Tendai Moyo on ..."}``
    kept the name in its text. This stage closes the gap within each record, before Scrub:
    a known value becomes its typed placeholder (``<EUII:PERSON>``; a hash token would be
    re-detected as a hex id). A *part* of a name (``Declan`` of ``Declan Byrne``) is only
    replaced where it stands alone: next to another capitalised word it is left for the
    detectors, which see the whole name (``BYRNE Declan``) only if it is intact.

    In a bounded pipeline (a local micro-batch) ``batch_known`` — the known values of every
    record of the batch, a side input — widens the scope to the batch, as in batch mode.
    An unbounded pipeline has no "whole run" to wait for: there the scope is the record."""

    def __init__(self, policy: Policy, schemas: dict[str, SourceSchema]) -> None:
        self.policy, self.schemas = policy, schemas

    def setup(self) -> None:
        self._tables: dict[str, TableDecision] = {}
        self._batch_src: list[tuple[str, str, bool]] | None = None
        self._batch_items: list[tuple[str, str]] = []
        self._batch_parts: set[tuple[str, str]] = set()

    def _replace(self, text: str, known: KnownValues, parts: set[tuple[str, str]]) -> str:
        spans = known.find(text)
        if not spans:
            return text
        out, pos = [], 0
        for start, end, entity, value in spans:
            if (entity, value) in parts:
                before = list(_WORD.finditer(text, 0, start))
                prev = before[-1] if before else None
                nxt = _WORD.search(text, end)
                near = []
                if prev is not None and not text[prev.end():start].strip(" ,"):
                    near.append(prev.group(0))
                if nxt is not None and not text[end:nxt.start()].strip(" ,"):
                    near.append(nxt.group(0))
                if any(w[:1].isupper() for w in near):
                    continue  # next to a capitalised word: left whole for the detectors
            out.append(text[pos:start])
            out.append(redact_placeholder(self.policy.text_entity_category(entity), entity))
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def _td(self, table: str) -> TableDecision:
        tables: dict[str, TableDecision] = self.__dict__.setdefault("_tables", {})
        td = tables.get(table)  # (also used unbound from setup: by the side input's FlatMap)
        if td is None:
            td = static_decisions(self.policy, self.schemas, [table])[table]
            tables[table] = td
        return td

    def known_items(self, rec: Record) -> Iterator[tuple[str, str, bool]]:
        """(entity, value, is_part) of one record (also feeds the micro-batch side input)."""
        try:
            items, parts = record_known_values(rec, self._td(rec.table), self.policy)
        except Exception:  # Scrub will dead-letter a record it cannot process
            return
        for entity, value in items:
            yield entity, value, (entity, value) in parts

    def process(self, rec: Record, batch_known: list[tuple[str, str, bool]] | None = None,
                ) -> Iterator[Record]:
        td = self._td(rec.table)
        found = list(self.known_items(rec))
        if batch_known:
            if self._batch_src is not batch_known:  # once per worker per micro-batch
                self._batch_src = batch_known
                self._batch_items = [(e, v) for e, v, _ in batch_known]
                self._batch_parts = {(e, v) for e, v, part in batch_known if part}
            found += [(e, v, (e, v) in self._batch_parts) for e, v in self._batch_items]
        if not found:
            yield rec
            return
        known = KnownValues((e, v) for e, v, _ in found)
        parts = {(e, v) for e, v, part in found if part}
        fields: dict[str, Any] = {}
        for path, value in rec.fields.items():
            if td.decision(self.policy, path).action in ("scrub_text", "keep"):
                if isinstance(value, str):
                    value = self._replace(value, known, parts)
                elif isinstance(value, list):
                    value = [self._replace(v, known, parts) if isinstance(v, str) else v
                             for v in value]
            fields[path] = value
        yield rec._replace(fields=fields)


# --------------------------------------------------------------------------------------------
# Writing one window: files (staged, renamed), merged manifest, rolling-report line
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def output_lock(out_dir: str) -> Iterator[None]:
    """Exclusive ``flock`` on ``<out>/_streaming/manifest.lock`` (threads and processes)."""
    path = os.path.join(out_dir, STREAMING_DIR, LOCK_NAME)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _atomic_write_text(path: str, text: str) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_window_file(out_dir: str, layout: TableLayout, run: RunInfo, event_date: str | None,
                      wid: str, rows: list[ScrubbedRecord], shard: str) -> FileResult:
    """``write_partition_file`` into a private staging root, then an atomic rename into the
    window directory. Same validation, coercion, content naming and footer as batch."""
    final_dir = window_dir(out_dir, layout.table, event_date, wid)
    stage = os.path.join(out_dir, STAGING_DIR, uuid.uuid4().hex)
    try:
        res = write_partition_file(stage, layout, run, event_date, rows, shard)
        name = res.path.rsplit("/", 1)[-1]
        os.makedirs(final_dir, exist_ok=True)
        os.replace(os.path.join(stage, *res.path.split("/")), os.path.join(final_dir, name))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dataclasses.replace(res, path=f"{window_relpath(layout.table, event_date, wid)}/{name}")


def _existing_files(wdir: str, rel: str, manifest: dict[str, Any]) -> list[FileResult]:
    out = []
    for e in manifest.get("files", []):
        name = str(e.get("path", ""))
        path = os.path.join(wdir, name)
        if os.path.basename(name) != name or not os.path.isfile(path):
            continue  # a listed file that is gone is not listed again
        days, cat, exp = e.get("retention_days"), e.get("retention_category"), e.get("expires_on")
        if days is None or cat is None or exp is None:  # not ours: read the footer
            meta = {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()}
            days = int(meta[META_PREFIX + "retention_days"])
            cat = meta[META_PREFIX + "retention_category"]
            exp = meta[META_PREFIX + "expires_on"]
        out.append(FileResult(path=f"{rel}/{name}", rows=int(e["rows"]), sha256=str(e["sha256"]),
                              retention_days=int(days), retention_category=str(cat),
                              expires_on=str(exp)))
    return out


def merge_window_manifest(out_dir: str, table: str, event_date: str | None, wid: str,
                          new_files: list[FileResult], run: RunInfo,
                          extra: dict[str, Any]) -> dict[str, Any]:
    """Add ``new_files`` to the window's ``_manifest.json`` (create it if needed).

    Under :func:`output_lock`: read the current manifest, union its files with the new ones
    (a file written again with the same content name replaces its entry), let
    ``parquet_out.write_manifest`` compute rows and retention exactly as in batch (in a
    staging root), add the window keys and per-file provenance, and replace the manifest
    atomically. Readers never see a half-written manifest; two writers never lose a file."""
    wdir = window_dir(out_dir, table, event_date, wid)
    rel = window_relpath(table, event_date, wid)
    with output_lock(out_dir):
        mpath = os.path.join(wdir, MANIFEST_NAME)
        old: dict[str, Any] = {}
        if os.path.exists(mpath):
            with open(mpath, encoding="utf-8") as fh:
                old = json.load(fh)
        prov = {str(e.get("path")): {k: e[k] for k in ("pane", "run_id", "written_at", "batch")
                                      if k in e}
                for e in old.get("files", [])}
        files = {f.path: f for f in _existing_files(wdir, rel, old)}
        for f in new_files:
            files[f.path] = f
            prov[f.path.rsplit("/", 1)[-1]] = {
                "pane": extra.get("pane"), "run_id": run.run_id,
                "written_at": extra.get("written_at"), "batch": extra.get("batch")}
        # write_manifest validates "<table>/event_date=.../<name>": give it that shape
        flat = [dataclasses.replace(f, path="/".join([table, partition_dirname(event_date),
                                                       f.path.rsplit("/", 1)[-1]]))
                for f in files.values()]
        stage = os.path.join(out_dir, STAGING_DIR, uuid.uuid4().hex)
        try:
            manifest = write_manifest(stage, table, event_date, flat, run)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        by_name = {f.path.rsplit("/", 1)[-1]: f for f in files.values()}
        for e in manifest["files"]:
            f = by_name[e["path"]]
            e.update(retention_days=f.retention_days, retention_category=f.retention_category,
                     expires_on=f.expires_on, **prov.get(e["path"], {}))
        manifest.update({WINDOW_COLUMN: wid, "window_start": extra.get("window_start"),
                         "window_end": extra.get("window_end"), "streaming": True,
                         "panes": int(old.get("panes", 0)) + 1})
        _atomic_write_text(mpath, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def append_lines(out_dir: str, path: str, lines: list[dict[str, Any]]) -> None:
    """Append JSON lines under the output lock (one writer at a time, whole lines)."""
    if not lines:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "".join(json.dumps(line, sort_keys=True, default=str) + "\n" for line in lines)
    with output_lock(out_dir), open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def path_of(name: str) -> str:
    """Field path of an output column name (inverse of scrub.output_name)."""
    return name[:-1] if name.endswith("_") and name[:-1] in RESERVED_NAMES else name


class WriteWindowFn(beam.DoFn):
    """((table, shard), [tagged values]) in one window pane -> Parquet files in the window
    partition(s), merged manifests, one rolling-report line (main) and partition stats.

    Tagged values: ``("row", ScrubbedRecord, ts)``, ``("quarantine", ScrubbedRecord, ts)``,
    ``("dropped", source, ts)`` (a record Scrub drops entirely: counted, nothing written).
    Exactly one element per input record reaches its window, so each pane's line holds
    ``read = written + quarantined + dropped_by_policy`` on its own. A record's partition
    is the window's date, or the null partition when Scrub found no event date (then the
    window is its arrival window); quarantine rows go to ``_quarantine`` under the window's
    date."""

    def __init__(self, out_dir: str, run: RunInfo, policy: Policy,
                 schemas: dict[str, SourceSchema], spec: WindowSpec, lines_path: str | None,
                 batch: str | None = None, rows_per_file: int = 100_000) -> None:
        self.out_dir, self.run, self.policy, self.schemas = out_dir, run, policy, schemas
        self.spec, self.lines_path, self.batch = spec, lines_path, batch
        self.rows_per_file = rows_per_file

    def setup(self) -> None:
        self._static: dict[str, TableDecision] = {}
        self._runtime: dict[str, TableDecision] = {}
        self._qlayout = quarantine_layout(self.policy)

    def _decisions(self, table: str) -> tuple[TableDecision, TableDecision]:
        if table not in self._static:
            self._static[table] = static_decisions(self.policy, self.schemas, [table])[table]
            self._runtime[table] = static_decisions(self.policy, self.schemas, [table])[table]
        return self._static[table], self._runtime[table]

    def layout(self, table: str, rows: Iterable[ScrubbedRecord]) -> TableLayout:
        """Schema fields plus the fields present in ``rows``: a function of the rows only,
        so a replay produces the same columns (and the same content-named files)."""
        static, runtime = self._decisions(table)
        names = sorted({name for r in rows for name in r.fields})
        fields = dict(static.fields)
        for name in names:
            path = path_of(name)
            fields[path] = runtime.decision(self.policy, path)
        return layout_for(TableDecision(table, fields), self.policy)

    def _write(self, layout: TableLayout, event_date: str | None, wid: str,
               rows: list[ScrubbedRecord], shard: int, extra: dict[str, Any],
               ) -> tuple[list[FileResult], dict[str, Any]]:
        rows = sorted(rows, key=lambda r: (r.source, r.line))
        written = []
        for chunk, start in enumerate(range(0, len(rows), self.rows_per_file)):
            written.append(write_window_file(self.out_dir, layout, self.run, event_date, wid,
                                             rows[start:start + self.rows_per_file],
                                             shard_name(shard, chunk)))
        manifest = merge_window_manifest(self.out_dir, layout.table, event_date, wid, written,
                                         self.run, extra)
        return written, manifest

    def _detections(self, table: str, rows: list[ScrubbedRecord]) -> tuple[dict[str, int], int]:
        """Entity counts visible in the written values: one per value of a column whose
        decision names an entity and transforms it, plus typed placeholders in text; hash
        tokens inside text carry no entity and are counted apart."""
        _, runtime = self._decisions(table)
        counts: Counter[str] = Counter()
        hashed_in_text = 0
        for r in rows:
            for name, value in r.fields.items():
                d = runtime.decision(self.policy, path_of(name))
                values = value if isinstance(value, list) else [value]
                if d.entity and d.action in _TRANSFORMING:
                    counts[d.entity] += sum(v is not None for v in values)
                elif d.action in ("scrub_text", "keep"):
                    for v in values:
                        if isinstance(v, str):
                            counts.update(_PLACEHOLDER.findall(v))
                            hashed_in_text += len(_TOKEN.findall(v))
        return dict(sorted(counts.items())), hashed_in_text

    def process(self, element: tuple[tuple[str, int], Iterable[tuple[str, Any, int]]],
                win: Any = beam.DoFn.WindowParam,
                pane: Any = beam.DoFn.PaneInfoParam) -> Iterator[Any]:
        (table, shard), values = element
        start_us = int(win.start.micros)
        end_us = int(win.end.micros)
        wid, wdate = window_id(start_us), window_date(start_us)
        timing = PaneInfoTiming.to_string(pane.timing) if pane is not None else "UNKNOWN"
        if timing == "UNKNOWN":
            timing = "ON_TIME"  # bounded (micro-batch) pipelines fire once, at the end
        rows: dict[str | None, list[ScrubbedRecord]] = {}
        qrows: list[ScrubbedRecord] = []
        dropped: Counter[str] = Counter()  # source -> records Scrub drops (all fields dropped)
        max_event: int | None = None
        for kind, item, ts_us in values:
            if kind == "row":
                date = wdate if item.event_date is not None else None
                rows.setdefault(date, []).append(item._replace(event_date=date))
                if date is not None:
                    max_event = ts_us if max_event is None else max(max_event, ts_us)
            elif kind == "quarantine":
                qrows.append(item._replace(event_date=wdate))
            else:
                dropped[item] += 1
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        extra = {"pane": timing, "batch": self.batch, "written_at": now.isoformat(),
                 "window_start": iso_micros(start_us), "window_end": iso_micros(end_us)}
        files: list[str] = []
        partitions: list[dict[str, Any]] = []
        for date, part_rows in sorted(rows.items(), key=lambda kv: kv[0] or ""):
            layout = self.layout(table, part_rows)
            written, manifest = self._write(layout, date, wid, part_rows, shard, extra)
            files += [f.path for f in written]
            partitions.append(self._partition_stat(table, date, wid, written, manifest))
        if qrows:
            written, manifest = self._write(self._qlayout, wdate, wid, qrows, shard, extra)
            files += [f.path for f in written]
            partitions.append(self._partition_stat(QUARANTINE_TABLE, wdate, wid, written,
                                                   manifest))
        all_rows = [r for part in rows.values() for r in part]
        drift = sorted({path_of(n) for r in all_rows for n in r.fields
                        if self._decisions(table)[1].decision(self.policy, path_of(n)).drift})
        detections, hashed_in_text = self._detections(table, all_rows)
        reasons = Counter(str(r.fields.get("reason")) for r in qrows)
        n_written, n_quar, n_dropped = len(all_rows), len(qrows), sum(dropped.values())
        n_read = n_written + n_quar + n_dropped  # one element per record reaches its window
        line = {
            "kind": "window", "table": table, "event_date": wdate, WINDOW_COLUMN: wid,
            "window_start": extra["window_start"], "window_end": extra["window_end"],
            "shard": shard, "pane": {"timing": timing, "index": getattr(pane, "index", 0),
                                     "is_first": getattr(pane, "is_first", True),
                                     "is_last": getattr(pane, "is_last", True)},
            "batch": self.batch, "run_id": self.run.run_id, "written_at": extra["written_at"],
            "read": n_read, "written": n_written, "quarantined": n_quar,
            "quarantine_reasons": dict(sorted(reasons.items())),
            "too_late": reasons.get(TOO_LATE, 0),
            "dropped_by_policy": n_dropped,
            "drift_fields": drift, "detections_by_entity": detections,
            "hashed_in_text": hashed_in_text,
            "max_event_time": iso_micros(max_event) if max_event is not None else None,
            "files": sorted(files),
            "partitions": [{"table": p["table"], "event_date": p["event_date"],
                            WINDOW_COLUMN: wid, "rows": p["rows"],
                            "retention_days": p["retention_days"],
                            "expires_on": p["expires_on"]} for p in partitions],
        }
        line["line_id"] = hashlib.sha256(json.dumps(
            [table, start_us, shard, line["pane"], line["files"], n_read, self.batch],
            sort_keys=True).encode()).hexdigest()[:16]
        if self.lines_path:
            append_lines(self.out_dir, self.lines_path, [line])
        yield line
        for p in partitions:  # in this window; WindowedWrite re-windows them globally
            yield pvalue.TaggedOutput(STATS, p)

    @staticmethod
    def _partition_stat(table: str, date: str | None, wid: str, written: list[FileResult],
                        manifest: dict[str, Any]) -> dict[str, Any]:
        sources: Counter[str] = Counter()
        for f in written:
            sources.update(f.sources)
        return {"kind": "partition", "table": table, "event_date": date, WINDOW_COLUMN: wid,
                "files": [f.path for f in written], "rows": sum(f.rows for f in written),
                "retention_days": manifest["retention_days"],
                "expires_on": manifest["expires_on"],
                "retention_category": manifest["retention_category"],
                "sources": dict(sorted(sources.items()))}


class _TagFn(beam.DoFn):
    """Key an element by (original table, stable shard) and tag it for WriteWindowFn."""

    def __init__(self, kind: str, shards: int) -> None:
        self.kind, self.shards = kind, shards

    def process(self, item: Any, ts: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        table = item.fields["table"] if self.kind == "quarantine" else item.table
        validate_table(table)
        shard = stable_shard(item.source, item.line, self.shards)
        payload = item.source if self.kind == "dropped" else item
        yield (table, shard), (self.kind, payload, int(ts.micros))


def streaming_windowing(spec: WindowSpec) -> beam.WindowInto:
    """The one windowing strategy: fixed event-time windows, a pane when the watermark passes
    the window end, then a late pane for late data as it comes (AfterCount(1)) until window
    end + Beam allowed lateness; fired panes are discarded (each pane is a new file set)."""
    return beam.WindowInto(
        beam_window.FixedWindows(spec.size_s),
        trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
        accumulation_mode=trigger.AccumulationMode.DISCARDING,
        allowed_lateness=Duration(seconds=spec.beam_lateness_s))


class WindowedWriteResult(NamedTuple):
    lines: beam.PCollection  # rolling-report dicts, in their windows
    stats: beam.PCollection  # partition stats, global window


class WindowedWrite(beam.PTransform):
    """(rows, quarantine rows, dropped markers) -> rolling lines (main) + partition stats.

    Steps (stable labels): TagRows, TagQuarantine, TagDropped -> AllTagged -> Window ->
    GroupByWindow -> WriteWindow."""

    def __init__(self, out_dir: str, run: RunInfo, policy: Policy,
                 schemas: dict[str, SourceSchema], spec: WindowSpec,
                 lines_path: str | None, batch: str | None = None, shards: int = 1,
                 rows_per_file: int = 100_000) -> None:
        super().__init__()
        if not 1 <= shards <= 999:
            raise ValueError("shards must be between 1 and 999")
        self.out_dir, self.run, self.policy, self.schemas = out_dir, run, policy, schemas
        self.spec, self.lines_path, self.batch = spec, lines_path, batch
        self.shards, self.rows_per_file = shards, rows_per_file

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection, beam.PCollection],
               ) -> WindowedWriteResult:
        rows, quarantined, dropped = pcolls
        tagged = (
            rows | "TagRows" >> beam.ParDo(_TagFn("row", self.shards)),
            quarantined | "TagQuarantine" >> beam.ParDo(_TagFn("quarantine", self.shards)),
            dropped | "TagDropped" >> beam.ParDo(_TagFn("dropped", self.shards)),
        ) | "AllTagged" >> beam.Flatten()
        out = (tagged
               | "Window" >> streaming_windowing(self.spec)
               | "GroupByWindow" >> beam.GroupByKey()
               | "WriteWindow" >> beam.ParDo(WriteWindowFn(
                   self.out_dir, self.run, self.policy, self.schemas, self.spec,
                   self.lines_path, self.batch, self.rows_per_file)).with_outputs(
                   STATS, main="lines"))
        stats = out[STATS] | "GlobalStats" >> beam.WindowInto(beam_window.GlobalWindows())
        return WindowedWriteResult(out.lines, stats)


class StreamingResult(NamedTuple):
    lines: beam.PCollection  # one rolling-report dict per (table, window, shard, pane)
    stats: beam.PCollection  # report stats (global window): Scrub, gate, partitions


class StreamingScrubToParquet(beam.PTransform):
    """(records, bad) with arrival timestamps -> StreamingResult. The shared streaming core:
    the local micro-batch driver and the Pub/Sub/Kafka deployments apply exactly this."""

    def __init__(self, out_dir: str, policy: Policy, key: HashKey, run: RunInfo,
                 spec: WindowSpec, schemas: dict[str, SourceSchema] | None = None,
                 tables: list[str] | None = None, watermarks: dict[str, int] | None = None,
                 lines_path: str | None = None, batch: str | None = None,
                 shards: int = 1, known_scope: str = "record") -> None:
        super().__init__()
        if known_scope not in ("record", "batch", "none"):
            raise ValueError("known_scope: record, batch (bounded pipelines) or none")
        self.known_scope = known_scope
        self.out_dir, self.policy, self.key, self.run = out_dir, policy, key, run
        self.spec, self.schemas, self.tables = spec, schemas or {}, tables or []
        self.watermarks, self.batch, self.shards = watermarks, batch, shards
        self.lines_path = lines_path if lines_path is not None else os.path.join(
            out_dir, ROLLING_REPORT)

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection]) -> StreamingResult:
        records, bad = pcolls
        gate = records | "EventTime" >> beam.ParDo(EventTimeFn(
            self.policy, self.schemas, self.spec, self.watermarks)).with_outputs(
            TOO_LATE, DROPPED, STATS, main="timed")
        timed = gate.timed
        if self.known_scope != "none":
            known_fn = KnownInRecordFn(self.policy, self.schemas)
            if self.known_scope == "batch":  # bounded pipelines only (a side input)
                batch_known = (timed | "FindKnownValues" >> beam.FlatMap(known_fn.known_items)
                               | "DistinctKnownValues" >> beam.Distinct())
                timed = timed | "KnownInRecord" >> beam.ParDo(
                    known_fn, batch_known=beam.pvalue.AsList(batch_known))
            else:
                timed = timed | "KnownInRecord" >> beam.ParDo(known_fn)
        scrubbed = timed | "Scrub" >> Scrub(self.policy, self.key, self.schemas,
                                            streaming=True, tables=self.tables)
        quarantined = ((bad, gate[TOO_LATE], scrubbed.dead_letter) | "AllBad" >> beam.Flatten()
                       | "ScrubQuarantine" >> beam.ParDo(QuarantineFn(self.policy, self.key)))
        written = (scrubbed.scrubbed, quarantined, gate[DROPPED]) | "Write" >> WindowedWrite(
            self.out_dir, self.run, self.policy, self.schemas, self.spec, self.lines_path,
            self.batch, self.shards)
        quarantine_stats = quarantined | "QuarantineStats" >> beam.Map(
            lambda r: {"kind": "quarantine", "table": r.fields["table"],
                       "reason": r.fields["reason"], "n": 1})
        stats = (scrubbed.stats, gate[STATS], written.stats, quarantine_stats
                 ) | "AllStats" >> beam.Flatten()
        return StreamingResult(written.lines, stats)


# --------------------------------------------------------------------------------------------
# Reports: stats accumulator (additive stream inputs, watermarks) and the summary
# --------------------------------------------------------------------------------------------


class StreamReportCombineFn(ReportCombineFn):
    """``ReportCombineFn`` plus the streaming kinds: ``stream_input`` (per-source counts that
    add up, unlike batch's one record per file) and ``stream_watermark`` (max event time per
    table). Everything else is ``telescrub.core.report``'s."""

    def add_input(self, acc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
        kind = s.get("kind")
        if kind == "stream_input":
            cur = acc.setdefault("stream_inputs", {}).setdefault(
                s["source"], {"source": s["source"], "table": s.get("table"), "format": "jsonl",
                              "records": 0, "bad": 0})
            cur["records"] += int(s.get("records", 0))
            cur["bad"] += int(s.get("bad", 0))
            return acc
        if kind == "stream_watermark":
            wm = acc.setdefault("watermarks", {})
            for table, us in s.get("max_event_us", {}).items():
                wm[table] = max(int(us), int(wm.get(table, us)))
            return acc
        acc = build.add(acc, s)
        if kind == "partition":  # one entry per window directory, not per pane (amortised)
            parts = acc["partitions"]
            if len(parts) > 2 * int(acc.get("_compacted", 0)) + 64:
                acc["partitions"] = _merge_partitions(parts)
                acc["_compacted"] = len(acc["partitions"])
        return acc

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        accs = list(accs)
        out = build.merge(accs)
        inputs: dict[str, dict[str, Any]] = {}
        wm: dict[str, int] = {}
        for a in accs:
            for src, c in a.get("stream_inputs", {}).items():
                cur = inputs.setdefault(src, {**c, "records": 0, "bad": 0})
                cur["records"] += c["records"]
                cur["bad"] += c["bad"]
            for table, us in a.get("watermarks", {}).items():
                wm[table] = max(int(us), int(wm.get(table, us)))
        out["stream_inputs"], out["watermarks"] = inputs, wm
        out["partitions"] = _merge_partitions(out["partitions"])
        out["_compacted"] = len(out["partitions"])
        return out


def _merge_partitions(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (table, event_date, window) however many panes/batches wrote it."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in parts:
        k = (p["table"], p.get("event_date") or "", str(p.get(WINDOW_COLUMN, "")))
        cur = merged.get(k)
        if cur is None:
            merged[k] = {**p, "files": sorted(set(p.get("files", []))),
                         "sources": dict(p.get("sources", {}))}
            continue
        cur["files"] = sorted(set(cur["files"]) | set(p.get("files", [])))
        cur["rows"] += p["rows"]
        for src, n in p.get("sources", {}).items():
            cur["sources"][src] = cur["sources"].get(src, 0) + n
        if (p["retention_days"], p["retention_category"]) < (cur["retention_days"],
                                                              cur["retention_category"]):
            cur.update(retention_days=p["retention_days"], expires_on=p["expires_on"],
                       retention_category=p["retention_category"])
    return [merged[k] for k in sorted(merged)]


def finalize_streaming_report(acc: dict[str, Any], run: dict[str, Any], policy: Policy,
                              schemas: dict[str, SourceSchema]) -> dict[str, Any]:
    """The summary report of a streaming run, in batch's ``report.json`` format.

    Streaming decisions are made per field as fields appear, so the decisions listed are
    the reviewed-schema fields plus every field seen (from the per-field examples), each
    decided again with the same static rules — drift fields flagged as in batch."""
    acc = json.loads(json.dumps(acc))  # a private copy
    for src, c in acc.get("stream_inputs", {}).items():
        acc["inputs"].setdefault(src, c)
    seen: dict[str, set[str]] = {}
    for k in acc.get("examples", {}):
        table, path = k.split("\x00", 1)
        seen.setdefault(table, set()).add(path)
    records: Counter[str] = Counter()
    for info in acc["inputs"].values():
        if info.get("table"):
            records[info["table"]] += int(info.get("records", 0))
    for table in sorted(set(seen) | set(records) | set(acc["decisions"])):
        if table == QUARANTINE_TABLE:
            continue
        td = static_decisions(policy, schemas, [table])[table]
        for path in sorted(seen.get(table, ())):
            td.decision(policy, path)
        acc["decisions"][table] = {
            "table": table, "records": records.get(table, 0),
            "timestamp_path": td.timestamp_path, "schema_path": td.schema_path,
            "fields": [d.to_json() for _, d in sorted(td.fields.items())]}
    acc["partitions"] = _merge_partitions(acc["partitions"])
    report = build.finalize(acc, run)
    report["streaming"] = {
        **run.get("streaming", {}),
        "watermarks": {t: iso_micros(us) for t, us in sorted(acc.get("watermarks", {}).items())},
        "too_late": sum(q["records"] for q in report["quarantine"] if q["reason"] == TOO_LATE),
        "rolling_report": ROLLING_REPORT.replace(os.sep, "/"),
    }
    return report


class WriteStreamingReportFn(beam.DoFn):
    def __init__(self, out_dir: str, run: dict[str, Any], policy: Policy,
                 schemas: dict[str, SourceSchema]) -> None:
        self.out_dir, self.run, self.policy, self.schemas = out_dir, run, policy, schemas

    def process(self, acc: dict[str, Any]) -> Iterator[str]:
        yield write_report(self.out_dir, finalize_streaming_report(
            acc, self.run, self.policy, self.schemas))


class ContinuousReport(beam.PTransform):
    """Stats -> ``_report/report.json`` rewritten every ``every_s`` seconds of processing time
    (accumulating, in the global window) and a last time when the job is drained."""

    def __init__(self, out_dir: str, run: dict[str, Any], policy: Policy,
                 schemas: dict[str, SourceSchema], every_s: int = 60) -> None:
        super().__init__()
        self.out_dir, self.run, self.policy, self.schemas = out_dir, run, policy, schemas
        self.every_s = every_s

    def expand(self, stats: beam.PCollection) -> beam.PCollection:
        return (stats
                | "EveryMinute" >> beam.WindowInto(
                    beam_window.GlobalWindows(),
                    trigger=trigger.Repeatedly(trigger.AfterProcessingTime(self.every_s)),
                    accumulation_mode=trigger.AccumulationMode.ACCUMULATING)
                | "MergeStats" >> beam.CombineGlobally(StreamReportCombineFn()).without_defaults()
                | "WriteReport" >> beam.ParDo(WriteStreamingReportFn(
                    self.out_dir, self.run, self.policy, self.schemas)))
