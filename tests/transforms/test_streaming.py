"""The streaming transforms: event-time windows, watermarks and late data with TestStream,
the manifest merge, the message parser, and the Pub/Sub and Kafka graphs (built, not run
against a broker: see docs/streaming.md)."""

from __future__ import annotations

import datetime as dt
import glob
import json
import re
import threading
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.coders import RowCoder
from apache_beam.io.kafka import ReadFromKafka
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability.api import beam_runner_api_pb2, external_transforms_pb2
from apache_beam.runners.portability.expansion_service import ExpansionServiceServicer
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import trigger
from apache_beam.transforms import window as beam_window
from apache_beam.transforms.ptransform import PTransform
from apache_beam.utils.timestamp import Duration, Timestamp

from telescrub.app.settings import Settings
from telescrub.app.streaming import build_streaming_pipeline
from telescrub.core.keys import HashKey, key_id_for
from telescrub.core.policy import load_policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord
from telescrub.pipelines import streaming as st
from telescrub.store.layout import PartitionKey, partition_dir, streaming_partitioning
from telescrub.store.manifest import merge_manifest, read_manifest, verify_manifest
from telescrub.store.parquet import RunInfo, quarantine_layout
from telescrub.store.writer import write_rows

KEY = HashKey(b"k" * 32, key_id_for(b"k" * 32))
RUN = RunInfo("run-s", "2026.1", "ph", KEY.key_id, False, "2026-11-22T12:00:00Z")
TOKEN = re.compile(r"h1:[0-9a-f]{8}:[0-9a-f]{32}")
T0 = int(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc).timestamp())  # 10:00 UTC
SPEC = st.WindowSpec(size_s=60, lateness_s=120)  # + the default 600 s safety margin


def _iso(offset_s: float) -> str:
    return (dt.datetime.fromtimestamp(T0 + offset_s, dt.timezone.utc)
            .isoformat().replace("+00:00", "Z"))


def rec(line: int, event_offset: float, **extra: object) -> Record:
    return Record("events", "stream:test", line, {
        "timestamp": _iso(event_offset), "user.email": f"person{line}@contoso.com",
        "clientIp": f"203.0.113.{line}", "message": f"login failed for person{line}@contoso.com",
        **extra})


def at(item: object, arrival_offset: float) -> beam_window.TimestampedValue:
    return beam_window.TimestampedValue(item, T0 + arrival_offset)


def _streaming_options() -> PipelineOptions:
    # TestStream runs on the Python direct runner (the FnApiRunner has no TestStream); named,
    # so that Beam's DirectRunner never tries to download Prism
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    opts.view_as(StandardOptions).streaming = True
    return opts


def _split(p: beam.Pipeline, stream: TestStream) -> tuple[beam.PCollection, beam.PCollection]:
    events = p | "Events" >> stream
    records = events | "Records" >> beam.Filter(lambda x: isinstance(x, Record))
    bad = events | "Bad" >> beam.Filter(lambda x: isinstance(x, BadRecord))
    return records, bad


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / st.ROLLING_REPORT).read_text().splitlines()]


def _rows(path: Path) -> list[dict]:
    rows = []
    for f in sorted(path.glob("part-*.parquet")):
        rows += pq.read_table(f).to_pylist()
    return rows


# --------------------------------------------------------------------------- windows, late data

A, B = rec(1, 10), rec(2, 30)  # window 10:00
C = rec(3, 80)  # window 10:01
D = rec(4, 100)  # window 10:01, arrives after the watermark passed it: late, within lateness
E = rec(5, 40, cardSecurityCode="987")  # window 10:00, 6 min late: beyond the lateness
F = rec(6, 410)  # window 10:06, on time
G = rec(7, 10 * 86400)  # ten days ahead of its arrival: never waits in state
BAD = BadRecord("events", "stream:test", 8, "invalid_json", "line 8: invalid JSON", '{"user": ')
H = Record("events", "stream:test", 9, {"cardSecurityCode": "123"})  # policy drops it all


def the_stream() -> TestStream:
    return (TestStream()
            .advance_watermark_to(T0)
            .add_elements([at(A, 15), at(B, 35), at(H, 20), at(BAD, 40), at(C, 85)])
            .advance_watermark_to(T0 + 130)  # windows 10:00 and 10:01 fire on time
            .add_elements([at(D, 150)])  # late for 10:01, within the allowed lateness
            .advance_watermark_to(T0 + 400)
            .add_elements([at(E, 410), at(F, 415), at(G, 416)])
            .advance_watermark_to_infinity())


@pytest.fixture(scope="module")
def streamed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stream") / "out"
    policy = load_policy()
    with TestPipeline(options=_streaming_options()) as p:
        records, bad = _split(p, the_stream())
        result = (records, bad) | "Streaming" >> st.StreamingScrubToParquet(
            str(out), policy, KEY, RUN, SPEC, tables=["events"])
        panes = result.lines | beam.Map(lambda x: (x["table"], x[st.WINDOW_COLUMN],
                                                   x["pane"]["timing"], x["read"]))
        assert_that(panes, equal_to([
            ("events", "1000", "ON_TIME", 4),  # A, B; H and the invalid line by arrival
            ("events", "1001", "ON_TIME", 1),  # C
            ("events", "1001", "LATE", 1),  # D
            ("events", "1006", "ON_TIME", 3),  # F, and E and G quarantined at their arrival
        ]), label="Panes")
    return out


def test_on_time_windows_land_in_their_event_partition(streamed):
    w1000 = streamed / "events" / "event_date=2026-11-22" / "event_window=1000"
    rows = _rows(w1000)
    assert sorted(r["_source_line"] for r in rows) == [1, 2]
    for r in rows:  # scrubbed as in batch: hashed identifiers, free text scrubbed inside
        assert TOKEN.fullmatch(r["user.email"]) and "@contoso.com" not in r["message"]
    assert verify_manifest(str(w1000)) == []
    w1006 = streamed / "events" / "event_date=2026-11-22" / "event_window=1006"
    assert [r["_source_line"] for r in _rows(w1006)] == [6]


def test_late_record_within_lateness_adds_a_file_to_its_own_window(streamed):
    w1001 = streamed / "events" / "event_date=2026-11-22" / "event_window=1001"
    manifest = read_manifest(str(w1001))
    assert manifest["rows"] == 2 and manifest["panes"] == 2
    assert sorted(f["pane"] for f in manifest["files"]) == ["LATE", "ON_TIME"]
    assert sorted(p.name for p in w1001.glob("part-*.parquet")) == sorted(
        f["path"] for f in manifest["files"])
    assert verify_manifest(str(w1001)) == []
    assert sorted(r["_source_line"] for r in _rows(w1001)) == [3, 4]
    assert manifest["event_window"] == "1001" and manifest["window_start"] == _iso(60)


def test_too_late_and_far_future_records_are_quarantined_not_dropped(streamed):
    q = streamed / "_quarantine" / "event_date=2026-11-22"
    rows = {r["_source_line"]: r for r in _rows(q / "event_window=1006")}
    assert rows[5]["reason"] == st.TOO_LATE and "watermark" in rows[5]["detail"]
    assert rows[7]["reason"] == st.FUTURE
    for r in rows.values():  # the record is kept for inspection, scrubbed, never raw
        assert "person5@contoso.com" not in r["text_scrubbed"]
        assert "203.0.113.5" not in r["text_scrubbed"]
    assert "cardSecurityCode" not in rows[5]["text_scrubbed"]  # dropped fields never kept
    bad = _rows(q / "event_window=1000")
    assert [(r["_source_line"], r["reason"]) for r in bad] == [(8, "invalid_json")]


def test_rolling_report_accounts_for_every_record(streamed):
    lines = _lines(streamed)
    assert len(lines) == 4 and len({x["line_id"] for x in lines}) == 4
    for x in lines:  # per pane, not only per run
        assert x["read"] == x["written"] + x["quarantined"] + x["dropped_by_policy"], x
    assert sum(x["read"] for x in lines) == 9  # A..H and the invalid line
    assert sum(x["written"] for x in lines) == 5
    assert sum(x["dropped_by_policy"] for x in lines) == 1
    assert sum(x["too_late"] for x in lines) == 1
    late = [x for x in lines if x["pane"]["timing"] == "LATE"]
    assert [(x["event_window"], x["written"]) for x in late] == [("1001", 1)]
    for x in lines:
        assert "person" not in json.dumps(x)  # counts and paths only, never values


def test_plain_beam_lateness_would_drop_the_too_late_record_silently():
    """Why the EventTime gate exists: with Beam's own allowed lateness, E just vanishes."""
    def ev(r: Record, offset: float) -> beam_window.TimestampedValue:
        return at(r.line, offset)  # element timestamp = event time, as after the gate

    stream = (TestStream().advance_watermark_to(T0)
              .add_elements([ev(A, 10), ev(B, 30), ev(C, 80)])
              .advance_watermark_to(T0 + 130)
              .add_elements([ev(D, 100)])
              .advance_watermark_to(T0 + 400)
              .add_elements([ev(E, 40), ev(F, 410)])
              .advance_watermark_to_infinity())
    with TestPipeline(options=_streaming_options()) as p:
        got = (p | stream
               | beam.WindowInto(beam_window.FixedWindows(60),
                                 trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                                 accumulation_mode=trigger.AccumulationMode.DISCARDING,
                                 allowed_lateness=Duration(seconds=120))
               | beam.Map(lambda line: ("k", line)) | beam.GroupByKey()
               | beam.FlatMap(lambda kv: kv[1]))
        assert_that(got, equal_to([1, 2, 3, 4, 6]))  # 5 is gone: no error, no output


def test_gate_uses_the_local_watermark_when_given(tmp_path):
    """Local micro-batches: lateness is measured against the table's landing watermark."""
    policy = load_policy()
    fn = st.EventTimeFn(policy, {}, SPEC, watermarks={"events": (T0 + 300) * 1_000_000})
    fn.setup()
    fn.start_bundle()
    ts = Timestamp(T0 + 1000)
    late = list(fn.process(rec(1, 10), ts=ts))  # window 10:00 closed at 10:02:59.999
    assert late[0].tag == st.TOO_LATE and late[0].value.value.reason == st.TOO_LATE
    assert late[0].value.timestamp == ts  # quarantined at its arrival time
    ok = list(fn.process(rec(2, 250), ts=ts))  # window 10:04, still open at 10:05
    assert ok[0].timestamp == Timestamp(T0 + 250)
    none = list(fn.process(Record("events", "s", 3, {"msg": "no time"}), ts=ts))
    assert none[0].value.fields == {"msg": "no time"} and none[0].timestamp == ts
    [stats] = list(fn.finish_bundle())
    assert stats.value.value.max_event_us == {"events": (T0 + 250) * 1_000_000}


# --------------------------------------------------------------------------- paths, manifests


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600),
                                          ("1h30m", 5400), ("1d", 86400), ("0", 0)])
def test_parse_duration(text, seconds):
    assert st.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1m", "m", "5m 3", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match=r"expected e\.g\. 90s, 5m, 1h, 1h30m or 1d"):
        st.parse_duration(text)


@pytest.mark.parametrize("size", [30, 90, 7 * 60, 25 * 3600])
def test_window_sizes_must_divide_a_day(size):
    with pytest.raises(ValueError,
                       match=f"window of {size}s: must be whole minutes and divide 24h"):
        st.check_window_size(size)


@pytest.mark.parametrize("wid", ["..", "1/00", "2400", "1260", "10:00", "0\n00", "", 1000])
def test_window_ids_are_validated_before_any_path(tmp_path, wid):
    with pytest.raises(ValueError, match=r"invalid window id .*: must be HHMM"):
        partition_dir(str(tmp_path), "events", "2026-11-22", wid)


def _q(line: int) -> ScrubbedRecord:
    return ScrubbedRecord("_quarantine", f"src-{line}", line, "2026-11-22", {
        "table": "events", "reason": "x", "detail": "d", "text_scrubbed": f"t{line}"})


def test_concurrent_writers_merge_one_manifest(tmp_path):
    """Eight writers (threads; the lock is an flock, so processes too) add files to one
    window: the manifest lists each exactly once, rows and retention add up."""
    layout = quarantine_layout(load_policy().retention_days["customer_content"])
    key = PartitionKey("2026-11-22", "1005")
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            files = write_rows(str(tmp_path), layout, RUN, key, [_q(i)], f"s{i:02d}", 100)
            # no lock: the merge is a compare-and-swap of the window's manifest
            merge_manifest(str(tmp_path), "_quarantine", key, files, RUN, {"pane": "ON_TIME"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    wdir = tmp_path / "_quarantine" / "event_date=2026-11-22" / "event_window=1005"
    m = read_manifest(str(wdir))
    assert len(m["files"]) == 8 and m["rows"] == 8 and m["panes"] == 8
    assert verify_manifest(str(wdir)) == []
    assert not [p for p in wdir.iterdir() if p.name.startswith(".")]  # no temp leftovers
    # the same rows again: same content name, replaced in place, no duplicate entry
    files = write_rows(str(tmp_path), layout, RUN, key, [_q(0)], "s00", 100)
    m = merge_manifest(str(tmp_path), "_quarantine", key, files, RUN, {"pane": "LATE"})
    assert len(m["files"]) == 8 and m["rows"] == 8
    table = ds.dataset(tmp_path / "_quarantine", format="parquet",
                       partitioning=streaming_partitioning()).to_table()
    assert table.num_rows == 8 and set(table.column("event_window").to_pylist()) == {"1005"}


# --------------------------------------------------------------------------- messages


def test_messages_parse_like_jsonl_lines():
    r = st.parse_message(b'{"user": {"id": 7}, "tags": [{"k": "a"}, {"k": "b"}]}', "t", "s", 3)
    assert isinstance(r, Record) and r.fields == {"user.id": 7, "tags[].k": ["a", "b"]}
    for payload, reason in [(b'{"a": ', "invalid_json"), (b"[1, 2]", "not_an_object"),
                            (b"\xff\xfe{}", "invalid_json"), (b"  \n", "empty_message"),
                            (None, "empty_message"),
                            (b"[" * 5000 + b"]" * 5000, "not_an_object")]:
        bad = st.parse_message(payload, "t", "s", 1)
        assert isinstance(bad, BadRecord) and bad.reason in (reason, "too_deep"), (payload, bad)
    # not UTF-8 but JSON: decoded (U+FFFD) and read, as from a file
    r = st.parse_message(b'{"name": "Jos\xe9"}', "t", "s", 1)
    assert isinstance(r, Record) and r.fields == {"name": "Jos\ufffd"}
    from telescrub.formats.readers import ReadLimits

    big = st.parse_message(b'{"a": "' + b"x" * 100 + b'"}', "t", "s", 1, ReadLimits(
        max_line_bytes=50))
    assert isinstance(big, BadRecord) and big.reason == "line_too_long"


def test_pubsub_parse_takes_table_from_attribute_and_line_from_message_id():
    from apache_beam.io.gcp.pubsub import PubsubMessage

    fn = st.ParsePubSubFn("pubsub:projects/p/subscriptions/s", "default_table")
    fn.start_bundle()
    out = list(fn.process(PubsubMessage(b'{"a": 1}', {"table": "Skype Telemetry"},
                                        message_id="1234")))
    out += list(fn.process(PubsubMessage(b"{oops", {"table": "../etc"}, message_id="x-9")))
    assert out[0].table == "skype_telemetry" and out[0].line == 1234
    assert out[1].tag == "bad" and out[1].value.table == "etc" and out[1].value.line > 0
    stats = [x.value.value for x in fn.finish_bundle()]
    assert sorted((x.table, x.records, x.bad) for x in stats) == [
        ("etc", 0, 1), ("skype_telemetry", 1, 0)]


# --------------------------------------------------------------------------- deployed graphs


def _graph(p: beam.Pipeline) -> beam_runner_api_pb2.Pipeline:
    return p.to_runner_api()


def _by_name(proto: beam_runner_api_pb2.Pipeline) -> dict[str, beam_runner_api_pb2.PTransform]:
    return {t.unique_name: t for t in proto.components.transforms.values()}


def _check_streaming_core(proto: beam_runner_api_pb2.Pipeline) -> None:
    names = _by_name(proto)
    for label in ("Streaming/EventTime", "Streaming/Scrub", "Streaming/ScrubQuarantine",
                  "Streaming/Write/Window", "Streaming/Write/GroupByWindow",
                  "Streaming/Write/WriteWindow", "Report/EveryMinute", "Report/WriteReport"):
        assert any(n == label or n.startswith(label + "/") for n in names), label
    gbk = next(t for n, t in names.items() if n.startswith("Streaming/Write/GroupByWindow")
               and t.spec.urn == "beam:transform:group_by_key:v1")
    pc = proto.components.pcollections[next(iter(gbk.inputs.values()))]
    assert pc.is_bounded == beam_runner_api_pb2.IsBounded.UNBOUNDED
    ws = proto.components.windowing_strategies[pc.windowing_strategy_id]
    assert ws.window_fn.urn == "beam:window_fn:fixed_windows:v1"
    assert ws.allowed_lateness == (300 + 600) * 1000  # 5m + margin max(10m, window)
    assert ws.trigger.HasField("after_end_of_window")
    assert ws.trigger.after_end_of_window.late_firings.element_count.element_count == 1
    assert ws.accumulation_mode == beam_runner_api_pb2.AccumulationMode.DISCARDING


def test_pubsub_pipeline_graph(tmp_path):
    cfg = Settings(output=str(tmp_path), window="5m", allowed_lateness="5m",
                          input_subscription="projects/my-project/subscriptions/telemetry-sub")
    options = PipelineOptions(["--runner", "PortableRunner"])
    p = build_streaming_pipeline(cfg, options, load_policy(), KEY, {})
    assert p._options.view_as(StandardOptions).streaming is True
    proto = _graph(p)
    reads = [t for t in proto.components.transforms.values()
             if t.spec.urn == "beam:transform:pubsub_read:v1"]
    assert len(reads) == 1 and reads[0].unique_name == "Source/ReadPubSub/Read"
    payload = beam_runner_api_pb2.PubSubReadPayload.FromString(reads[0].spec.payload)
    assert payload.subscription == "projects/my-project/subscriptions/telemetry-sub"
    assert payload.with_attributes and not payload.timestamp_attribute  # publish time
    _check_streaming_core(proto)


_EXPANDED: list = []


class _FakeKafkaRead(beam.PTransform):
    """What the test expansion service returns for the Kafka URN: rows shaped like KafkaIO's
    with-metadata rows, timestamped with the arrival (processing) time."""

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config

    def expand(self, pbegin):
        arrival = T0 + 5  # Kafka's processing-time policy: when the record was read
        rows = [beam.Row(topic=topic, partition=0, offset=i, key=b"", timestamp=0,
                         value=(b'{"timestamp": "2026-11-22T10:00:0%dZ", "user": {"email": '
                                b'"p%d@contoso.com"}}' % (i, i)) if i != 2 else b"{bad")
                for topic in self.config.topics for i in range(4)]
        return (pbegin | "Rows" >> beam.Create(rows)
                | "Arrival" >> beam.Map(lambda r: beam_window.TimestampedValue(r, arrival)))


def _fake_kafka(unused_proto, payload, unused_context):
    config = RowCoder(payload.schema).decode(payload.payload)
    _EXPANDED.append(config)
    return _FakeKafkaRead(config)


@pytest.fixture
def fake_kafka_expansion():
    """An in-process expansion service that knows the Kafka URN (no Java, no broker)."""
    PTransform.register_urn(ReadFromKafka.URN_WITH_METADATA,
                            external_transforms_pb2.ExternalConfigurationPayload, _fake_kafka)
    _EXPANDED.clear()
    yield ExpansionServiceServicer()
    PTransform._known_urns.pop(ReadFromKafka.URN_WITH_METADATA, None)


def test_kafka_read_parameters():
    src = st.KafkaRecords("kafka-1:9092,kafka-2:9092", ["telemetry"], expansion_service="x:1")
    read = src.read_transform()
    assert read._urn == ReadFromKafka.URN_WITH_METADATA
    payload = external_transforms_pb2.ExternalConfigurationPayload.FromString(read._payload)
    config = RowCoder(payload.schema).decode(payload.payload)
    assert config.consumer_config["bootstrap.servers"] == "kafka-1:9092,kafka-2:9092"
    assert config.topics == ["telemetry"]
    assert config.timestamp_policy == "ProcessingTime"  # the arrival clock of the gate
    assert config.commit_offset_in_finalize is True
    assert read._expansion_service == "x:1"


def test_kafka_pipeline_graph_through_an_expansion_service(tmp_path, fake_kafka_expansion):
    cfg = Settings(output=str(tmp_path), window="5m", allowed_lateness="5m",
                          bootstrap_servers="kafka:9092", topics=["telemetry"],
                          expansion_service=fake_kafka_expansion)
    p = build_streaming_pipeline(cfg, PipelineOptions(["--runner", "FlinkRunner"]),
                                 load_policy(), KEY, {})
    [config] = _EXPANDED  # the expansion request carried the Kafka URN and our config
    assert config.consumer_config["bootstrap.servers"] == "kafka:9092"
    assert config.topics == ["telemetry"]
    names = _by_name(_graph(p))
    assert "Source/ReadFromKafka" in names and "Source/ParseMessages" in names
    # the Create inside the fake is bounded, so the check of unboundedness is Pub/Sub's; here
    # the windowing and labels of the shared core
    gbk = next(t for n, t in names.items() if n.startswith("Streaming/Write/GroupByWindow")
               and t.spec.urn == "beam:transform:group_by_key:v1")
    proto = _graph(p)
    pc = proto.components.pcollections[next(iter(gbk.inputs.values()))]
    ws = proto.components.windowing_strategies[pc.windowing_strategy_id]
    assert ws.window_fn.urn == "beam:window_fn:fixed_windows:v1"
    assert ws.allowed_lateness == (300 + 600) * 1000  # 5m + margin max(10m, window)


def test_kafka_source_runs_the_shared_core_end_to_end(tmp_path, fake_kafka_expansion):
    """Bounded run of Kafka source -> shared streaming core: messages become rows in their
    event window, a bad message goes to quarantine."""
    out = tmp_path / "out"
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        src = p | "Source" >> st.KafkaRecords("kafka:9092", ["telemetry"],
                                              expansion_service=fake_kafka_expansion)
        _ = (src.records, src.bad) | "Streaming" >> st.StreamingScrubToParquet(
            str(out), load_policy(), KEY, RUN, SPEC)
    rows = _rows(out / "telemetry" / "event_date=2026-11-22" / "event_window=1000")
    assert sorted(r["_source_line"] for r in rows) == [1, 2, 4]  # offsets 0, 1, 3
    assert {r["_source_file"] for r in rows} == {"kafka:telemetry/0"}
    assert all(TOKEN.fullmatch(r["user.email"]) for r in rows)
    qfiles = glob.glob(str(out / "_quarantine" / "*" / "*" / "*.parquet"))
    [q] = [r for f in qfiles for r in pq.read_table(f).to_pylist()]
    assert q["reason"] == "invalid_json" and q["_source_line"] == 3
    lines = _lines(out)
    assert sum(x["read"] for x in lines) == 4 == sum(x["written"] + x["quarantined"]
                                                        for x in lines)
    assert not [p for p in out.rglob(".*") if ".tmp-" in p.name]  # no temp leftovers
