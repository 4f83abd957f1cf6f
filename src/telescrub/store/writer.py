"""The one partition writer: scrubbed rows of one table and partition -> Parquet files.

Every path that writes data calls :func:`write_rows` — the batch file passes (a file's rows
buffered per event date), ``WritePartitions`` (rows grouped by partition and shard: the
quarantine table, users' own pipelines) and the streaming window writer. They differ only in
the partitioner that made the :class:`~telescrub.store.layout.PartitionKey` (the event date;
the event date and the window) and in the name prefix of their files (the input file or range
and its chunk; the shard), so file names, sorting, chunking, footers and retention are the
same everywhere.

Rows are sorted by (source, line), cut into files of at most ``rows_per_file`` rows, and each
file is named from its content (``part-<prefix>-<chunk>-<content hash>.parquet``): writing the
same rows again overwrites the same file instead of adding a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from telescrub.core.records import ScrubbedRecord
from telescrub.store.layout import PartitionKey
from telescrub.store.parquet import (
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    FileResult,
    RunInfo,
    TableLayout,
    rows_to_table,
    write_table_file,
)


def file_prefix(prefix: str, chunk: int) -> str:
    """The name part of a file before its content hash (``s01-0``, ``f0a1b2c3d4-3``)."""
    return f"{prefix}-{chunk}"


def write_rows(out_dir: str, layout: TableLayout, run: RunInfo, key: PartitionKey,
               rows: Sequence[ScrubbedRecord], prefix: str, rows_per_file: int,
               first_chunk: int = 0) -> list[FileResult]:
    """Write ``rows`` (all of ``layout.table``, all in partition ``key``) as Parquet files of
    at most ``rows_per_file`` rows; returns one result per file."""
    if not rows:
        return []
    return write_table(out_dir, layout, run, key, rows_to_table(layout, key.event_date, rows),
                       prefix, rows_per_file, first_chunk)


def write_table(out_dir: str, layout: TableLayout, run: RunInfo, key: PartitionKey,
                data: pa.Table, prefix: str, rows_per_file: int,
                first_chunk: int = 0) -> list[FileResult]:
    """``write_rows`` for rows already in an Arrow table of the layout's columns and the
    lineage columns (``rows_to_table``, ``conform``)."""
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be >= 1")
    order = pc.sort_indices(data, sort_keys=[(SOURCE_FILE_COLUMN, "ascending"),
                                             (SOURCE_LINE_COLUMN, "ascending")])
    ordered = data.take(order)
    out = []
    for i, start in enumerate(range(0, ordered.num_rows, rows_per_file)):
        out.append(write_table_file(
            out_dir, layout, run, key.event_date, ordered.slice(start, rows_per_file),
            file_prefix(prefix, first_chunk + i), key.window))
    return out
