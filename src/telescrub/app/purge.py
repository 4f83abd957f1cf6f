"""``telescrub purge OUT [--as-of DATE] [--dry-run]``: enforce retention on an output directory.

What expires
------------
Every data column carries its own ``retention_days`` (field metadata: the retention of the
category it holds *after* its action); lineage columns (``_source_file``, ``_source_line``)
carry none. A partition's retention is the shortest among the columns that hold data (DESIGN
§4); its ``expires_on`` (file footers, manifest) is therefore the date of its *next* retention
action. With ``base`` = the partition's event date (for the null partition: the run's date,
i.e. ``expires_on - retention_days``), a column has expired when
``base + column retention_days <= as_of``. For each partition, purge then:

* **deletes the partition** when no column holding data outlives ``as_of`` (the usual case: all
  columns share one retention), or when its ``expires_on`` has passed but no column explains it
  (metadata without column retention: the stated expiry wins, deletion is the safe side);
* **rewrites the partition without the expired columns** when some columns holding data have
  expired and others have not (e.g. a clear-EUII column kept 1 day in a partition of 28-day
  columns). The footers and the manifest get the retention, category and ``expires_on`` of the
  remaining columns (computed like the writer does: per file, the shortest retention among the
  columns holding data there; the manifest takes the shortest over its files), new sha256s,
  and ``purged_columns``;
* leaves it alone otherwise (an expired column that is empty in this partition holds nothing).

Every action appends one JSON line to ``<out>/_audit/purge.jsonl``: what (table, partition,
columns), when, why (the dates that made it due), rows, file checksums before and after,
``as_of`` and ``dry_run``; each run ends with a ``run`` summary line. A second purge with the same
date finds nothing to do and only logs its no-op summary. ``--dry-run`` changes no data: it
logs the actions it would take with ``dry_run: true``.

Partitions
----------
A partition is a directory holding Parquet files and their ``_manifest.json``, at any depth
below a table directory (:func:`telescrub.app.verify.partition_dirs`): ``<table>/event_date=<D>`` in
a batch output, ``<table>/event_date=<D>/event_window=<HHMM>`` in a streaming one (the date
directory is then only a level of the layout). Everything below applies to either: the event
date is the ``event_date=`` component of the path, ``P`` is the partition directory, and its
name in the work area, ``<P>``, is its path below the table directory with ``/`` quoted
(``event_date=D`` or ``event_date=D%2Fevent_window=HHMM``; :func:`work_name`). Audit records
give ``partition`` as that path (and ``event_window`` for a window). A deletion that empties a
streaming date directory removes it (and the table directory once empty), and so does
recovery. A directory holding files *and* partition sub-directories is skipped (reported): it
cannot be swapped or moved without taking the others along.

Crash safety: the protocol
--------------------------
Readers (pyarrow, DuckDB with ``event_date=*`` globs) see a partition through its directory
``<out>/<table>/event_date=<D>[/event_window=<HHMM>]``. Purge never edits files inside a
visible partition; it swaps or moves whole directories with single ``rename`` calls (within one
filesystem, whatever the depth), and keeps its work under ``<out>/.purge/`` (hidden, outside
every table directory). A *journal record* (``.purge-intent.json``, the audit
record to be written) travels with the directory it describes. Steps, each followed by the named
crash-test hook (see below):

Delete partition ``P``:

1. write the record to ``P/.purge-intent.json`` (atomic: temp file + rename) — ``delete-intent``
2. ``rename(P, .purge/<table>/purging-<P>)``: P disappears at once — ``delete-renamed``
3. append the record to the audit log — ``delete-audited``
4. remove ``.purge/<table>/purging-<P>`` — ``delete-removed``

Rewrite partition ``P`` without columns:

1. create ``.purge/<table>/staged-<P>``, write a first intent, the new files (full names, they
   are hidden in the work area), the new ``_manifest.json``, then the final intent (with the
   new checksums); fsync — ``rewrite-staging-file`` after each file, ``rewrite-staged``
2. exchange ``P`` and ``staged-<P>`` with one ``renameat2(RENAME_EXCHANGE)``: P now holds the
   new files and manifest (and the intent), ``staged-<P>`` the old ones — ``rewrite-swapped``.
   Where the filesystem cannot exchange (non-Linux, or ``TELESCRUB_PURGE_NO_EXCHANGE=1``):
   ``rename(P, replaced-<P>)`` — ``rewrite-old-moved`` — then ``rename(staged-<P>, P)``;
   only here a reader can briefly find P missing (never mixed), and recovery completes it.
3. append the record to the audit log — ``rewrite-audited``
4. remove the old content — ``rewrite-cleaned``; remove ``P/.purge-intent.json`` —
   ``rewrite-done``

Recovery (at the start of every purge that is not a dry run) makes each interrupted partition
old or new for good, then audits what was done:

* ``purging-<P>``: the deletion happened (P is gone): log its intent if the audit lacks it,
  remove the directory.
* ``replaced-<P>`` (fallback mode): if P is missing, ``rename(staged-<P>, P)`` (roll forward);
  then remove ``replaced-<P>``.
* ``staged-<P>`` holding an intent: the exchange never happened — remove it (roll back: P is old,
  and this run decides again). Without an intent: it holds P's old content after the exchange —
  remove it.
* a visible ``P/.purge-intent.json``: a ``delete_partition`` intent means step 2 never happened
  (roll back: drop the intent); a ``drop_columns`` intent means P is new: log it if the audit
  lacks it, drop the intent.
* leftover temporary files (``.*.tmp-*``) are removed; so are partition-level directories
  left empty below a table (a streaming date directory whose last window was being deleted).

Each recovery appends a ``recover`` audit line. Intents are matched to audit lines by
``action_id``, so an action is logged exactly once (a torn last audit line is skipped on read).

Test hook: ``TELESCRUB_PURGE_CRASH_AFTER=<step>[@<n>]`` makes purge ``os._exit(1)`` right after
the n-th (default first) occurrence of ``<step>``; :data:`CRASH_STEPS` lists the names.

Readers note: after a column purge the partitions of one table no longer share one schema.
pyarrow takes the schema of the first file it sees unless given one
(``ds.dataset(path, partitioning=hive_partitioning(), schema=pa.unify_schemas(...))``); DuckDB
needs ``union_by_name=true``. Files never gain columns, so a missing column reads as NULL.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from telescrub.core.errors import TelescrubError
from telescrub.store import parquet as po
from telescrub.store.audit import Audit
from telescrub.store.fs import exchange_dirs, fsync_dir, read_json, sha256_file, write_json_atomic
from telescrub.store.layout import (
    AUDIT_DIR,
    MANIFEST_NAME,
    PURGE_AUDIT,
    PURGE_INTENT,
    PURGE_WORKDIR,
    find_tables,
    nested_partitions,
    parquet_files,
    partition_dirs,
    partition_event_date,
)
from telescrub.store.manifest import verify_manifest
from telescrub.store.parquet import field_meta, footer

log = logging.getLogger("telescrub")

AUDIT_NAME = PURGE_AUDIT
WORK_DIR = PURGE_WORKDIR
INTENT_NAME = PURGE_INTENT
CRASH_ENV = "TELESCRUB_PURGE_CRASH_AFTER"
NO_EXCHANGE_ENV = "TELESCRUB_PURGE_NO_EXCHANGE"
AUDIT_VERSION = 1
CRASH_STEPS = ("delete-intent", "delete-renamed", "delete-audited", "delete-removed",
               "rewrite-staging-file", "rewrite-staged", "rewrite-old-moved", "rewrite-swapped",
               "rewrite-audited", "rewrite-cleaned", "rewrite-done", "recovered")
_PART_NAME = re.compile(r"part-(.+)-[0-9a-f]{12}\.parquet")
_step_counts: dict[str, int] = {}


def _step(name: str) -> None:
    """Crash-test hook: exit abruptly after step ``name`` when the environment asks for it."""
    want = os.environ.get(CRASH_ENV)
    if not want:
        return
    target, _, nth = want.partition("@")
    if target != name:
        return
    _step_counts[name] = _step_counts.get(name, 0) + 1
    if _step_counts[name] == (int(nth) if nth else 1):
        sys.stdout.flush()
        os._exit(1)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")










def _exchange(a: str, b: str) -> bool:
    """Atomically swap two directories (:func:`telescrub.store.fs.exchange_dirs`); False where
    unsupported or turned off by ``TELESCRUB_PURGE_NO_EXCHANGE``."""
    if os.environ.get(NO_EXCHANGE_ENV):
        return False
    return exchange_dirs(a, b)


# ------------------------------------------------------------------------------------ audit


# ``Audit`` (the append-only, fsynced log) lives in telescrub.store.audit, shared with
# ``telescrub subject``; imported above and still importable from here.


# --------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    category: str
    retention_days: int


@dataclass
class Plan:
    action: str  # "delete_partition" | "drop_columns"
    table: str
    pdir: str
    rel: str  # table/event_date=...
    why: str
    rows: int
    manifest: dict[str, Any] | None
    base: dt.date
    drop: list[ColumnInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fallback_days: int = 0  # retention of a data column without its own (the partition's)


def work_name(out: str, table: str, pdir: str) -> str:
    """A partition's name in ``.purge/<table>/``: its path below the table directory, with
    ``/`` quoted (``event_date=D`` as before, ``event_date=D%2Fevent_window=HHMM`` for a
    streaming window: unique per table, one flat level, reversible by :func:`work_path`)."""
    rel = os.path.relpath(pdir, os.path.join(out, table)).replace(os.sep, "/")
    return urllib.parse.quote(rel, safe="=")


def work_path(name: str) -> str:
    """The partition path below the table directory named by :func:`work_name`'s result."""
    rel = urllib.parse.unquote(name)
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise TelescrubError(f"{WORK_DIR}: {name!r} does not name a partition")
    return os.path.join(*parts)


def _prune_tree(table_dir: str) -> None:
    """Remove the empty partition-level directories below a table directory (a streaming
    date directory left empty when a purge stopped between deleting its last window and
    removing the directory); the table directory itself stays."""
    if not os.path.isdir(table_dir):
        return
    for path, _dirs, _files in os.walk(table_dir, topdown=False):
        if path != table_dir and "=" in os.path.basename(path) and not os.listdir(path):
            with contextlib.suppress(OSError):
                os.rmdir(path)


def _prune_empty(out: str, table: str, start: str) -> None:
    """Remove ``start`` and its parents up to the table directory (included) while empty: a
    streaming date directory whose last window went, the table directory once empty."""
    top = os.path.abspath(os.path.join(out, table))
    path = os.path.abspath(start)
    while path == top or path.startswith(top + os.sep):
        try:
            os.rmdir(path)
        except OSError:
            return
        path = os.path.dirname(path)


def _footer(path: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    import pyarrow.parquet as pq


    schema = pq.read_schema(path)
    return footer(schema), [(f.name, field_meta(f)) for f in schema]


def _is_data_column(name: str, meta: dict[str, str]) -> bool:
    return name not in po.SYSTEM_COLUMNS and meta.get("category") != po.SYSTEM_CATEGORY


def _columns(files: list[str], fallback_days: int) -> dict[str, ColumnInfo]:
    cols: dict[str, ColumnInfo] = {}
    for path in files:
        for name, meta in _footer(path)[1]:
            if not _is_data_column(name, meta):
                continue
            try:
                days = int(meta.get("retention_days", ""))
            except ValueError:
                days = fallback_days  # no own retention: the partition's
            prev = cols.get(name)
            if prev is None or days < prev.retention_days:
                cols[name] = ColumnInfo(name, meta.get("category", ""), days)
    return cols


def _holding(files: list[str], names: Iterable[str]) -> set[str]:
    """Columns (of ``names``) holding a non-null value in at least one row of ``files``."""
    import pyarrow.parquet as pq

    held: set[str] = set()
    for path in files:
        present = set(pq.read_schema(path).names)
        wanted = [n for n in names if n in present and n not in held]
        if not wanted:
            continue
        t = pq.read_table(path, columns=wanted, partitioning=None)
        held.update(n for n in wanted if t.column(n).null_count < t.num_rows)
    return held


def plan_partition(out: str, table: str, pdir: str, as_of: dt.date) -> Plan | None:
    """What purge does to one partition as of ``as_of`` (None: nothing)."""
    rel = os.path.relpath(pdir, out)
    nested = nested_partitions(pdir)
    if nested:
        raise TelescrubError(f"it holds files and the partition directory "
                             f"{os.path.basename(nested[0])}: purging it would take that along")
    files = parquet_files(pdir)
    manifest = read_json(os.path.join(pdir, MANIFEST_NAME))
    problems = verify_manifest(pdir)
    if not files and manifest is None:
        return None
    try:
        if manifest is not None:
            exp = dt.date.fromisoformat(str(manifest["expires_on"]))
            days = int(manifest["retention_days"])
            category = str(manifest.get("retention_category"))
        else:
            footers = [_footer(f)[0] for f in files]
            best = min(footers, key=lambda m: m["expires_on"])
            exp = dt.date.fromisoformat(best["expires_on"])
            days = int(best["retention_days"])
            category = best.get("retention_category", "")
    except (KeyError, ValueError) as exc:
        raise TelescrubError(f"no usable expiry in manifest or footers ({exc})") from None
    event_date = partition_event_date(pdir)
    base = (exp - dt.timedelta(days=days) if event_date is None
            else dt.date.fromisoformat(event_date))
    cols = _columns(files, days)
    expired = {n: c for n, c in cols.items()
               if base + dt.timedelta(days=c.retention_days) <= as_of}
    due = exp <= as_of
    if not due and not expired:
        return None
    holding = _holding(files, cols)
    if not due and not (set(expired) & holding):
        return None  # only columns that hold nothing here have expired
    rows = int(manifest.get("rows", 0)) if manifest else sum(_rows(f) for f in files)
    live = holding - set(expired)
    if not live or not expired:
        why = (f"expires_on {exp} <= as_of {as_of} (retention {days} d, {category})"
               + ("; no column with data outlives it" if expired else ""))
        return Plan("delete_partition", table, pdir, rel, why, rows, manifest, base,
                    problems=problems)
    drop = sorted(expired.values(), key=lambda c: c.name)
    why = "; ".join(f"column {c.name} ({c.category}, {c.retention_days} d) expired "
                    f"{base + dt.timedelta(days=c.retention_days)}" for c in drop)
    why += f" <= as_of {as_of}; {len(live)} column(s) with data remain"
    return Plan("drop_columns", table, pdir, rel, why, rows, manifest, base, drop, problems,
                fallback_days=days)


# ------------------------------------------------------------------------------- executing


def _record(plan: Plan, as_of: dt.date, dry_run: bool) -> dict[str, Any]:
    m = plan.manifest or {}
    msha = None
    mpath = os.path.join(plan.pdir, MANIFEST_NAME)
    if os.path.exists(mpath):
        msha = sha256_file(mpath)
    files_before = [{"path": os.path.basename(f), "rows": _rows(f), "sha256": sha256_file(f)}
                    for f in parquet_files(plan.pdir)]
    return {
        "audit_version": AUDIT_VERSION, "action_id": uuid.uuid4().hex, "action": plan.action,
        "at": _now(), "as_of": as_of.isoformat(), "dry_run": dry_run,
        "tool": "telescrub purge", "table": plan.table,
        # the partition's path below its table: event_date=D, or event_date=D/event_window=HHMM
        "partition": os.path.relpath(plan.rel, plan.table).replace(os.sep, "/"),
        "path": plan.rel, "event_date": m.get("event_date"),
        **({"event_window": m["event_window"]} if "event_window" in m else {}),
        "run_id": m.get("run_id"),
        "key_id": m.get("key_id"), "policy_hash": m.get("policy_hash"),
        "why": plan.why, "rows": plan.rows,
        "retention_days_before": m.get("retention_days"),
        "retention_category_before": m.get("retention_category"),
        "expires_on_before": m.get("expires_on"),
        "columns_dropped": [{"name": c.name, "category": c.category,
                             "retention_days": c.retention_days,
                             "expired_on": (plan.base + dt.timedelta(days=c.retention_days))
                             .isoformat()} for c in plan.drop],
        "files_before": files_before, "manifest_sha256_before": msha,
        "files_after": [], "manifest_sha256_after": None,
        "manifest_problems": plan.problems,
    }


def _rows(path: str) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


def _work(out: str, table: str) -> str:
    path = os.path.join(out, WORK_DIR, table)
    os.makedirs(path, exist_ok=True)
    return path


def _delete(out: str, plan: Plan, rec: dict[str, Any], audit: Audit) -> None:
    write_json_atomic(os.path.join(plan.pdir, INTENT_NAME), rec)
    _step("delete-intent")
    target = os.path.join(_work(out, plan.table),
                          "purging-" + work_name(out, plan.table, plan.pdir))
    os.rename(plan.pdir, target)
    fsync_dir(os.path.dirname(plan.pdir))
    _step("delete-renamed")
    audit.append(rec)
    _step("delete-audited")
    shutil.rmtree(target)
    _step("delete-removed")
    # the date directory of a streaming window once empty, the table directory once empty
    _prune_empty(out, plan.table, os.path.dirname(plan.pdir))


def _new_name(old: str, dropped: list[str]) -> str:
    m = _PART_NAME.fullmatch(old)
    shard = m.group(1) if m else "purged"
    digest = hashlib.sha256((old + "\0" + "\0".join(sorted(dropped))).encode()).hexdigest()
    return f"part-{shard}-{digest[:12]}.parquet"


def _file_retention(table: Any, names: list[str], fallback_days: int) -> tuple[int, str]:
    """Like parquet_out.partition_retention, on an Arrow table: shortest retention among the
    data columns holding a value (all data columns if none does)."""
    cols = []
    for name in names:
        f = table.schema.field(name)
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        if not _is_data_column(name, meta):
            continue
        try:
            days = int(meta.get("retention_days", ""))
        except ValueError:
            days = fallback_days
        cols.append((days, meta.get("category", ""), table.column(name).null_count
                     < table.num_rows))
    candidates = [c for c in cols if c[2]] or cols
    if not candidates:
        raise ValueError("no data column with a retention remains")
    days = min(c[0] for c in candidates)
    return days, min(c[1] for c in candidates if c[0] == days)


def _manifest_entry(e: dict[str, Any], base: dt.date) -> dict[str, Any]:
    """A rewritten file's manifest entry: path, rows, sha256, plus the old entry's other keys
    (retention keys, where the old entry had them, with the new values)."""
    entry = {k: v for k, v in e["old"].items() if k not in ("path", "rows", "sha256")}
    new = {"retention_days": e["retention_days"],
           "retention_category": e["retention_category"],
           "expires_on": (base + dt.timedelta(days=e["retention_days"])).isoformat()}
    entry.update({k: v for k, v in new.items() if k in entry})
    entry.update(path=e["path"], rows=e["rows"], sha256=e["sha256"])
    return entry


def _rewrite(out: str, plan: Plan, rec: dict[str, Any], audit: Audit) -> None:
    import pyarrow.parquet as pq

    dropped = [c.name for c in plan.drop]
    pname = work_name(out, plan.table, plan.pdir)
    work = _work(out, plan.table)
    staged = os.path.join(work, "staged-" + pname)
    if os.path.exists(staged):
        shutil.rmtree(staged)
    os.makedirs(staged)
    write_json_atomic(os.path.join(staged, INTENT_NAME), rec)  # marks "not swapped yet"
    now = _now()
    entries = []
    # per-file keys of the old manifest beyond path/rows/sha256 (a streaming window's: the
    # launch, pane and batch that wrote the file, its retention) carry over to the new file
    old_entries = {str(e.get("path")): e for e in (plan.manifest or {}).get("files", [])
                   if isinstance(e, dict)}
    for path in parquet_files(plan.pdir):
        data = pq.read_table(path, partitioning=None)
        keep = [n for n in data.column_names if n not in dropped]
        new = data.select(keep)
        days, category = _file_retention(new, keep, plan.fallback_days)
        meta = {k.decode(): v.decode() for k, v in (data.schema.metadata or {}).items()}
        previous = json.loads(meta.get(po.META_PREFIX + "purged_columns", "[]") or "[]")
        meta.update({
            po.META_PREFIX + "retention_days": str(days),
            po.META_PREFIX + "retention_category": category,
            po.META_PREFIX + "expires_on": (plan.base + dt.timedelta(days=days)).isoformat(),
            po.META_PREFIX + "purged_columns": json.dumps(sorted({*previous, *dropped})),
            po.META_PREFIX + "purged_at": now,
        })
        new = new.replace_schema_metadata(meta)
        name = _new_name(os.path.basename(path), dropped)
        target = os.path.join(staged, name)
        pq.write_table(new, target, compression=po.COMPRESSION)
        with open(target, "rb") as fh:
            os.fsync(fh.fileno())
        entries.append({"path": name, "rows": new.num_rows, "sha256": sha256_file(target),
                        "retention_days": days, "retention_category": category,
                        "old": old_entries.get(os.path.basename(path), {})})
        _step("rewrite-staging-file")
    days = min(e["retention_days"] for e in entries)
    category = min(e["retention_category"] for e in entries if e["retention_days"] == days)
    manifest = dict(plan.manifest or {})
    manifest.update({
        "files": sorted((_manifest_entry(e, plan.base) for e in entries),
                        key=lambda e: e["path"]),
        "rows": sum(e["rows"] for e in entries),
        "retention_days": days, "retention_category": category,
        "expires_on": (plan.base + dt.timedelta(days=days)).isoformat(),
        "purged_columns": sorted({*manifest.get("purged_columns", []), *dropped}),
        "last_purge": {"action_id": rec["action_id"], "at": now, "as_of": rec["as_of"]},
    })
    write_json_atomic(os.path.join(staged, MANIFEST_NAME), manifest)
    rec.update({
        "files_after": manifest["files"],
        "manifest_sha256_after": sha256_file(os.path.join(staged, MANIFEST_NAME)),
        "retention_days_after": days, "retention_category_after": category,
        "expires_on_after": manifest["expires_on"],
    })
    write_json_atomic(os.path.join(staged, INTENT_NAME), rec)
    fsync_dir(staged)
    _step("rewrite-staged")
    if _exchange(plan.pdir, staged):
        old = staged  # after the exchange it holds the old content
    else:
        old = os.path.join(work, "replaced-" + pname)
        os.rename(plan.pdir, old)
        _step("rewrite-old-moved")
        os.rename(staged, plan.pdir)
    fsync_dir(os.path.dirname(plan.pdir))
    fsync_dir(work)
    _step("rewrite-swapped")
    audit.append(rec)
    _step("rewrite-audited")
    shutil.rmtree(old)
    _step("rewrite-cleaned")
    os.remove(os.path.join(plan.pdir, INTENT_NAME))
    _step("rewrite-done")


# -------------------------------------------------------------------------------- recovery


def _recover_record(what: str, path: str, action_id: str | None) -> dict[str, Any]:
    return {"audit_version": AUDIT_VERSION, "action_id": uuid.uuid4().hex, "action": "recover",
            "at": _now(), "dry_run": False, "tool": "telescrub purge", "path": path,
            "why": what, "of_action_id": action_id, "rows": None}


def leftovers(out: str) -> list[str]:
    """Interrupted-purge state in ``out`` (relative paths); empty when there is none."""
    found: list[str] = []
    work = os.path.join(out, WORK_DIR)
    if os.path.isdir(work):
        for table in sorted(os.listdir(work)):
            tdir = os.path.join(work, table)
            if os.path.isdir(tdir):
                found.extend(os.path.join(WORK_DIR, table, e) for e in sorted(os.listdir(tdir)))
    for tdir in find_tables(out).values():
        for pdir in partition_dirs(tdir):
            if os.path.exists(os.path.join(pdir, INTENT_NAME)):
                found.append(os.path.relpath(os.path.join(pdir, INTENT_NAME), out))
    return found


def recover(out: str, audit: Audit) -> list[str]:
    """Finish or roll back interrupted purges (see the module docstring). Returns notes."""
    notes: list[str] = []
    work = os.path.join(out, WORK_DIR)
    tables = sorted(os.listdir(work)) if os.path.isdir(work) else []
    for table in tables:
        tdir = os.path.join(work, table)
        if not os.path.isdir(tdir):
            continue
        entries = sorted(os.listdir(tdir), key=lambda e: (not e.startswith("replaced-"), e))
        for entry in entries:
            path = os.path.join(tdir, entry)
            if not os.path.lexists(path):
                continue  # a staged directory already moved into place above
            kind, _, pname = entry.partition("-")
            try:
                prel = work_path(pname)
            except TelescrubError:
                kind = "unknown"  # not a name purge gives: removed below
                prel = pname
            pdir = os.path.join(out, table, prel)
            rel = f"{table}/{prel.replace(os.sep, '/')}"
            if kind == "purging":
                intent = read_json(os.path.join(path, INTENT_NAME))
                if intent and intent.get("action_id") not in audit.ids:
                    audit.append({**intent, "recovered": True})
                shutil.rmtree(path)
                note = f"finished deleting {rel}"
            elif kind == "replaced":
                staged = os.path.join(tdir, "staged-" + pname)
                if not os.path.exists(pdir) and os.path.isdir(staged):
                    os.makedirs(os.path.dirname(pdir), exist_ok=True)
                    os.rename(staged, pdir)
                    note = f"completed the rewrite of {rel}"
                else:
                    note = f"removed the old content of rewritten {rel}"
                shutil.rmtree(path)
            elif kind == "staged":
                if os.path.exists(os.path.join(path, INTENT_NAME)):
                    note = f"rolled back an unfinished rewrite of {rel} (old content kept)"
                else:
                    note = f"removed the old content of rewritten {rel}"
                shutil.rmtree(path)
            else:
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
                note = f"removed unknown purge leftover {entry}"
            audit.append(_recover_record(note, rel, None))
            notes.append(note)
        with contextlib.suppress(OSError):
            os.rmdir(tdir)
        _prune_tree(os.path.join(out, table))
    with contextlib.suppress(OSError):
        os.rmdir(work)
    for tdir in find_tables(out).values():
        for pdir in partition_dirs(tdir):
            rel = os.path.relpath(pdir, out)
            for name in os.listdir(pdir):
                if name.startswith(".") and ".tmp-" in name:
                    os.remove(os.path.join(pdir, name))
                    notes.append(f"removed temporary file {rel}/{name}")
            ipath = os.path.join(pdir, INTENT_NAME)
            if not os.path.exists(ipath):
                continue
            intent = read_json(ipath)
            if intent and intent.get("action") == "drop_columns":
                if intent.get("action_id") not in audit.ids:
                    audit.append({**intent, "recovered": True})
                note = f"finished the rewrite of {rel}"
            else:
                note = f"rolled back an unstarted deletion of {rel}"
            os.remove(ipath)
            audit.append(_recover_record(note, rel, (intent or {}).get("action_id")))
            notes.append(note)
    if notes:
        _step("recovered")
    return notes


# ------------------------------------------------------------------------------------- run


@dataclass
class PurgeResult:
    as_of: str
    dry_run: bool
    checked: int = 0
    deleted: list[dict[str, Any]] = field(default_factory=list)
    rewritten: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    pending_recovery: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped


def purge(out: str, as_of: dt.date | None = None, dry_run: bool = False) -> PurgeResult:
    """The Python API behind ``telescrub purge`` (the caller holds the output lock)."""
    out = os.path.abspath(out)
    if not os.path.isdir(out):
        raise TelescrubError(f"output directory {out} does not exist")
    as_of = as_of or dt.datetime.now(dt.timezone.utc).date()
    audit = Audit(out)
    result = PurgeResult(as_of.isoformat(), dry_run)
    from telescrub.app import subject  # an interrupted subject erasure is finished first

    if dry_run:
        result.pending_recovery = leftovers(out) + subject.leftovers(out)
    else:
        result.recovered = recover(out, audit) + subject.recover(out)
    for table, tdir in find_tables(out).items():
        for pdir in partition_dirs(tdir):
            result.checked += 1
            try:
                plan = plan_partition(out, table, pdir, as_of)
            except Exception as exc:  # unreadable metadata: report, never guess, go on
                detail = str(exc) if isinstance(exc, TelescrubError) else type(exc).__name__
                result.skipped.append(f"{os.path.relpath(pdir, out)}: cannot be evaluated "
                                      f"({detail}); run `telescrub verify`")
                continue
            if plan is None:
                continue
            if plan.action == "drop_columns" and plan.problems:
                result.skipped.append(f"{plan.rel}: not rewritten, it does not match its "
                                      f"manifest ({'; '.join(plan.problems[:3])})")
                continue
            rec = _record(plan, as_of, dry_run)
            if dry_run:
                audit.append(rec)
            elif plan.action == "delete_partition":
                _delete(out, plan, rec, audit)
            else:
                _rewrite(out, plan, rec, audit)
            (result.deleted if plan.action == "delete_partition" else result.rewritten).append(
                rec)
    if not dry_run:
        _remove_empty_work(out)
    audit.append({
        "audit_version": AUDIT_VERSION, "action_id": uuid.uuid4().hex, "action": "run",
        "at": _now(), "as_of": as_of.isoformat(), "dry_run": dry_run, "tool": "telescrub purge",
        "partitions_checked": result.checked, "deleted": len(result.deleted),
        "rewritten": len(result.rewritten),
        "rows_deleted": sum(int(r["rows"]) for r in result.deleted),
        "skipped": result.skipped, "recovered": result.recovered,
        "why": "no-op" if not (result.deleted or result.rewritten) else "purge run",
    })
    if not dry_run and (result.deleted or result.rewritten or result.recovered):
        _refresh_html(out)
    return result


def _remove_empty_work(out: str) -> None:
    work = os.path.join(out, WORK_DIR)
    if not os.path.isdir(work):
        return
    for table in os.listdir(work):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(work, table))
    with contextlib.suppress(OSError):
        os.rmdir(work)


def _refresh_html(out: str) -> None:
    from telescrub.store.report_html import write_html

    rpath = os.path.join(out, "_report", "report.json")
    report = read_json(rpath)
    if report is not None:
        write_html(report, os.path.join(out, "_report", "index.html"))


def summary(result: PurgeResult, out: str) -> str:
    would = "would " if result.dry_run else ""
    lines = []
    if not (result.deleted or result.rewritten):
        lines.append(f"purge {out} as of {result.as_of}{' (dry run)' if result.dry_run else ''}"
                     f": nothing to purge ({result.checked} partitions checked)")
    else:
        lines.append(
            f"purge {out} as of {result.as_of}{' (dry run)' if result.dry_run else ''}: "
            f"{would}delete {len(result.deleted)} partition(s) "
            f"({sum(int(r['rows']) for r in result.deleted)} rows), {would}rewrite "
            f"{len(result.rewritten)} without expired columns; {result.checked} checked")
    for r in result.deleted:
        lines.append(f"  {'would delete' if result.dry_run else 'deleted'} {r['path']} "
                     f"({r['rows']} rows): {r['why']}")
    for r in result.rewritten:
        cols = ", ".join(c["name"] for c in r["columns_dropped"])
        after = f"; now expires {r['expires_on_after']}" if r.get("expires_on_after") else ""
        lines.append(f"  {'would drop' if result.dry_run else 'dropped'} {cols} from {r['path']} "
                     f"({r['rows']} rows){after}")
    for n in result.recovered:
        lines.append(f"  recovered: {n}")
    for n in result.pending_recovery:
        lines.append(f"  interrupted purge to recover (not in a dry run): {n}")
    for s in result.skipped:
        lines.append(f"  SKIPPED {s}")
    lines.append(f"audit: {os.path.join(out, AUDIT_DIR, AUDIT_NAME)}")
    return "\n".join(lines)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise TelescrubError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


def _cmd_purge(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.store.lock import OutputLock

    out = os.path.abspath(args.output)
    if not os.path.isdir(out):
        raise TelescrubError(f"output directory {args.output} does not exist")
    as_of = _parse_date(args.as_of) if args.as_of else None
    with OutputLock(out):
        result = purge(out, as_of, args.dry_run)
    print(summary(result, out))
    return 0 if result.ok else 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "purge", help="delete expired partitions and expired columns (audited)",
        description="Delete partitions of OUT whose data has expired, or rewrite them without "
        "the columns whose own retention ran out. Every action is appended to "
        "OUT/_audit/purge.jsonl. Crash-safe and idempotent.")
    p.add_argument("output", metavar="OUT", help="a telescrub output directory")
    p.add_argument("--as-of", metavar="DATE", help="purge what has expired on or before this date "
                   "(YYYY-MM-DD; default: today, UTC)")
    p.add_argument("--dry-run", action="store_true",
                   help="change nothing; list (and audit as dry_run) what would be purged")
    p.set_defaults(func=_cmd_purge)


def main(argv: list[str] | None = None) -> int:
    """``python -m telescrub.app.purge`` (the same command without loading the other commands)."""
    parser = argparse.ArgumentParser(prog="telescrub")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["purge", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args, []))
    except TelescrubError as exc:
        print(f"telescrub: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
