"""Beam composite that writes ScrubbedRecords as Hive-partitioned Parquet plus manifests.

    summaries = records | WritePartitions(out_dir, run_info, layouts)

``layouts`` is a PCollection of ``(table, TableLayout)`` used as an ``AsDict`` side input.
The result is one summary dict per (table, event_date) partition::

    {table, event_date, files: [relative paths], rows, retention_days, expires_on,
     retention_category, sources: {source file: rows}}

Steps (stable labels): KeyByPartition -> GroupByPartition -> WriteFiles ->
GroupFilesByPartition -> WriteManifests. ``WriteManifests`` alone serves writers that
already wrote their files (``pipelines.scrub_files``).

* Records are keyed by (table, event_date or "", shard) where the shard is a stable
  (blake2b, not Python's salted ``hash``) hash of (source, line) modulo ``shards``; the same
  input always lands in the same shard, so file names are reproducible.
* WriteFiles sorts a group and writes it in chunks of ``rows_per_file`` (shard names
  ``s01-0``, ``s01-1``, ...). File names hash the content, so a retried bundle or a re-run
  over the same input overwrites the same files instead of adding duplicates. A whole
  (table, date, shard) group is held in memory to sort it: raise ``shards`` for very large
  partitions.
* Writes go to the local filesystem with ``os``/``pyarrow`` (see telescrub.store.parquet);
  GCS/S3 output needs Beam ``FileSystems`` later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from telescrub.core.records import ScrubbedRecord
from telescrub.store.parquet import (
    FileResult,
    RunInfo,
    TableLayout,
    validate_event_date,
    validate_table,
    write_manifest,
    write_partition_file,
)


def stable_shard(source: str, line: int, shards: int) -> int:
    """Shard of a record: stable across processes and Python runs (unlike ``hash()``)."""
    digest = hashlib.blake2b(f"{source}\x00{line}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def shard_name(shard: int, chunk: int) -> str:
    return f"s{shard:02d}-{chunk}"


class _KeyByPartition(beam.DoFn):
    def __init__(self, shards: int) -> None:
        self._shards = shards

    def process(self, record: ScrubbedRecord) -> Iterator[tuple[tuple[str, str, int], Any]]:
        # Validate early: a hostile table/date fails here, long before any write.
        validate_table(record.table)
        validate_event_date(record.event_date)
        shard = stable_shard(record.source, record.line, self._shards)
        yield (record.table, record.event_date or "", shard), record


class _WriteFiles(beam.DoFn):
    def __init__(self, output_dir: str, run_info: RunInfo, rows_per_file: int) -> None:
        self._out = output_dir
        self._run = run_info
        self._rows_per_file = rows_per_file

    def process(
        self,
        element: tuple[tuple[str, str, int], Iterable[ScrubbedRecord]],
        layouts: Mapping[str, TableLayout],
    ) -> Iterator[tuple[tuple[str, str], FileResult]]:
        (table, date_key, shard), records = element
        layout = layouts.get(table)
        if layout is None:
            raise KeyError(f"no TableLayout for table {table!r}; refusing to drop its records")
        event_date = date_key or None
        rows = sorted(records, key=lambda r: (r.source, r.line))
        for chunk, start in enumerate(range(0, len(rows), self._rows_per_file)):
            result = write_partition_file(
                self._out,
                layout,
                self._run,
                event_date,
                rows[start : start + self._rows_per_file],
                shard_name(shard, chunk),
            )
            yield (table, date_key), result


class _WriteManifests(beam.DoFn):
    def __init__(self, output_dir: str, run_info: RunInfo) -> None:
        self._out = output_dir
        self._run = run_info

    def process(
        self, element: tuple[tuple[str, str], Iterable[FileResult]]
    ) -> Iterator[dict[str, Any]]:
        (table, date_key), results = element
        event_date = date_key or None
        files = sorted(results, key=lambda f: f.path)
        manifest = write_manifest(self._out, table, event_date, files, self._run)
        sources: dict[str, int] = {}
        for f in files:
            for src, n in f.sources.items():
                sources[src] = sources.get(src, 0) + n
        yield {
            "table": table,
            "event_date": event_date,
            "files": [f.path for f in files],
            "rows": manifest["rows"],
            "retention_days": manifest["retention_days"],
            "expires_on": manifest["expires_on"],
            "retention_category": manifest["retention_category"],
            "sources": dict(sorted(sources.items())),
        }


class WriteManifests(beam.PTransform):
    """PCollection[((table, date or ""), FileResult)] -> one summary dict per partition,
    after writing each partition's manifest (last, once all its files exist)."""

    def __init__(self, output_dir: str, run_info: RunInfo) -> None:
        super().__init__()
        self._out = output_dir
        self._run = run_info

    def expand(self, files: beam.pvalue.PCollection) -> beam.pvalue.PCollection:
        return (files
                | "GroupFilesByPartition" >> beam.GroupByKey()
                | "WriteManifests" >> beam.ParDo(_WriteManifests(self._out, self._run)))


class WritePartitions(beam.PTransform):
    """PCollection[ScrubbedRecord] -> PCollection[partition summary dict]."""

    def __init__(
        self,
        output_dir: str,
        run_info: RunInfo,
        layouts: beam.pvalue.PCollection,
        rows_per_file: int = 100_000,
        shards: int = 4,
    ) -> None:
        super().__init__()
        if rows_per_file < 1:
            raise ValueError("rows_per_file must be >= 1")
        if not 1 <= shards <= 999:
            raise ValueError("shards must be between 1 and 999")
        self._out = output_dir
        self._run = run_info
        self._layouts = layouts
        self._rows_per_file = rows_per_file
        self._shards = shards

    def expand(self, records: beam.pvalue.PCollection) -> beam.pvalue.PCollection:
        return (
            records
            | "KeyByPartition" >> beam.ParDo(_KeyByPartition(self._shards))
            | "GroupByPartition" >> beam.GroupByKey()
            | "WriteFiles"
            >> beam.ParDo(
                _WriteFiles(self._out, self._run, self._rows_per_file),
                beam.pvalue.AsDict(self._layouts),
            )
            | "GroupFilesByPartition" >> beam.GroupByKey()
            | "WriteManifests" >> beam.ParDo(_WriteManifests(self._out, self._run))
        )
