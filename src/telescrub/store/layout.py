"""The output layout, owned here once: every name and path of an output directory, and how
to find the tables and partitions in one.

    <out>/<table>/event_date=YYYY-MM-DD/part-....parquet           batch partition
    <out>/<table>/event_date=YYYY-MM-DD/_manifest.json
    <out>/<table>/event_date=D/event_window=HHMM/part-....parquet    streaming window partition
    <out>/<table>/event_date=__HIVE_DEFAULT_PARTITION__/            records without a date
    <out>/_quarantine/...                                           unparseable records, scrubbed
    <out>/_report/report.json, index.html, verify.json, streaming.jsonl
    <out>/_audit/purge.jsonl                                        what purge deleted
    <out>/_audit/subject.jsonl                                      what subject erase erased
    <out>/_streaming/                                               the streaming driver's state
    <out>/.purge/, .purge-intent.json                               an interrupted purge
    <out>/.subject/, .subject-intent.json                           an interrupted erasure

Every path component that comes from data (table, date, window) is validated before it
reaches a path, and a path is checked to stay inside the output directory.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any, NamedTuple

PARTITION_COLUMN = "event_date"
WINDOW_COLUMN = "event_window"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
MANIFEST_NAME = "_manifest.json"
QUARANTINE_TABLE = "_quarantine"
REPORT_DIR = "_report"
REPORT_NAME = "report.json"
HTML_NAME = "index.html"
VERIFY_NAME = "verify.json"
ROLLING_REPORT = f"{REPORT_DIR}/streaming.jsonl"
AUDIT_DIR = "_audit"
PURGE_AUDIT = "purge.jsonl"
STREAMING_DIR = "_streaming"
PURGE_WORKDIR = ".purge"
PURGE_INTENT = ".purge-intent.json"
SUBJECT_AUDIT = "subject.jsonl"
SUBJECT_WORKDIR = ".subject"
SUBJECT_INTENT = ".subject-intent.json"
#: top-level directories of an output that are not tables
NOT_TABLES = (REPORT_DIR, AUDIT_DIR, STREAMING_DIR)

# fullmatch everywhere: with re.match/search, "$" also matches before a trailing "\n".
_TABLE_RE = re.compile(r"[a-z0-9_]{1,64}", re.ASCII)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_SHARD_RE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_WINDOW_RE = re.compile(r"(?:[01][0-9]|2[0-3])[0-5][0-9]", re.ASCII)


class PartitionKey(NamedTuple):
    """Where rows go below their table: the event date (None: the null partition) and, for
    streaming, the window's ``HHMM`` start. The partitioner of a writer makes these."""

    event_date: str | None
    window: str | None = None


# ----------------------------------------------------------------------------- validation
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


def validate_window_id(value: object) -> str:
    """``HHMM`` with 00 <= HH < 24 and 00 <= MM < 60; nothing else reaches a path."""
    if not isinstance(value, str) or not _WINDOW_RE.fullmatch(value):
        raise ValueError(f"invalid window id {value!r}: must be HHMM (UTC window start)")
    return value


# ----------------------------------------------------------------------------------- paths
def partition_dirname(event_date: str | None) -> str:
    """``event_date=YYYY-MM-DD``, or the Hive null partition for ``None``."""
    value = validate_event_date(event_date)
    return f"{PARTITION_COLUMN}={NULL_PARTITION if value is None else value}"


def window_dirname(wid: str) -> str:
    return f"{WINDOW_COLUMN}={validate_window_id(wid)}"


def partition_relpath(table: str, key: PartitionKey) -> str:
    """``<table>/event_date=.../[event_window=HHMM]``, "/"-separated, validated."""
    parts = [validate_table(table), partition_dirname(key.event_date)]
    if key.window is not None:
        parts.append(window_dirname(key.window))
    return "/".join(parts)


def partition_dir(out_dir: str, table: str, event_date: str | None,
                  window: str | None = None) -> str:
    """The validated partition directory; raises ValueError if it would leave ``out_dir``."""
    rel = partition_relpath(table, PartitionKey(event_date, window))
    path = os.path.join(out_dir, *rel.split("/"))
    check_inside(out_dir, path)
    return path


def check_inside(out_dir: str, path: str) -> None:
    root = os.path.realpath(out_dir)
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([root, real]) != root:
        raise ValueError(f"output path {path!r} resolves outside the output directory")


def report_path(out: str, name: str = REPORT_NAME) -> str:
    return os.path.join(out, REPORT_DIR, name)


def hive_partitioning() -> Any:
    """Explicit partitioning for ``pyarrow.dataset.dataset`` (works even with only nulls)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.date32())]), flavor="hive")


def streaming_partitioning() -> Any:
    """Explicit Hive partitioning for ``pyarrow.dataset`` over a streaming table."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.date32()),
                                      (WINDOW_COLUMN, pa.string())]), flavor="hive")


# ------------------------------------------------------------------------------- discovery
def find_tables(out: str) -> dict[str, str]:
    """``{table: directory}`` for every table directory (``_quarantine`` included)."""
    tables: dict[str, str] = {}
    try:
        entries = sorted(os.listdir(out))
    except OSError:
        return tables
    for name in entries:
        path = os.path.join(out, name)
        if name.startswith(".") or name in NOT_TABLES or not os.path.isdir(path):
            continue
        if any(e.startswith(PARTITION_COLUMN + "=") for e in os.listdir(path)):
            tables[name] = path
    return tables


def _is_partition_name(name: str) -> bool:
    """A Hive ``key=value`` directory name (``event_date=...``, ``event_window=...``)."""
    return "=" in name and not name.startswith((".", "_"))


def _hive_subdirs(path: str) -> list[str]:
    return sorted(os.path.join(path, e) for e in os.listdir(path)
                  if _is_partition_name(e) and os.path.isdir(os.path.join(path, e)))


def _holds_partition_files(path: str) -> bool:
    """True when ``path`` holds a partition's own content: Parquet files, a manifest, a purge
    or erasure journal or leftovers of an interrupted write."""
    for e in os.listdir(path):
        if e in (MANIFEST_NAME, PURGE_INTENT, SUBJECT_INTENT) or (
                e.startswith(".") and ".tmp-" in e):
            return True
        if e.endswith(".parquet") and os.path.isfile(os.path.join(path, e)):
            return True
    return False


def partition_dirs(table_dir: str) -> list[str]:
    """Every partition directory of a table: a directory holding the Parquet files and their
    ``_manifest.json``, at any depth below ``<table>/event_date=...`` (batch:
    ``event_date=D``; streaming: ``event_date=D/event_window=HHMM``). A directory without
    Hive sub-directories is a partition even when empty (it then lacks its manifest); one with
    sub-directories is only a level of the layout, unless it also holds files itself (see
    :func:`nested_partitions`)."""
    found: list[str] = []

    def walk(path: str) -> None:
        subs = _hive_subdirs(path)
        if not subs or _holds_partition_files(path):
            found.append(path)
        for sub in subs:
            walk(sub)

    for top in sorted(os.path.join(table_dir, e) for e in os.listdir(table_dir)
                      if e.startswith(PARTITION_COLUMN + "=")
                      and os.path.isdir(os.path.join(table_dir, e))):
        walk(top)
    return sorted(found)


def nested_partitions(pdir: str) -> list[str]:
    """Hive sub-directories of a partition directory (a mixed layout: a partition must not
    hold further partitions, deleting or swapping it would take them along)."""
    return _hive_subdirs(pdir)


def parquet_files(pdir: str) -> list[str]:
    return sorted(os.path.join(pdir, e) for e in os.listdir(pdir)
                  if e.endswith(".parquet") and not e.startswith((".", "_")))


def partition_keys(pdir: str) -> dict[str, str]:
    """The Hive keys of a partition directory's path, outermost first (``event_date`` and, in
    a streaming output, ``event_window``)."""
    keys: dict[str, str] = {}
    parts = os.path.normpath(pdir).split(os.sep)
    start = max((i for i, p in enumerate(parts) if p.startswith(PARTITION_COLUMN + "=")),
                default=len(parts))
    for part in parts[start:]:
        k, _, v = part.partition("=")
        keys[k] = v
    return keys


def partition_event_date(pdir: str) -> str | None:
    """The event date of a partition directory (``None``: the null partition), taken from the
    ``event_date=`` component of its path, wherever it sits."""
    value = partition_keys(pdir).get(PARTITION_COLUMN)
    if value is None:
        raise ValueError(f"{pdir} is not below an {PARTITION_COLUMN}= directory")
    return None if value == NULL_PARTITION else value
