"""Manifests: what an output holds, as readers and ``telescrub verify`` must trust it.

**Partition manifest** (``<partition>/_manifest.json``): every Parquet file of one partition
with its rows, sha256, retention (days, category, expiry date) and the run that wrote it, plus
the partition's totals (rows; the shortest retention of its files: ``expires_on`` is the
earliest file expiry). Built by :func:`build_manifest`; a batch run stages one per partition
in its run area (:func:`stage_manifest`); a streaming window's is merged in place with a
compare-and-swap (:func:`merge_manifest`).

**The output's manifest** (``<out>/_manifest.json``): the commit point. For a batch output it
holds every live partition's manifest (``partitions``: ``{"<table>/event_date=D": {...}}``)
and the committed report; it is replaced as a whole, with a create-only or generation-checked
write, by each batch commit and each purge (``telescrub.store.commit``). The partition
manifests in the partition directories are copies written after that commit, for tools that
look at one partition. For a streaming output (``"streaming": true``, ``partitions`` null)
each window's own manifest is the truth: windows are independent and each pane is published
by one compare-and-swap of its window's manifest; the windows are found by listing the
``_manifest.json`` objects (never by listing data files). An output without the top manifest
(written by telescrub before it had one) is read the streaming way.

:func:`load_catalog` gives readers that view: ``{partition: manifest}``. Files are named in a
manifest by their name inside the partition; a file named twice is one entry (names are
content-derived: the same rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from telescrub.core.hooks import point
from telescrub.store import fs
from telescrub.store.layout import (
    MANIFEST_NAME,
    WINDOW_COLUMN,
    Listing,
    PartitionKey,
    data_path,
    key_of,
    list_output,
    manifest_path,
    partition_dir,
    partition_relpath,
    root_manifest_path,
    staged_manifest_path,
    valid_partition_rel,
)
from telescrub.store.parquet import FORMAT_VERSION, META_PREFIX, FileResult, RunInfo

ROOT_FORMAT = "2"
ROOT_KIND = "telescrub.output"
#: per-file keys of a manifest entry that describe the file itself
_FILE_KEYS = ("rows", "sha256", "retention_days", "retention_category", "expires_on")
_HEADER = ("run_id", "policy_version", "policy_hash", "key_id")


# ----------------------------------------------------------------------- partition manifests


def file_entry(f: FileResult, run: RunInfo, extra: Mapping[str, Any] | None = None,
               ) -> dict[str, Any]:
    """A manifest entry for a written file (``run_id``: the run whose bytes it holds)."""
    return {"path": f.path.rsplit("/", 1)[-1], "rows": f.rows, "sha256": f.sha256,
            "retention_days": f.retention_days, "retention_category": f.retention_category,
            "expires_on": f.expires_on, "run_id": f.run_id or run.run_id, **(extra or {})}


def _check_rel(files: Sequence[FileResult], rel: str) -> None:
    for f in files:
        if not f.path.startswith(rel + "/") or "/" in f.path[len(rel) + 1:]:
            raise ValueError(f"file {f.path!r} is not in partition {rel + '/'!r}")


def build_manifest(table: str, key: PartitionKey, entries: Mapping[str, Mapping[str, Any]],
                   header: Mapping[str, Any], old: Mapping[str, Any] | None = None,
                   partition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A partition manifest listing ``entries`` (file name -> entry) under ``header`` (run id,
    policy version and hash, key id). ``old``: the manifest it replaces (streaming: its pane
    count); ``partition``: more keys (a window's bounds)."""
    rel = partition_relpath(table, key)
    if not entries:
        raise ValueError(f"no files to list in the manifest of {rel + '/'!r}")
    listed = [dict(entries[k]) for k in sorted(entries)]
    timed = [e for e in listed if e.get("retention_days") is not None]
    if not timed:
        raise ValueError(f"no file of {rel + '/'!r} says how long it may be kept")
    days = min(int(e["retention_days"]) for e in timed)
    manifest: dict[str, Any] = {
        "table": table,
        "event_date": key.event_date,
        **{k: header.get(k) for k in _HEADER},
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
    return manifest


def header_of(run: RunInfo) -> dict[str, Any]:
    return {"run_id": run.run_id, "policy_version": run.policy_version,
            "policy_hash": run.policy_hash, "key_id": run.key_id}


def stage_manifest(out_dir: str, table: str, key: PartitionKey, files: Sequence[FileResult],
                   run: RunInfo) -> dict[str, Any]:
    """A batch run's manifest of one partition, written into the run's area (not visible to
    readers: the commit publishes it). Returns it."""
    rel = partition_relpath(table, key)
    _check_rel(files, rel)
    partition_dir(out_dir, table, key.event_date, key.window)  # validates, stays inside
    entries = {e["path"]: e for e in (file_entry(f, run) for f in files)}
    manifest = build_manifest(table, key, entries, header_of(run))
    fs.write_json(staged_manifest_path(out_dir, run.run_id, rel), manifest)
    point("manifest.written", table=table, event_date=key.event_date)
    return manifest


def merge_manifest(out_dir: str, table: str, key: PartitionKey, files: Sequence[FileResult],
                   run: RunInfo | None, extra: Mapping[str, Any] | None = None,
                   partition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Add ``files`` to the partition's own manifest (creating it if there is none) with a
    compare-and-swap: read it and its generation, write the merged manifest only if nobody
    wrote in between, else read again (concurrent workers never lose each other's files).
    A file named again replaces its entry. Used where each partition's manifest is the truth:
    streaming windows. Returns the manifest written."""
    rel = partition_relpath(table, key)
    _check_rel(files, rel)
    partition_dir(out_dir, table, key.event_date, key.window)
    if files and run is None:
        raise ValueError("new files need the run that wrote them")
    new = {e["path"]: e for e in (file_entry(f, run, extra) for f in files)} if run else {}
    result: dict[str, Any] = {}

    def change(raw: bytes | None) -> bytes:
        old = _loads(raw)
        entries = {str(e.get("path")): dict(e) for e in (old or {}).get("files", [])
                   if isinstance(e, dict)}
        entries.update(new)
        header = header_of(run) if run is not None else {k: (old or {}).get(k)
                                                          for k in _HEADER}
        manifest = build_manifest(table, key, entries, header, old, partition)
        for k, v in (old or {}).items():  # keys of a purge (purged_columns, last_purge)
            manifest.setdefault(k, v)
        result.clear()
        result.update(manifest)
        return fs.dump_json(manifest).encode()

    fs.update(manifest_path(out_dir, rel), change)
    return dict(result)


def merge_entries(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``append``: the partition's previous manifest and this run's, as one. A file of the same
    name (the same content) is listed once, with the new run's entry."""
    entries = {str(e.get("path")): dict(e) for e in old.get("files", []) if isinstance(e, dict)}
    entries.update({str(e.get("path")): dict(e) for e in new.get("files", [])})
    key = PartitionKey(new.get("event_date"), new.get(WINDOW_COLUMN))
    header = {k: new.get(k) for k in _HEADER}
    merged = build_manifest(str(new["table"]), key, entries, header)
    for k in ("purged_columns",):
        if k in old and k not in merged:
            merged[k] = old[k]
    return merged


def _loads(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The one serialization of a manifest (its copy must equal it byte for byte)."""
    return fs.dump_json(manifest).encode()


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    return hashlib.sha256(manifest_bytes(manifest)).hexdigest()


def read_manifest(partition_dir: str) -> dict[str, Any]:
    """The ``_manifest.json`` of a partition directory (OSError/ValueError when missing or
    not JSON)."""
    data = json.loads(fs.read_bytes(fs.join(partition_dir, MANIFEST_NAME)))
    if not isinstance(data, dict):
        raise ValueError("manifest is not a JSON object")
    return data


# ----------------------------------------------------------------------- the output's manifest


@dataclass
class Catalog:
    """What an output holds according to its manifests (see the module doc)."""

    out: str
    root: dict[str, Any] | None = None
    generation: str | None = None  # of the output's manifest (None: there is none)
    partitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: streaming outputs: the generation of each window's manifest (compare-and-swap)
    generations: dict[str, str] = field(default_factory=dict)
    #: partitions whose manifest is there but unreadable (streaming outputs)
    unreadable: list[str] = field(default_factory=list)
    listing: Listing | None = None

    @property
    def per_partition(self) -> bool:
        """True when each partition's own manifest is the truth (streaming, older outputs)."""
        return self.root is None or not isinstance(self.root.get("partitions"), dict)

    @property
    def version(self) -> int:
        return int((self.root or {}).get("version", 0))

    def files(self, rel: str) -> list[str]:
        """The paths of the files the manifest of partition ``rel`` lists."""
        return [data_path(self.out, rel, str(e.get("path")))
                for e in self.partitions.get(rel, {}).get("files", [])]

    def referenced(self) -> set[str]:
        """Every path the manifests reference (partition manifests and their files)."""
        refs: set[str] = set()
        for rel in self.partitions:
            refs.add(manifest_path(self.out, rel))
            refs.update(self.files(rel))
        return refs


def load_catalog(out: str, listing: Listing | None = None) -> Catalog:
    """The output's partitions and their manifests: from the output's manifest, or (streaming
    and older outputs) from each partition's manifest, found by listing ``_manifest.json``
    objects."""
    root, gen = fs.read_json_gen(root_manifest_path(out))
    cat = Catalog(out, root, gen)
    if root is not None and root.get("kind") == ROOT_KIND and \
            isinstance(root.get("partitions"), dict):
        for rel, manifest in root["partitions"].items():
            if valid_partition_rel(str(rel)) and isinstance(manifest, dict):
                cat.partitions[str(rel)] = manifest
        return cat
    if root is not None and root.get("kind") != ROOT_KIND:
        cat.root = None  # not ours: read the partitions' own manifests
    cat.listing = listing if listing is not None else list_output(out)
    for rel in cat.listing.partition_manifests:
        manifest, mgen = fs.read_json_gen(manifest_path(out, rel))
        if manifest is None:
            cat.unreadable.append(rel)
            continue
        cat.partitions[rel] = manifest
        if mgen is not None:
            cat.generations[rel] = mgen
    return cat


def new_root(previous: Mapping[str, Any] | None, run_id: str, mode: str,
             partitions: Mapping[str, Mapping[str, Any]] | None,
             **extra: Any) -> dict[str, Any]:
    """The next version of the output's manifest."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    root: dict[str, Any] = {
        "format_version": ROOT_FORMAT,
        "kind": ROOT_KIND,
        "version": int((previous or {}).get("version", 0)) + 1,
        "committed_at": now.replace("+00:00", "Z"),
        "run_id": run_id,
        "mode": mode,
        "streaming": partitions is None,
        "partitions": None if partitions is None else
        {rel: dict(partitions[rel]) for rel in sorted(partitions)},
    }
    root.update(extra)
    return root


def publish_root(out: str, root: Mapping[str, Any], generation: str | None) -> str:
    """Write the output's manifest: create-only when there was none, else only if it still has
    ``generation`` (:class:`telescrub.store.fs.PreconditionFailed` otherwise). Returns the new
    generation."""
    return fs.write_json(root_manifest_path(out), root,
                         fs.CREATE if generation is None else generation)


# ----------------------------------------------------------------------- checking files


def check_file(name: str, entry: Mapping[str, Any], data: bytes | None) -> list[str]:
    """Problems of one listed file against its manifest entry (``data``: its bytes, None when
    missing)."""
    if data is None:
        return [f"missing file {name}"]
    problems = []
    try:
        rows: int | None = pq.read_metadata(pa.BufferReader(data)).num_rows
    except Exception as exc:  # noqa: BLE001 - unreadable Parquet is reported, not raised
        problems.append(f"unreadable parquet {name}: {type(exc).__name__}")
        rows = None
    if rows is not None and rows != entry.get("rows"):
        problems.append(f"row count mismatch {name}: manifest {entry.get('rows')}, file {rows}")
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        problems.append(f"sha256 mismatch {name}")
    return problems


def check_totals(manifest: Mapping[str, Any]) -> list[str]:
    total = sum(int(e.get("rows", 0)) for e in manifest.get("files", []) if isinstance(e, dict))
    if manifest.get("rows") != total:
        return [f"total rows mismatch: manifest {manifest.get('rows')}, files {total}"]
    return []


def footer_entry(path: str, have: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest entry's file facts from the file's footer (for entries that lack them)."""
    data = fs.read_bytes(path)
    md = pq.read_metadata(pa.BufferReader(data))
    meta = {k.decode(): v.decode() for k, v in (md.metadata or {}).items()}
    return {"rows": have.get("rows", md.num_rows),
            "sha256": have.get("sha256") or hashlib.sha256(data).hexdigest(),
            "retention_days": int(meta[META_PREFIX + "retention_days"]),
            "retention_category": meta[META_PREFIX + "retention_category"],
            "expires_on": meta[META_PREFIX + "expires_on"],
            "run_id": have.get("run_id", meta.get(META_PREFIX + "run_id"))}


def verify_manifest(partition_dir: str) -> list[str]:
    """Problems of one partition directory against its ``_manifest.json``; empty list =
    consistent: a missing or unreadable manifest, listed files that are missing, unreadable
    or differ (rows, sha256), a total that does not add up, and Parquet files (or temporary
    files) in the directory that the manifest does not list."""
    try:
        manifest = read_manifest(partition_dir)
    except FileNotFoundError:
        return [f"missing manifest {MANIFEST_NAME}"]
    except (OSError, ValueError) as exc:
        return [f"unreadable manifest: {type(exc).__name__}"]
    problems: list[str] = []
    listed: dict[str, Mapping[str, Any]] = {}
    for entry in manifest.get("files", []):
        listed[str(entry.get("path"))] = entry
    for name, entry in sorted(listed.items()):
        if fs.basename(name) != name:
            problems.append(f"missing file {name}")
            continue
        try:
            data: bytes | None = fs.read_bytes(fs.join(partition_dir, name))
        except FileNotFoundError:
            data = None
        problems += check_file(name, entry, data)
    prefix = partition_dir.rstrip("/")
    for e in fs.list_tree(prefix):
        name = fs.relpath(e.path, prefix)
        if "/" in name:
            continue
        if fs.is_tmp_name(name):
            problems.append(f"leftover temporary file {name}")
        elif name.endswith(".parquet") and name not in listed:
            problems.append(f"extra file not in manifest {name}")
    return problems + check_totals(manifest)


def key_for(rel: str) -> PartitionKey:
    return key_of(rel)
