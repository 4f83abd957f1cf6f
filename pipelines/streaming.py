"""Streaming mode (DESIGN §6): event-time windows over the shared ``Scrub`` transform.

One graph serves every runner::

    source (Records + BadRecords, element timestamp = arrival)
      -> EventTime    gate: re-timestamp each record to its event time; a record whose event
                      window closed (window end + allowed lateness < arrival watermark) goes
                      to quarantine as ``too_late`` instead of being dropped by Beam
      -> Scrub        Scrub(policy, key, FromSchemas(schemas)): the batch engine on one record
                      at a time (reviewed schemas + rules, an unseen field fails closed:
                      scrubbed as free text, reported as drift); the names, user names and
                      host names of a record's own identifier columns become their hash
                      tokens in its text (a bounded micro-batch: of every record of it)
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
``telescrub.store.layout.streaming_partitioning`` keeps it a string.) Files are written by
the batch writer (``telescrub.store.writer``) with the window as partitioner; manifests are
merged with a compare-and-swap (``telescrub.store.manifest.merge_manifest``), so a
window that gets several panes or micro-batches lists every file once. Files are
content-named: replaying the same records rewrites the same file instead of adding a
duplicate.

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

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms import trigger
from apache_beam.transforms import window as beam_window
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming, WindowedValue

from telescrub.classifiers.decide import ReviewedDecisions
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core import report as build
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, path_of
from telescrub.core.report import QUARANTINE_TABLE
from telescrub.core.stats import PartitionStat, StreamInputStat, WatermarkStat
from telescrub.core.timeparse import parse_timestamp
from telescrub.formats import readers
from telescrub.pipelines.classify import FromSchemas
from telescrub.pipelines.report import ReportCombineFn
from telescrub.pipelines.scrub import (
    KnownScope,
    PerBatch,
    QuarantineFn,
    Scrub,
    quarantine_stat,
)
from telescrub.pipelines.scrub_files import layout_for
from telescrub.pipelines.write import partition_stat, shard_prefix, stable_shard
from telescrub.store.fs import append_lines
from telescrub.store.layout import (
    ROLLING_REPORT,
    WINDOW_COLUMN,
    PartitionKey,
    validate_table,
)
from telescrub.store.manifest import merge_manifest
from telescrub.store.parquet import FileResult, RunInfo, TableLayout, quarantine_layout
from telescrub.store.report import write_report
from telescrub.store.writer import write_rows

STATS = "stats"
BAD = "bad"
TOO_LATE = "too_late"
DROPPED = "dropped"
FUTURE = "future_event_time"
DEFAULT_MARGIN_S = 600
DEFAULT_MAX_FUTURE_S = 7 * 86400
MICROS = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
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
    for out in readers.read_jsonl_lines(iter([(line, item)]), table, source, lim):
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
            yield pvalue.TaggedOutput(STATS, _stat_window(StreamInputStat(src, table, n, bad)))


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
        self.lookup = ReviewedDecisions(self.policy, self.schemas)

    def start_bundle(self) -> None:
        self._max_event: dict[str, int] = {}

    def _event_us(self, rec: Record) -> int | None:
        """The record's event time in µs, read from the field Scrub uses for its date."""
        ts_path = self.lookup.timestamp_path(rec.table, rec.fields)
        value = rec.fields.get(ts_path) if ts_path else None
        if value is None or isinstance(value, list):
            return None
        when = parse_timestamp(value)
        return micros_of(when) if when is not None else None

    def process(self, rec: Record, ts: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        arrival_us = int(ts.micros)
        if arrival_us < 0:  # a source without timestamps (MIN_TIMESTAMP): processing time
            arrival_us = micros_of(dt.datetime.now(dt.timezone.utc))
        try:
            event_us = self._event_us(rec)
        except Exception:  # a timestamp that cannot be read is "no event time", not a crash
            event_us = None
        kept = {p: v for p, v in rec.fields.items()
                if self.lookup.field(rec.table, p).action != "drop"}
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
        if not kept:
            # Scrub will drop it (every field's action is drop): a marker keeps it counted in
            # its window's rolling-report line (one element per record reaches the window)
            yield pvalue.TaggedOutput(DROPPED, beam_window.TimestampedValue(rec, when))
        yield beam_window.TimestampedValue(rec, when)

    def finish_bundle(self) -> Iterator[Any]:
        if self._max_event:
            yield pvalue.TaggedOutput(STATS, _stat_window(WatermarkStat(
                dict(sorted(self._max_event.items())))))


# --------------------------------------------------------------------------------------------
# Writing one window: files (staged, renamed), merged manifest, rolling-report line
# --------------------------------------------------------------------------------------------


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
        self.lookup = ReviewedDecisions(self.policy, self.schemas)
        self._qlayout = quarantine_layout(self.policy.retention_days["customer_content"])

    def layout(self, table: str, rows: Iterable[ScrubbedRecord]) -> TableLayout:
        """Schema fields plus the fields present in ``rows``: a function of the rows only,
        so a replay produces the same columns (and the same content-named files)."""
        paths = sorted({path_of(name) for r in rows for name in r.fields})
        return layout_for(self.lookup.fields_of(table, paths), table, self.policy)

    def _write(self, layout: TableLayout, key: PartitionKey, rows: list[ScrubbedRecord],
               shard: int, extra: dict[str, Any], window: dict[str, Any],
               ) -> tuple[list[FileResult], dict[str, Any]]:
        written = write_rows(self.out_dir, layout, self.run, key, rows, shard_prefix(shard),
                             self.rows_per_file)
        # a compare-and-swap of the window's manifest: concurrent panes never lose files
        manifest = merge_manifest(self.out_dir, layout.table, key, written, self.run,
                                  extra, window)
        return written, manifest

    def _detections(self, table: str, rows: list[ScrubbedRecord]) -> tuple[dict[str, int], int]:
        """Entity counts visible in the written values: one per value of a column whose
        decision names an entity and transforms it, plus typed placeholders in text; hash
        tokens inside text carry no entity and are counted apart."""
        counts: Counter[str] = Counter()
        hashed_in_text = 0
        for r in rows:
            for name, value in r.fields.items():
                d = self.lookup.field(table, path_of(name))
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
        extra = {"pane": timing, "batch": self.batch, "written_at": now.isoformat()}
        bounds = {"window_start": iso_micros(start_us), "window_end": iso_micros(end_us)}
        files: list[str] = []
        partitions: list[PartitionStat] = []
        for date, part_rows in sorted(rows.items(), key=lambda kv: kv[0] or ""):
            key = PartitionKey(date, wid)
            layout = self.layout(table, part_rows)
            written, manifest = self._write(layout, key, part_rows, shard, extra, bounds)
            files += [f.path for f in written]
            partitions.append(partition_stat(table, key, written, manifest))
        if qrows:
            key = PartitionKey(wdate, wid)
            written, manifest = self._write(self._qlayout, key, qrows, shard, extra, bounds)
            files += [f.path for f in written]
            partitions.append(partition_stat(QUARANTINE_TABLE, key, written, manifest))
        all_rows = [r for part in rows.values() for r in part]
        drift = sorted({path_of(n) for r in all_rows for n in r.fields
                        if self.lookup.field(table, path_of(n)).drift})
        detections, hashed_in_text = self._detections(table, all_rows)
        reasons = Counter(str(r.fields.get("reason")) for r in qrows)
        n_written, n_quar, n_dropped = len(all_rows), len(qrows), sum(dropped.values())
        n_read = n_written + n_quar + n_dropped  # one element per record reaches its window
        line = {
            "kind": "window", "table": table, "event_date": wdate, WINDOW_COLUMN: wid,
            "window_start": bounds["window_start"], "window_end": bounds["window_end"],
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
            "partitions": [{"table": p.table, "event_date": p.event_date,
                            WINDOW_COLUMN: wid, "rows": p.rows,
                            "retention_days": p.retention_days,
                            "expires_on": p.expires_on} for p in partitions],
        }
        line["line_id"] = hashlib.sha256(json.dumps(
            [table, start_us, shard, line["pane"], line["files"], n_read, self.batch],
            sort_keys=True).encode()).hexdigest()[:16]
        if self.lines_path:
            append_lines(self.lines_path, [line])
        yield line
        for p in partitions:  # in this window; WindowedWrite re-windows them globally
            yield pvalue.TaggedOutput(STATS, p)


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
                 shards: int = 1, known: KnownScope | None = None) -> None:
        super().__init__()
        #: where known identifiers come from: the record itself (``PerBatch``: an unbounded
        #: input acts one record at a time), or every record of a bounded micro-batch
        #: (``RunWide``)
        self.known = known or PerBatch()
        self.out_dir, self.policy, self.key, self.run = out_dir, policy, key, run
        self.spec, self.schemas, self.tables = spec, schemas or {}, tables or []
        self.watermarks, self.batch, self.shards = watermarks, batch, shards
        self.lines_path = lines_path if lines_path is not None else "/".join(
            [out_dir, ROLLING_REPORT])

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection]) -> StreamingResult:
        records, bad = pcolls
        gate = records | "EventTime" >> beam.ParDo(EventTimeFn(
            self.policy, self.schemas, self.spec, self.watermarks)).with_outputs(
            TOO_LATE, DROPPED, STATS, main="timed")
        scrubbed = gate.timed | "Scrub" >> Scrub(
            self.policy, self.key, FromSchemas(self.schemas, self.tables), self.known)
        quarantined = ((bad, gate[TOO_LATE], scrubbed.dead_letter) | "AllBad" >> beam.Flatten()
                       | "ScrubQuarantine" >> beam.ParDo(QuarantineFn(self.policy, self.key)))
        written = (scrubbed.scrubbed, quarantined, gate[DROPPED]) | "Write" >> WindowedWrite(
            self.out_dir, self.run, self.policy, self.schemas, self.spec, self.lines_path,
            self.batch, self.shards)
        quarantine_stats = quarantined | "QuarantineStats" >> beam.Map(quarantine_stat)
        stats = (scrubbed.stats, gate[STATS], written.stats, quarantine_stats
                 ) | "AllStats" >> beam.Flatten()
        return StreamingResult(written.lines, stats)


# --------------------------------------------------------------------------------------------
# Reports: stats accumulator (additive stream inputs, watermarks) and the summary
# --------------------------------------------------------------------------------------------


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
    lookup = ReviewedDecisions(policy, schemas)
    for table in sorted(set(seen) | set(records) | set(acc["decisions"])):
        if table == QUARANTINE_TABLE:
            continue
        fields = lookup.fields_of(table, sorted(seen.get(table, ())))
        acc["decisions"][table] = {
            "table": table, "records": records.get(table, 0),
            "timestamp_path": lookup.timestamp_path(table, fields),
            "schema_path": lookup.table(table).schema_path,
            "fields": [d.to_json() for _, d in sorted(fields.items())]}
    acc["partitions"] = build.merge_partitions(acc["partitions"])
    report = build.finalize(acc, run)
    report["streaming"] = {
        **run.get("streaming", {}),
        "watermarks": {t: iso_micros(us) for t, us in sorted(acc.get("watermarks", {}).items())},
        "too_late": sum(q["records"] for q in report["quarantine"] if q["reason"] == TOO_LATE),
        "rolling_report": ROLLING_REPORT,
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
                | "MergeStats" >> beam.CombineGlobally(ReportCombineFn()).without_defaults()
                | "WriteReport" >> beam.ParDo(WriteStreamingReportFn(
                    self.out_dir, self.run, self.policy, self.schemas)))
