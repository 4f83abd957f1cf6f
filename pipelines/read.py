"""Beam stage: read input files into flattened records, bad lines to a dead-letter output.

Files are listed on the launcher (globs expanded once) and read by a ``DoFn`` that streams
each file line by line — it works on every runner (the Dask runner cannot translate
``ReadFromText``) and never loads a whole file. A ``Reshuffle`` after it spreads the records
of a large file across workers for the heavier stages.

Hostile files: a path that is not a regular file (a FIFO, socket or device — opening a FIFO
would block the worker forever) or cannot be opened (a dangling symlink, a file removed
after listing) becomes one ``BadRecord`` at line 0 and the run goes on; the caps on
decompressed bytes per file and bytes per line come from :class:`readers.ReadLimits`
(``telescrub run --max-file-bytes/--max-line-bytes``).

Every output is filtered by element type before it leaves ``ReadInputs``. On the Fn API
runners that is a no-op; Beam 2.77's DaskRunner drops the output tags of a multi-output
``ParDo`` (each tagged PCollection receives the union of all outputs), and the filter keeps
records, bad records and stats apart there too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from telescrub.core.records import BadRecord, Record, is_bad_record, is_stats
from telescrub.formats import readers

log = logging.getLogger("telescrub.read")
BAD = "bad"
STATS = "stats"
PROGRESS_EVERY = 50_000


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


def file_sha256(path: str, start: int = 0, length: int = -1) -> tuple[str, int]:
    """(sha256, bytes hashed) of a file, or of ``length`` bytes from ``start``."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        while length < 0 or n < length:
            chunk = fh.read(1 << 20 if length < 0 else min(1 << 20, length - n))
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _not_a_regular_file(path: str) -> str | None:
    """Why *path* must not be opened for reading (None: go ahead). Never blocks."""
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
                 max_bytes: int | None = None) -> list[InputFile]:
    """Cut each large uncompressed line-based file into byte ranges of whole lines, so the
    workers of a runner share one big file. gzip (not seekable), CSV (a quoted field may span
    lines), special files and files over the per-file cap (``max_bytes``: read whole up to
    the cap, then quarantined as too large) stay whole. ``split_bytes`` <= 0 disables it."""
    out: list[InputFile] = []
    for f in files:
        size = _splittable_size(f)
        if split_bytes <= 0 or size <= split_bytes or (max_bytes is not None
                                                       and size > max_bytes):
            out.append(f)
            continue
        try:
            ranges, sha, size = readers.line_ranges(f.path, split_bytes)
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


def _splittable_size(f: InputFile) -> int:
    if f.fmt not in ("jsonl", "text") or f.is_range or _not_a_regular_file(f.path):
        return 0
    try:
        with open(f.path, "rb") as fh:
            if fh.read(2) == readers.GZIP_MAGIC:
                return 0
            return os.fstat(fh.fileno()).st_size
    except OSError:
        return 0


def read_limits_for(limits: readers.ReadLimits | None,
                    default_year: int | None) -> readers.ReadLimits:
    """The readers' caps, with the run's default year for logs that carry none."""
    lim = limits or readers.ReadLimits()
    if default_year is not None:
        lim = dataclasses.replace(lim, default_year=default_year)
    return lim


def read_unit(f: InputFile, lim: readers.ReadLimits) -> Iterator[Record | BadRecord]:
    """The records of one input file or byte range. A path that is not a regular file is one
    ``not_a_file`` BadRecord (never opened: a FIFO would block the worker)."""
    special = _not_a_regular_file(f.path)
    if special is not None:
        log.warning("cannot read %s: %s", f.path, special)
        yield BadRecord(f.table, f.path, 0, "not_a_file", special, "")
        return
    byte_range = (f.start, f.end, f.first_line) if f.is_range else None
    yield from readers.read_records(f.path, f.table, f.fmt, limits=lim, byte_range=byte_range)


class ReadFileFn(beam.DoFn):
    def __init__(self, default_year: int | None = None,
                 limits: readers.ReadLimits | None = None) -> None:
        self.default_year = default_year
        self.limits = limits

    def process(self, f: InputFile) -> Iterator[Any]:
        started = time.monotonic()
        records = bad = 0
        sha: str | None = None
        size = 0
        if f.is_range:  # one byte range of a split file (split_inputs)
            sha, size = f.sha256, f.size
        elif _not_a_regular_file(f.path) is None:
            try:
                sha, size = file_sha256(f.path)
            except OSError as exc:
                log.warning("cannot read %s: %s", f.path, exc.strerror)
        items = read_unit(f, read_limits_for(self.limits, self.default_year))
        for item in items:
            if isinstance(item, BadRecord):
                bad += 1
                yield pvalue.TaggedOutput(BAD, item)
            else:
                records += 1
                yield item
            n = records + bad
            if n % PROGRESS_EVERY == 0:
                log.info("reading %s: %d records so far", f.path, n)
        log.info("read %s: %d records, %d bad (%.1fs)", f.path, records, bad,
                 time.monotonic() - started)
        yield pvalue.TaggedOutput(STATS, {
            "kind": "input", "source": f.path, "table": f.table, "format": f.fmt,
            "sha256": sha, "bytes": size, "records": records, "bad": bad})


class ReadResult(NamedTuple):
    records: beam.PCollection
    bad: beam.PCollection
    stats: beam.PCollection


# module-level predicates (pickled by reference; a lambda's globals do not survive every
# runner's pickling)
def _is_record(x: Any) -> bool:
    return isinstance(x, Record)




class ReadInputs(beam.PTransform):
    """PCollection[InputFile] -> records (Record), bad (BadRecord), stats (per-file counts)."""

    def __init__(self, default_year: int | None = None, reshuffle: bool = True,
                 limits: readers.ReadLimits | None = None) -> None:
        super().__init__()
        self.default_year = default_year
        self.reshuffle = reshuffle
        self.limits = limits

    def expand(self, files: beam.PCollection) -> ReadResult:
        out = files | "ReadFiles" >> beam.ParDo(
            ReadFileFn(self.default_year, self.limits)).with_outputs(BAD, STATS, main="records")
        # no-ops where output tags work; needed where a runner merges them (see module doc)
        records = out.records | "OnlyRecords" >> beam.Filter(_is_record)
        bad = out[BAD] | "OnlyBad" >> beam.Filter(is_bad_record)
        stats = out[STATS] | "OnlyStats" >> beam.Filter(is_stats)
        if self.reshuffle:
            records = records | "Spread" >> beam.Reshuffle()
        return ReadResult(records, bad, stats)
