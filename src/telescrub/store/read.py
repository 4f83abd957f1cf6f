"""Reading an output correctly: through its manifests, never by listing files.

    import telescrub
    table = telescrub.read_table("s3://bucket/out", "skype_telemetry")     # a pyarrow.Table
    paths = telescrub.output_files("out/", "skype_telemetry")             # for DuckDB & co.

A listing of a table directory can hold files no manifest lists (those of a run in progress or
killed, until the next telescrub command removes them: ``telescrub.store.commit``); the
manifests never list a missing, partial or superseded file. :func:`read_table` reads exactly the
files the output's manifests list, adds the partition columns (``event_date`` as a date, and
``event_window`` for a streaming output) and unifies the schemas of partitions that a column
purge left with fewer columns (a missing column reads as null).

DuckDB, given the file list (``read_parquet`` takes a list; ``union_by_name`` for purged
columns; for ``s3://`` load DuckDB's ``httpfs`` extension and give it the same endpoint and
credentials as telescrub)::

    files = telescrub.output_files("out/", "skype_telemetry")
    duckdb.sql(f"select * from read_parquet({files!r}, hive_partitioning=true, "
               "union_by_name=true)")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from telescrub.store import fs
from telescrub.store.layout import PARTITION_COLUMN, WINDOW_COLUMN, data_path, key_of, rel_keys
from telescrub.store.manifest import load_catalog


def output_files(out: str, table: str) -> list[str]:
    """The paths (or URLs) of every file the manifests list for ``table``, sorted."""
    out = fs.normpath(out)
    cat = load_catalog(out)
    return sorted(p for rel in cat.partitions if rel.split("/", 1)[0] == table
                  for p in cat.files(rel))


def read_table(out: str, table: str, columns: Sequence[str] | None = None) -> pa.Table:
    """``table`` of the output ``out`` (a directory, ``s3://`` or ``gs://``) as one Arrow
    table, read through its manifests (see the module doc). Raises KeyError for a table the
    output does not hold."""
    out = fs.normpath(out)
    cat = load_catalog(out)
    parts: list[pa.Table] = []
    streaming = False
    for rel in sorted(cat.partitions):
        if rel.split("/", 1)[0] != table:
            continue
        date = key_of(rel).event_date
        window = rel_keys(rel).get(WINDOW_COLUMN)
        streaming = streaming or window is not None
        for entry in cat.partitions[rel].get("files", []):
            data = fs.read_bytes(data_path(out, rel, str(entry.get("path"))))
            t = pq.read_table(pa.BufferReader(data),
                              columns=list(columns) if columns is not None else None)
            n = t.num_rows
            t = t.append_column(PARTITION_COLUMN, pa.array(
                [dt.date.fromisoformat(date) if date else None] * n, pa.date32()))
            if window is not None:
                t = t.append_column(WINDOW_COLUMN, pa.array([window] * n, pa.string()))
            parts.append(t)
    if not parts:
        if not any(rel.split("/", 1)[0] == table for rel in cat.partitions):
            raise KeyError(f"{out} holds no table {table!r}")
        return pa.table({})
    if streaming:  # a window column for every part
        parts = [p if WINDOW_COLUMN in p.column_names else
                 p.append_column(WINDOW_COLUMN, pa.nulls(p.num_rows, pa.string()))
                 for p in parts]
    return pa.concat_tables([p.replace_schema_metadata(None) for p in parts],
                            promote_options="default")


def tables(out: str) -> list[str]:
    """The tables the output's manifests list (``_quarantine`` included)."""
    return sorted({rel.split("/", 1)[0] for rel in load_catalog(fs.normpath(out)).partitions})
