"""Batch hot path: scrub whole input files in passes, with no shuffle of the records.

    result = files | "ScrubFiles" >> ScrubFiles(policy, key, out_dir, run_info)
    result.files        # ((table, event_date or ""), FileResult) for every Parquet file written
    result.quarantine   # BadRecord: unparseable lines and records that failed processing
    result.decisions    # (table, TableDecision)
    result.stats        # report counts (no raw values)

The per-record path (``ReadInputs | Scrub | WritePartitions``) moves every record through
Beam three times (read -> classify side input -> act -> group by partition), so a runner holds
the whole input between stages and pays Beam's per-element cost several times per record. Here
the unit of work is an input file, read three times by streaming readers:

1. **Profile** (``ProfileFileFn``): every record is folded into per-table ``FieldProfile``
   accumulators (bounded: ``sample_size`` values per field); the accumulators are merged per
   table and decided by the same ``DecideFn`` as ``Classify``. The bottom-k sample does not
   depend on how the records were split, so the decisions are exactly the per-record path's.
2. **Known identifiers** (``KnownFromFileFn``): only files of tables that have a name, user or
   host column are read again; each yields its distinct identifiers (``known_values``).
3. **Scrub and write** (``ScrubFileFn``): records are acted on in batches
   (``telescrub.core.act.BatchActor``, the engine ``Scrub`` uses too: same tokens, same
   counts) and buffered per (table, event date); every ``rows_per_file`` records the buffers
   are written by the one writer (``telescrub.store.writer``) as Parquet files whose names
   derive from the source path, the chunk number and the content, so a re-executed step
   overwrites the same files. Only file summaries, bad records and counts leave the step.

Peak memory per worker is bounded by ``rows_per_file`` records plus the known identifiers,
whatever the input size. Reading a file three times costs parsing (a fraction of acting), and
the files must not change during the run: the third pass checks each file's SHA-256 against
the first and quarantines the file's records as ``changed_during_run`` if it differs.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Generator, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue

from telescrub.classifiers.known import (
    KnownValues,
    known_values,
    known_values_of_block,
    needs_known,
)
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.classifiers.text import TextScrubber
from telescrub.core.act import BatchActor, undecided
from telescrub.core.decisions import FieldDecision, FrozenDecisions, TableDecision
from telescrub.core.keys import HashKey, resolve_key
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, is_bad_record, output_name
from telescrub.core.stats import InputStat, is_stat
from telescrub.core.timeparse import parse_timestamp
from telescrub.formats import readers
from telescrub.formats.arrow_jsonl import row_fields
from telescrub.formats.units import (
    PARSED,
    ArrowBlock,
    InputFile,
    read_limits_for,
    read_unit_blocks,
    unit_key,
    unit_label,
    unit_sha256,
    unit_size,
)
from telescrub.pipelines.classify import DecideFn, MergeProfilesFn, TableProfileFn
from telescrub.pipelines.outputs import outputs
from telescrub.store.fs import open_input
from telescrub.store.layout import PartitionKey, validate_event_date, validate_table
from telescrub.store.parquet import (
    ColumnSpec,
    FileResult,
    RunInfo,
    TableLayout,
    conform,
    rows_to_table,
)
from telescrub.store.writer import write_table

log = logging.getLogger("telescrub.scrub_files")
QUARANTINE = "quarantine"
STATS = "stats"
PROGRESS_EVERY = 100_000
#: records acted on together, column by column (each distinct value once per batch)
ACT_BATCH = 4096
#: profiles leave a worker at least this often (records), so a huge file never holds more
#: than one accumulator per table
PROFILE_FLUSH = 500_000
#: retention of a column whose values were redacted: it constrains nothing
_NO_CONSTRAINT = 36500


def layout_for(fields: dict[str, FieldDecision], table: str, policy: Policy) -> TableLayout:
    """The output columns of a table, with their categories and retention, from decisions."""
    cols = []
    for path, d in sorted(fields.items()):
        if d.action == "drop":
            continue
        out_cat = d.output_category
        cols.append(ColumnSpec(
            name=output_name(path), arrow_type=d.arrow_type, category=out_cat or "redacted",
            source_category=d.category, action=d.action, evidence=d.evidence,
            confidence=d.confidence, entity=d.entity,
            retention_days=policy.retention_days[out_cat] if out_cat else _NO_CONSTRAINT))
    return TableLayout(table, tuple(cols))


def source_tag(source: str) -> str:
    """A short stable name part for an input file or range (file names never show input
    paths)."""
    return "f" + hashlib.blake2b(source.encode("utf-8", "surrogatepass"),
                                 digest_size=5).hexdigest()


# ----------------------------------------------------------------------------- pass 1
class ProfileFileFn(beam.DoFn):
    """InputFile -> (table, (records, {path: FieldProfile})) partial profiles; plus the
    unit's SHA-256 as (unit key, digest) under the ``sha`` output."""

    def __init__(self, sample_size: int, default_year: int | None,
                 limits: readers.ReadLimits | None) -> None:
        self.sample_size = sample_size
        self.lim = read_limits_for(limits, default_year)

    def process(self, f: InputFile) -> Iterator[Any]:
        combine = TableProfileFn(self.sample_size)
        accs: dict[str, tuple[int, dict[str, FieldProfile]]] = {}
        held = 0
        for item in read_unit_blocks(f, self.lim, cache="keep", opener=open_input):
            if isinstance(item, BadRecord):
                continue  # quarantined by the scrub pass
            acc = accs.get(item.table)
            if acc is None:
                acc = combine.create_accumulator()
            if isinstance(item, ArrowBlock):
                accs[item.table] = combine.add_block(acc, item.data)
                held += item.data.num_rows
            else:
                accs[item.table] = combine.add_input(acc, item.fields)
                held += 1
            if held >= PROFILE_FLUSH:
                yield from sorted(accs.items())
                accs, held = {}, 0
        yield from sorted(accs.items())
        yield pvalue.TaggedOutput("sha", (unit_key(f), unit_sha256(f, open_input)[0]))


# ----------------------------------------------------------------------------- pass 2
class KnownFromFileFn(beam.DoFn):
    """InputFile -> the distinct (entity, identifier) pairs of its name/user/host columns."""

    def __init__(self, default_year: int | None, limits: readers.ReadLimits | None) -> None:
        self.lim = read_limits_for(limits, default_year)

    def process(self, f: InputFile, decisions: dict[str, TableDecision],
                ) -> Iterator[tuple[str, str]]:
        td = decisions.get(f.table)
        seen: set[tuple[str, str]] = set()
        if td is not None and needs_known(td.fields.values()):  # else: not read again
            lookup = FrozenDecisions(decisions)
            for item in read_unit_blocks(f, self.lim, cache="peek", opener=open_input):
                if isinstance(item, ArrowBlock):
                    seen.update(known_values_of_block(item.table, item.data, lookup))
                elif isinstance(item, Record):
                    seen.update(known_values(item, lookup))
        yield from sorted(seen)


# ----------------------------------------------------------------------------- pass 3
class ScrubFileFn(beam.DoFn):
    """InputFile -> ((table, date), FileResult) per file written; bad records and dead
    letters to ``quarantine``; per-file counts and masked examples to ``stats``."""

    def __init__(self, policy: Policy, key: HashKey, out_dir: str, run_info: RunInfo,
                 default_year: int | None, limits: readers.ReadLimits | None,
                 rows_per_file: int) -> None:
        if rows_per_file < 1:
            raise ValueError("rows_per_file must be >= 1")
        self.policy, self.key, self.out_dir, self.run_info = policy, key, out_dir, run_info
        self.lim = read_limits_for(limits, default_year)
        self.rows_per_file = rows_per_file

    def setup(self) -> None:
        self.key = resolve_key(self.key)  # the job carries only the key's reference
        # "now" for implausible event times: the run's start, the same on every worker
        self.acting = BatchActor(self.policy, self.key, TextScrubber(self.policy, self.key),
                                 now=parse_timestamp(self.run_info.created_at))
        self._layouts: dict[str, tuple[TableDecision, TableLayout, frozenset[str]]] = {}
        self._frozen: tuple[object, FrozenDecisions] | None = None

    def _layout(self, td: TableDecision) -> tuple[TableLayout, frozenset[str]]:
        hit = self._layouts.get(td.table)
        if hit is None or hit[0] is not td:
            layout = layout_for(td.fields, td.table, self.policy)
            hit = self._layouts[td.table] = (td, layout,
                                             frozenset(c.name for c in layout.columns))
        return hit[1], hit[2]

    def process(self, f: InputFile, decisions: dict[str, TableDecision],
                known: list[tuple[str, str]], shas: dict[str, str | None]) -> Iterator[Any]:
        started = time.monotonic()
        if self._frozen is None or self._frozen[0] is not decisions:
            self._frozen = (decisions, FrozenDecisions(decisions))
        lookup = self._frozen[1]
        self.acting.set_known(known, lambda: KnownValues(known))
        self.acting.reset_stats()
        tag = source_tag(unit_key(f))
        # a unit the profile pass kept parsed is acted on exactly as profiled: its checksum
        # is the profile pass's, and it cannot have changed since
        cached = PARSED.get(f, take=False) is not None
        sha, size = (shas.get(unit_key(f)), unit_size(f, open_input)) if cached \
            else unit_sha256(f, open_input)
        changed = sha != shas.get(unit_key(f))
        if changed:
            log.warning("%s changed while the run read it: its records are quarantined", f.path)
        buffers: dict[tuple[str, str], list[Any]] = {}
        pending: list[Record] = []
        buffered = chunk = records = bad = 0
        repaired = readers.ReadStats()  # records that were not UTF-8, decoded anyway
        for item in itertools.chain(read_unit_blocks(f, self.lim, cache="take",
                                                     stats=repaired, opener=open_input),
                                    [None]):
            if isinstance(item, BadRecord):
                bad += 1
                yield pvalue.TaggedOutput(QUARANTINE, item)
                continue
            if isinstance(item, Record):
                records += 1
                if records % PROGRESS_EVERY == 0:
                    log.info("scrubbing %s: %d records so far", unit_label(f), records)
                pending.append(item)
                # never more than rows_per_file rows buffered: a file holds at most that many
                if len(pending) < min(ACT_BATCH, self.rows_per_file - buffered):
                    continue
            # act on the records read so far: a full batch, a columnar block next, the end
            for out in self._act(pending, lookup, changed):
                buffered += yield from self._place(out, buffers)
            pending = []
            if isinstance(item, ArrowBlock):
                records += item.data.num_rows
                for out in self._act_block(item, lookup, changed):
                    buffered += yield from self._place(out, buffers)
            if item is None:
                break
            if buffered >= self.rows_per_file:
                files = list(self._flush(buffers, decisions, tag, chunk))
                yield from files
                chunk += _chunks_used(files)
                buffers, buffered = {}, 0
        yield from self._flush(buffers, decisions, tag, chunk)
        log.info("scrubbed %s: %d records, %d bad (%.1fs)", unit_label(f), records, bad,
                 time.monotonic() - started)
        after = sha if cached else unit_sha256(f, open_input)[0]
        if after != sha:
            # appended or rewritten while this pass read it: what was read is written and
            # counted (the accounting holds), but it is not the content the hash names
            log.warning("%s changed while telescrub read it; its sha256 is of the content "
                        "before", unit_label(f))
        if f.is_range:  # the report adds up the ranges of one file
            sha, size = f.sha256, f.size
        yield pvalue.TaggedOutput(STATS, InputStat(f.path, f.table, f.fmt, sha, size, records,
                                                   bad, repaired.decoded_with_fallback))
        for s in self.acting.stats():
            yield pvalue.TaggedOutput(STATS, s)

    def _act(self, recs: list[Record], lookup: FrozenDecisions, changed: bool,
             ) -> list[ScrubbedRecord | BadRecord | None]:
        """Acts on a batch of records, column by column (``BatchActor.act_batch``)."""
        if not recs:
            return []
        if changed:
            # a file that changed since it was profiled has no reviewed layout: its records
            # are quarantined, never written with guessed columns
            return [undecided(r, "input file changed while telescrub read it") for r in recs]
        result = self.acting.act_batch(recs, lookup)
        for i, out in enumerate(result):
            if isinstance(out, ScrubbedRecord):
                td = lookup.table(out.table)
                assert td is not None
                _, names = self._layout(td)
                if not names.issuperset(out.fields):
                    result[i] = undecided(recs[i], "a field appeared that the profile pass "
                                                   "did not see")
        return result

    @staticmethod
    def _place(out: Any, buffers: dict[tuple[str, str], list[Any]],
               ) -> Generator[Any, None, int]:
        """Buffer one act result (a scrubbed record, or a columnar piece ``((table, date),
        rows)``) under its partition, or send a bad record to quarantine; returns the rows
        buffered."""
        if isinstance(out, BadRecord):
            yield pvalue.TaggedOutput(QUARANTINE, out)
            return 0
        if isinstance(out, ScrubbedRecord):
            pieces = buffers.setdefault((out.table, out.event_date or ""), [])
            if pieces and isinstance(pieces[-1], list):
                pieces[-1].append(out)
            else:
                pieces.append([out])
            return 1
        if isinstance(out, tuple):
            key, rows = out
            buffers.setdefault(key, []).append(rows)
            return int(rows.num_rows)
        return 0  # dropped by the policy (counted by the actor)

    def _act_block(self, block: ArrowBlock, lookup: FrozenDecisions, changed: bool,
                   ) -> list[Any]:
        """A columnar block acted on column by column (``BatchActor.act_table``): bad records,
        then one ``((table, date), rows)`` piece per event date."""
        if changed:
            return [undecided(Record(block.table, block.source, line, fields),
                              "input file changed while telescrub read it")
                    for line, fields in row_fields(block.data)]
        acted = self.acting.act_table(block.table, block.source, block.data, lookup)
        out: list[Any] = list(acted.bad)
        rows = acted.rows
        if rows is None or not rows.num_rows:
            return out
        dates = rows.column("event_date")
        for date in pc.unique(dates).to_pylist():
            mask = pc.is_null(dates) if date is None else pc.equal(dates, date)
            out.append(((block.table, date or ""), rows.filter(mask).drop(["event_date"])))
        return out

    def _flush(self, buffers: dict[tuple[str, str], list[Any]],
               decisions: dict[str, TableDecision], tag: str, chunk: int,
               ) -> Iterator[tuple[tuple[str, str], FileResult]]:
        for (table, date_key), pieces in sorted(buffers.items()):
            validate_table(table)
            date = validate_event_date(date_key or None)
            layout, _ = self._layout(decisions[table])
            parts = [conform(layout, p) if isinstance(p, pa.Table)
                     else rows_to_table(layout, date, p) for p in pieces]
            data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            for result in write_table(self.out_dir, layout, self.run_info,
                                      PartitionKey(date), data, tag, self.rows_per_file,
                                      first_chunk=chunk):
                yield (table, date_key), result


def _chunks_used(files: list[tuple[tuple[str, str], FileResult]]) -> int:
    """How many chunk numbers a flush used (a partition's rows may fill several files)."""
    counts: dict[tuple[str, str], int] = {}
    for k, _ in files:
        counts[k] = counts.get(k, 0) + 1
    return max(counts.values(), default=1)


# ----------------------------------------------------------------------------- composite
class FilesResult(NamedTuple):
    files: beam.PCollection
    quarantine: beam.PCollection
    decisions: beam.PCollection
    stats: beam.PCollection


def _is_file(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], FileResult)


def _is_profile(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple)


def _is_sha(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and (x[1] is None or isinstance(x[1], str))


class ScrubFiles(beam.PTransform):
    """PCollection[InputFile] -> FilesResult: profile, decide, scrub and write each file."""

    def __init__(self, policy: Policy, key: HashKey, out_dir: str, run_info: RunInfo,
                 schemas: dict[str, SourceSchema] | None = None,
                 default_year: int | None = None, limits: readers.ReadLimits | None = None,
                 rows_per_file: int = 50_000) -> None:
        super().__init__()
        self.policy, self.key, self.out_dir, self.run_info = policy, key, out_dir, run_info
        self.schemas = schemas or {}
        self.default_year, self.limits, self.rows_per_file = default_year, limits, rows_per_file

    def expand(self, files: beam.PCollection) -> FilesResult:
        files = files | "SpreadFiles" >> beam.Reshuffle()
        prof = files | "ProfileFiles" >> beam.ParDo(ProfileFileFn(
            self.policy.sample_size, self.default_year, self.limits)).with_outputs(
                "sha", main="profiles")
        profiled = outputs(prof, profiles=_is_profile, sha=_is_sha)
        shas = profiled["sha"]
        decisions = (profiled["profiles"]
                     | "MergeProfiles" >> beam.CombinePerKey(
                         MergeProfilesFn(self.policy.sample_size))
                     | "DecideFields" >> beam.ParDo(DecideFn(self.policy, self.schemas)))
        known = (files
                 | "FindKnownValues" >> beam.ParDo(
                     KnownFromFileFn(self.default_year, self.limits),
                     beam.pvalue.AsDict(decisions))
                 | "DistinctKnownValues" >> beam.Distinct())
        out = files | "ScrubAndWrite" >> beam.ParDo(
            ScrubFileFn(self.policy, self.key, self.out_dir, self.run_info,
                        self.default_year, self.limits, self.rows_per_file),
            beam.pvalue.AsDict(decisions), beam.pvalue.AsList(known),
            beam.pvalue.AsDict(shas)).with_outputs(QUARANTINE, STATS, main="files")
        typed = outputs(out, files=_is_file, quarantine=is_bad_record, stats=is_stat)
        return FilesResult(typed["files"], typed[QUARANTINE], decisions, typed[STATS])
