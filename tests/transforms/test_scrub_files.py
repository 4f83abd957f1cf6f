"""The file-pass hot path (pipelines/scrub_files.py): same rows, tokens and counts as the
per-record path; every record arrives however the files are chunked; re-runs overwrite the
same files; a file that changes between passes is quarantined, never written."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from telescrub.classifiers.text import TextScrubber
from telescrub.core.actions import Actor, Failed
from telescrub.core.decisions import FieldDecision
from telescrub.core.keys import HashKey, key_id_for
from telescrub.core.policy import load_policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord
from telescrub.formats import readers
from telescrub.pipelines.classify import DecideFn, TableProfileFn
from telescrub.pipelines.read import InputFile
from telescrub.pipelines.scrub import RecordActor, Scrub
from telescrub.pipelines.scrub_files import (
    ProfileFileFn,
    ScrubFileFn,
    ScrubFiles,
    source_tag,
)
from telescrub.store.parquet import RunInfo, hive_partitioning

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
KEY = HashKey(b"k" * 32, key_id_for(b"k" * 32))
POLICY = load_policy(None)
RUN = RunInfo("run-test", POLICY.version, POLICY.digest, KEY.key_id, False,
              "2026-11-25T00:00:00Z")
INPUTS = [("skype_telemetry.jsonl", "skype_telemetry"), ("teams_chat_roster.csv",
                                                         "teams_chat_roster"),
          ("auth_syslog.log", "auth_syslog"), ("teams_chat_log.jsonl.gz", "teams_chat_log")]


def _files() -> list[InputFile]:
    return [InputFile(str(SAMPLE / name), table, readers.detect_format(str(SAMPLE / name)))
            for name, table in INPUTS]


def _records(f: InputFile) -> list[Record]:
    return [r for r in readers.read_records(f.path, f.table, f.fmt) if isinstance(r, Record)]


def _decide(table: str, recs: list[Record]):
    combine = TableProfileFn(POLICY.sample_size)
    acc = combine.create_accumulator()
    for r in recs:
        acc = combine.add_input(acc, r.fields)
    fn = DecideFn(POLICY, {})
    fn.setup()
    ((_, td),) = list(fn.process((table, acc)))
    return td


@pytest.mark.parametrize("name,table", INPUTS)
def test_act_batch_equals_act_per_record(name: str, table: str) -> None:
    f = InputFile(str(SAMPLE / name), table, readers.detect_format(str(SAMPLE / name)))
    recs = _records(f)
    decisions = {table: _decide(table, recs)}
    one, many = RecordActor(POLICY, KEY), RecordActor(POLICY, KEY)
    per_record = [one.act(r, decisions, []) for r in recs]
    batched = many.act_batch(recs[:37], decisions) + many.act_batch(recs[37:], decisions)
    assert batched == per_record
    assert many.stats() == one.stats()
    assert any(isinstance(r, ScrubbedRecord) for r in batched)


def test_apply_column_counts_every_occurrence_and_keeps_types_apart() -> None:
    d = FieldDecision(path="u", category="euii", action="hash", keep_last=0,
                      entity="EMAIL_ADDRESS", role=None, evidence="test", confidence=1.0)
    values = ["a@x.io", "a@x.io", None, True, 1, "a@x.io", "b@x.io"]
    col, row = Actor(POLICY, KEY, TextScrubber(POLICY, KEY)), Actor(POLICY, KEY, TextScrubber(POLICY, KEY))
    out = col.apply_column(d, values, "t")
    assert out == [row.apply(d, v, "t") for v in values]
    assert out[3] != out[4]  # True and 1 are equal dict keys but different values
    assert col.entity_counts == row.entity_counts
    assert col.entity_counts[("t", "u", "EMAIL_ADDRESS")] == 6


def test_a_value_whose_action_fails_dead_letters_only_its_record(monkeypatch) -> None:
    recs = [Record("t", "src", i, {"msg": f"hello {i}", "n": i}) for i in range(1, 5)]
    decisions = {"t": _decide("t", recs)}
    acting = RecordActor(POLICY, KEY)
    real = acting.actor._compute

    def boom(d, value):
        if value == "hello 3":
            raise RuntimeError("x")
        return real(d, value)

    monkeypatch.setattr(acting.actor, "_compute", boom)
    out = acting.act_batch(recs, decisions)
    assert [type(o).__name__ for o in out] == ["ScrubbedRecord", "ScrubbedRecord",
                                               "BadRecord", "ScrubbedRecord"]
    bad = out[2]
    assert isinstance(bad, BadRecord) and bad.reason == "processing_error"
    assert "RuntimeError" in bad.detail and "hello" not in bad.detail
    assert isinstance(Failed("E").error, str)


def _run(files: list[InputFile], out: Path, rows_per_file: int):
    with TestPipeline() as p:
        res = (p | beam.Create(files)
               | ScrubFiles(POLICY, KEY, str(out), RUN, rows_per_file=rows_per_file))
        sources = res.files | "Sources" >> beam.FlatMap(lambda kv: kv[1].sources.items())
        bad = (res.quarantine | "BadSource" >> beam.Map(lambda b: (b.source, 1)))
        written = ((sources, bad) | "Both" >> beam.Flatten()
                   | "PerSource" >> beam.CombinePerKey(sum))
        # every line read is written or quarantined (the sample has no policy drops)
        read = sorted({(f.path, sum(1 for _ in readers.read_records(f.path, f.table, f.fmt)))
                       for f in files})
        assert_that(written, equal_to(read), label="EveryRecordArrives")


def _dataset_rows(out: Path, table: str) -> list[str]:
    tab = ds.dataset(out / table, partitioning=hive_partitioning()).to_table()
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in tab.to_pylist())


def test_every_record_arrives_in_small_chunks_and_reruns_overwrite(tmp_path: Path) -> None:
    files = _files()
    _run(files, tmp_path / "a", rows_per_file=7)
    _run(files, tmp_path / "b", rows_per_file=50_000)
    for _, table in INPUTS:
        assert _dataset_rows(tmp_path / "a", table) == _dataset_rows(tmp_path / "b", table)
    names = sorted(p.name for p in (tmp_path / "a").rglob("*.parquet"))
    assert len(names) > len(INPUTS) * 5  # really chunked
    import pyarrow.parquet as pq

    assert max(pq.read_metadata(p).num_rows for p in (tmp_path / "a").rglob("*.parquet")) \
        <= 7  # --rows-per-file bounds every file (and so what a worker holds)
    assert all(n.startswith(tuple("part-" + source_tag(f.path) for f in files)) for n in names)
    _run(files, tmp_path / "a", rows_per_file=7)  # a re-executed run writes the same names
    assert sorted(p.name for p in (tmp_path / "a").rglob("*.parquet")) == names


def test_same_rows_as_the_per_record_scrub_transform(tmp_path: Path) -> None:
    files = _files()[:2]
    recs = [r for f in files for r in _records(f)]
    with TestPipeline() as p:
        per_record = (p | "Recs" >> beam.Create(recs) | "Scrub" >> Scrub(POLICY, KEY)).scrubbed
        rows = per_record | beam.Map(lambda s: (s.source, s.line, json.dumps(
            s.fields, sort_keys=True, default=str)))
        assert_that(rows, equal_to(_expected_rows(files, tmp_path)))


def _expected_rows(files: list[InputFile], tmp_path: Path) -> list[tuple[str, int, str]]:
    """Rows of the file-pass run, read back from Parquet (string columns as written)."""
    out = tmp_path / "fp"
    _run(files, out, rows_per_file=50_000)
    rows = []
    for f in files:
        tab = ds.dataset(out / f.table, partitioning=hive_partitioning()).to_table()
        for r in tab.to_pylist():
            src, line = r.pop("_source_file"), r.pop("_source_line")
            r.pop("event_date")
            fields = {k: v for k, v in r.items() if v is not None}
            rows.append((src, line, json.dumps(fields, sort_keys=True, default=str)))
    return rows


def test_a_file_that_changes_between_passes_is_quarantined(tmp_path: Path) -> None:
    src = tmp_path / "events.jsonl"
    src.write_text("".join(json.dumps({"user": f"u{i}@x.io", "msg": "hi"}) + "\n"
                           for i in range(5)))
    f = InputFile(str(src), "events", "jsonl")
    prof = ProfileFileFn(POLICY.sample_size, None, None)
    outs = list(prof.process(f))
    (table, acc), sha = outs[0], outs[-1].value
    fn = DecideFn(POLICY, {})
    fn.setup()
    ((_, td),) = list(fn.process((table, acc)))
    scrub = ScrubFileFn(POLICY, KEY, str(tmp_path / "out"), RUN, None, None, 100)
    scrub.setup()
    got = list(scrub.process(f, {"events": td}, [], {sha[0]: "not-the-same-sha"}))
    bad = [o.value for o in got if getattr(o, "tag", None) == "quarantine"]
    assert len(bad) == 5 and {b.reason for b in bad} == {"changed_during_run"}
    assert not [o for o in got if not hasattr(o, "tag")]  # nothing written
    assert not os.path.exists(tmp_path / "out" / "events")
    counts = Counter(o.value["kind"] for o in got if getattr(o, "tag", None) == "stats")
    assert counts["input"] == 1


def _job_report(units: list[InputFile], out: Path) -> dict:
    """The whole batch job (ScrubFilesToParquet, what ``telescrub run`` builds) over
    ``units``; returns the report.json it wrote."""
    from telescrub.pipelines.assemble import ScrubFilesToParquet

    with TestPipeline() as p:
        _ = p | ScrubFilesToParquet(units, str(out), POLICY, KEY, RUN, {"run_id": RUN.run_id})
    return json.loads((out / "_report" / "report.json").read_text())


def test_a_file_read_in_ranges_gives_the_same_rows_and_adds_up_in_the_report(
        tmp_path: Path) -> None:
    from telescrub.pipelines.read import split_inputs

    files = [f for f in _files() if f.fmt in ("jsonl", "text") and not f.path.endswith(".gz")]
    units = split_inputs(files, 2048)
    assert len(units) > len(files) + 4
    ranged = _job_report(units, tmp_path / "ranges")
    whole = _job_report(files, tmp_path / "whole")
    for f in files:
        assert _dataset_rows(tmp_path / "ranges", f.table) == _dataset_rows(
            tmp_path / "whole", f.table)
    # the report the pipeline wrote adds each file's ranges up to the whole file's numbers
    r_in = {i["source"]: i for i in ranged["inputs"]}
    w_in = {i["source"]: i for i in whole["inputs"]}
    assert set(r_in) == set(w_in) == {f.path for f in files}
    for f in files:
        n = sum(1 for u in units if u.path == f.path)
        assert n > 1 and r_in[f.path]["ranges"] == n and "ranges" not in w_in[f.path]
        for key in ("read", "written", "quarantined", "dropped_by_policy", "records", "bad",
                    "sha256", "bytes", "accounted"):
            assert r_in[f.path][key] == w_in[f.path][key], (f.path, key)
        assert r_in[f.path]["read"] == sum(1 for _ in readers.read_records(f.path, f.table,
                                                                          f.fmt))
    assert ranged["accounting_ok"] and ranged["totals"] == whole["totals"]


def test_read_inputs_reads_each_range_once() -> None:
    from telescrub.pipelines.read import ReadInputs, split_inputs

    f = next(f for f in _files() if f.fmt == "jsonl" and not f.path.endswith(".gz"))
    units = split_inputs([f], 2048)
    assert len(units) > 2
    with TestPipeline() as p:
        lines = (p | beam.Create(units) | ReadInputs(reshuffle=False)).records \
            | beam.Map(lambda r: r.line)
        assert_that(lines, equal_to([r.line for r in _records(f)]))


def _decision(path: str, action: str, entity: str | None, category: str = "system_metadata",
              keep_last: int = 0) -> FieldDecision:
    return FieldDecision(path=path, category=category, action=action, keep_last=keep_last,
                         entity=entity, role=None, evidence="test", confidence=1.0)


def test_one_actor_keeps_same_named_columns_of_different_tables_apart() -> None:
    actor = Actor(POLICY, KEY, TextScrubber(POLICY, KEY))
    host = "db01.corp.contoso.com"
    # table a keeps host names on purpose; table b's column of the same name expects none
    assert actor.apply(_decision("target", "keep", "HOSTNAME"), host, "a") == host
    assert actor.apply(_decision("target", "keep", None), host, "b") != host
    # the mask's kept digits belong to the decision, not to the first column seen
    first = actor.apply(_decision("n", "mask", None, "euii", keep_last=4), "5550123", "a")
    second = actor.apply(_decision("n", "mask", None, "euii", keep_last=0), "5550123", "c")
    assert first.endswith("0123") and "0" not in second and "1" not in second


def test_zero_and_negative_zero_are_different_values() -> None:
    d = _decision("x", "hash", None, "euii")
    out = Actor(POLICY, KEY, TextScrubber(POLICY, KEY)).apply_column(d, [0.0, -0.0, 0.0], "t")
    assert out[0] == out[2] != out[1]


def test_a_field_the_profile_never_saw_is_quarantined_whatever_the_order(
        tmp_path: Path) -> None:
    recs = [Record("t", "src", i, {"a": f"v{i}", "ts": "2026-11-20T00:00:00Z"})
            for i in range(1, 4)]
    decisions = {"t": _decide("t", recs)}
    drifted = Record("t", "src", 9, {"a": "v9", "new": "x@y.io", "ts": "2026-11-20T00:00:00Z"})
    for order in ([drifted, *recs], [*recs, drifted]):
        fn = ScrubFileFn(POLICY, KEY, str(tmp_path / "o"), RUN, None, None, 100)
        fn.setup()
        out = fn._act(order, decisions, changed=False)
        bad = [o for o in out if isinstance(o, BadRecord)]
        assert [b.line for b in bad] == [9] and bad[0].reason == "changed_during_run"
        assert "new" not in decisions["t"].fields  # the shared decisions are untouched
        assert fn._layout(decisions["t"])[1] == {"a", "ts"}


EDGE_TIMES = ["2026-11-20T10:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
              "1970-01-01T00:00:00Z", 0, -1, "10000-01-01T00:00:00Z", "2026-11-21T08:00:00Z",
              "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize("routing", ["null_partition", "quarantine"])
def test_implausible_event_times_are_routed_per_policy_and_counted(routing: str) -> None:
    import dataclasses
    import datetime as dt

    from telescrub.core.timeparse import EventTimeRule

    policy = dataclasses.replace(POLICY, event_time=EventTimeRule(implausible=routing))
    recs = [Record("t", "src", i, {"timestamp": ts, "user": f"person{i}@contoso.com"})
            for i, ts in enumerate(EDGE_TIMES, start=1)]
    decisions = {"t": _decide("t", recs)}
    assert decisions["t"].timestamp_path == "timestamp"
    now = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
    one, many = RecordActor(policy, KEY, now=now), RecordActor(policy, KEY, now=now)
    per_record = [one.act(r, decisions, []) for r in recs]
    batched = many.act_batch(recs, decisions)
    assert batched == per_record and many.stats() == one.stats()
    days = {o.line: o.event_date for o in batched if isinstance(o, ScrubbedRecord)}
    bad = {o.line: o for o in batched if isinstance(o, BadRecord)}
    implausible = {2, 3, 4, 9}  # 9999-12-31 twice, year 1, 1970
    if routing == "null_partition":
        assert not bad
        assert days == {1: "2026-11-20", 2: None, 3: None, 4: None, 5: None, 6: None, 7: None,
                        8: "2026-11-21", 9: None}
    else:
        assert set(bad) == implausible and set(days) == set(range(1, 10)) - implausible
        for b in bad.values():
            assert b.reason == "implausible_event_time" and "event_time" in b.detail
            assert "9999" not in b.detail and "0001" not in b.detail  # never the value
            assert "contoso" not in b.text  # the quarantined text is the scrubbed record
    [act] = [s for s in many.stats() if s["kind"] == "act"]
    assert act["event_time"] == [["t", "before_floor", 2], ["t", "in_future", 2]]
