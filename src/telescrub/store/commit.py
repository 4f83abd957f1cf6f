"""The commit protocol of an output: one writer (a lock), what each ``--mode`` does, and a
crash-safe publication that needs no rename — the same on a local disk, in S3 and in GCS.

A batch run
-----------
1. **Lock** (``telescrub.store.lock``): the lock object; a second run into the same output is
   refused at once, naming the holder.
2. **Recover** (:func:`recover_output`): finish what an interrupted command left — a purge
   action in flight is audited or dropped (``telescrub.store.audit``), the copies of the last
   commit are completed — then delete the *garbage*: every object below a table directory
   or in ``_runs/`` that the output's manifest does not reference (a killed run's files,
   files replaced by the last commit).
3. **Check** the mode (:func:`check_output`): ``overwrite`` (the default) replaces a previous
   telescrub output but refuses a non-empty location that does not look like one; ``append``
   adds to what is there; ``error-if-exists`` refuses anything non-empty. Nothing is deleted.
4. **Write.** The pipeline writes every Parquet file once, directly under its final
   content-derived name in its partition directory (``telescrub.store.parquet``: create-only;
   an object already there with that name holds the same content and is reused, so a file a
   published manifest lists is never modified). Each partition's manifest and the report go
   to the run's own area, ``_runs/<run id>/`` (:func:`stage_manifest`, ``stage_report``).
5. **Commit** (:func:`commit_output`): the new ``<out>/_manifest.json`` — every live partition
   with its manifest, and the run's report — is written with one create-only write (first
   commit) or one write that succeeds only if the previous version's generation is unchanged.
   **This single write is the commit point.** ``append`` merges each partition's previous
   manifest with the new one (a file of the same name is the same rows: listed once, so
   appending the same input twice adds nothing); ``overwrite`` lists only the new run's.
6. **Apply** the copies: each partition's ``_manifest.json`` (equal byte for byte to its entry
   in the output's manifest), the removal of partitions no longer listed, ``_report/report.json``
   and ``index.html``; then ``_runs/applied.json`` records the version applied.
7. **Collect garbage**: the previous run's files that are no longer listed, the run's area.

What a reader sees
------------------
*A reader that trusts the output's manifest* (``telescrub.read_table``, ``telescrub verify``,
``purge``, the DuckDB recipe in the README) sees the previous output until step 5 and the new
one from then on, whole: a process killed at any point leaves one of the two, never a mix, and
nothing it lists is missing or partial (every write of an object is whole, and listed files
are never modified or deleted before a commit stops listing them).

*A reader of one partition's* ``_manifest.json`` sees each partition old or new; during step 6
(or after a kill during it, until the next telescrub command on the output) some partitions
can be new while others are still old. *A reader that lists files* (``pyarrow.dataset`` on a
directory, a ``*.parquet`` glob) also sees files no manifest lists: those of a run in progress
or killed, until the next command's garbage collection. Do not read telescrub outputs by
listing.

Only the writes of manifests, reports and the lock are fsynced on a local disk: the protocol
is safe against process death (``kill -9``, OOM); after a power loss the file system's own
ordering guarantees apply to the Parquet bytes. ``overwrite`` keeps ``_audit`` (the record of
what ``purge`` deleted outlives the data it describes). In ``append`` mode, ``_report``
describes the latest run only.

Streaming outputs
-----------------
The output's manifest of a streaming output says ``"streaming": true`` and lists no
partitions: each window's own ``_manifest.json`` is the truth there, updated by a
compare-and-swap per pane (``telescrub.store.manifest.merge_manifest``). Garbage collection
then only removes unlisted data files older than :data:`STREAMING_GRACE_S` (a pane of a
running job writes its files before it lists them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from telescrub.core.errors import OutputError
from telescrub.core.hooks import point
from telescrub.store import fs
from telescrub.store.audit import Audit, complete_pending
from telescrub.store.layout import (
    AUDIT_DIR,
    HTML_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    REPORT_DIR,
    REPORT_NAME,
    ROOT_MANIFEST,
    RUNS_DIR,
    STREAMING_DIR,
    Listing,
    list_output,
    looks_like_output,
    manifest_path,
    report_path,
    staged_report_path,
    valid_partition_rel,
)
from telescrub.store.lock import OutputLock
from telescrub.store.manifest import (
    Catalog,
    load_catalog,
    manifest_bytes,
    merge_entries,
    new_root,
    publish_root,
)

log = logging.getLogger("telescrub")

MODES = ("overwrite", "append", "error-if-exists")
DEFAULT_MODE = "overwrite"
#: top-level entries an overwrite keeps
KEEP_ON_OVERWRITE = (AUDIT_DIR,)
APPLIED = "applied.json"
#: unlisted data files of a streaming output younger than this are a pane in flight
STREAMING_GRACE_S = 3600.0

__all__ = ["MODES", "DEFAULT_MODE", "check_output", "commit_output", "discard_run", "begin_run",
           "recover_output", "collect_garbage", "apply_copies", "prune_empty_dirs",
           "switch_partitions"]


# ------------------------------------------------------------------------------ checks


def _visible(listing: Listing) -> list[str]:
    return [r for r in listing.entries if r != LOCK_NAME]


def check_output(out: str, mode: str, listing: Listing | None = None) -> None:
    """Refuse what ``mode`` forbids; deletes nothing.

    overwrite: replace a previous telescrub output (never an unrelated location);
    append: keep what is there; error-if-exists: refuse anything non-empty."""
    if mode not in MODES:
        raise OutputError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    listing = listing if listing is not None else list_output(out)
    names = _visible(listing)
    if not names or mode == "append":
        return
    if mode == "error-if-exists":
        raise OutputError(f"output directory {out} is not empty (--mode error-if-exists)")
    if not looks_like_output(names):
        raise OutputError(f"output directory {out} is not empty and does not look like a "
                          "telescrub output; refusing to overwrite it")


# ------------------------------------------------------------------------------ commit


def _staged(out: str, run_id: str, listing: Listing) -> dict[str, dict[str, Any]]:
    prefix = f"{RUNS_DIR}/{run_id}/partitions/"
    staged: dict[str, dict[str, Any]] = {}
    for rel in listing.entries:
        if not rel.startswith(prefix) or not rel.endswith("/" + MANIFEST_NAME):
            continue
        prel = rel[len(prefix):-len(MANIFEST_NAME) - 1]
        if not valid_partition_rel(prel):
            continue
        manifest = fs.read_json(fs.join(out, rel))
        if manifest is None:
            raise OutputError(f"staged manifest of {prel} is unreadable; the run is not "
                              "committed")
        staged[prel] = manifest
    return staged


def commit_output(out: str, run_id: str, mode: str, lock: OutputLock | None = None,
                  ) -> dict[str, Any]:
    """Publish a run whose pipeline has written its files and staged its manifests and
    report (see the module doc); returns the output's new manifest."""
    if mode not in MODES:
        raise OutputError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    listing = list_output(out)
    cat = load_catalog(out, listing)
    staged = _staged(out, run_id, listing)
    report_rel = f"{RUNS_DIR}/{run_id}/{REPORT_NAME}"
    report = fs.read_bytes(staged_report_path(out, run_id)) \
        if report_rel in listing.entries else None
    if mode == "append":
        parts = dict(cat.partitions)
        for rel, manifest in staged.items():
            parts[rel] = merge_entries(parts[rel], manifest) if rel in parts else manifest
    else:
        parts = staged
    header = {k: v for k, v in ((_HEADER_KEYS[k], (_loads(report) or {}).get("run", {}).get(k))
                                for k in _HEADER_KEYS) if v is not None}
    root = new_root(cat.root, run_id, mode, parts,
                    report=report_rel if report is not None else None,
                    report_sha256=hashlib.sha256(report).hexdigest() if report else None,
                    **header)
    if lock is not None:
        lock.check()
    try:
        publish_root(out, root, cat.generation)  # <- the commit point
    except fs.PreconditionFailed:
        raise OutputError(f"output {out} changed while this run wrote it (another writer "
                          "committed first); this run is not committed") from None
    point("commit.marker")
    apply_copies(out, root, listing)
    collect_garbage(out, load_catalog(out))
    point("commit.done", out=out)
    return root


#: what the output's manifest says about the run that last committed (from its report)
_HEADER_KEYS = {"policy_version": "policy_version", "policy_hash": "policy_hash",
                "key_id": "key_id", "demo_key": "demo_key"}


def _loads(raw: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def commit_from_job(out: str, run_id: str, mode: str, lock_token: str | None) -> str:
    """The last step of a detached batch job (``telescrub run --detach``): publish the run
    (see :func:`commit_output`) and release the lock the launcher took for the job.
    Idempotent: a retried step finds its run committed and only releases the lock. Refuses
    when the lock no longer belongs to this run (it expired and another writer took it)."""
    from telescrub.store.lock import release_job_lock

    cat = load_catalog(out)
    if cat.root is not None and cat.root.get("run_id") == run_id:
        release_job_lock(out, lock_token)
        return "already committed"
    if lock_token is not None:
        doc = fs.read_json(fs.join(out, LOCK_NAME))
        if not doc or doc.get("token") != lock_token:
            raise OutputError(f"output {out}: the lock taken for run {run_id} is gone or "
                              "belongs to another run; this run is not committed")
    commit_output(out, run_id, mode)
    release_job_lock(out, lock_token)
    return "committed"


def switch_partitions(out: str, cat: Catalog,
                      changes: list[tuple[str, dict[str, Any] | None]],
                      after_each: Callable[[str], None] | None = None,
                      **root_extra: Any) -> list[str]:
    """Publish new manifests for some partitions (None: the partition is deleted) — the
    switch of a purge or a subject erasure. A batch output: one write of the output's
    manifest, only if its generation is unchanged (else :class:`OutputError`, nothing
    switched). A streaming (or older) output: one generation-checked write or delete of each
    partition's own manifest; a partition whose manifest changed since it was read (a new
    pane) is left out; ``after_each(partition)`` runs after each (crash tests). Returns the
    partitions switched."""
    if not changes:
        return []
    if not cat.per_partition:
        parts = dict(cat.partitions)
        for rel, manifest in changes:
            if manifest is None:
                parts.pop(rel, None)
            else:
                parts[rel] = manifest
        assert cat.root is not None
        keep = {k: v for k, v in cat.root.items()
                if k in ("report", "report_sha256", "policy_version", "policy_hash", "key_id",
                         "demo_key")}
        root = new_root(cat.root, str(cat.root.get("run_id")), str(cat.root.get("mode")),
                        parts, **{**keep, **root_extra})
        try:
            publish_root(out, root, cat.generation)
        except fs.PreconditionFailed:
            raise OutputError(f"output {out} changed while it was being rewritten (another "
                              "writer committed); nothing was changed: try again") from None
        return [rel for rel, _ in changes]
    done = []
    for rel, manifest in changes:
        path = manifest_path(out, rel)
        gen = cat.generations.get(rel)
        try:
            if manifest is None:
                fs.delete(path, gen)
            else:
                fs.write(path, manifest_bytes(manifest), gen if gen is not None else fs.CREATE)
        except fs.PreconditionFailed:
            continue
        done.append(rel)
        if after_each is not None:
            after_each(rel)
    return done


def begin_run(out: str, run_id: str) -> str:
    """A run starts writing (the lock held, the mode checked): returns its private area,
    ``_runs/<run id>/``, where its manifests and report are staged (hook point
    ``commit.staging``)."""
    from telescrub.store.layout import run_dir

    area = run_dir(out, run_id)
    point("commit.staging", path=area)
    return area


def discard_run(out: str, run_id: str) -> None:
    """After a failed pipeline: remove what the run wrote (nothing of it is referenced)."""
    collect_garbage(out, load_catalog(out))


# ------------------------------------------------------------------------------ apply


def _write_if_changed(path: str, data: bytes) -> bool:
    try:
        if fs.read_bytes(path) == data:
            return False
    except FileNotFoundError:
        pass
    fs.write(path, data)
    return True


def apply_copies(out: str, root: Mapping[str, Any], listing: Listing | None = None) -> None:
    """Make the copies agree with the output's manifest (idempotent): partition manifests,
    the report and its page; partitions the manifest no longer lists lose theirs."""
    parts = root.get("partitions")
    if not isinstance(parts, dict):
        return
    listing = listing if listing is not None else list_output(out)
    for rel, manifest in sorted(parts.items()):
        if _write_if_changed(manifest_path(out, rel), manifest_bytes(manifest)):
            point("commit.install", entry=rel)
    for rel in listing.partition_manifests:
        if rel not in parts:
            fs.delete(manifest_path(out, rel))
    report_rel = root.get("report")
    if isinstance(report_rel, str) and report_rel.startswith(RUNS_DIR + "/"):
        try:
            data = fs.read_bytes(fs.join(out, report_rel))
        except FileNotFoundError:
            data = None
        if data is not None and _write_if_changed(report_path(out), data):
            for rel in listing.under(REPORT_DIR):
                if rel not in (f"{REPORT_DIR}/{REPORT_NAME}", f"{REPORT_DIR}/{HTML_NAME}"):
                    fs.delete(fs.join(out, rel))  # the previous run's verify.json, ...
            from telescrub.store.report_html import write_html

            write_html(json.loads(data), report_path(out, HTML_NAME))
    fs.write_json(fs.join(out, RUNS_DIR, APPLIED), {"version": root.get("version")})


def _applied_version(out: str) -> int | None:
    doc = fs.read_json(fs.join(out, RUNS_DIR, APPLIED))
    try:
        return int(str((doc or {}).get("version")))
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------ garbage


def collect_garbage(out: str, cat: Catalog, listing: Listing | None = None,
                    now: float | None = None) -> list[str]:
    """Delete what the output's manifests do not reference (see the module doc); returns the
    relative paths deleted. Batch outputs: every object below a table directory that no
    listed partition references, ``_runs/`` but the committed report, and (the output having
    been overwritten) top-level entries other than ``_report``, ``_audit`` and the manifest.
    Streaming outputs: unlisted data files older than :data:`STREAMING_GRACE_S`."""
    deleted: list[str] = []
    if not fs.is_url(out):
        deleted += _remove_links(out)  # telescrub never makes links: never follow one
    listing = listing if listing is not None else list_output(out)
    keep = {fs.relpath(p, out) for p in cat.referenced()}
    pinned = (cat.root or {}).get("report")
    now = time.time() if now is None else now
    for rel, entry in sorted(listing.entries.items()):
        top = rel.split("/", 1)[0]
        if rel in (ROOT_MANIFEST, LOCK_NAME) or rel in keep or top in KEEP_ON_OVERWRITE:
            continue
        if top == REPORT_DIR:
            continue
        if top == RUNS_DIR:
            if rel in (pinned, f"{RUNS_DIR}/{APPLIED}"):
                continue
            if cat.per_partition and now - entry.mtime_ns / 1e9 < STREAMING_GRACE_S:
                continue
        elif cat.per_partition:
            # streaming (or an older output): the windows' manifests are the truth; only old
            # data files no manifest lists, and old temporary files, are garbage
            name = rel.rsplit("/", 1)[-1]
            if top == STREAMING_DIR or rel.count("/") < 2 or name == MANIFEST_NAME:
                continue
            if not (name.endswith(".parquet") or fs.is_tmp_name(name)):
                continue
            if now - entry.mtime_ns / 1e9 < STREAMING_GRACE_S:
                continue
        fs.delete(entry.path)
        deleted.append(rel)
    if deleted and not fs.is_url(out):
        _prune_dirs(out)
    return deleted


def _remove_links(out: str) -> list[str]:
    """Remove symbolic links below a local output (the link, never its target): a write
    into the output must never be redirected elsewhere (a table directory that an earlier
    tool made a link to another place is replaced, as the old rename-based commit did)."""
    removed = []
    for d, dirs, files in os.walk(out):
        for name in [*dirs, *files]:
            path = os.path.join(d, name)
            if os.path.islink(path):
                os.remove(path)
                removed.append(os.path.relpath(path, out).replace(os.sep, "/"))
    return removed


def prune_empty_dirs(out: str) -> None:
    """Locally, remove directories left empty by deleted objects (no-op for URLs)."""
    if not fs.is_url(out):
        _prune_dirs(out)


def _prune_dirs(out: str) -> None:
    """Remove empty directories below a local output (left by deleted objects)."""
    for d, _dirs, _files in os.walk(out, topdown=False):
        if d != out:
            with contextlib.suppress(OSError):
                os.rmdir(d)


# ------------------------------------------------------------------------------ recovery


def recover_output(out: str) -> list[str]:
    """Complete what interrupted commands left (the caller holds the lock): purge actions in
    flight, the copies of the last commit, then the garbage. Returns notes for the log."""
    notes: list[str] = []
    cat = load_catalog(out)
    pending_notes = complete_pending(out, lambda rel: cat.partitions.get(rel), Audit(out))
    notes += pending_notes
    if cat.root is not None and not cat.per_partition and \
            _applied_version(out) != cat.version:
        apply_copies(out, cat.root)
        notes.append(f"completed publishing version {cat.version} of the output")
    deleted = collect_garbage(out, cat)
    if deleted:
        notes.append(f"removed {len(deleted)} object(s) no manifest lists (left by an "
                     "interrupted or replaced run)")
    prune_empty_dirs(out)  # directories emptied by a finished purge or erasure
    return notes
