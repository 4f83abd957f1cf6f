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

Every output is filtered by element type before it leaves ``ReadInputs``
(``pipelines.outputs``: the DaskRunner merges the outputs of a multi-output ``ParDo``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from telescrub.core.records import BadRecord, is_bad_record, is_record
from telescrub.core.stats import InputStat, is_stat
from telescrub.formats import readers
from telescrub.formats.units import InputFile, read_limits_for, read_unit, unit_sha256
from telescrub.pipelines.outputs import outputs
from telescrub.store.fs import open_input

log = logging.getLogger("telescrub.read")
BAD = "bad"
STATS = "stats"
PROGRESS_EVERY = 50_000


class ReadFileFn(beam.DoFn):
    def __init__(self, default_year: int | None = None,
                 limits: readers.ReadLimits | None = None) -> None:
        self.default_year = default_year
        self.limits = limits

    def process(self, f: InputFile) -> Iterator[Any]:
        started = time.monotonic()
        records = bad = 0
        if f.is_range:  # one byte range of a split file (split_inputs): the whole file's
            sha, size = f.sha256, f.size
        else:
            sha, size = unit_sha256(f, open_input)
        repaired = readers.ReadStats()
        items = read_unit(f, read_limits_for(self.limits, self.default_year), repaired,
                          opener=open_input)
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
        yield pvalue.TaggedOutput(STATS, InputStat(f.path, f.table, f.fmt, sha, size, records,
                                                   bad, repaired.decoded_with_fallback))


class ReadResult(NamedTuple):
    records: beam.PCollection
    bad: beam.PCollection
    stats: beam.PCollection


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
        typed = outputs(out, records=is_record, bad=is_bad_record, stats=is_stat)
        records, bad, stats = typed["records"], typed[BAD], typed[STATS]
        if self.reshuffle:
            records = records | "Spread" >> beam.Reshuffle()
        return ReadResult(records, bad, stats)
