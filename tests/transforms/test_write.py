"""WritePartitions through TestPipeline: no lost or duplicated record, idempotent re-runs."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import apache_beam as beam
import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from telescrub.core.records import ScrubbedRecord
from telescrub.pipelines.write import WritePartitions, _KeyByPartition, stable_shard
from telescrub.store.commit import commit_output
from telescrub.store.layout import NULL_PARTITION
from telescrub.store.manifest import read_manifest, verify_manifest
from telescrub.store.parquet import ColumnSpec, RunInfo, TableLayout

TABLES = ("alpha", "beta", "gamma")
DATES = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", None)
N = 1000


def _col(name, arrow_type, category, days, action="keep"):
    return ColumnSpec(name, arrow_type, category, category, action, "schema:test", 1.0, None, days)


def layouts() -> dict[str, TableLayout]:
    cols = (
        _col("user.id", "string", "eupi", 28, "hash"),
        _col("email", "string", "euii", 1),
        _col("n", "int64", "telemetry", 28),
        _col("x", "double", "telemetry", 28),
        _col("devices[].id", "list<string>", "eupi", 28, "hash"),
        _col("msg", "string", "customer_content", 30, "scrub_text"),
    )
    return {t: TableLayout(t, cols) for t in TABLES}


def records(n: int = N) -> list[ScrubbedRecord]:
    out = []
    for i in range(n):
        table = TABLES[i % 3]
        date = DATES[(i // 3) % len(DATES)]
        fields = {"user.id": f"u{i % 17}", "n": i, "x": i / 3, "devices[].id": [f"d{i}"]}
        if i % 97 == 0:
            fields["email"] = "kept@example.com"  # only some partitions hold euii
        if i % 5 == 0:
            fields["msg"] = 12345  # int in a string column is coerced
        out.append(ScrubbedRecord(table, f"in/{table}-{i % 4}.jsonl", i + 1, date, fields))
    return out


RUN = RunInfo("run-a", "2026.1", "ph", "k1", False, "2026-03-10T08:00:00+00:00")


def run_pipeline(out_dir: str, recs: list[ScrubbedRecord], run: RunInfo = RUN, **kw) -> None:
    expected_partitions = len({(r.table, r.event_date) for r in recs})
    expected_rows = len(recs)

    def check(summaries):
        assert len(summaries) == expected_partitions, summaries
        assert sum(s.rows for s in summaries) == expected_rows
        for s in summaries:
            assert sum(s.sources.values()) == s.rows
            assert s.files and s.expires_on and s.retention_category

    with TestPipeline() as p:
        lay = p | "Layouts" >> beam.Create(sorted(layouts().items()))
        summaries = (
            p | "Records" >> beam.Create(recs) | "Write" >> WritePartitions(out_dir, run, lay, **kw)
        )
        assert_that(summaries, check)
    # the pipeline staged the manifests; the commit publishes them (telescrub.store.commit)
    commit_output(out_dir, run.run_id, "overwrite")


def parquet_files(out_dir: str) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), out_dir)
        for d, _, fs in os.walk(out_dir)
        for f in fs
        if f.endswith(".parquet")
    )


def read_back(out_dir: str) -> collections.Counter:
    seen: collections.Counter = collections.Counter()
    for table in TABLES:
        t = ds.dataset(os.path.join(out_dir, table), partitioning="hive").to_table()
        for src, line, date in zip(
            t.column("_source_file").to_pylist(),
            t.column("_source_line").to_pylist(),
            t.column("event_date").to_pylist(),
            strict=True,
        ):
            seen[(table, src, line, date)] += 1
    return seen


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("out"))
    run_pipeline(out, records(), rows_per_file=10, shards=3)
    return out


def test_every_record_exactly_once(written):
    expected = {(r.table, r.source, r.line, r.event_date) for r in records()}
    seen = read_back(written)
    assert set(seen) == expected
    assert max(seen.values()) == 1
    assert sum(seen.values()) == N


def test_layout_and_manifests(written):
    files = parquet_files(written)
    partitions = {os.path.dirname(f) for f in files}
    assert len(partitions) == len(TABLES) * len(DATES)
    assert any(f"event_date={NULL_PARTITION}" in p for p in partitions)
    assert any("-s00-1-" in f for f in files)  # rows_per_file=10 split some shards
    for pdir in partitions:
        full = os.path.join(written, pdir)
        assert verify_manifest(full) == [], pdir
        m = read_manifest(full)
        assert m["run_id"] == "run-a"
        assert m["rows"] == sum(
            pq.read_metadata(os.path.join(full, f["path"])).num_rows for f in m["files"]
        )
    # retention: partitions with an email value hold euii (1 day), others eupi (28 days)
    by_date = {}
    for r in records():
        if "email" in r.fields:
            by_date[(r.table, r.event_date)] = 1
    for (table, date), days in by_date.items():
        pdir = os.path.join(written, table, f"event_date={date or NULL_PARTITION}")
        assert read_manifest(pdir)["retention_days"] == days


def test_metadata_on_every_file_and_column(written):
    footer_keys = {
        b"telescrub.run_id",
        b"telescrub.policy_version",
        b"telescrub.policy_hash",
        b"telescrub.key_id",
        b"telescrub.demo_key",
        b"telescrub.retention_days",
        b"telescrub.expires_on",
        b"telescrub.retention_category",
        b"telescrub.table",
        b"telescrub.event_date",
        b"telescrub.format_version",
    }
    for f in parquet_files(written):
        path = os.path.join(written, f)
        meta = pq.read_metadata(path).metadata
        assert footer_keys <= set(meta), f
        assert meta[b"telescrub.demo_key"] == b"false"
        for field in pq.read_schema(path):
            assert {b"category", b"action", b"evidence", b"retention_days"} <= set(
                field.metadata or {}
            ), (f, field.name)


def test_duckdb_reads_every_table(written):
    total = 0
    for table in TABLES:
        rows = duckdb.sql(
            f"select count(*), count(distinct _source_file || ':' || _source_line), "
            f"count(*) filter (where event_date is null), "
            f"count(distinct event_date), typeof(any_value(event_date)) "
            f"from read_parquet('{written}/{table}/*/*.parquet', hive_partitioning=true)"
        ).fetchall()[0]
        count, distinct, nulls, dates, typ = rows
        assert count == distinct
        assert nulls > 0
        assert dates == 5
        assert typ == "DATE"
        total += count
    assert total == N


def test_rerun_is_idempotent(tmp_path, written):
    out = str(tmp_path)
    recs = records()
    run_pipeline(out, recs, rows_per_file=10, shards=3)
    first = parquet_files(out)
    # later the same day: the null partition's expiry counts from the run's date, and a file's
    # name covers its expiry, so only a run of the same day reproduces every name
    rerun = RunInfo("run-b", "2026.1", "ph", "k1", False, "2026-03-10T20:00:00Z")
    run_pipeline(out, list(reversed(recs)), rerun, rows_per_file=10, shards=3)
    assert parquet_files(out) == first
    assert first == parquet_files(written)  # same names as an independent run, too
    seen = read_back(out)
    assert sum(seen.values()) == N and max(seen.values()) == 1
    pdir = os.path.join(out, "alpha", "event_date=2026-03-01")
    assert read_manifest(pdir)["run_id"] == "run-b"
    assert verify_manifest(pdir) == []


HOSTILE = [
    ("../x", "2026-03-01"),
    ("/abs", "2026-03-01"),
    ("a/b", "2026-03-01"),
    ("x\n", "2026-03-01"),
    ("alpha", "2026-13-45"),
    ("alpha", "../x"),
    ("alpha", "/abs"),
    ("alpha", "2026-03-01\n"),
]


@pytest.mark.parametrize(("table", "event_date"), HOSTILE)
def test_hostile_partition_values_rejected_at_keying(table, event_date):
    bad = ScrubbedRecord(table, "in/evil.jsonl", 1, event_date, {"n": 1})
    with pytest.raises(ValueError, match="invalid"):
        list(_KeyByPartition(3).process(bad))


@pytest.mark.parametrize(("table", "event_date"), [HOSTILE[0], HOSTILE[4]])
def test_hostile_partition_values_fail_pipeline_before_writing(tmp_path, table, event_date):
    out = tmp_path / "out"
    out.mkdir()
    bad = ScrubbedRecord(table, "in/evil.jsonl", 1, event_date, {"n": 1})
    with pytest.raises(Exception, match="invalid"):
        run_pipeline(str(out), [bad, *records(5)])
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert all(f.startswith("out" + os.sep) for f in parquet_files(str(tmp_path)))


def test_missing_layout_fails_loudly(tmp_path):
    bad = ScrubbedRecord("unknown_table", "in/a.jsonl", 1, "2026-03-01", {"n": 1})
    with pytest.raises(Exception, match="no TableLayout"):
        run_pipeline(str(tmp_path), [bad])


def test_stable_shard():
    # pinned values: the shard must not depend on the process (hash() is salted per run)
    assert [stable_shard("in/a.jsonl", i, 4) for i in range(8)] == [2, 3, 1, 3, 1, 0, 3, 1]
    assert stable_shard("in/b.jsonl", 7, 16) == 10
    code = ("from telescrub.pipelines.write import stable_shard; "
            "print([stable_shard('in/a.jsonl', i, 4) for i in range(8)])")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
        assert out.strip() == "[2, 3, 1, 3, 1, 0, 3, 1]"
    assert {stable_shard("in/a.jsonl", i, 4) for i in range(100)} == {0, 1, 2, 3}
