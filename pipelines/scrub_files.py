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
3. **Scrub and write** (``ScrubFileFn``): records are acted on (``RecordActor``, the same code
   as ``ApplyActionsFn``: same tokens, same counts) and buffered per (table, event date); every
   ``rows_per_file`` records the buffers are written as Parquet files whose names derive from
   the source path, the chunk number and the content, so a re-executed step overwrites the
   same files. Only file summaries, bad records and counts leave the step.

Peak memory per worker is bounded by ``rows_per_file`` records plus the known identifiers,
whatever the input size. Reading a file three times costs parsing (a fraction of acting), and
the files must not change during the run: the third pass checks each file's SHA-256 against
the first and quarantines the file's records as ``changed_during_run`` if it differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from telescrub.classifiers.known import PROPAGATED_ENTITIES, PROPAGATED_ROLES
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core.decisions import TableDecision
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, is_bad_record, is_stats
from telescrub.core.timeparse import parse_timestamp
from telescrub.formats import readers
from telescrub.pipelines.classify import DecideFn, TableProfileFn
from telescrub.pipelines.read import (
    InputFile,
    _not_a_regular_file,
    file_sha256,
    read_limits_for,
    read_unit,
)
from telescrub.pipelines.scrub import RecordActor, known_values, output_name
from telescrub.store.parquet import (
    ColumnSpec,
    FileResult,
    RunInfo,
    TableLayout,
    validate_event_date,
    validate_table,
    write_partition_file,
)

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


def layout_for(td: TableDecision, policy: Policy) -> TableLayout:
    """The output columns of a table, with their categories and retention, from decisions."""
    cols = []
    for path, d in sorted(td.fields.items()):
        if d.action == "drop":
            continue
        out_cat = d.output_category
        cols.append(ColumnSpec(
            name=output_name(path), arrow_type=d.arrow_type, category=out_cat or "redacted",
            source_category=d.category, action=d.action, evidence=d.evidence,
            confidence=d.confidence, entity=d.entity,
            retention_days=policy.retention_days[out_cat] if out_cat else _NO_CONSTRAINT))
    return TableLayout(td.table, tuple(cols))


def source_tag(source: str) -> str:
    """A short stable name part for an input file or range (file names never show input
    paths)."""
    return "f" + hashlib.blake2b(source.encode("utf-8", "surrogatepass"),
                                 digest_size=5).hexdigest()


def needs_known(td: TableDecision) -> bool:
    """Does this table have a column whose values are propagated into free text?"""
    return any(d.action not in ("keep", "drop") and (
        d.entity in PROPAGATED_ENTITIES or (d.role or "") in PROPAGATED_ROLES)
        for d in td.fields.values())


def _label(f: InputFile) -> str:
    return f"{f.path} (bytes {f.start}-{f.end})" if f.is_range else f.path


def part_key(f: InputFile) -> str:
    """Names one unit of work: the file, or the file and its range's first byte."""
    return f"{f.path}@{f.start}" if f.is_range else f.path


def _sha(f: InputFile) -> tuple[str | None, int]:
    """SHA-256 and size of what this unit reads (the range's bytes for a range)."""
    if _not_a_regular_file(f.path) is not None:
        return None, 0  # never opened (a FIFO would block); the reader reports it
    try:
        if f.is_range:
            return file_sha256(f.path, f.start, f.end - f.start)
        return file_sha256(f.path)
    except OSError as exc:
        log.warning("cannot read %s: %s", f.path, exc.strerror)
        return None, 0


# ----------------------------------------------------------------------------- pass 1
class ProfileFileFn(beam.DoFn):
    """InputFile -> (table, (records, {path: FieldProfile})) partial profiles; plus the
    file's SHA-256 as ("sha", path, digest) under the ``sha`` output."""

    def __init__(self, sample_size: int, default_year: int | None,
                 limits: readers.ReadLimits | None) -> None:
        self.sample_size = sample_size
        self.lim = read_limits_for(limits, default_year)

    def process(self, f: InputFile) -> Iterator[Any]:
        combine = TableProfileFn(self.sample_size)
        accs: dict[str, tuple[int, dict[str, FieldProfile]]] = {}
        held = 0
        for item in read_unit(f, self.lim):
            if isinstance(item, BadRecord):
                continue  # quarantined by the scrub pass
            acc = accs.get(item.table)
            if acc is None:
                acc = combine.create_accumulator()
            accs[item.table] = combine.add_input(acc, item.fields)
            held += 1
            if held >= PROFILE_FLUSH:
                yield from sorted(accs.items())
                accs, held = {}, 0
        yield from sorted(accs.items())
        yield pvalue.TaggedOutput("sha", (part_key(f), _sha(f)[0]))


class MergeProfilesFn(TableProfileFn):
    """Merges partial profiles (accumulators as inputs)."""

    def add_input(self, acc: tuple[int, dict[str, FieldProfile]],
                  other: tuple[int, dict[str, FieldProfile]],  # type: ignore[override]
                  ) -> tuple[int, dict[str, FieldProfile]]:
        return self.merge_accumulators([acc, other])


# ----------------------------------------------------------------------------- pass 2
class KnownFromFileFn(beam.DoFn):
    """InputFile -> the distinct (entity, identifier) pairs of its name/user/host columns."""

    def __init__(self, default_year: int | None, limits: readers.ReadLimits | None) -> None:
        self.lim = read_limits_for(limits, default_year)

    def process(self, f: InputFile, decisions: dict[str, TableDecision],
                ) -> Iterator[tuple[str, str]]:
        td = decisions.get(f.table)
        seen: set[tuple[str, str]] = set()
        if td is not None and needs_known(td):  # else: the file is not read again
            for item in read_unit(f, self.lim):
                if isinstance(item, Record):
                    seen.update(known_values(item, decisions))
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
        # "now" for implausible event times: the run's start, the same on every worker
        self.acting = RecordActor(self.policy, self.key,
                                  now=parse_timestamp(self.run_info.created_at))
        self._layouts: dict[str, tuple[TableDecision, TableLayout, frozenset[str]]] = {}
        self._paths: dict[str, tuple[TableDecision, frozenset[str]]] = {}

    def _profiled(self, td: TableDecision) -> frozenset[str]:
        """The field paths the profile pass decided: taken the first time this worker sees
        the table's decisions, before any record is acted on (records with other paths never
        reach ``act_batch``, so the decisions are never extended here)."""
        hit = self._paths.get(td.table)
        if hit is None or hit[0] is not td:
            hit = self._paths[td.table] = (td, frozenset(td.fields))
        return hit[1]

    def _layout(self, td: TableDecision) -> tuple[TableLayout, frozenset[str]]:
        hit = self._layouts.get(td.table)
        if hit is None or hit[0] is not td:
            layout = layout_for(td, self.policy)
            hit = self._layouts[td.table] = (td, layout,
                                             frozenset(c.name for c in layout.columns))
        return hit[1], hit[2]

    def process(self, f: InputFile, decisions: dict[str, TableDecision],
                known: list[tuple[str, str]], shas: dict[str, str | None]) -> Iterator[Any]:
        started = time.monotonic()
        self.acting.set_known(known)
        self.acting.reset_stats()
        tag = source_tag(part_key(f))
        sha, size = _sha(f)
        changed = sha != shas.get(part_key(f))
        if changed:
            log.warning("%s changed while the run read it: its records are quarantined", f.path)
        buffers: dict[tuple[str, str], list[ScrubbedRecord]] = {}
        pending: list[Record] = []
        buffered = chunk = records = bad = dropped = 0
        items = read_unit(f, self.lim)
        while True:
            item = next(items, None)
            if isinstance(item, BadRecord):
                bad += 1
                yield pvalue.TaggedOutput(QUARANTINE, item)
                continue
            if item is not None:
                records += 1
                if records % PROGRESS_EVERY == 0:
                    log.info("scrubbing %s: %d records so far", _label(f), records)
                pending.append(item)
                # never more than rows_per_file rows buffered: a file holds at most that many
                if len(pending) < min(ACT_BATCH, self.rows_per_file - buffered):
                    continue
            for out in self._act(pending, decisions, changed):
                if isinstance(out, BadRecord):
                    yield pvalue.TaggedOutput(QUARANTINE, out)
                elif out is None:
                    dropped += 1
                else:
                    buffers.setdefault((out.table, out.event_date or ""), []).append(out)
                    buffered += 1
            pending = []
            if item is None:
                break
            if buffered >= self.rows_per_file:
                yield from self._flush(buffers, decisions, tag, chunk)
                buffers, buffered, chunk = {}, 0, chunk + 1
        yield from self._flush(buffers, decisions, tag, chunk)
        log.info("scrubbed %s: %d records, %d bad (%.1fs)", _label(f), records, bad,
                 time.monotonic() - started)
        after, _ = _sha(f)
        if after != sha:
            # appended or rewritten while this pass read it: what was read is written and
            # counted (the accounting holds), but it is not the content the hash names
            log.warning("%s changed while telescrub read it; its sha256 is of the content "
                        "before", _label(f))
        if f.is_range:  # the report adds up the ranges of one file
            sha, size = f.sha256, f.size
        yield pvalue.TaggedOutput(STATS, {
            "kind": "input", "source": f.path, "table": f.table, "format": f.fmt,
            "sha256": sha, "bytes": size, "records": records, "bad": bad})
        stats = self.acting.stats()
        if dropped:
            stats.append({"kind": "act", "entities": [], "guard": [],
                          "dropped": {f.path: dropped}})
        for s in stats:
            yield pvalue.TaggedOutput(STATS, s)

    def _act(self, recs: list[Record], decisions: dict[str, TableDecision], changed: bool,
             ) -> list[ScrubbedRecord | BadRecord | None]:
        """Acts on a batch of records, column by column (``RecordActor.act_batch``)."""
        if not recs:
            return []
        if changed:
            # a file that changed since it was profiled has no reviewed layout: its records
            # are quarantined, never written with guessed columns
            return [_changed(r, "input file changed while telescrub read it") for r in recs]
        # a field the profile pass never saw has no reviewed column: the record is quarantined
        # before acting, so the shared decisions never grow a drift field mid-run (which
        # would make the layout depend on the order records reach a worker)
        fit = [r for r in recs if r.table in decisions
               and self._profiled(decisions[r.table]).issuperset(r.fields)]
        fitting = {id(r) for r in fit}
        outs = iter(self.acting.act_batch(fit, decisions))
        result: list[ScrubbedRecord | BadRecord | None] = []
        for rec in recs:
            if rec.table not in decisions:
                result.append(_changed(rec, "a table the profile pass did not see"))
                continue
            if id(rec) not in fitting:
                result.append(_changed(rec, "a field the profile pass did not see"))
                continue
            out = next(outs)
            if isinstance(out, ScrubbedRecord):
                _, names = self._layout(decisions[rec.table])
                if not names.issuperset(out.fields):
                    out = _changed(rec, "a field appeared that the profile pass did not see")
            result.append(out)
        return result

    def _flush(self, buffers: dict[tuple[str, str], list[ScrubbedRecord]],
               decisions: dict[str, TableDecision], tag: str, chunk: int,
               ) -> Iterator[tuple[tuple[str, str], FileResult]]:
        for (table, date_key), rows in sorted(buffers.items()):
            validate_table(table)
            validate_event_date(date_key or None)
            layout, _ = self._layout(decisions[table])
            result = write_partition_file(self.out_dir, layout, self.run_info,
                                          date_key or None, rows, f"{tag}-{chunk}")
            yield (table, date_key), result


def _changed(rec: Record, detail: str) -> BadRecord:
    return BadRecord(rec.table, rec.source, rec.line, "changed_during_run", detail,
                     json.dumps(rec.fields, default=str, ensure_ascii=False)[:4096])


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
        # the type filters are no-ops where output tags work (Beam 2.77's DaskRunner merges
        # the outputs of a multi-output ParDo into every tagged PCollection)
        shas = prof.sha | "OnlySha" >> beam.Filter(_is_sha)
        decisions = (prof.profiles
                     | "OnlyProfiles" >> beam.Filter(_is_profile)
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
        return FilesResult(
            out.files | "OnlyFiles" >> beam.Filter(_is_file),
            out[QUARANTINE] | "OnlyQuarantine" >> beam.Filter(is_bad_record),
            decisions,
            out[STATS] | "OnlyStats" >> beam.Filter(is_stats))
