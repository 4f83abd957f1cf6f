"""Partition manifests: the list of a partition's files, written last, and checked by verify.

``<partition>/_manifest.json`` names every Parquet file of the partition with its rows, sha256,
retention (days, category, expiry date) and the run that wrote it, plus the partition's totals:
rows, and the shortest retention of its files (``expires_on`` is the earliest file expiry).

One way to publish one: :func:`merge_manifest` adds files to a partition's manifest (creating
it if there is none). A batch run publishes each partition once into its staging directory;
a streaming window gets one merge per pane or micro-batch; an ``append`` commit merges the
previous output's partition into the new one. A file named again (content-named: the same
rows) replaces its entry; a listed file that no longer exists is not listed again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow.parquet as pq

from telescrub.store.fs import is_tmp_name, read_json, sha256_file, write_atomic
from telescrub.store.layout import (
    MANIFEST_NAME,
    WINDOW_COLUMN,
    PartitionKey,
    partition_dir,
    partition_relpath,
)
from telescrub.store.parquet import FORMAT_VERSION, META_PREFIX, FileResult, RunInfo

#: per-file keys of a manifest entry that describe the file itself
_FILE_KEYS = ("rows", "sha256", "retention_days", "retention_category", "expires_on")


def _entry(f: FileResult, run: RunInfo, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {"path": f.path.rsplit("/", 1)[-1], "rows": f.rows, "sha256": f.sha256,
            "retention_days": f.retention_days, "retention_category": f.retention_category,
            "expires_on": f.expires_on, "run_id": run.run_id, **extra}


def _old_entries(pdir: str, old: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The entries of the current manifest whose files still exist, each completed from the
    file's footer where the entry lacks its retention (manifests of older versions), plus
    readable Parquet files the manifest does not list (left by older versions' append)."""
    try:
        present = set(os.listdir(pdir))
    except FileNotFoundError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    # what an entry of an older manifest lacks and its footer cannot tell: the partition's
    # own retention (as strict as the file's, or stricter)
    fallback = {k: (old or {}).get(k) for k in ("retention_days", "retention_category",
                                               "expires_on")}
    for e in (old or {}).get("files", []):
        name = str(e.get("path", ""))
        if os.path.basename(name) != name or name not in present:
            continue
        entry = dict(e)
        if any(entry.get(k) is None for k in _FILE_KEYS):
            try:
                entry.update(_footer_entry(os.path.join(pdir, name), entry))
            except Exception:  # noqa: BLE001 - not readable as Parquet here: keep the entry
                entry.update({k: v for k, v in fallback.items()
                              if entry.get(k) is None and v is not None})
        out[name] = entry
    for name in sorted(present - set(out)):
        if name.startswith((".", "_")) or not name.endswith(".parquet"):
            continue
        try:
            out[name] = {"path": name, **_footer_entry(os.path.join(pdir, name), {})}
        except Exception:  # noqa: BLE001 - an unreadable leftover is not carried over
            continue
    return out


def _footer_entry(path: str, have: Mapping[str, Any]) -> dict[str, Any]:
    md = pq.read_metadata(path)
    meta = {k.decode(): v.decode() for k, v in (md.metadata or {}).items()}
    return {"rows": have.get("rows", md.num_rows),
            "sha256": have.get("sha256") or sha256_file(path),
            "retention_days": int(meta[META_PREFIX + "retention_days"]),
            "retention_category": meta[META_PREFIX + "retention_category"],
            "expires_on": meta[META_PREFIX + "expires_on"],
            "run_id": have.get("run_id", meta.get(META_PREFIX + "run_id"))}


def merge_manifest(out_dir: str, table: str, key: PartitionKey, files: Sequence[FileResult],
                   run: RunInfo | None, extra: Mapping[str, Any] | None = None,
                   partition: Mapping[str, Any] | None = None,
                   inherit_from: str | None = None) -> dict[str, Any]:
    """Add ``files`` (written into this partition) to its manifest and publish it
    atomically; returns the new manifest. ``extra`` goes into each new file's entry
    (streaming: pane, batch, time written), ``partition`` into the manifest itself (streaming:
    the window's bounds). ``inherit_from``: another partition directory (the previous output,
    in an ``append`` commit) whose entries are kept for the files also present here; the
    entries already here win (same name: the same rows). ``run`` None keeps the manifest's
    run header (a commit merging two runs' files). Callers that can run concurrently on one
    partition hold the output's merge lock (``telescrub.store.lock``)."""
    pdir = partition_dir(out_dir, table, key.event_date, key.window)
    mpath = os.path.join(pdir, MANIFEST_NAME)
    old = read_json(mpath)
    entries: dict[str, dict[str, Any]] = {}
    if inherit_from is not None:
        here = set(os.listdir(pdir))
        inherited = _old_entries(inherit_from, read_json(os.path.join(inherit_from,
                                                                       MANIFEST_NAME)))
        entries.update({k: v for k, v in inherited.items() if k in here})
    entries.update(_old_entries(pdir, old))
    rel = partition_relpath(table, key) + "/"
    for f in files:
        if run is None:
            raise ValueError("new files need the run that wrote them")
        if not f.path.startswith(rel) or "/" in f.path[len(rel):]:
            raise ValueError(f"file {f.path!r} is not in partition {rel!r}")
        entries[f.path[len(rel):]] = _entry(f, run, extra or {})
    if not entries:
        raise ValueError(f"no files to list in the manifest of {rel!r}")
    listed = [entries[k] for k in sorted(entries)]
    timed = [e for e in listed if e.get("retention_days") is not None]
    if not timed:
        raise ValueError(f"no file of {rel!r} says how long it may be kept")
    days = min(int(e["retention_days"]) for e in timed)
    header = ({k: (old or {}).get(k) for k in ("run_id", "policy_version", "policy_hash",
                                                 "key_id")} if run is None else
              {"run_id": run.run_id, "policy_version": run.policy_version,
               "policy_hash": run.policy_hash, "key_id": run.key_id})
    manifest: dict[str, Any] = {
        "table": table,
        "event_date": key.event_date,
        **header,
        "files": listed,
        "rows": sum(int(e["rows"]) for e in listed),
        "retention_days": days,
        "expires_on": min(str(e["expires_on"]) for e in timed),
        "retention_category": min(str(e["retention_category"]) for e in timed
                                  if int(e["retention_days"]) == days),
        "format_version": FORMAT_VERSION,
    }
    if key.window is not None:
        manifest.update({WINDOW_COLUMN: key.window, "streaming": True,
                         "panes": int((old or {}).get("panes", 0)) + 1})
    manifest.update(partition or {})
    write_atomic(mpath, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
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
        if is_tmp_name(name):
            problems.append(f"leftover temporary file {name}")
        elif name.endswith(".parquet") and name not in listed:
            problems.append(f"extra file not in manifest {name}")
    total = sum(int(e.get("rows", 0)) for e in listed.values())
    if manifest.get("rows") != total:
        problems.append(f"total rows mismatch: manifest {manifest.get('rows')}, files {total}")
    return problems
