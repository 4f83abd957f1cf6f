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
A partition is what the output's manifests list (``telescrub.store.manifest.load_catalog``):
``<table>/event_date=<D>`` in a batch output, ``<table>/event_date=<D>/event_window=<HHMM>`` in
a streaming one. The event date is the ``event_date=`` component of its path. Audit records
give ``partition`` as the path below the table (and ``event_window`` for a window). Purge
plans from the manifests: a partition whose ``expires_on`` is after ``as_of`` is left alone
without reading its files (no column holding data can have expired: ``expires_on`` is the
earliest expiry of a column that holds data); only due partitions' footers are read.

Crash safety: the protocol
--------------------------
The same on a local disk, in S3 and in GCS (``telescrub.store.commit``), with no rename:

1. **Write** the rewritten files, each once under a new content-derived name beside the old
   ones (create-only; not listed by any manifest yet, so invisible to readers) — crash hook
   ``rewrite-file`` after each.
2. **Record** each action in ``_audit/pending/<action id>.json`` (create-only): the audit
   record, the partition, the files it adds and the manifest it will publish — ``intent``.
3. **Switch**, one write: in a batch output the output's ``_manifest.json`` is replaced (only
   if its generation is unchanged) by one listing every rewritten partition's new manifest
   and no deleted partition; in a streaming output each window's ``_manifest.json`` is
   replaced or deleted with a generation-checked write (a window that received a pane in
   the meantime is skipped: purge it again) — ``switched-one`` after each window,
   ``switched``. From here readers see the purged output.
4. **Audit**: the records are appended to ``_audit/purge.jsonl`` — ``audited``.
5. **Remove** the copies of the manifests, then the old files (now referenced by no manifest)
   — ``removed`` — and the pending records — ``done``.

Every command that takes the output's lock (``telescrub run``, ``purge``, ``verify``) first
finishes what an interrupted one left (``telescrub.store.commit.recover_output``): a pending
record whose switch happened (the manifests no longer list the partition, or list the
manifest carrying its action id) is audited, then removed; one whose switch did not happen
is dropped, and the files it had written are garbage no manifest lists, deleted with the
rest. So a deletion is in the audit log before any object of it is removed, and each
partition is old or new for readers at every moment. A purge is idempotent: after recovery,
purging again for the same date finds nothing to do.

Crash tests: after each step purge calls the hook point ``purge.<step>``
(:mod:`telescrub.core.hooks`; :data:`CRASH_STEPS` lists the steps). Nothing happens in
production; a test registers a hook there that ends the process (``tests/hooked.py
--crash-at purge.<step>[@<n>]``).

Readers note: after a column purge the partitions of one table no longer share one schema.
pyarrow takes the schema of the first file it sees unless given one
(``ds.dataset(path, partitioning=hive_partitioning(), schema=pa.unify_schemas(...))``); DuckDB
needs ``union_by_name=true``. Files never gain columns, so a missing column reads as NULL.
"""


from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq

from telescrub.core.errors import OutputError, TelescrubError
from telescrub.core.hooks import point
from telescrub.core.timeparse import add_days
from telescrub.store import fs
from telescrub.store import parquet as po
from telescrub.store.audit import Audit, intent_path, pending, write_intent
from telescrub.store.commit import (
    apply_copies,
    collect_garbage,
    prune_empty_dirs,
    recover_output,
    switch_partitions,
)
from telescrub.store.layout import (
    AUDIT_DIR,
    HTML_NAME,
    PURGE_AUDIT,
    data_path,
    key_of,
    manifest_path,
    report_path,
)
from telescrub.store.manifest import (
    Catalog,
    build_manifest,
    load_catalog,
    manifest_sha256,
)
from telescrub.store.parquet import field_meta, footer

log = logging.getLogger("telescrub")

AUDIT_NAME = PURGE_AUDIT
AUDIT_VERSION = 1
CRASH_STEPS = ("rewrite-file", "intent", "switched-one", "switched", "audited", "removed",
               "done", "recovered")
_PART_NAME = re.compile(r"part-(.+)-[0-9a-f]{12}\.parquet")


def _step(name: str) -> None:
    """The crash-test hook point after protocol step ``name`` (see the module doc)."""
    point(f"purge.{name}")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


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
    rel: str  # table/event_date=...[/event_window=...]
    why: str
    rows: int
    manifest: dict[str, Any]
    base: dt.date
    drop: list[ColumnInfo] = field(default_factory=list)
    fallback_days: int = 0  # retention of a data column without its own (the partition's)


def _footer(path: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    with fs.open_input(path) as fh:
        schema = pq.read_schema(fh)
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
    held: set[str] = set()
    for path in files:
        with fs.open_input(path) as fh:
            pf = pq.ParquetFile(fh)
            present = set(pf.schema_arrow.names)
            wanted = [n for n in names if n in present and n not in held]
            if not wanted:
                continue
            t = pf.read(columns=wanted)
        held.update(n for n in wanted if t.column(n).null_count < t.num_rows)
    return held


def plan_partition(out: str, rel: str, manifest: dict[str, Any],
                   as_of: dt.date) -> Plan | None:
    """What purge does to the partition ``rel`` (listed with ``manifest``) as of ``as_of``
    (None: nothing)."""
    table = rel.split("/", 1)[0]
    try:
        exp = dt.date.fromisoformat(str(manifest["expires_on"]))
        days = int(manifest["retention_days"])
        category = str(manifest.get("retention_category"))
    except (KeyError, ValueError) as exc:
        raise TelescrubError(f"no usable expiry in the manifest ({exc})") from None
    event_date = key_of(rel).event_date
    base = (add_days(exp, -days) if event_date is None
            else dt.date.fromisoformat(event_date))
    if exp > as_of:
        # expires_on is the earliest expiry of a column holding data: none has expired
        return None
    files = [data_path(out, rel, str(e.get("path"))) for e in manifest.get("files", [])]
    cols = _columns(files, days)
    expired = {n: c for n, c in cols.items()
               if add_days(base, c.retention_days) <= as_of}
    holding = _holding(files, cols)
    rows = int(manifest.get("rows", 0))
    live = holding - set(expired)
    if not live or not expired:
        why = (f"expires_on {exp} <= as_of {as_of} (retention {days} d, {category})"
               + ("; no column with data outlives it" if expired else ""))
        return Plan("delete_partition", table, rel, why, rows, manifest, base)
    drop = sorted(expired.values(), key=lambda c: c.name)
    why = "; ".join(f"column {c.name} ({c.category}, {c.retention_days} d) expired "
                    f"{add_days(base, c.retention_days)}" for c in drop)
    why += f" <= as_of {as_of}; {len(live)} column(s) with data remain"
    return Plan("drop_columns", table, rel, why, rows, manifest, base, drop,
                fallback_days=days)


# ------------------------------------------------------------------------------- executing


def _record(plan: Plan, as_of: dt.date, dry_run: bool) -> dict[str, Any]:
    m = plan.manifest
    return {
        "audit_version": AUDIT_VERSION, "action_id": uuid.uuid4().hex, "action": plan.action,
        "at": _now(), "as_of": as_of.isoformat(), "dry_run": dry_run,
        "tool": "telescrub purge", "table": plan.table,
        # the partition's path below its table: event_date=D, or event_date=D/event_window=HHMM
        "partition": plan.rel.split("/", 1)[1],
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
                             "expired_on": add_days(plan.base, c.retention_days)
                             .isoformat()} for c in plan.drop],
        "files_before": [{"path": e.get("path"), "rows": e.get("rows"),
                          "sha256": e.get("sha256")} for e in m.get("files", [])],
        "manifest_sha256_before": manifest_sha256(m),
        "files_after": [], "manifest_sha256_after": None,
    }


def _new_name(old: str, dropped: list[str]) -> str:
    m = _PART_NAME.fullmatch(old)
    shard = m.group(1) if m else "purged"
    digest = hashlib.sha256((old + "\0" + "\0".join(sorted(dropped))).encode()).hexdigest()
    return f"part-{shard}-{digest[:12]}.parquet"


def _file_retention(table: Any, names: list[str], fallback_days: int) -> tuple[int, str]:
    """Like parquet.partition_retention, on an Arrow table: shortest retention among the
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


def _rewrite_files(out: str, plan: Plan, rec: dict[str, Any]) -> dict[str, Any]:
    """Step 1 of a column purge: the new files (written once, not listed yet); returns the
    partition's new manifest."""
    dropped = [c.name for c in plan.drop]
    now = _now()
    entries: dict[str, dict[str, Any]] = {}
    for old_entry in plan.manifest.get("files", []):
        name = str(old_entry.get("path"))
        with fs.open_input(data_path(out, plan.rel, name)) as fh:
            data = pq.read_table(fh, partitioning=None)
        keep = [n for n in data.column_names if n not in dropped]
        new = data.select(keep)
        days, category = _file_retention(new, keep, plan.fallback_days)
        meta = {k.decode(): v.decode() for k, v in (data.schema.metadata or {}).items()}
        previous = json.loads(meta.get(po.META_PREFIX + "purged_columns", "[]") or "[]")
        expires = add_days(plan.base, days).isoformat()
        meta.update({
            po.META_PREFIX + "retention_days": str(days),
            po.META_PREFIX + "retention_category": category,
            po.META_PREFIX + "expires_on": expires,
            po.META_PREFIX + "purged_columns": json.dumps(sorted({*previous, *dropped})),
            po.META_PREFIX + "purged_at": now,
        })
        new = new.replace_schema_metadata(meta)
        new_name = _new_name(name, dropped)
        digest, _writer = po.write_once(data_path(out, plan.rel, new_name),
                                        po.table_bytes(new), str(meta.get(
                                            po.META_PREFIX + "run_id", "")))
        # per-file keys of the old entry (a window's launch, pane, batch) carry over
        entry = {k: v for k, v in old_entry.items() if k not in ("path", "rows", "sha256")}
        entry.update(path=new_name, rows=new.num_rows, sha256=digest, retention_days=days,
                     retention_category=category, expires_on=expires)
        entries[new_name] = entry
        _step("rewrite-file")
    m = plan.manifest
    key = key_of(plan.rel)
    header = {k: m.get(k) for k in ("run_id", "policy_version", "policy_hash", "key_id")}
    extra = {k: v for k, v in m.items() if k not in (
        "files", "rows", "retention_days", "expires_on", "retention_category", "table",
        "event_date", "format_version", *header)}
    manifest = build_manifest(plan.table, key, entries, header, partition=extra)
    if "panes" in m:
        manifest["panes"] = m["panes"]
    manifest.update({
        "purged_columns": sorted({*m.get("purged_columns", []), *dropped}),
        "last_purge": {"action_id": rec["action_id"], "at": now, "as_of": rec["as_of"]},
    })
    rec.update({
        "files_after": manifest["files"],
        "manifest_sha256_after": manifest_sha256(manifest),
        "retention_days_after": manifest["retention_days"],
        "retention_category_after": manifest["retention_category"],
        "expires_on_after": manifest["expires_on"],
    })
    return manifest


def _switch(out: str, cat: Catalog, actions: list[tuple[Plan, dict[str, Any],
                                                      dict[str, Any] | None]],
            result: PurgeResult) -> list[tuple[Plan, dict[str, Any], dict[str, Any] | None]]:
    """Step 3: publish the purged manifests (``store.commit.switch_partitions``); returns
    the actions that took effect."""
    if not actions:
        return []
    last = {"at": _now(), "action_ids": [r["action_id"] for _p, r, _m in actions]}
    try:
        switched = set(switch_partitions(out, cat, [(p.rel, m) for p, _r, m in actions],
                                         after_each=lambda _rel: _step("switched-one"),
                                         last_purge=last))
    except OutputError as exc:
        raise TelescrubError(f"{exc} (purge)") from None
    done = []
    for plan, rec, manifest in actions:
        if plan.rel not in switched:
            result.skipped.append(f"{plan.rel}: its manifest changed while purging (a new "
                                  "pane): not purged this time, run purge again")
            continue
        done.append((plan, rec, manifest))
    return done


def _remove_old(out: str, cat: Catalog, plan: Plan, manifest: dict[str, Any] | None) -> None:
    """Step 5: delete the files the purged manifest no longer lists."""
    keep = {str(e.get("path")) for e in (manifest or {}).get("files", [])}
    for e in plan.manifest.get("files", []):
        name = str(e.get("path"))
        if name not in keep:
            fs.delete(data_path(out, plan.rel, name))
    if manifest is None and not cat.per_partition:
        fs.delete(manifest_path(out, plan.rel))


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


def leftovers(out: str) -> list[str]:
    """Purge actions in flight (their partitions); empty when there is none."""
    return [str((intent or {}).get("partition", path)) for path, intent in pending(out)]


def purge(out: str, as_of: dt.date | None = None, dry_run: bool = False) -> PurgeResult:
    """The Python API behind ``telescrub purge`` (the caller holds the output lock)."""
    out = fs.normpath(out)
    if not output_exists(out):
        raise TelescrubError(f"output directory {out} does not exist")
    as_of = as_of or dt.datetime.now(dt.timezone.utc).date()
    result = PurgeResult(as_of.isoformat(), dry_run)
    if dry_run:
        result.pending_recovery = leftovers(out)
    else:
        result.recovered = recover_output(out)
        if result.recovered:
            _step("recovered")
    audit = Audit(out)
    cat = load_catalog(out)
    actions: list[tuple[Plan, dict[str, Any], dict[str, Any] | None]] = []
    for rel in sorted(cat.partitions):
        result.checked += 1
        try:
            plan = plan_partition(out, rel, cat.partitions[rel], as_of)
        except Exception as exc:  # unreadable metadata: report, never guess, go on
            detail = str(exc) if isinstance(exc, TelescrubError) else type(exc).__name__
            result.skipped.append(f"{rel}: cannot be evaluated ({detail}); run "
                                  "`telescrub verify`")
            continue
        if plan is None:
            continue
        rec = _record(plan, as_of, dry_run)
        if dry_run:
            audit.append(rec)
            (result.deleted if plan.action == "delete_partition" else result.rewritten
             ).append(rec)
            continue
        try:
            manifest = _rewrite_files(out, plan, rec) if plan.action == "drop_columns" \
                else None
        except Exception as exc:  # noqa: BLE001 - a file of the partition is unreadable
            result.skipped.append(f"{rel}: not rewritten ({type(exc).__name__}); run "
                                  "`telescrub verify`")
            continue
        actions.append((plan, rec, manifest))
    if not dry_run:
        for plan, rec, manifest in actions:
            write_intent(out, {"record": rec, "partition": plan.rel, "manifest": manifest})
            _step("intent")
        done = _switch(out, cat, actions, result)
        _step("switched")
        switched = {rec["action_id"] for _plan, rec, _manifest in done}
        for _plan, rec, _manifest in actions:
            if rec["action_id"] not in switched:
                fs.delete(intent_path(out, rec["action_id"]))  # not switched: rolled back
        for _plan, rec, _manifest in done:
            audit.append(rec)
        _step("audited")
        if done and not cat.per_partition:
            root = fs.read_json(fs.join(out, "_manifest.json"))
            if root is not None:
                apply_copies(out, root)
        for plan, _rec, manifest in done:
            _remove_old(out, cat, plan, manifest)
        _step("removed")
        for _plan, rec, _manifest in done:
            fs.delete(intent_path(out, rec["action_id"]))
            (result.deleted if rec["action"] == "delete_partition" else result.rewritten
             ).append(rec)
        _step("done")
        if done:
            collect_garbage(out, load_catalog(out))
        prune_empty_dirs(out)
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


def output_exists(out: str) -> bool:
    from telescrub.app.verify import output_exists as exists

    return exists(out)


def _refresh_html(out: str) -> None:
    from telescrub.store.report_html import write_html

    report = fs.read_json(report_path(out))
    if report is not None:
        write_html(report, report_path(out, HTML_NAME))


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
    lines.append(f"audit: {fs.join(out, AUDIT_DIR, AUDIT_NAME)}")
    return "\n".join(lines)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise TelescrubError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


def _cmd_purge(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.app.settings import location
    from telescrub.store.lock import OutputLock

    out = location(args.output, "OUT")
    if not output_exists(out):
        raise TelescrubError(f"output directory {args.output} does not exist")
    as_of = _parse_date(args.as_of) if args.as_of else None
    with OutputLock(out, "purge"):
        result = purge(out, as_of, args.dry_run)
    print(summary(result, out))
    return 0 if result.ok else 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "purge", help="delete expired partitions and expired columns (audited)",
        description="Delete partitions of OUT whose data has expired, or rewrite them without "
        "the columns whose own retention ran out. Every action is appended to "
        "OUT/_audit/purge.jsonl before any object is removed. Crash-safe and idempotent; OUT "
        "may be a directory, s3://bucket/prefix or gs://bucket/prefix.")
    p.add_argument("output", metavar="OUT", help="a telescrub output")
    p.add_argument("--as-of", metavar="DATE", help="purge what has expired on or before this date "
                   "(YYYY-MM-DD; default: today, UTC)")
    p.add_argument("--dry-run", action="store_true",
                   help="change nothing; list (and audit as dry_run) what would be purged")
    p.set_defaults(func=_cmd_purge)


def main(argv: list[str] | None = None) -> int:
    """``python -m telescrub.app.purge`` (the same command without loading the other commands)."""
    from telescrub.app.cli import main_of

    return main_of("purge", register, argv)


if __name__ == "__main__":
    sys.exit(main())
