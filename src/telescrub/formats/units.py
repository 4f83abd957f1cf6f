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
import io
import logging
import os
import stat
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from telescrub.core.digest import sha256_range, sha256_stream
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


def read_unit(f: InputFile, lim: readers.ReadLimits, stats: readers.ReadStats | None = None,
              opener: readers.Opener | None = None) -> Iterator[Record | BadRecord]:
    """The records of one input file or byte range. A path that is not a regular file is one
    ``not_a_file`` BadRecord (never opened: a FIFO would block the worker). ``stats`` counts
    what the reader repaired (records that were not UTF-8)."""
    special = not_a_regular_file(f.path)
    if special is not None:
        log.warning("cannot read %s: %s", f.path, special)
        yield BadRecord(f.table, f.path, 0, "not_a_file", special, "")
        return
    byte_range = (f.start, f.end, f.first_line) if f.is_range else None
    yield from readers.read_records(f.path, f.table, f.fmt, limits=lim, byte_range=byte_range,
                                    stats=stats, opener=opener)




def unit_key(f: InputFile) -> str:
    """Names one unit of work: the file, or the file and its range's first byte."""
    return f"{f.path}@{f.start}" if f.is_range else f.path


def unit_label(f: InputFile) -> str:
    return f"{f.path} (bytes {f.start}-{f.end})" if f.is_range else f.path


def unit_size(f: InputFile, opener: readers.Opener | None = None) -> int:
    """The bytes a unit reads (its range, or the whole file)."""
    if f.is_range:
        return f.end - f.start
    try:
        if opener is not None:
            with opener(f.path) as fh:
                return int(fh.seek(0, io.SEEK_END))
        return os.stat(f.path).st_size
    except OSError:
        return 0


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
        with opener(f.path) as fh:
            return sha256_stream(fh, start, length)
    except OSError as exc:
        log.warning("cannot read %s: %s", f.path, exc.strerror or type(exc).__name__)
        return None, 0


#: bytes of whole lines parsed at once by the columnar JSONL reader
ARROW_BLOCK_BYTES = 8 << 20


class ArrowBlock(NamedTuple):
    """Records of a unit read by the columnar reader (``telescrub.formats.arrow_jsonl``):
    one column per field path (null: the record lacks the field) and ``_line``."""

    table: str
    source: str
    data: Any  # pa.Table


def _block_lines(raw: bytes, first_line: int, max_line_bytes: int,
                 ) -> Iterator[tuple[int, bytes | readers.LineTooLong]]:
    """The physical lines of a block as ``readers.open_text_lines`` yields them."""
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        n = first_line + i
        if len(line) > max_line_bytes:
            yield n, readers.LineTooLong(line[:readers.EXCERPT_BYTES], len(line))
            continue
        if line.endswith(b"\r"):
            line = line[:-1]
        if n == 1 and line.startswith(readers.BOM):
            line = line[3:]
        yield n, line


class _ParsedUnits:
    """Columnar blocks parsed by one pass, kept (up to a byte budget) for the next passes
    over the same unit in this worker process: the file passes read every unit three times
    (profile, known identifiers, scrub), and parsing is most of reading. Keyed by the unit
    and the file's size and modification time; only units read wholly as columnar blocks
    are kept; the scrub pass takes them out. A unit not found is simply read again."""

    def __init__(self) -> None:
        self.units: dict[tuple[Any, ...], list[ArrowBlock]] = {}
        self.bytes = 0
        self.budget = 512 << 20

    @staticmethod
    def key(f: InputFile) -> tuple[Any, ...] | None:
        if _is_url(f.path):
            return None  # objects are not kept across passes (each pass reads the bucket)
        try:
            st = os.stat(f.path)
        except OSError:
            return None
        return (f.path, f.start, f.end, f.table, st.st_size, st.st_mtime_ns)

    def get(self, f: InputFile, take: bool) -> list[ArrowBlock] | None:
        k = self.key(f)
        hit = self.units.get(k) if k is not None else None
        if hit is not None and take:
            del self.units[k]  # type: ignore[arg-type]
            self.bytes -= sum(b.data.nbytes for b in hit)
        return hit

    def put(self, f: InputFile, blocks: list[ArrowBlock]) -> None:
        k = self.key(f)
        size = sum(b.data.nbytes for b in blocks)
        if k is not None and k not in self.units and self.bytes + size <= self.budget:
            self.units[k] = blocks
            self.bytes += size


PARSED = _ParsedUnits()


def read_unit_blocks(f: InputFile, lim: readers.ReadLimits, cache: str | None = None,
                     stats: readers.ReadStats | None = None,
                     opener: readers.Opener | None = None,
                     ) -> Iterator[ArrowBlock | Record | BadRecord]:
    """The records of one unit, JSON lines in columnar blocks where the columnar reader can
    promise the Python reader's records (every other block, and every other format, through
    :func:`read_unit`). Same records, same line numbers, same bad records, and the same
    repairs counted in ``stats`` (the columnar reader declines lines that are not UTF-8).

    ``cache``: ``"keep"`` keeps a unit read wholly as columnar blocks for the next passes
    (:data:`PARSED`), ``"peek"`` uses a kept unit, ``"take"`` uses it and lets it go."""
    if cache in ("peek", "take"):
        hit = PARSED.get(f, take=cache == "take")
        if hit is not None:
            yield from hit
            return
    kept: list[ArrowBlock] | None = [] if cache == "keep" else None
    for item in _read_unit_blocks(f, lim, stats, opener):
        if kept is not None:
            if isinstance(item, ArrowBlock):
                kept.append(item)
            else:
                kept = None
        yield item
    if kept:
        PARSED.put(f, kept)


def _read_unit_blocks(f: InputFile, lim: readers.ReadLimits,
                      stats: readers.ReadStats | None,
                      opener: readers.Opener | None = None,
                      ) -> Iterator[ArrowBlock | Record | BadRecord]:
    from telescrub.formats.arrow_jsonl import arrow_block

    if f.fmt != "jsonl" or not_a_regular_file(f.path) is not None:
        yield from read_unit(f, lim, stats, opener)
        return
    if not f.is_range or f.start == 0:
        binary = readers.binary_content(f.path, opener)
        if binary:  # what read_records gives for it: one unreadable record
            yield BadRecord(f.table, f.path, 0, "unreadable", binary, "")
            return
    try:
        with _open(f.path, opener) as fh:
            if fh.read(2) == readers.GZIP_MAGIC:
                fh.close()
                yield from read_unit(f, lim, stats, opener)
                return
            size = fh.seek(0, io.SEEK_END)
            start = f.start if f.is_range else 0
            end = f.end if f.is_range else size
            if end - start > lim.max_bytes or (not f.is_range and size > lim.max_bytes):
                fh.close()
                # the cap's quarantine record comes from there
                yield from read_unit(f, lim, stats, opener)
                return
            fh.seek(start)
            line = f.first_line if f.is_range else 1
            hint = None
            carry = b""
            remaining = end - start
            while remaining > 0 or carry:
                chunk = fh.read(min(ARROW_BLOCK_BYTES, remaining)) if remaining > 0 else b""
                remaining -= len(chunk)
                data = carry + chunk
                if remaining > 0 and chunk:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:  # one line longer than a block: keep reading
                        if len(data) > lim.max_line_bytes:
                            # over the line cap: the streaming reader takes the rest (it
                            # never holds more than the cap of one line)
                            at = end - remaining - len(data)
                            fh.close()
                            yield from readers.read_records(
                                f.path, f.table, "jsonl", limits=lim,
                                byte_range=(at, end, line), stats=stats, opener=opener)
                            return
                        carry = data
                        continue
                    block, carry = data[:cut], data[cut:]
                else:
                    block, carry = data, b""
                if not block:
                    break
                got = arrow_block(block, line, lim.max_line_bytes, hint, lim.max_depth,
                                  lim.max_fields, lim.max_values)
                if got is not None:
                    table, hint = got
                    yield ArrowBlock(f.table, f.path, table)
                else:
                    yield from readers.read_jsonl_lines(
                        _block_lines(block, line, lim.max_line_bytes), f.table, f.path, lim,
                        stats)
                line += block.count(b"\n")
    except OSError as exc:
        yield BadRecord(f.table, f.path, 0, "unreadable",
                        f"read failed: {exc.strerror or type(exc).__name__}", "")
