"""Output side: Hive-partitioned Parquet files with retention metadata, and partition manifests.

Pure functions (no Beam) so they can be unit-tested and reused by ``purge``/reports. The Beam
composite that drives them lives in ``telescrub.pipelines.write``.

Layout on disk (DESIGN.md §4)::

    <out>/<table>/event_date=<YYYY-MM-DD>/part-<shard>-<content hash>.parquet
    <out>/<table>/event_date=<YYYY-MM-DD>/_manifest.json

Decisions worth knowing:

* **Null event date.** Records without an event date go to the Hive null partition
  ``event_date=__HIVE_DEFAULT_PARTITION__`` (:data:`NULL_PARTITION`). Both ``pyarrow.dataset``
  (``partitioning="hive"``) and DuckDB (``hive_partitioning=true``) read it back as SQL NULL.
  Caveat: if a table holds *only* the null partition, pyarrow cannot infer the partition type
  ("No non-null segments were available for field 'event_date'") — pass an explicit
  partitioning, :func:`hive_partitioning`, which always works.
* **Partition column.** ``event_date`` is not stored inside the files (directory only). A data
  column named ``event_date`` would be silently replaced by the directory value by both pyarrow
  and DuckDB, so :func:`arrow_schema` rejects it (as it does the lineage column names).
* **File names are content-addressed.** The 12-hex suffix hashes everything the file holds
  except the id of the run that writes it: table, event date, the columns with their types
  and field metadata, the footer metadata (policy, key id, retention, expiry) and the sorted
  rows — never the Parquet bytes. So a re-executed step, a re-run over the same input or an
  ``append`` of the same input arrives at the same name.
* **Written once.** A file is written with a create-only write (``telescrub.store.fs``: one
  whole object, visible whole or not at all, never replacing another). When the name exists
  already, that object holds the same content (only its footer's ``run_id`` may name an
  earlier run): it is kept and reused, and the :class:`FileResult` names the run that wrote
  it. A file that a published manifest lists is therefore never modified.
* **Any store.** The same code writes to a local directory, ``s3://`` or ``gs://``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from telescrub.core.hooks import point
from telescrub.core.records import ScrubbedRecord
from telescrub.core.timeparse import add_days
from telescrub.store import fs
from telescrub.store.layout import (
    PARTITION_COLUMN,
    QUARANTINE_TABLE,
    PartitionKey,
    check_inside,
    partition_dir,
    partition_relpath,
    validate_event_date,
    validate_shard,
)

FORMAT_VERSION = "1"
SOURCE_FILE_COLUMN = "_source_file"
SOURCE_LINE_COLUMN = "_source_line"
SYSTEM_COLUMNS = (SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN)
#: Category written in the field metadata of the lineage columns; they never set retention.
SYSTEM_CATEGORY = "system"
META_PREFIX = "telescrub."
COMPRESSION = "zstd"

_SCALAR_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
}
ARROW_TYPES: dict[str, pa.DataType] = {
    **_SCALAR_TYPES,
    **{f"list<{name}>": pa.list_(typ) for name, typ in _SCALAR_TYPES.items()},
}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT_FLOAT_INT = 2**53


# --------------------------------------------------------------------------------------------
# Contract types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str  # flattened field path, e.g. "user.id", "devices[].id"
    arrow_type: str  # "string" | "int64" | "double" | "bool" | "list<string>" | ...
    category: str  # category of the value AFTER the action (e.g. hashed euii -> "eupi")
    source_category: str  # category decided for the input field
    action: str  # hash | redact | mask | truncate_ip | email_domain | scrub_text | keep
    evidence: str  # e.g. "schema:skype_telemetry", "role:user+entity:IPV4", "fail_closed:drift"
    confidence: float
    entity: str | None
    retention_days: int  # retention of this column's (post-action) category


@dataclass(frozen=True)
class TableLayout:
    table: str
    columns: tuple[ColumnSpec, ...]  # output column order


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    policy_version: str
    policy_hash: str
    key_id: str
    demo_key: bool
    created_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class FileResult:
    """One Parquet file written by :func:`write_partition_file`."""

    path: str  # relative to out_dir, "/"-separated
    rows: int
    sha256: str  # of the file bytes
    retention_days: int
    retention_category: str
    expires_on: str  # YYYY-MM-DD
    sources: dict[str, int] = field(default_factory=dict)  # source file -> rows in this file
    table: str = ""
    event_date: str | None = None
    window: str | None = None
    #: the run whose footer the file carries (an earlier run's when the file was reused)
    run_id: str | None = None


class CoercionError(ValueError):
    """A value cannot be stored in its column without losing it. Never carries the value."""


# --------------------------------------------------------------------------------------------
# Schema and values
# --------------------------------------------------------------------------------------------


def _arrow_type(arrow_type: str) -> pa.DataType:
    try:
        return ARROW_TYPES[arrow_type]
    except KeyError:
        raise ValueError(
            f"unknown arrow_type {arrow_type!r}; expected one of {sorted(ARROW_TYPES)}"
        ) from None


def _field_metadata(col: ColumnSpec) -> dict[bytes, bytes]:
    return {
        b"category": col.category.encode(),
        b"source_category": col.source_category.encode(),
        b"action": col.action.encode(),
        b"evidence": col.evidence.encode(),
        b"confidence": repr(float(col.confidence)).encode(),
        b"entity": (col.entity or "").encode(),
        b"retention_days": str(int(col.retention_days)).encode(),
    }


def _system_metadata(evidence: str) -> dict[bytes, bytes]:
    # Lineage columns hold file paths and line numbers, never data: they do not set retention,
    # so retention_days is empty.
    return {
        b"category": SYSTEM_CATEGORY.encode(),
        b"source_category": SYSTEM_CATEGORY.encode(),
        b"action": b"keep",
        b"evidence": evidence.encode(),
        b"confidence": b"1.0",
        b"entity": b"",
        b"retention_days": b"",
    }


def arrow_schema(layout: TableLayout) -> pa.Schema:
    """Layout columns (with field metadata) followed by ``_source_file``, ``_source_line``.

    Raises ValueError for unknown types, duplicate names, or names reserved for the
    lineage columns or the ``event_date`` partition column.
    """
    reserved = {*SYSTEM_COLUMNS, PARTITION_COLUMN}
    seen: set[str] = set()
    fields = []
    for col in layout.columns:
        if col.name in reserved:
            raise ValueError(
                f"column name {col.name!r} in table {layout.table!r} is reserved "
                f"(partition/lineage column); rename it upstream"
            )
        if col.name in seen:
            raise ValueError(f"duplicate column {col.name!r} in table {layout.table!r}")
        seen.add(col.name)
        fields.append(
            pa.field(col.name, _arrow_type(col.arrow_type), metadata=_field_metadata(col))
        )
    fields.append(
        pa.field(SOURCE_FILE_COLUMN, pa.string(), metadata=_system_metadata("system:lineage_file"))
    )
    fields.append(
        pa.field(SOURCE_LINE_COLUMN, pa.int64(), metadata=_system_metadata("system:lineage_line"))
    )
    return pa.schema(fields)


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # JSON spelling, consistent with lists/dicts below
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise CoercionError("bool value in an int64 column")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise CoercionError("non-integral float value in an int64 column")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            raise CoercionError("non-numeric string value in an int64 column") from None
        if str(result) != text.lstrip("+"):  # "007" or "1_000" would not round-trip
            raise CoercionError("string value in an int64 column does not round-trip")
    else:
        raise CoercionError(f"{type(value).__name__} value in an int64 column")
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise CoercionError("integer value out of int64 range")
    return result


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise CoercionError("bool value in a double column")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        if abs(value) > _EXACT_FLOAT_INT:
            raise CoercionError("integer value too large to store exactly in a double column")
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise CoercionError("non-numeric string value in a double column") from None
    raise CoercionError(f"{type(value).__name__} value in a double column")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise CoercionError(f"{type(value).__name__} value cannot be stored in a bool column")


_SCALAR_COERCE = {"string": _to_text, "int64": _to_int, "double": _to_float, "bool": _to_bool}


def coerce(value: Any, arrow_type: str) -> Any:
    """Convert ``value`` to the Python value of ``arrow_type``; None stays None.

    * ``string``: strings unchanged; bool -> "true"/"false"; numbers -> ``str()``;
      lists/dicts -> compact JSON; anything else -> ``str()``. Never raises.
    * ``int64``/``double``/``bool``: lossless conversions only (e.g. ``3.0`` -> 3,
      ``"42"`` -> 42, ``"true"`` -> True); otherwise :class:`CoercionError` (a ValueError)
      whose message names the problem but never the value.
    * ``list<T>``: lists/tuples converted element-wise (None elements kept); a scalar is
      wrapped in a one-element list.
    """
    _arrow_type(arrow_type)  # raises for unknown types
    if value is None:
        return None
    if arrow_type.startswith("list<"):
        inner = _SCALAR_COERCE[arrow_type[5:-1]]
        items = value if isinstance(value, (list, tuple)) else [value]
        return [None if item is None else inner(item) for item in items]
    return _SCALAR_COERCE[arrow_type](value)


# --------------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------------


def partition_retention(layout: TableLayout, rows: Iterable[ScrubbedRecord]) -> tuple[int, str]:
    """``(retention_days, category)`` for a set of rows written with ``layout``.

    The shortest retention among the columns that hold a value (anything but None — an empty
    list counts, erring towards shorter retention) in at least one row. If no column holds a
    value, the shortest retention over *all* layout columns (fail closed: the file claims no
    longer life than any of its columns could need). Ties between categories name the
    alphabetically first category. Raises ValueError for a layout without columns — there is
    no category to take retention from.
    """
    if not layout.columns:
        raise ValueError(f"table {layout.table!r} has no columns: cannot derive retention")
    held: set[str] = set()
    names = {c.name for c in layout.columns}
    for row in rows:
        for name, value in row.fields.items():
            if value is not None and name in names:
                held.add(name)
        if len(held) == len(names):
            break
    candidates = [c for c in layout.columns if c.name in held] or list(layout.columns)
    days = min(int(c.retention_days) for c in candidates)
    category = min(c.category for c in candidates if int(c.retention_days) == days)
    return days, category


def _created_date(created_at: str) -> dt.date:
    text = created_at.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"RunInfo.created_at {created_at!r} is not an ISO timestamp") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc)
    return stamp.date()


def expires_on(event_date: str | None, retention_days: int, run: RunInfo) -> str:
    """event_date + retention_days; for the null partition the run's creation date is used.
    Saturates: an event dated near 9999-12-31 expires on 9999-12-31."""
    date = validate_event_date(event_date)
    base = dt.date.fromisoformat(date) if date is not None else _created_date(run.created_at)
    return add_days(base, int(retention_days)).isoformat()


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------




def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _footer_metadata(
    layout: TableLayout,
    run: RunInfo,
    event_date: str | None,
    retention: tuple[int, str],
    expires: str,
) -> dict[str, str]:
    meta = {
        "run_id": run.run_id,
        "policy_version": run.policy_version,
        "policy_hash": run.policy_hash,
        "key_id": run.key_id,
        "demo_key": "true" if run.demo_key else "false",
        "retention_days": str(retention[0]),
        "expires_on": expires,
        "retention_category": retention[1],
        "table": layout.table,
        "event_date": "" if event_date is None else event_date,
        "format_version": FORMAT_VERSION,
    }
    return {META_PREFIX + key: value for key, value in meta.items()}


def write_partition_file(
    out_dir: str,
    layout: TableLayout,
    run: RunInfo,
    event_date: str | None,
    rows: Sequence[ScrubbedRecord],
    shard: str,
    window: str | None = None,
) -> FileResult:
    """Write ``rows`` (all of ``layout.table`` and ``event_date``) as one Parquet file, in
    the event date's partition or, given a streaming ``window`` (``HHMM``), in that window's.

    Deterministic: rows are sorted by (source, line) and the file name hashes the canonical
    row data, so writing the same rows again overwrites the same file. Raises ValueError for
    invalid path components, rows of another table/date, fields without a column, or values
    that do not fit their column — before anything is written.
    """
    validate_shard(shard)
    partition_dir(out_dir, layout.table, event_date, window)  # validates the path first
    return write_table_file(out_dir, layout, run, event_date,
                            rows_to_table(layout, event_date, rows), shard, window)


def rows_to_table(layout: TableLayout, event_date: str | None,
                  rows: Sequence[ScrubbedRecord]) -> pa.Table:
    """Scrubbed records as an Arrow table of the layout's columns plus the lineage columns
    (each value coerced to its column's type), for :func:`write_table_file`."""
    if not rows:
        raise ValueError("write_partition_file needs at least one row")
    schema = arrow_schema(layout)
    known = {c.name for c in layout.columns}
    columns: list[list[Any]] = [[] for _ in layout.columns]
    sources, lines = [], []
    for row in rows:
        if row.table != layout.table or row.event_date != event_date:
            raise ValueError(
                f"row {row.source}:{row.line} belongs to {row.table}/{row.event_date}, "
                f"not {layout.table}/{event_date}"
            )
        unknown = set(row.fields) - known
        if unknown:
            raise ValueError(
                f"row {row.source}:{row.line} of table {layout.table!r} has fields without a "
                f"column in the layout: {sorted(unknown)}"
            )
        for i, col in enumerate(layout.columns):
            try:
                columns[i].append(coerce(row.fields.get(col.name), col.arrow_type))
            except CoercionError as exc:
                raise CoercionError(
                    f"{row.source}:{row.line} column {col.name!r} ({col.arrow_type}): {exc}"
                ) from None
        sources.append(str(row.source))
        lines.append(int(row.line))
    arrays = [pa.array(values, type=schema.field(i).type) for i, values in enumerate(columns)]
    arrays += [pa.array(sources, type=pa.string()), pa.array(lines, type=pa.int64())]
    return pa.Table.from_arrays(arrays, schema=schema)


def conform(layout: TableLayout, data: pa.Table) -> pa.Table:
    """An acted columnar block as :func:`rows_to_table` would have made it from the same
    records: the layout's columns in order (null where the block has none), each of its
    column type (cast where Arrow converts exactly as ``coerce`` does, else value by value
    through ``coerce``), then the lineage columns. Raises ValueError for a column the
    layout does not have."""
    schema = arrow_schema(layout)
    names = {c.name for c in layout.columns}
    extra = [n for n in data.column_names
             if n not in names and n not in (*SYSTEM_COLUMNS, PARTITION_COLUMN)]
    if extra:
        raise ValueError(f"columns without a place in the layout of {layout.table!r}: "
                         f"{sorted(extra)}")
    arrays = []
    for i, col in enumerate(layout.columns):
        want = schema.field(i).type
        if col.name not in data.column_names:
            arrays.append(pa.nulls(data.num_rows, want))
            continue
        arr = data.column(col.name).combine_chunks()
        if arr.type != want:
            exact = (pa.types.is_string(want) and (pa.types.is_integer(arr.type)
                                                   or pa.types.is_boolean(arr.type))) or \
                (pa.types.is_list(want) and pa.types.is_string(want.value_type) and
                 pa.types.is_list(arr.type) and (pa.types.is_integer(arr.type.value_type)
                                                 or pa.types.is_boolean(arr.type.value_type)))
            arr = pc.cast(arr, want) if exact else pa.array(
                [coerce(v, col.arrow_type) for v in arr.to_pylist()], type=want)
        arrays.append(arr)
    arrays += [data.column(SOURCE_FILE_COLUMN).combine_chunks(),
               data.column(SOURCE_LINE_COLUMN).combine_chunks()]
    return pa.Table.from_arrays(arrays, schema=schema)


# the JSON escapes ``json.dumps`` writes for these control characters; any other below 0x20
# (``\u00XX``) sends a column to the Python path
_SHORT_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                  ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f"))
_OTHER_CONTROL = "[\\x00-\\x07\\x0b\\x0e-\\x1f]"
_ANY_ESCAPE = '[\\\\"\\x00-\\x1f]'


def _json_fragments(arr: pa.Array) -> pa.Array:
    """Each value of ``arr`` as ``json.dumps`` (compact, ``ensure_ascii=False``) writes it,
    ``null`` for None; vectorised for strings, integers and booleans."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = arr
        if pc.any(pc.match_substring_regex(arr, _ANY_ESCAPE)).as_py():
            if pc.any(pc.match_substring_regex(arr, _OTHER_CONTROL)).as_py():
                return pa.array([_canonical(v) for v in arr.to_pylist()], type=pa.string())
            for raw, esc in _SHORT_ESCAPES:
                text = pc.replace_substring(text, raw, esc)
        quoted = pc.binary_join_element_wise('"', text, '"', "")
        return pc.fill_null(quoted, "null")
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.fill_null(pc.cast(arr, pa.string()), "null")
    return pa.array([_canonical(v) for v in arr.to_pylist()], type=pa.string())


def canonical_rows(data: pa.Table, names: Sequence[str]) -> pa.Array:
    """``"\\n" + json.dumps([source, line, [values...]])`` per row (compact, sorted keys,
    ``ensure_ascii=False``): what a file's content name hashes, built column by column."""
    parts: list[Any] = ["\n[", _json_fragments(data.column(SOURCE_FILE_COLUMN).combine_chunks()),
                        ",", pc.cast(data.column(SOURCE_LINE_COLUMN), pa.string()), ",["]
    for i, name in enumerate(names):
        if i:
            parts.append(",")
        parts.append(_json_fragments(data.column(name).combine_chunks()))
    parts.append("]]")
    return pc.binary_join_element_wise(*parts, "")


def _content_name(layout: TableLayout, event_date: str | None, canon: pa.Array,
                  footer_meta: dict[str, str]) -> str:
    content = hashlib.sha256()
    content.update(
        _canonical(
            {
                "format": FORMAT_VERSION,
                "table": layout.table,
                "event_date": event_date,
                "columns": [[c.name, c.arrow_type] for c in layout.columns],
                "fields": [{k.decode(): v.decode() for k, v in _field_metadata(c).items()}
                           for c in layout.columns],
                "footer": {k: v for k, v in footer_meta.items()
                           if k != META_PREFIX + "run_id"},
            }
        ).encode()
    )
    arr = canon.combine_chunks() if isinstance(canon, pa.ChunkedArray) else canon
    offsets = arr.buffers()[1]
    data = arr.buffers()[2]
    if len(arr) and data is not None:  # the rows' bytes are contiguous in the data buffer
        ends = pa.Array.from_buffers(pa.int32(), len(arr) + 1, [None, offsets], arr.offset)
        first, last = ends[0].as_py(), ends[len(arr)].as_py()
        content.update(memoryview(data)[first:last])
    return content.hexdigest()[:12]


def table_retention(layout: TableLayout, data: pa.Table) -> tuple[int, str]:
    """``(retention_days, category)``: the shortest retention among the columns holding a
    value (anything but null — an empty list counts) in at least one row; if none does, the
    shortest over all columns (fail closed). Ties name the alphabetically first category."""
    if not layout.columns:
        raise ValueError(f"table {layout.table!r} has no columns: cannot derive retention")
    held = [c for c in layout.columns
            if data.column(c.name).null_count < data.num_rows]
    candidates = held or list(layout.columns)
    days = min(int(c.retention_days) for c in candidates)
    category = min(c.category for c in candidates if int(c.retention_days) == days)
    return days, category


def write_table_file(out_dir: str, layout: TableLayout, run: RunInfo, event_date: str | None,
                     data: pa.Table, shard: str, window: str | None = None) -> FileResult:
    """Write ``data`` (the layout's columns, typed as :func:`arrow_schema` says, plus the
    lineage columns; any row order) as one content-named Parquet file of the partition."""
    validate_shard(shard)
    pdir = partition_dir(out_dir, layout.table, event_date, window)
    if data.num_rows == 0:
        raise ValueError("write_partition_file needs at least one row")
    schema = arrow_schema(layout)
    names = [c.name for c in layout.columns]
    data = data.select([*names, SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN])
    rows = list(range(data.num_rows))  # the rows to write: a test hook may leave one out
    point("parquet.rows", table=layout.table, event_date=event_date, rows=rows)
    if len(rows) != data.num_rows:
        data = data.take(pa.array(rows, pa.int64()))
    canon = canonical_rows(data, names)
    keyed = pa.table({"s": data.column(SOURCE_FILE_COLUMN), "l": data.column(SOURCE_LINE_COLUMN),
                      "c": canon})
    order = pc.sort_indices(keyed, sort_keys=[("s", "ascending"), ("l", "ascending"),
                                              ("c", "ascending")])
    data = data.take(order)
    retention = table_retention(layout, data)
    expires = expires_on(event_date, retention[0], run)
    footer_meta = _footer_metadata(layout, run, event_date, retention, expires)
    name = (f"part-{shard}-{_content_name(layout, event_date, canon.take(order), footer_meta)}"
            ".parquet")
    final_path = fs.join(pdir, name)
    check_inside(out_dir, final_path)

    schema = schema.with_metadata(footer_meta)
    table = pa.Table.from_arrays([data.column(i) for i in range(data.num_columns)],
                                 schema=schema)
    digest, writer = write_once(final_path, table_bytes(table), run.run_id)

    counts = pc.value_counts(data.column(SOURCE_FILE_COLUMN).combine_chunks())
    sources = {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}
    rel = partition_relpath(layout.table, PartitionKey(event_date, window)) + "/" + name
    return FileResult(
        path=rel,
        rows=data.num_rows,
        sha256=digest,
        retention_days=retention[0],
        retention_category=retention[1],
        expires_on=expires,
        sources=dict(sorted(sources.items())),
        table=layout.table,
        event_date=event_date,
        window=window,
        run_id=writer,
    )


def table_bytes(table: pa.Table) -> bytes:
    """A table serialized as one Parquet file (zstd), in memory (files hold at most
    ``rows_per_file`` rows)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    return bytes(sink.getvalue().to_pybytes())


def write_once(path: str, data: bytes, run_id: str) -> tuple[str, str]:
    """Write a content-named file with a create-only write; when the name exists, keep the
    object there (same content, see the module doc) after checking it is a readable Parquet
    file of the same table content. Returns ``(sha256 of the object's bytes, run id in its
    footer)``."""
    try:
        fs.write(path, data, fs.CREATE, durable=False)
        return hashlib.sha256(data).hexdigest(), run_id
    except fs.PreconditionFailed:
        pass
    existing = fs.read_bytes(path)
    try:
        meta = pq.read_metadata(pa.BufferReader(existing)).metadata or {}
    except (pa.ArrowException, OSError):
        # not a readable file under a content name (cannot happen: writes are whole): the
        # object is garbage of some other tool; replace it
        fs.write(path, data, None, durable=False)
        return hashlib.sha256(data).hexdigest(), run_id
    writer = meta.get((META_PREFIX + "run_id").encode(), run_id.encode()).decode()
    return hashlib.sha256(existing).hexdigest(), writer


def quarantine_layout(retention_days: int) -> TableLayout:
    """The quarantine table's columns: kept as customer content (its scrubbed text) for
    ``retention_days``."""
    cols = [ColumnSpec(name, "string", cat, cat, action, "quarantine", 1.0, None,
                       retention_days)
            for name, cat, action in (("table", "system_metadata", "keep"),
                                      ("reason", "system_metadata", "keep"),
                                      ("detail", "system_metadata", "keep"),
                                      ("text_scrubbed", "customer_content", "scrub_text"))]
    return TableLayout(QUARANTINE_TABLE, tuple(cols))


def footer(schema: pa.Schema) -> dict[str, str]:
    """A file's telescrub footer keys (``run_id``, ``retention_days``, ...) without prefix."""
    return {k.decode()[len(META_PREFIX):]: v.decode()
            for k, v in (schema.metadata or {}).items()
            if k.decode(errors="replace").startswith(META_PREFIX)}


def field_meta(f: pa.Field) -> dict[str, str]:
    """A column's field metadata (category, action, entity, retention_days, ...)."""
    return {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
