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
import fcntl
import os
import shutil
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from telescrub.core.errors import OutputError
from telescrub.core.hooks import point
from telescrub.store.fs import fsync_dir, read_json, sha256_file, write_json_atomic

LOCK_NAME = ".telescrub.lock"
STAGING_PREFIX = ".staging-"
TRASH_PREFIX = ".trash-"
COMMIT_PREFIX = ".commit-"
COMMIT_SUFFIX = ".json"
REPORT_DIR = "_report"
MANIFEST_NAME = "_manifest.json"
MODES = ("overwrite", "append", "error-if-exists")
DEFAULT_MODE = "overwrite"
#: top-level entries an overwrite keeps
KEEP_ON_OVERWRITE = ("_audit",)
_MARKERS = ("_report", "_quarantine", "_audit")


class OutputLock:
    """An exclusive ``flock`` on ``<out>/.telescrub.lock``; released by the OS if we die."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            os.makedirs(self.out, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output directory {self.out}: {exc.strerror}") \
                from None
        path = os.path.join(self.out, LOCK_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"output directory {self.out} is in use by another telescrub run "
                              "(lock held); wait for it to finish or choose another --output") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


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
    point("commit.staging", path=path)
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






def _old_files(old_p: str, old_m: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The files of a previous partition: those its manifest lists, plus readable Parquet
    files it does not list (left by older telescrub versions' append). Each names the run
    that wrote it (``run_id``): the merged manifest is the new run's, and ``verify`` checks
    every file's footer against its own run."""
    import pyarrow.parquet as pq

    present = set(os.listdir(old_p))
    out: list[dict[str, Any]] = []
    listed: set[str] = set()
    for e in (old_m or {}).get("files", []):
        name = str(e.get("path"))
        if os.path.basename(name) == name and name in present:
            run_id = e.get("run_id") or (old_m or {}).get("run_id")
            out.append({"path": name, "rows": int(e.get("rows", 0)), "sha256": e.get("sha256"),
                        **({"run_id": run_id} if run_id else {})})
            listed.add(name)
    for name in sorted(present - listed):
        if name.startswith((".", "_")) or not name.endswith(".parquet"):
            continue
        path = os.path.join(old_p, name)
        try:
            meta = pq.read_metadata(path)
        except Exception:  # noqa: BLE001 - an unreadable leftover is not carried over
            continue
        run_id = (meta.metadata or {}).get(b"telescrub.run_id", b"").decode()
        out.append({"path": name, "rows": meta.num_rows, "sha256": sha256_file(path),
                    **({"run_id": run_id} if run_id else {})})
    return out


def _merge_partition(old_p: str, new_p: str) -> None:
    new_m = read_json(os.path.join(new_p, MANIFEST_NAME))
    if new_m is None:
        raise OutputError(f"staged partition {new_p} has no readable manifest")
    old_m = read_json(os.path.join(old_p, MANIFEST_NAME))
    entries = {str(e["path"]): e for e in new_m.get("files", [])}
    for e in _old_files(old_p, old_m):
        if e["path"] in entries:  # same content hash: the same rows, the new copy wins
            continue
        _link(os.path.join(old_p, e["path"]), os.path.join(new_p, e["path"]))
        entries[e["path"]] = e
    merged = dict(new_m)
    merged["files"] = [entries[k] for k in sorted(entries)]
    merged["rows"] = sum(int(e["rows"]) for e in merged["files"])
    if old_m is not None and all(k in old_m for k in ("retention_days", "expires_on",
                                                       "retention_category")):
        # the shortest retention wins, as within one run
        cands = [(int(m["retention_days"]), str(m["retention_category"]), str(m["expires_on"]))
                 for m in (new_m, old_m)]
        days = min(c[0] for c in cands)
        merged["retention_days"] = days
        merged["retention_category"] = min(c[1] for c in cands if c[0] == days)
        merged["expires_on"] = min(c[2] for c in cands)
    write_json_atomic(os.path.join(new_p, MANIFEST_NAME), merged)


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
                _merge_partition(old_p, new_p)
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
        point("commit.install", entry=name)
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
    point("commit.done", out=out)
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
    point("commit.marker")
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
