"""Units of work of a batch run: an input file, or a byte range of whole lines of a large one.

The launcher lists the inputs and cuts large uncompressed line-based files into ranges
(:func:`split_inputs`), so the workers of a runner share one big file; :func:`read_unit`
reads one unit's records with the format readers. A path that is not a regular file (a FIFO,
socket or device: opening a FIFO would block the worker forever) is one ``not_a_file`` bad
record, never opened.

Every function that opens an input takes an optional ``opener`` (``readers.Opener``): the
pipelines pass the store's (``telescrub.store.fs.open_input``), so ``s3://`` and ``gs://``
inputs are read, hashed and cut into ranges the same way as local files. An object URL is
always a regular file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from telescrub.core.digest import sha256_range
from telescrub.core.records import BadRecord, Record
from telescrub.formats import readers

log = logging.getLogger("telescrub.read")


class InputFile(NamedTuple):
    """One input file, or one byte range of a large uncompressed line-based file.

    A range (``end`` >= 0) holds whole lines: it starts at the first byte of line
    ``first_line`` and ends just after a newline (or at the end of the file); the launcher
    cuts them (``split_inputs``), so readers never look for line starts. ``sha256`` and
    ``size`` are then the whole file's, computed once while cutting."""

    path: str
    table: str
    fmt: str
    start: int = 0
    end: int = -1  # -1: the whole file
    first_line: int = 1
    sha256: str | None = None
    size: int = 0

    @property
    def is_range(self) -> bool:
        return self.end >= 0


def _is_url(path: str) -> bool:
    head, sep, _ = path.partition("://")
    return bool(sep) and head.lower() in ("s3", "gs")


def not_a_regular_file(path: str) -> str | None:
    """Why *path* must not be opened for reading (None: go ahead). Never blocks."""
    if _is_url(path):
        return None  # an object; a missing one is reported by the reader
    try:
        st = os.stat(path)
    except OSError:
        return None  # the reader reports it as 'unreadable' with the OS reason
    if stat.S_ISREG(st.st_mode):
        return None
    kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device or special file")
    return f"not a regular file: {kind}"


#: files larger than this (uncompressed JSONL / text logs) are read in ranges of this size
DEFAULT_SPLIT_BYTES = 64 << 20


def split_inputs(files: list[InputFile], split_bytes: int = DEFAULT_SPLIT_BYTES,
                 max_bytes: int | None = None,
                 opener: readers.Opener | None = None) -> list[InputFile]:
    """Cut each large uncompressed line-based file into byte ranges of whole lines, so the
    workers of a runner share one big file. gzip (not seekable), CSV (a quoted field may span
    lines), special files and files over the per-file cap (``max_bytes``: read whole up to
    the cap, then quarantined as too large) stay whole. ``split_bytes`` <= 0 disables it."""
    out: list[InputFile] = []
    for f in files:
        size = _splittable_size(f, opener)
        if split_bytes <= 0 or size <= split_bytes or (max_bytes is not None
                                                       and size > max_bytes):
            out.append(f)
            continue
        try:
            ranges, sha, size = readers.line_ranges(f.path, split_bytes, opener)
        except OSError:
            out.append(f)  # the reader reports it per file
            continue
        if len(ranges) == 1:
            out.append(f)
            continue
        log.info("%s: %d bytes read as %d ranges", f.path, size, len(ranges))
        out.extend(f._replace(start=a, end=b, first_line=n, sha256=sha, size=size)
                   for a, b, n in ranges)
    return out


def _open(path: str, opener: readers.Opener | None) -> BinaryIO:
    return open(path, "rb") if opener is None else opener(path)  # noqa: SIM115


def _splittable_size(f: InputFile, opener: readers.Opener | None = None) -> int:
    if f.fmt not in ("jsonl", "text") or f.is_range or not_a_regular_file(f.path):
        return 0
    try:
        with _open(f.path, opener) as fh:
            if fh.read(2) == readers.GZIP_MAGIC:
                return 0
            return fh.seek(0, io.SEEK_END)
    except OSError:
        return 0


def read_limits_for(limits: readers.ReadLimits | None,
                    default_year: int | None) -> readers.ReadLimits:
    """The readers' caps, with the run's default year for logs that carry none."""
    lim = limits or readers.ReadLimits()
    if default_year is not None:
        lim = dataclasses.replace(lim, default_year=default_year)
    return lim


def read_unit(f: InputFile, lim: readers.ReadLimits,
              opener: readers.Opener | None = None) -> Iterator[Record | BadRecord]:
    """The records of one input file or byte range. A path that is not a regular file is one
    ``not_a_file`` BadRecord (never opened: a FIFO would block the worker)."""
    special = not_a_regular_file(f.path)
    if special is not None:
        log.warning("cannot read %s: %s", f.path, special)
        yield BadRecord(f.table, f.path, 0, "not_a_file", special, "")
        return
    byte_range = (f.start, f.end, f.first_line) if f.is_range else None
    yield from readers.read_records(f.path, f.table, f.fmt, limits=lim, byte_range=byte_range,
                                    opener=opener)




def unit_key(f: InputFile) -> str:
    """Names one unit of work: the file, or the file and its range's first byte."""
    return f"{f.path}@{f.start}" if f.is_range else f.path


def unit_label(f: InputFile) -> str:
    return f"{f.path} (bytes {f.start}-{f.end})" if f.is_range else f.path


def unit_sha256(f: InputFile, opener: readers.Opener | None = None,
                ) -> tuple[str | None, int]:
    """SHA-256 and size of what this unit reads (the range's bytes for a range); (None, 0)
    for a path that is not a regular file (never opened) or cannot be read."""
    if not_a_regular_file(f.path) is not None:
        return None, 0
    start, length = (f.start, f.end - f.start) if f.is_range else (0, -1)
    try:
        if opener is None:
            return sha256_range(f.path, start, length)
        h, n = hashlib.sha256(), 0
        with opener(f.path) as fh:
            fh.seek(start)
            while length < 0 or n < length:
                chunk = fh.read(1 << 20 if length < 0 else min(1 << 20, length - n))
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
        return h.hexdigest(), n
    except OSError as exc:
        log.warning("cannot read %s: %s", f.path, exc.strerror or type(exc).__name__)
        return None, 0
