"""Beam stage: read input files into flattened records, bad lines to a dead-letter output.

Files are listed on the launcher (globs expanded once) and read by a ``DoFn`` that streams
each file line by line — it works on every runner (the Dask runner cannot translate
``ReadFromText``) and never loads a whole file. A ``Reshuffle`` after it spreads the records
of a large file across workers for the heavier stages.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from telescrub.pipelines import readers
from telescrub.records import BadRecord

log = logging.getLogger("telescrub.read")
BAD = "bad"
STATS = "stats"
PROGRESS_EVERY = 50_000


class InputFile(NamedTuple):
    path: str
    table: str
    fmt: str


def file_sha256(path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


class ReadFileFn(beam.DoFn):
    def __init__(self, default_year: int | None = None) -> None:
        self.default_year = default_year

    def process(self, f: InputFile) -> Iterator[Any]:
        started = time.monotonic()
        records = bad = 0
        try:
            sha, size = file_sha256(f.path)
        except OSError as exc:
            sha, size = None, 0
            log.warning("cannot read %s: %s", f.path, exc.strerror)
        limits = readers.ReadLimits(default_year=self.default_year)
        for item in readers.read_records(f.path, f.table, f.fmt, limits=limits):
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


class ReadInputs(beam.PTransform):
    """PCollection[InputFile] -> records (Record), bad (BadRecord), stats (per-file counts)."""

    def __init__(self, default_year: int | None = None, reshuffle: bool = True) -> None:
        super().__init__()
        self.default_year = default_year
        self.reshuffle = reshuffle

    def expand(self, files: beam.PCollection) -> ReadResult:
        out = files | "ReadFiles" >> beam.ParDo(ReadFileFn(self.default_year)).with_outputs(
            BAD, STATS, main="records")
        records = out.records
        if self.reshuffle:
            records = records | "Spread" >> beam.Reshuffle()
        return ReadResult(records, out[BAD], out[STATS])


