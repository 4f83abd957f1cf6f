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
* **File names are content-addressed.** The 12-hex suffix hashes the canonical row data (table,
  event date, column names/types, sorted rows), never the Parquet bytes or the run id, so a
  re-executed step (or a re-run over the same input) produces the same name and overwrites the
  same file. The footer still records the run id, so ``sha256`` of the bytes changes per run.
* **Atomic writes.** Files are written to ``.<name>.tmp-<uuid>`` in the target directory and
  ``os.replace``-d into place. The leading dot keeps a crashed attempt's leftover invisible to
  pyarrow (which skips ``.``/``_`` prefixes) and to ``*.parquet`` globs; :func:`verify_manifest`
  reports leftovers.
* **Local filesystem only.** Writes use ``os`` and ``pyarrow.parquet`` on local paths. GCS/S3
  output needs ``apache_beam.io.filesystems.FileSystems`` (create + rename) later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from telescrub.core.hooks import point
from telescrub.core.records import ScrubbedRecord
from telescrub.core.timeparse import add_days
from telescrub.store.fs import sha256_file

FORMAT_VERSION = "1"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION_COLUMN = "event_date"
MANIFEST_NAME = "_manifest.json"
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

# fullmatch everywhere: with re.match/search, "$" also matches before a trailing "\n".
_TABLE_RE = re.compile(r"[a-z0-9_]{1,64}", re.ASCII)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_SHARD_RE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
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


class CoercionError(ValueError):
    """A value cannot be stored in its column without losing it. Never carries the value."""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_table(table: object) -> str:
    if not isinstance(table, str) or not _TABLE_RE.fullmatch(table):
        raise ValueError(f"invalid table name {table!r}: must match ^[a-z0-9_]{{1,64}}$")
    return table


def validate_event_date(event_date: object) -> str | None:
    if event_date is None:
        return None
    if not isinstance(event_date, str) or not _DATE_RE.fullmatch(event_date):
        raise ValueError(f"invalid event_date {event_date!r}: must be YYYY-MM-DD or None")
    try:
        dt.date.fromisoformat(event_date)
    except ValueError:
        raise ValueError(f"invalid event_date {event_date!r}: not a real date") from None
    return event_date


def validate_shard(shard: object) -> str:
    if not isinstance(shard, str) or not _SHARD_RE.fullmatch(shard):
        raise ValueError(f"invalid shard {shard!r}: must match ^[A-Za-z0-9_-]{{1,64}}$")
    return shard


def partition_dirname(event_date: str | None) -> str:
    """``event_date=YYYY-MM-DD``, or the Hive null partition for ``None``."""
    value = validate_event_date(event_date)
    return f"{PARTITION_COLUMN}={NULL_PARTITION if value is None else value}"


def partition_dir(out_dir: str, table: str, event_date: str | None) -> str:
    """The validated partition directory; raises ValueError if it would leave ``out_dir``."""
    path = os.path.join(out_dir, validate_table(table), partition_dirname(event_date))
    _check_inside(out_dir, path)
    return path


def _check_inside(out_dir: str, path: str) -> None:
    root = os.path.realpath(out_dir)
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([root, real]) != root:
        raise ValueError(f"output path {path!r} resolves outside the output directory")


def hive_partitioning() -> ds.Partitioning:
    """Explicit partitioning for ``pyarrow.dataset.dataset`` (works even with only nulls)."""
    return ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.date32())]), flavor="hive")


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


def _atomic_write(final_path: str, write: Any) -> None:
    directory, name = os.path.split(final_path)
    tmp = os.path.join(directory, f".{name}.tmp-{uuid.uuid4().hex}")
    try:
        write(tmp)
        os.replace(tmp, final_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


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
) -> FileResult:
    """Write ``rows`` (all of ``layout.table`` and ``event_date``) as one Parquet file.

    Deterministic: rows are sorted by (source, line) and the file name hashes the canonical
    row data, so writing the same rows again overwrites the same file. Raises ValueError for
    invalid path components, rows of another table/date, fields without a column, or values
    that do not fit their column — before anything is written.
    """
    validate_shard(shard)
    pdir = partition_dir(out_dir, layout.table, event_date)
    rows = list(rows)
    point("parquet.rows", table=layout.table, event_date=event_date, rows=rows)
    if not rows:
        raise ValueError("write_partition_file needs at least one row")
    schema = arrow_schema(layout)
    names = [c.name for c in layout.columns]
    known = set(names)

    prepared: list[tuple[str, int, list[Any]]] = []
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
        values = []
        for col in layout.columns:
            try:
                values.append(coerce(row.fields.get(col.name), col.arrow_type))
            except CoercionError as exc:
                raise CoercionError(
                    f"{row.source}:{row.line} column {col.name!r} ({col.arrow_type}): {exc}"
                ) from None
        prepared.append((str(row.source), int(row.line), values))
    prepared.sort(key=lambda r: (r[0], r[1], _canonical(r[2])))

    content = hashlib.sha256()
    content.update(
        _canonical(
            {
                "format": FORMAT_VERSION,
                "table": layout.table,
                "event_date": event_date,
                "columns": [[c.name, c.arrow_type] for c in layout.columns],
            }
        ).encode()
    )
    for src, line, values in prepared:
        content.update(b"\n" + _canonical([src, line, values]).encode())
    name = f"part-{shard}-{content.hexdigest()[:12]}.parquet"
    final_path = os.path.join(pdir, name)
    _check_inside(out_dir, final_path)

    retention = partition_retention(layout, rows)
    expires = expires_on(event_date, retention[0], run)
    arrays = [
        pa.array([r[2][i] for r in prepared], type=schema.field(i).type) for i in range(len(names))
    ]
    arrays.append(pa.array([r[0] for r in prepared], type=pa.string()))
    arrays.append(pa.array([r[1] for r in prepared], type=pa.int64()))
    schema = schema.with_metadata(_footer_metadata(layout, run, event_date, retention, expires))
    table = pa.Table.from_arrays(arrays, schema=schema)

    os.makedirs(pdir, exist_ok=True)
    _atomic_write(final_path, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION))

    sources: dict[str, int] = {}
    for src, _line, _values in prepared:
        sources[src] = sources.get(src, 0) + 1
    rel = "/".join([layout.table, partition_dirname(event_date), name])
    return FileResult(
        path=rel,
        rows=len(prepared),
        sha256=sha256_file(final_path),
        retention_days=retention[0],
        retention_category=retention[1],
        expires_on=expires,
        sources=dict(sorted(sources.items())),
        table=layout.table,
        event_date=event_date,
    )


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------


def write_manifest(
    out_dir: str,
    table: str,
    event_date: str | None,
    files: Sequence[FileResult],
    run: RunInfo,
) -> dict[str, Any]:
    """Write ``<partition dir>/_manifest.json`` atomically and return its content.

    The partition's retention is the shortest over its files (the category of that file; ties
    name the alphabetically first category). The manifest replaces any earlier one: it lists
    the files of this run only.
    """
    pdir = partition_dir(out_dir, table, event_date)
    if not files:
        raise ValueError("write_manifest needs at least one file")
    prefix = "/".join([table, partition_dirname(event_date)]) + "/"
    entries: list[dict[str, Any]] = []
    for f in files:
        if not f.path.startswith(prefix) or "/" in f.path[len(prefix) :]:
            raise ValueError(f"file {f.path!r} is not in partition {prefix!r}")
        entries.append({"path": f.path[len(prefix) :], "rows": f.rows, "sha256": f.sha256})
    entries.sort(key=lambda e: e["path"])
    if len({e["path"] for e in entries}) != len(entries):
        raise ValueError(f"duplicate file names in manifest for {prefix!r}")
    days = min(f.retention_days for f in files)
    category = min(f.retention_category for f in files if f.retention_days == days)
    manifest: dict[str, Any] = {
        "table": table,
        "event_date": event_date,
        "run_id": run.run_id,
        "files": entries,
        "rows": sum(f.rows for f in files),
        "retention_days": days,
        "expires_on": expires_on(event_date, days, run),
        "retention_category": category,
        "policy_version": run.policy_version,
        "policy_hash": run.policy_hash,
        "key_id": run.key_id,
        "format_version": FORMAT_VERSION,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    os.makedirs(pdir, exist_ok=True)
    _atomic_write(os.path.join(pdir, MANIFEST_NAME), _write)
    point("manifest.written", table=table, event_date=event_date)
    return manifest


def read_manifest(partition_dir: str) -> dict[str, Any]:
    with open(os.path.join(partition_dir, MANIFEST_NAME), encoding="utf-8") as fh:
        manifest: dict[str, Any] = json.load(fh)
    return manifest


def verify_manifest(partition_dir: str) -> list[str]:
    """Problems with a partition directory against its manifest; empty list = consistent.

    Reports: missing/unreadable manifest, listed files that are missing, parquet files not in
    the manifest, per-file row count or sha256 mismatches, a total row count that does not
    add up, and leftover temporary files of interrupted writes.
    """
    try:
        manifest = read_manifest(partition_dir)
    except FileNotFoundError:
        return [f"missing manifest {MANIFEST_NAME}"]
    except (OSError, ValueError) as exc:
        return [f"unreadable manifest: {exc}"]
    problems: list[str] = []
    listed: dict[str, Mapping[str, Any]] = {}
    for entry in manifest.get("files", []):
        listed[str(entry.get("path"))] = entry
    present = set(os.listdir(partition_dir))
    for name, entry in sorted(listed.items()):
        path = os.path.join(partition_dir, name)
        if os.path.basename(name) != name or name not in present:
            problems.append(f"missing file {name}")
            continue
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as exc:  # unreadable Parquet is a problem to report, not to raise
            problems.append(f"unreadable parquet {name}: {exc}")
            rows = None
        if rows is not None and rows != entry.get("rows"):
            problems.append(f"row count mismatch {name}: manifest {entry.get('rows')}, file {rows}")
        if sha256_file(path) != entry.get("sha256"):
            problems.append(f"sha256 mismatch {name}")
    for name in sorted(present):
        if name.startswith(".") and ".tmp-" in name:
            problems.append(f"leftover temporary file {name}")
        elif name.endswith(".parquet") and name not in listed:
            problems.append(f"extra file not in manifest {name}")
    total = sum(int(e.get("rows", 0)) for e in listed.values())
    if manifest.get("rows") != total:
        problems.append(f"total rows mismatch: manifest {manifest.get('rows')}, files {total}")
    return problems
