"""Beam composites that write ScrubbedRecords as Hive-partitioned Parquet plus manifests.

    stats = records | WritePartitions(out_dir, run_info, layouts)
    stats = files | WriteManifests(out_dir, run_info)     # writers that wrote their own files

``layouts`` is a PCollection of ``(table, TableLayout)`` used as an ``AsDict`` side input.
Both return one :class:`~telescrub.core.stats.PartitionStat` per (table, event_date)
partition. Files are written by the one writer (``telescrub.store.writer.write_rows``) and
each partition's manifest is published last, once all its files exist
(``telescrub.store.manifest.merge_manifest``).

Steps (stable labels): KeyByPartition -> GroupByPartition -> WriteFiles -> WriteManifests
(GroupFilesByPartition -> WriteManifests).

* Records are keyed by (table, event_date or "", shard) where the shard is a stable
  (blake2b, not Python's salted ``hash``) hash of (source, line) modulo ``shards``; the same
  input always lands in the same shard, so file names are reproducible.
* A whole (table, date, shard) group is held in memory to sort it: raise ``shards`` for very
  large partitions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping

import apache_beam as beam

from telescrub.core.records import ScrubbedRecord
from telescrub.core.stats import PartitionStat
from telescrub.store.layout import PartitionKey, validate_event_date, validate_table
from telescrub.store.manifest import stage_manifest
from telescrub.store.parquet import FileResult, RunInfo, TableLayout
from telescrub.store.writer import write_rows


def stable_shard(source: str, line: int, shards: int) -> int:
    """Shard of a record: stable across processes and Python runs (unlike ``hash()``)."""
    digest = hashlib.blake2b(f"{source}\x00{line}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def shard_prefix(shard: int) -> str:
    return f"s{shard:02d}"


def partition_stat(table: str, key: PartitionKey, files: list[FileResult],
                   manifest: dict) -> PartitionStat:
    """What the report lists for files written into one partition."""
    sources: dict[str, int] = {}
    for f in files:
        for src, n in f.sources.items():
            sources[src] = sources.get(src, 0) + n
    return PartitionStat(table, key.event_date, [f.path for f in files],
                         sum(f.rows for f in files), manifest["retention_days"],
                         manifest["expires_on"], manifest["retention_category"],
                         dict(sorted(sources.items())), key.window)


class _KeyByPartition(beam.DoFn):
    def __init__(self, shards: int) -> None:
        self._shards = shards

    def process(self, record: ScrubbedRecord) -> Iterator[tuple[tuple[str, str, int], object]]:
        # Validate early: a hostile table/date fails here, long before any write.
        validate_table(record.table)
        validate_event_date(record.event_date)
        shard = stable_shard(record.source, record.line, self._shards)
        yield (record.table, record.event_date or "", shard), record


class _WriteFiles(beam.DoFn):
    def __init__(self, output_dir: str, run_info: RunInfo, rows_per_file: int) -> None:
        self._out, self._run, self._rows_per_file = output_dir, run_info, rows_per_file

    def process(self, element: tuple[tuple[str, str, int], Iterable[ScrubbedRecord]],
                layouts: Mapping[str, TableLayout],
                ) -> Iterator[tuple[tuple[str, str], FileResult]]:
        (table, date_key, shard), records = element
        layout = layouts.get(table)
        if layout is None:
            raise KeyError(f"no TableLayout for table {table!r}; refusing to drop its records")
        for result in write_rows(self._out, layout, self._run, PartitionKey(date_key or None),
                                 list(records), shard_prefix(shard), self._rows_per_file):
            yield (table, date_key), result


class _WriteManifests(beam.DoFn):
    def __init__(self, output_dir: str, run_info: RunInfo) -> None:
        self._out, self._run = output_dir, run_info

    def process(self, element: tuple[tuple[str, str], Iterable[FileResult]],
                ) -> Iterator[PartitionStat]:
        (table, date_key), results = element
        key = PartitionKey(date_key or None)
        files = sorted(results, key=lambda f: f.path)
        # staged in the run's area; the commit publishes it (telescrub.store.commit)
        manifest = stage_manifest(self._out, table, key, files, self._run)
        yield partition_stat(table, key, files, manifest)


class WriteManifests(beam.PTransform):
    """PCollection[((table, date or ""), FileResult)] -> one PartitionStat per partition,
    after staging each partition's manifest (once all its files exist) in the run's area of
    the output; ``telescrub.store.commit.commit_output`` publishes them after the pipeline."""

    def __init__(self, output_dir: str, run_info: RunInfo) -> None:
        super().__init__()
        self._out, self._run = output_dir, run_info

    def expand(self, files: beam.pvalue.PCollection) -> beam.pvalue.PCollection:
        return (files
                | "GroupFilesByPartition" >> beam.GroupByKey()
                | "WriteManifests" >> beam.ParDo(_WriteManifests(self._out, self._run)))


class WritePartitions(beam.PTransform):
    """PCollection[ScrubbedRecord] -> PCollection[PartitionStat]."""

    def __init__(self, output_dir: str, run_info: RunInfo, layouts: beam.pvalue.PCollection,
                 rows_per_file: int = 100_000, shards: int = 4) -> None:
        super().__init__()
        if rows_per_file < 1:
            raise ValueError("rows_per_file must be >= 1")
        if not 1 <= shards <= 999:
            raise ValueError("shards must be between 1 and 999")
        self._out, self._run, self._layouts = output_dir, run_info, layouts
        self._rows_per_file, self._shards = rows_per_file, shards

    def expand(self, records: beam.pvalue.PCollection) -> beam.pvalue.PCollection:
        return (
            records
            | "KeyByPartition" >> beam.ParDo(_KeyByPartition(self._shards))
            | "GroupByPartition" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(_WriteFiles(self._out, self._run, self._rows_per_file),
                                         beam.pvalue.AsDict(self._layouts))
            | "WriteManifests" >> WriteManifests(self._out, self._run)
        )
