"""The output directory: one run at a time (a lock), what each ``--mode`` does to it, and the
crash-safe commit of a run's output.

A reader of ``<out>`` (pyarrow, DuckDB, ``telescrub verify``) never sees a half-written run:

1. **Lock.** ``<out>/.telescrub.lock`` is held (``flock``) for the whole run; a second run
   into the same directory fails at once with a clear message. The OS releases the lock when
   the process dies, even on ``kill -9``.
2. **Recover.** Under the lock, an interrupted earlier run is cleaned up first
   (:func:`recover_output`): an interrupted *commit* is completed (rolled forward), leftover
   staging and trash directories are deleted.
3. **Check** the mode (:func:`check_output`): ``overwrite`` (the default) replaces a previous
   telescrub output but refuses a non-empty directory that does not look like one;
   ``append`` adds to what is there; ``error-if-exists`` refuses any non-empty directory.
   Nothing is deleted at this point.
4. **Stage.** The pipeline writes everything (tables, ``_quarantine``, ``_report``) into
   ``<out>/.staging-<run_id>/`` (:func:`begin_staging`). The leading dot hides it from
   pyarrow/DuckDB dataset discovery and from ``telescrub verify``. A failed or killed run
   leaves only this hidden directory; the previous output stays untouched and readable.
5. **Commit** after the pipeline succeeded (:func:`commit_output`):

   a. ``append`` only: each staged table is first completed with the previous output's
      partitions, by hard link (no copy), and a staged partition that already existed gets a
      merged manifest listing the old and new files (a file with the same content-hashed name
      is the same rows: the new copy wins, so appending the same input twice adds nothing).
   b. A commit marker ``<out>/.commit-<run_id>.json`` is written atomically (temp file,
      fsync, rename, fsync of the directory). **This is the commit point.** It lists the
      top-level entries to install (table directories, ``_quarantine``, then ``_report``
      last) and, for ``overwrite``, the previous entries to remove.
   c. For each entry to install: the previous one (if any) is renamed into
      ``<out>/.trash-<run_id>/``, then the staged one is renamed into place; then entries
      to remove are renamed into the trash. Each step is one ``rename(2)`` on the same file
      system, and the sequence is idempotent, so a run interrupted anywhere in (c) is
      completed by the next run's recovery (step 2), whatever that run's mode.
   d. The marker is deleted (the commit is complete), then the trash and the empty staging
      directory.

Remaining windows, documented rather than hidden: during (c) — a few renames, milliseconds —
a reader listing ``<out>`` can see some tables of the new run next to tables of the previous
one, and a table being replaced is absent between its two renames; every table directory it
does see is complete and its manifests verify. A kill during (c) leaves that mixed state until
the next telescrub run into the same directory completes it (any mode; tools that take the
lock can call :func:`recover_output` too). Only the commit marker and directory entries are fsynced: the
protocol is safe against process death (``kill -9``, OOM killer); after a power loss the file
system's own ordering guarantees apply to the Parquet bytes.

``overwrite`` keeps ``_audit`` (the record of what ``purge`` deleted outlives the data it
describes). In ``append`` mode, ``_report`` describes the latest run only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

from telescrub.core.errors import OutputError
from telescrub.store.fs import fsync_dir, read_json, write_json_atomic
from telescrub.store.layout import (
    MANIFEST_NAME,
    NULL_PARTITION,
    PARTITION_COLUMN,
    REPORT_DIR,
    WINDOW_COLUMN,
    PartitionKey,
    partition_keys,
)
from telescrub.store.lock import LOCK_NAME
from telescrub.store.manifest import merge_manifest

STAGING_PREFIX = ".staging-"
TRASH_PREFIX = ".trash-"
COMMIT_PREFIX = ".commit-"
COMMIT_SUFFIX = ".json"
MODES = ("overwrite", "append", "error-if-exists")
DEFAULT_MODE = "overwrite"
#: top-level entries an overwrite keeps
KEEP_ON_OVERWRITE = ("_audit",)
_MARKERS = ("_report", "_quarantine", "_audit")


# ------------------------------------------------------------------------------ inspection


def is_internal(name: str) -> bool:
    """Entries of ``<out>`` that belong to the protocol, not to the dataset."""
    return name == LOCK_NAME or name.startswith((STAGING_PREFIX, TRASH_PREFIX, COMMIT_PREFIX))


def _entries(out: str) -> list[str]:
    return sorted(e for e in os.listdir(out) if not is_internal(e))


def looks_like_output(out: str) -> bool:
    entries = _entries(out)
    if any(e in _MARKERS for e in entries):
        return True
    for e in entries:
        d = os.path.join(out, e)
        if os.path.isdir(d) and any(p.startswith("event_date=") for p in os.listdir(d)):
            return True
    return False


def check_output(out: str, mode: str) -> None:
    """Refuse what ``mode`` forbids; deletes nothing (the commit replaces, see module doc).

    overwrite: replace a previous telescrub output (never an unrelated directory);
    append: keep what is there; error-if-exists: refuse a non-empty directory."""
    if mode not in MODES:
        raise OutputError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    entries = _entries(out)
    if not entries or mode == "append":
        return
    if mode == "error-if-exists":
        raise OutputError(f"output directory {out} is not empty (--mode error-if-exists)")
    if not looks_like_output(out):
        raise OutputError(f"output directory {out} is not empty and does not look like a "
                          "telescrub output; refusing to overwrite it")


# ------------------------------------------------------------------------------ helpers




def _rmtree(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _safe_name(name: object) -> str:
    """A top-level entry name from a commit marker: one plain path component."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name
            or "\\" in name or "\x00" in name or is_internal(name)):
        raise OutputError(f"corrupt commit marker: invalid entry name {name!r}")
    return name


def _marker_path(out: str, run_id: str) -> str:
    return os.path.join(out, f"{COMMIT_PREFIX}{run_id}{COMMIT_SUFFIX}")


def _markers(out: str) -> Iterator[str]:
    for e in sorted(os.listdir(out)):
        if e.startswith(COMMIT_PREFIX) and e.endswith(COMMIT_SUFFIX):
            yield os.path.join(out, e)


# ------------------------------------------------------------------------------ staging


def staging_dir(out: str, run_id: str) -> str:
    return os.path.join(out, f"{STAGING_PREFIX}{_safe_run_id(run_id)}")


def _safe_run_id(run_id: str) -> str:
    if not run_id or not all(c.isalnum() or c in "-_" for c in run_id):
        raise OutputError(f"invalid run id {run_id!r}")
    return run_id


def begin_staging(out: str, run_id: str) -> str:
    """Create and return ``<out>/.staging-<run_id>`` (the pipeline's output directory)."""
    path = staging_dir(out, run_id)
    try:
        os.mkdir(path)
    except OSError as exc:
        raise OutputError(f"cannot create staging directory {path}: {exc.strerror}") from None
    return path


def discard_staging(staging: str) -> None:
    """Delete a failed run's staging directory (the previous output is untouched)."""
    _rmtree(staging)


# ------------------------------------------------------------------------------ append merge




def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links: copy
        shutil.copy2(src, dst)






def _merge_partition(out: str, staging: str, table: str, old_p: str, new_p: str) -> None:
    """The staged partition, completed with the previous output's files (hard links) and one
    manifest listing both (``telescrub.store.manifest``: the staged copy of a file with the
    same content-named file name wins, so appending the same input twice adds nothing)."""
    if read_json(os.path.join(new_p, MANIFEST_NAME)) is None:
        raise OutputError(f"staged partition {new_p} has no readable manifest")
    for name in sorted(os.listdir(old_p)):
        src, dst = os.path.join(old_p, name), os.path.join(new_p, name)
        if name.endswith(".parquet") and not name.startswith((".", "_")) \
                and os.path.isfile(src) and not os.path.exists(dst):
            _link(src, dst)
    keys = partition_keys(new_p)
    date = keys.get(PARTITION_COLUMN)
    key = PartitionKey(None if date == NULL_PARTITION else date, keys.get(WINDOW_COLUMN))
    merge_manifest(staging, table, key, [], None, inherit_from=old_p)


def _link_partition(old_p: str, new_p: str) -> None:
    os.makedirs(new_p, exist_ok=True)
    for name in os.listdir(old_p):
        src = os.path.join(old_p, name)
        if name.startswith(".") or not os.path.isfile(src):
            continue  # temp leftovers of interrupted writes are not carried over
        _link(src, os.path.join(new_p, name))


def _merge_for_append(out: str, staging: str) -> None:
    for table in sorted(os.listdir(staging)):
        old_t, new_t = os.path.join(out, table), os.path.join(staging, table)
        if table == REPORT_DIR or not os.path.isdir(new_t) or os.path.islink(old_t) \
                or not os.path.isdir(old_t):
            continue
        for part in sorted(os.listdir(old_t)):
            old_p, new_p = os.path.join(old_t, part), os.path.join(new_t, part)
            if part.startswith(".") or os.path.islink(old_p) or not os.path.isdir(old_p):
                continue
            if os.path.isdir(new_p):
                _merge_partition(out, staging, table, old_p, new_p)
            else:
                _link_partition(old_p, new_p)


# ------------------------------------------------------------------------------ commit


def _apply(out: str, plan: dict[str, Any]) -> None:
    """Carry out a commit plan; idempotent (safe to re-run after an interruption)."""
    staging = os.path.join(out, _check_internal(plan["staging"], STAGING_PREFIX))
    trash = os.path.join(out, _check_internal(plan["trash"], TRASH_PREFIX))
    os.makedirs(trash, exist_ok=True)

    def aside(name: str) -> None:
        target = os.path.join(trash, name)
        if os.path.lexists(target):  # cannot happen under the lock; trash is disposable
            _rmtree(target)
        os.rename(os.path.join(out, name), target)

    for name in map(_safe_name, plan["install"]):
        src = os.path.join(staging, name)
        if not os.path.lexists(src):
            continue  # installed before the interruption
        if os.path.lexists(os.path.join(out, name)):
            aside(name)
        os.rename(src, os.path.join(out, name))
    for name in map(_safe_name, plan["remove"]):
        if os.path.lexists(os.path.join(out, name)):
            aside(name)
    fsync_dir(out)


def _check_internal(name: object, prefix: str) -> str:
    if not isinstance(name, str) or not name.startswith(prefix) or "/" in name \
            or "\\" in name or name in (".", ".."):
        raise OutputError(f"corrupt commit marker: invalid directory {name!r}")
    return name


def _finish(out: str, marker: str, plan: dict[str, Any]) -> None:
    os.remove(marker)
    fsync_dir(out)
    _rmtree(os.path.join(out, plan["trash"]))
    _rmtree(os.path.join(out, plan["staging"]))


def commit_output(out: str, staging: str, mode: str, run_id: str) -> None:
    """Move the staged run into place (see the module doc for the protocol)."""
    if mode not in MODES:
        raise OutputError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    if mode == "append":
        _merge_for_append(out, staging)
    new = sorted(os.listdir(staging))
    install = [n for n in new if n != REPORT_DIR] + ([REPORT_DIR] if REPORT_DIR in new else [])
    old = _entries(out)
    remove = ([n for n in old if n not in new and n not in KEEP_ON_OVERWRITE]
              if mode == "overwrite" else [])
    plan = {"run_id": run_id, "mode": mode, "staging": os.path.basename(staging),
            "trash": f"{TRASH_PREFIX}{_safe_run_id(run_id)}",
            "install": [_safe_name(n) for n in install], "remove": remove}
    marker = _marker_path(out, run_id)
    write_json_atomic(marker, plan)
    fsync_dir(out)
    _apply(out, plan)
    _finish(out, marker, plan)


def recover_output(out: str) -> list[str]:
    """Complete interrupted commits and delete what failed runs left; returns what was done
    (for the log). Call with the lock held."""
    done: list[str] = []
    for marker in _markers(out):
        plan = read_json(marker)
        if plan is None:  # cannot happen (atomic write); refuse to guess
            raise OutputError(f"unreadable commit marker {marker}; inspect and remove it")
        _apply(out, plan)
        _finish(out, marker, plan)
        done.append(f"completed the interrupted commit of run {plan.get('run_id')}")
    for e in sorted(os.listdir(out)):
        path = os.path.join(out, e)
        if e.startswith(STAGING_PREFIX):
            _rmtree(path)
            done.append(f"removed {e} left by a run that did not finish")
        elif e.startswith((TRASH_PREFIX, COMMIT_PREFIX)) or (
                e.startswith(".") and ".tmp-" in e):
            _rmtree(path)
    return done
