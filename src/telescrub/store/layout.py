"""The output layout, owned here once: every name and path of an output (a local directory or
an ``s3://``/``gs://`` prefix), and how to find its parts in one listing.

    <out>/_manifest.json                                            the output's manifest: the
                                                                    commit point (store.commit)
    <out>/<table>/event_date=YYYY-MM-DD/part-....parquet           batch partition
    <out>/<table>/event_date=YYYY-MM-DD/_manifest.json              its partition manifest
    <out>/<table>/event_date=D/event_window=HHMM/part-....parquet    streaming window partition
    <out>/<table>/event_date=__HIVE_DEFAULT_PARTITION__/            records without a date
    <out>/_quarantine/...                                           unparseable records, scrubbed
    <out>/_report/report.json, index.html, verify.json, streaming.jsonl
    <out>/_audit/purge.jsonl                                        what purge deleted
    <out>/_audit/subject.jsonl                                      what subject erase erased
    <out>/_audit/pending/<action id>.json                           a purge action in flight
    <out>/_runs/<run id>/                                           a batch run's staged manifests
                                                                    and report, until committed
    <out>/_streaming/                                               the streaming driver's state
    <out>/.telescrub.lock                                           the lock object (store.lock)

Every path component that comes from data (table, date, window) is validated before it
reaches a path, and a local path is checked to stay inside the output directory.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from telescrub.store import fs

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
SUBJECT_AUDIT = "subject.jsonl"
STREAMING_DIR = "_streaming"
RUNS_DIR = "_runs"
PENDING_DIR = "pending"
LOCK_NAME = ".telescrub.lock"
#: the output's manifest (at the top of the output) and a partition's have the same name
ROOT_MANIFEST = MANIFEST_NAME
#: top-level directories of an output that are not tables
NOT_TABLES = (REPORT_DIR, AUDIT_DIR, STREAMING_DIR, RUNS_DIR)

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
    path = fs.join(out_dir, *rel.split("/"))
    check_inside(out_dir, path)
    return path


def check_inside(out_dir: str, path: str) -> None:
    """A local path must not leave the output directory through a symlink (object names have
    no links; their components are validated)."""
    if fs.is_url(path):
        fs.relpath(path, out_dir)  # raises when not below
        return
    root = os.path.realpath(out_dir)
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([root, real]) != root:
        raise ValueError(f"output path {path!r} resolves outside the output directory")


def report_path(out: str, name: str = REPORT_NAME) -> str:
    return fs.join(out, REPORT_DIR, name)


def root_manifest_path(out: str) -> str:
    return fs.join(out, ROOT_MANIFEST)


def lock_path(out: str) -> str:
    return fs.join(out, LOCK_NAME)


def audit_path(out: str) -> str:
    return fs.join(out, AUDIT_DIR, PURGE_AUDIT)


def pending_dir(out: str) -> str:
    """Where purge keeps the record of an action in flight (``<action id>.json``)."""
    return fs.join(out, AUDIT_DIR, PENDING_DIR)


def run_dir(out: str, run_id: str) -> str:
    """A batch run's private area: staged partition manifests and the report, published by
    the commit (``telescrub.store.commit``)."""
    if not run_id or not all(c.isalnum() or c in "-_" for c in run_id):
        raise ValueError(f"invalid run id {run_id!r}")
    return fs.join(out, RUNS_DIR, run_id)


def staged_manifest_path(out: str, run_id: str, rel: str) -> str:
    """The staged manifest of partition ``rel`` (``<table>/event_date=...``) in a run's area."""
    return fs.join(run_dir(out, run_id), "partitions", *rel.split("/"), MANIFEST_NAME)


def staged_report_path(out: str, run_id: str) -> str:
    return fs.join(run_dir(out, run_id), REPORT_NAME)


def manifest_path(out: str, rel: str) -> str:
    return fs.join(out, *rel.split("/"), MANIFEST_NAME)


def data_path(out: str, rel: str, name: str) -> str:
    """A file ``name`` listed by the manifest of partition ``rel``."""
    if "/" in name or "\\" in name or name in ("", ".", "..") or name.startswith((".", "_")):
        raise ValueError(f"invalid file name {name!r} in the manifest of {rel}")
    return fs.join(out, *rel.split("/"), name)


def key_of(rel: str) -> PartitionKey:
    """The partition key of a partition path ``<table>/event_date=D[/event_window=HHMM]``."""
    keys = rel_keys(rel)
    date = keys.get(PARTITION_COLUMN)
    return PartitionKey(None if date == NULL_PARTITION else date, keys.get(WINDOW_COLUMN))


def rel_keys(rel: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for part in rel.split("/")[1:]:
        k, _, v = part.partition("=")
        keys[k] = v
    return keys


def valid_partition_rel(rel: str) -> bool:
    """``<table>/event_date=D`` or ``<table>/event_date=D/event_window=HHMM``, every component
    valid (what a manifest names must never reach a path otherwise)."""
    parts = rel.split("/")
    try:
        validate_table(parts[0])
        if len(parts) not in (2, 3) or not parts[1].startswith(PARTITION_COLUMN + "="):
            return False
        date = parts[1].partition("=")[2]
        validate_event_date(None if date == NULL_PARTITION else date)
        if len(parts) == 3:
            k, _, v = parts[2].partition("=")
            if k != WINDOW_COLUMN:
                return False
            validate_window_id(v)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- one listing
@dataclass
class Listing:
    """What one listing of an output holds, sorted into its parts (relative ``/`` paths)."""

    out: str
    entries: dict[str, fs.Entry] = field(default_factory=dict)  # rel path -> entry

    @property
    def partition_manifests(self) -> list[str]:
        """Partitions (``<table>/event_date=...``) holding a ``_manifest.json``."""
        out = []
        for rel in self.entries:
            head, _, name = rel.rpartition("/")
            if name == MANIFEST_NAME and head and valid_partition_rel(head):
                out.append(head)
        return sorted(out)

    def under(self, prefix: str) -> list[str]:
        p = prefix.rstrip("/") + "/"
        return sorted(r for r in self.entries if r.startswith(p))

    def is_empty(self) -> bool:
        return not any(r != LOCK_NAME for r in self.entries)


def list_output(out: str) -> Listing:
    """Every object below ``out``, once."""
    listing = Listing(out)
    for e in fs.list_tree(out):
        listing.entries[fs.relpath(e.path, out)] = e
    return listing


def looks_like_output(names: Iterable[str]) -> bool:
    """Whether relative paths look like a telescrub output (its manifest, report, quarantine
    or audit, or a Hive partition below a table directory)."""
    for rel in names:
        top = rel.split("/", 1)[0]
        if rel == ROOT_MANIFEST or top in (REPORT_DIR, QUARANTINE_TABLE, AUDIT_DIR, RUNS_DIR):
            return True
        parts = rel.split("/")
        if len(parts) >= 3 and parts[1].startswith(PARTITION_COLUMN + "="):
            return True
    return False


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
