"""File access of the output store: one atomic write, checksums, small JSON helpers.

Everything telescrub writes (Parquet files, manifests, reports, streaming state, audit lines)
goes through :func:`write_atomic` or :func:`append_lines`, so a reader never sees a
half-written file and an object store can be added in one place.

:func:`write_atomic` writes under a hidden temporary name in the target directory
(``.<name>.tmp-<uuid>``: pyarrow and DuckDB skip names starting with ``.``, and
``verify`` reports such leftovers), flushes and fsyncs it, renames it into place and fsyncs the
directory, so the file survives process death whole or not at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from telescrub.core.digest import sha256_range

#: what marks a temporary file of an interrupted atomic write
TMP_MARK = ".tmp-"


def tmp_name(path: str) -> str:
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name.lstrip('.')}{TMP_MARK}{uuid.uuid4().hex}")


def is_tmp_name(name: str) -> bool:
    return name.startswith(".") and TMP_MARK in name


def write_atomic(path: str, data: bytes | str | Callable[[str], None],
                 durable: bool = True) -> None:
    """Write ``data`` (bytes, text, or a function that writes a given path) to ``path``
    atomically. ``durable`` also fsyncs the file and the directory (reports, manifests,
    journals); bulk data files skip the fsync (a crash loses them whole; the manifest, written
    last and durably, never lists a file that is not there)."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = tmp_name(path)
    try:
        if callable(data):
            data(tmp)
            if durable:
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
        else:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            with open(tmp, "wb") as fh:
                fh.write(raw)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    if durable:
        fsync_dir(directory or ".")


def write_json_atomic(path: str, data: Any) -> None:
    """Pretty, sorted JSON written atomically and durably."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def append_lines(path: str, lines: Iterable[dict[str, Any]]) -> None:
    """Append JSON lines (whole lines, flushed and fsynced) to ``path``."""
    text = "".join(json.dumps(line, sort_keys=True, default=str) + "\n" for line in lines)
    if not text:
        return
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def sha256_file(path: str) -> str:
    """Hex sha256 of a written file."""
    return sha256_range(path)[0]


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (missing: []); a torn last line is skipped."""
    out: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    out.append(obj)
    except FileNotFoundError:
        return []
    return out


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_dirs(a: str, b: str) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``): after it, ``a``
    holds what ``b`` held and the other way round, with no moment where either is missing.
    False where the platform or file system cannot (callers fall back to two renames)."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), a)
