"""The batch engine: the act stage gives the same rows, tokens and counts however records are
batched; the file passes (pipelines/scrub_files.py) and the public per-record composite
(``Scrub``) give the same rows; every record arrives however the files are chunked; re-runs
overwrite the same files; a file that changes between passes is quarantined, never written."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from telescrub.classifiers.known import KnownValues
from telescrub.classifiers.text import TextScrubber
from telescrub.core.act import BatchActor
from telescrub.core.actions import Actor, Failed
from telescrub.core.decisions import FieldDecision, FrozenDecisions
from telescrub.core.keys import HashKey, key_id_for
from telescrub.core.policy import load_policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord
from telescrub.core.stats import InputStat
from telescrub.formats import readers
from telescrub.formats.units import InputFile
from telescrub.pipelines.classify import DecideFn, TableProfileFn
from telescrub.pipelines.scrub import Scrub
from telescrub.pipelines.scrub_files import (
    ProfileFileFn,
    ScrubFileFn,
    ScrubFiles,
    source_tag,
)
from telescrub.store.layout import hive_partitioning
from telescrub.store.parquet import RunInfo

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


def _actor() -> BatchActor:
    return BatchActor(POLICY, KEY, TextScrubber(POLICY, KEY))


@pytest.mark.parametrize("name,table", INPUTS)
def test_act_batch_does_not_depend_on_how_records_are_batched(name: str, table: str) -> None:
    """The file passes act on 4,096 records at a time, Scrub on BatchElements' batches,
    streaming on one record: the rows, tokens and counts must not depend on it."""
    f = InputFile(str(SAMPLE / name), table, readers.detect_format(str(SAMPLE / name)))
    recs = _records(f)
    decisions = FrozenDecisions({table: _decide(table, recs)})
    one, some, all_ = _actor(), _actor(), _actor()
    singles = [o for r in recs for o in one.act_batch([r], decisions)]
    split = some.act_batch(recs[:37], decisions) + some.act_batch(recs[37:], decisions)
    whole = all_.act_batch(recs, decisions)
    assert singles == split == whole
    assert one.stats() == some.stats() == all_.stats()
    assert any(isinstance(r, ScrubbedRecord) for r in whole)


def test_apply_column_counts_every_occurrence_and_keeps_types_apart() -> None:
    d = FieldDecision(path="u", category="euii", action="hash", keep_last=0,
                      entity="EMAIL_ADDRESS", role=None, evidence="test", confidence=1.0)
    values = ["a@x.io", "a@x.io", None, True, 1, "a@x.io", "b@x.io"]
    col, row = (Actor(POLICY, KEY, TextScrubber(POLICY, KEY)),
                Actor(POLICY, KEY, TextScrubber(POLICY, KEY)))
    out = col.apply_column(d, values, "t")
    assert out == [row.apply(d, v, "t") for v in values]
    assert out[3] != out[4]  # True and 1 are equal dict keys but different values
    assert col.entity_counts == row.entity_counts
    assert col.entity_counts[("t", "u", "EMAIL_ADDRESS")] == 6


def test_a_value_whose_action_fails_dead_letters_only_its_record(monkeypatch) -> None:
    recs = [Record("t", "src", i, {"msg": f"hello {i}", "n": i}) for i in range(1, 5)]
    decisions = FrozenDecisions({"t": _decide("t", recs)})
    acting = _actor()
    real = acting.actor._compute

    def boom(d, value, *rest):
        if value == "hello 3":
            raise RuntimeError("x")
        return real(d, value, *rest)

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
    # the file is rewritten between the profile and the scrub pass: what the profile pass
    # parsed and kept for this worker no longer matches the file, which is read again
    src.write_text("".join(json.dumps({"user": f"v{i}@y.io", "msg": "hello"}) + "\n"
                           for i in range(5)))
    os.utime(src, ns=(os.stat(src).st_atime_ns, os.stat(src).st_mtime_ns + 10**9))
    scrub = ScrubFileFn(POLICY, KEY, str(tmp_path / "out"), RUN, None, None, 100)
    scrub.setup()
    got = list(scrub.process(f, {"events": td}, [], dict([sha])))
    bad = [o.value for o in got if getattr(o, "tag", None) == "quarantine"]
    assert len(bad) == 5 and {b.reason for b in bad} == {"changed_during_run"}
    assert all("y.io" not in b.detail for b in bad)
    assert not [o for o in got if not hasattr(o, "tag")]  # nothing written
    assert not os.path.exists(tmp_path / "out" / "events")
    counts = Counter(type(o.value).__name__ for o in got if getattr(o, "tag", None) == "stats")
    assert counts["InputStat"] == 1


def _job_report(units: list[InputFile], out: Path) -> dict:
    """The whole batch job (ScrubFilesToParquet, what ``telescrub run`` builds) over
    ``units``; returns the report.json it wrote."""
    from telescrub.pipelines.assemble import ScrubFilesToParquet
    from telescrub.store.commit import commit_output

    with TestPipeline() as p:
        _ = p | ScrubFilesToParquet(units, str(out), POLICY, KEY, RUN, {"run_id": RUN.run_id})
    commit_output(str(out), RUN.run_id, "overwrite")  # publishes the staged report
    return json.loads((out / "_report" / "report.json").read_text())


def test_a_file_read_in_ranges_gives_the_same_rows_and_adds_up_in_the_report(
        tmp_path: Path) -> None:
    from telescrub.formats.units import split_inputs

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
    from telescrub.formats.units import split_inputs
    from telescrub.pipelines.read import ReadInputs

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
    tables = {"t": _decide("t", recs)}
    decisions = FrozenDecisions(tables)
    drifted = Record("t", "src", 9, {"a": "v9", "new": "x@y.io", "ts": "2026-11-20T00:00:00Z"})
    for order in ([drifted, *recs], [*recs, drifted]):
        fn = ScrubFileFn(POLICY, KEY, str(tmp_path / "o"), RUN, None, None, 100)
        fn.setup()
        out = fn._act(order, decisions, changed=False)
        bad = [o for o in out if isinstance(o, BadRecord)]
        assert [b.line for b in bad] == [9] and bad[0].reason == "changed_during_run"
        assert "new" not in tables["t"].fields  # the shared decisions are untouched
        assert fn._layout(tables["t"])[1] == {"a", "ts"}


# ---------------------------------------------------------- columnar act stage (Arrow)

def _blocks_and_records(path: Path, table: str):
    from telescrub.formats.arrow_jsonl import arrow_block, row_fields
    raw = path.read_bytes()
    got = arrow_block(raw, 1, 1 << 26)
    assert got is not None, "the columnar reader declined the test file"
    data = got[0]
    recs = [Record(table, str(path), line, fields) for line, fields in row_fields(data)]
    return data, recs


def _gen_file(tmp_path: Path) -> Path:
    p = tmp_path / "gen.jsonl"
    lines = []
    for i in range(300):
        lines.append(json.dumps({
            "eventId": f"3f2504e0-4f89-11d3-9a0c-0305e82c{i:04d}", "timestamp":
            f"2026-11-{20 + i % 3}T10:{i % 60:02d}:00.{i:03d}Z", "eventType": ["signin", "x"][i % 2],
            "user": {"upn": f"user{i % 17}@contoso.com", "displayName": f"Ann Lee{i % 5}"},
            "device": {"ip": f"10.0.{i % 7}.{i % 250}", "os": "Windows 10"},
            "tags": ["a", "b"][: i % 3], "n": i, "ok": i % 2 == 0,
            "message": f"login failed for user{i % 17}@contoso.com from 198.51.100.{i % 9}",
            "cvv": "123"}))
    p.write_text("\n".join(lines) + "\n")
    return p


def test_act_table_gives_act_batchs_rows_tokens_counts_and_examples(tmp_path: Path) -> None:
    from telescrub.pipelines.scrub_files import layout_for
    from telescrub.store.parquet import conform, rows_to_table

    path = _gen_file(tmp_path)
    data, recs = _blocks_and_records(path, "gen")
    tables = {"gen": _decide("gen", recs)}
    lookup = FrozenDecisions(tables)
    known = [("PERSON", "Ann Lee1")]
    by_rows, by_cols = _actor(), _actor()
    for a in (by_rows, by_cols):
        a.set_known(known, lambda: KnownValues(known))
    rows = [r for r in by_rows.act_batch(recs, lookup) if isinstance(r, ScrubbedRecord)]
    acted = by_cols.act_table("gen", str(path), data, lookup)
    assert acted.bad == [] and acted.dropped == 0
    layout = layout_for(tables["gen"].fields, "gen", POLICY)
    for date in sorted({r.event_date for r in rows}):
        want = rows_to_table(layout, date, [r for r in rows if r.event_date == date])
        piece = acted.rows.filter(pc.equal(acted.rows.column("event_date"), date)).drop(
            ["event_date"])
        assert conform(layout, piece).to_pylist() == want.to_pylist()
    assert by_cols.stats() == by_rows.stats()


def test_act_table_quarantines_undecided_fields_and_counts_drops(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text('{"cvv": "1"}\n{"a": "x", "new": "y"}\n{"a": "z"}\n')
    data, recs = _blocks_and_records(p, "d")
    profiled = [r for r in recs if "new" not in r.fields]
    lookup = FrozenDecisions({"d": _decide("d", profiled)})
    one, col = _actor(), _actor()
    py = one.act_batch(recs, lookup)
    acted = col.act_table("d", str(p), data, lookup)
    assert [b.line for b in acted.bad] == [r.line for r in py if isinstance(r, BadRecord)]
    assert {b.reason for b in acted.bad} == {"changed_during_run"}
    assert acted.dropped == sum(r is None for r in py) == 1
    assert col.stats() == one.stats()


def test_the_scrub_pass_acts_on_what_the_profile_pass_parsed(tmp_path: Path) -> None:
    """A unit the profile pass kept parsed is scrubbed from those blocks (no second parse,
    no second checksum), with the profile pass's checksum in the report."""
    from telescrub.formats.units import PARSED

    src = tmp_path / "kept.jsonl"
    src.write_text("".join(json.dumps({"user": f"u{i}@x.io", "n": i}) + "\n"
                           for i in range(20)))
    f = InputFile(str(src), "kept", "jsonl")
    outs = list(ProfileFileFn(POLICY.sample_size, None, None).process(f))
    (table, acc), sha = outs[0], outs[-1].value
    assert PARSED.get(f, take=False) is not None
    fn = DecideFn(POLICY, {})
    fn.setup()
    ((_, td),) = list(fn.process((table, acc)))
    scrub = ScrubFileFn(POLICY, KEY, str(tmp_path / "out"), RUN, None, None, 100)
    scrub.setup()
    got = list(scrub.process(f, {"kept": td}, [], dict([sha])))
    assert PARSED.get(f, take=False) is None  # taken: the memory is free again
    stats = [o.value for o in got if isinstance(getattr(o, "value", None), InputStat)]
    assert stats[0].sha256 == sha[1] and stats[0].records == 20
    assert sum(r.rows for _, r in (o for o in got if not hasattr(o, "tag"))) == 20
