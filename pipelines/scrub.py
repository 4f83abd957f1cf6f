"""Beam stage: apply the decided actions to every record (the ``Scrub`` transform).

``Scrub`` is the public composite a data engineer drops into their own pipeline::

    result = records | "Scrub" >> Scrub(policy, key)
    result.scrubbed   # PCollection[ScrubbedRecord], ready for WritePartitions
    result.decisions  # PCollection[(table, TableDecision)] (what was decided and why)
    result.stats      # PCollection[dict] counts for the report (no raw values)
    result.dead_letter  # PCollection[BadRecord] records that failed processing

Batch mode classifies from a sample of the whole input (``Classify``); streaming mode decides
per field from reviewed source schemas and rules only (``static_decisions``), so both modes
share this one transform and ``ApplyActionsFn``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from telescrub.classifiers.known import (
    PROPAGATED_ENTITIES,
    PROPAGATED_ROLES,
    KnownValues,
    propagatable,
)
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.classifiers.text import TextScrubber
from telescrub.core.actions import DROP, Actor, Failed
from telescrub.core.decisions import FieldDecision, TableDecision
from telescrub.core.keys import HashKey
from telescrub.core.masking import mask_example, mask_keep_tokens
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, is_bad_record, is_stats
from telescrub.core.timeparse import (
    IMPLAUSIBLE_REASON,
    UTC,
    implausible_detail,
    route_event_time,
)
from telescrub.pipelines.classify import Classify, static_decisions

DEAD_LETTER = "dead_letter"
STATS = "stats"
QUARANTINE_TABLE = "_quarantine"
#: column names the output reserves (Hive partition column, lineage columns)
RESERVED_NAMES = frozenset({"event_date", "_source_file", "_source_line"})


def output_name(path: str) -> str:
    """Column name for a field path: reserved names get a trailing underscore."""
    return f"{path}_" if path in RESERVED_NAMES else path


def known_items(rec: Record, decide: Callable[[str], FieldDecision | None],
                ) -> Iterator[tuple[tuple[str, str], str]]:
    """(entity, identifier) pairs of this record's name / user / host columns, each with the
    column value it came from (classifiers/known.py); ``decide`` gives a path's decision."""
    for path, value in rec.fields.items():
        d = decide(path)
        if d is None or d.action in ("keep", "drop"):
            continue
        entity = d.entity if d.entity in PROPAGATED_ENTITIES else PROPAGATED_ROLES.get(
            d.role or "")
        if entity is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                for item in propagatable(entity, v):
                    yield item, v


def known_values(rec: Record, decisions: dict[str, TableDecision],
                 ) -> Iterator[tuple[str, str]]:
    """Identifier strings of this record's name / user / host columns (batch decisions)."""
    td = decisions.get(rec.table)
    if td is not None:
        yield from (item for item, _ in known_items(rec, td.fields.get))


class ScrubResult(NamedTuple):
    scrubbed: beam.PCollection
    decisions: beam.PCollection
    stats: beam.PCollection
    dead_letter: beam.PCollection


def _stat_window(value: Any) -> WindowedValue:
    return WindowedValue(value, GlobalWindow().max_timestamp(), (GlobalWindow(),))


class RecordActor:
    """Applies one table's decisions to records and gathers the counts for the report.

    Shared by ``ApplyActionsFn`` (one element per record) and the file-pass writer
    (``pipelines.scrub_files``): both produce the same rows, hash tokens and counts. Built once
    per worker (``DoFn.setup``): it owns the :class:`Actor` and its Presidio engines.
    """

    def __init__(self, policy: Policy, key: HashKey,
                 static: dict[str, TableDecision] | None = None,
                 now: dt.datetime | None = None) -> None:
        self.policy = policy
        self.actor = Actor(policy, key, TextScrubber(policy, key))
        self._known_src: list[tuple[str, str]] | None = None
        self._static = dict(static) if static is not None else None
        #: the run's start: event times later than it plus the policy's tolerance are
        #: implausible (the file passes give the run's creation time, the same on every worker)
        self.now = now or dt.datetime.now(UTC)
        self.reset_stats()

    def reset_stats(self) -> None:
        self.actor.entity_counts.clear()
        self.actor.guard_hits.clear()
        self.dropped: Counter[str] = Counter()
        self.implausible: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], tuple[str, str]] = {}

    def event_day(self, rec: Record, fields: dict[str, Any], ts: Any,
                  ) -> tuple[str | None, BadRecord | None]:
        """The record's event date, or None; with the policy's ``event_time.implausible:
        quarantine``, a BadRecord for an implausible time (its text: the scrubbed fields).
        Implausible times are counted per (table, reason) either way."""
        day, why = route_event_time(ts, self.policy.event_time, self.now)
        if why is None:
            return day, None
        self.implausible[(rec.table, why)] += 1
        if self.policy.event_time.implausible != "quarantine":
            return None, None
        return None, BadRecord(rec.table, rec.source, rec.line, IMPLAUSIBLE_REASON,
                               implausible_detail(why, self.policy.event_time),
                               json.dumps(fields, default=str, ensure_ascii=False)[:4096])

    def set_known(self, known: list[tuple[str, str]] | None) -> None:
        """The run-wide known identifiers (a side input): rebuilt only when it changes."""
        if known is not None and self._known_src is not known:
            self.actor.known = KnownValues(known)  # built once per worker per run
            self._known_src = known

    def table(self, table: str, decisions: dict[str, TableDecision] | None) -> TableDecision:
        if decisions is not None and table in decisions:
            return decisions[table]
        if self._static is None:
            self._static = {}
        td = self._static.get(table)
        if td is None:
            td = static_decisions(self.policy, {}, [table])[table]
            self._static[table] = td
        return td

    def act(self, rec: Record, decisions: dict[str, TableDecision] | None,
            known: list[tuple[str, str]] | None = None,
            ) -> ScrubbedRecord | BadRecord | None:
        """The scrubbed record; a BadRecord (dead letter) if acting failed; None when the
        policy dropped every field (the caller counts it in ``dropped``)."""
        if known is None and self._known_src is None and self._static is not None:
            # streaming: no run-wide view; a record's own name/user/host columns still
            # protect its free text
            td0 = self.table(rec.table, decisions)
            self.actor.known = KnownValues(known_values(rec, {rec.table: td0}))
        try:
            td = self.table(rec.table, decisions)
            out: dict[str, Any] = {}
            for path, value in rec.fields.items():
                d = td.decision(self.policy, path)
                new = self.actor.apply(d, value, rec.table)
                if new is not DROP:
                    out[output_name(path)] = new
                if (rec.table, path) not in self.examples and value not in (None, [], ""):
                    # free text and kept values may hold what no detector knows: masked too
                    after = "(dropped)" if new is DROP else (
                        mask_keep_tokens(new) if d.action in ("keep", "scrub_text")
                        else str(new)[:96])
                    self.examples[(rec.table, path)] = (mask_example(value), after)
            ts_path = td.timestamp_path
        except Exception as exc:  # dead letter, never a dead job
            return BadRecord(
                rec.table, rec.source, rec.line, "processing_error",
                f"{type(exc).__name__} while applying actions", json.dumps(
                    rec.fields, default=str, ensure_ascii=False)[:4096])
        if not out:
            return None
        day, bad = self.event_day(rec, out, rec.fields.get(ts_path) if ts_path else None)
        if bad is not None:
            return bad
        return ScrubbedRecord(rec.table, rec.source, rec.line, day, out)

    def act_batch(self, recs: list[Record], decisions: dict[str, TableDecision] | None,
                  ) -> list[ScrubbedRecord | BadRecord | None]:
        """``act`` over many records at once, column by column: each distinct value of a
        column is acted on once (``Actor.apply_column``). Same rows, tokens and counts as
        calling ``act`` per record (tests/transforms/test_scrub_files.py)."""
        results: list[ScrubbedRecord | BadRecord | None] = [None] * len(recs)
        by_table: dict[str, list[int]] = {}
        for i, r in enumerate(recs):
            by_table.setdefault(r.table, []).append(i)
        for table, idxs in by_table.items():
            td = self.table(table, decisions)
            cols: dict[str, tuple[list[int], list[Any]]] = {}
            for i in idxs:
                for path, value in recs[i].fields.items():
                    col = cols.get(path)
                    if col is None:
                        col = cols[path] = ([], [])
                    col[0].append(i)
                    col[1].append(value)
            outs: dict[int, dict[str, Any]] = {i: {} for i in idxs}
            failed: dict[int, str] = {}
            for path, (rows, values) in cols.items():
                try:
                    d = td.decision(self.policy, path)
                except Exception as exc:  # noqa: BLE001 - dead letter, never a dead job
                    for i in rows:
                        failed.setdefault(i, type(exc).__name__)
                    continue
                new = self.actor.apply_column(d, values, table)
                name = output_name(path)
                for i, nv in zip(rows, new, strict=True):
                    if nv is DROP:
                        continue
                    if isinstance(nv, Failed):
                        failed.setdefault(i, nv.error)
                        continue
                    outs[i][name] = nv
                if (table, path) not in self.examples:
                    self._example(table, path, d.action, values, new)
            ts_path = td.timestamp_path
            days: dict[tuple[type, Any], tuple[str | None, str | None]] = {}
            rule = self.policy.event_time
            for i in idxs:
                rec = recs[i]
                if i in failed:
                    results[i] = BadRecord(
                        rec.table, rec.source, rec.line, "processing_error",
                        f"{failed[i]} while applying actions", json.dumps(
                            rec.fields, default=str, ensure_ascii=False)[:4096])
                    continue
                out = outs[i]
                if not out:
                    continue
                day = why = None
                if ts_path:
                    ts = rec.fields.get(ts_path)
                    k = (type(ts), ts) if not isinstance(ts, list) else (list, repr(ts))
                    if k in days:
                        day, why = days[k]
                    else:
                        day, why = days[k] = route_event_time(ts, rule, self.now)
                if why is not None:
                    self.implausible[(table, why)] += 1
                    if rule.implausible == "quarantine":
                        results[i] = BadRecord(
                            rec.table, rec.source, rec.line, IMPLAUSIBLE_REASON,
                            implausible_detail(why, rule),
                            json.dumps(out, default=str, ensure_ascii=False)[:4096])
                        continue
                results[i] = ScrubbedRecord(rec.table, rec.source, rec.line, day, out)
        return results

    def _example(self, table: str, path: str, action: str, values: list[Any],
                 new: list[Any]) -> None:
        for value, nv in zip(values, new, strict=True):
            if value in (None, [], "") or isinstance(nv, Failed):
                continue
            after = "(dropped)" if nv is DROP else (
                mask_keep_tokens(nv) if action in ("keep", "scrub_text") else str(nv)[:96])
            self.examples[(table, path)] = (mask_example(value), after)
            return

    def stats(self) -> list[dict[str, Any]]:
        """Counts and masked examples gathered since the last ``reset_stats``."""
        entities = [[t, p, e, n] for (t, p, e), n in sorted(self.actor.entity_counts.items())]
        guard = [[t, p, n] for (t, p), n in sorted(self.actor.guard_hits.items())]
        out: list[dict[str, Any]] = [
            {"kind": "example", "table": t, "path": p, "before": before, "after": after}
            for (t, p), (before, after) in sorted(self.examples.items())]
        implausible = [[t, why, n] for (t, why), n in sorted(self.implausible.items())]
        if entities or guard or self.dropped or implausible:
            out.append({"kind": "act", "entities": entities, "guard": guard,
                        "dropped": dict(self.dropped), "event_time": implausible})
        return out


class ApplyActionsFn(beam.DoFn):
    """Record -> ScrubbedRecord, by the table's decisions. Engines are built in ``setup``."""

    def __init__(self, policy: Policy, key: HashKey,
                 static: dict[str, TableDecision] | None = None) -> None:
        self.policy = policy
        self.key = key
        self.static = static

    def setup(self) -> None:
        self.acting = RecordActor(self.policy, self.key, self.static)

    def start_bundle(self) -> None:
        self.acting.reset_stats()

    def process(self, rec: Record, decisions: dict[str, TableDecision] | None = None,
                known: list[tuple[str, str]] | None = None) -> Iterator[Any]:
        self.acting.set_known(known)
        out = self.acting.act(rec, decisions, known)
        if isinstance(out, BadRecord):
            yield pvalue.TaggedOutput(DEAD_LETTER, out)
        elif out is None:
            # counted per record, not per bundle: the accounting identity must not depend on
            # finish_bundle outputs, which Beam 2.77's DaskRunner discards
            yield pvalue.TaggedOutput(STATS, {"kind": "act", "entities": [], "guard": [],
                                              "dropped": {rec.source: 1}})
        else:
            yield out

    def finish_bundle(self) -> Iterator[Any]:
        for s in self.acting.stats():
            yield pvalue.TaggedOutput(STATS, _stat_window(s))


class ApplyActions(beam.PTransform):
    """Records -> scrubbed (main), dead_letter, stats. ``decisions`` is a PCollection of
    (table, TableDecision) used as a side input (batch), or None with ``static`` (streaming)."""

    def __init__(self, policy: Policy, key: HashKey, decisions: beam.PCollection | None = None,
                 static: dict[str, TableDecision] | None = None,
                 known: beam.PCollection | None = None) -> None:
        super().__init__()
        self.policy, self.key, self.decisions, self.static = policy, key, decisions, static
        self.known = known

    def expand(self, records: beam.PCollection) -> Any:
        decisions = self.decisions
        fn = ApplyActionsFn(self.policy, self.key, self.static)
        if decisions is None:
            return records | "Apply" >> beam.ParDo(fn).with_outputs(DEAD_LETTER, STATS,
                                                                     main="scrubbed")
        side: dict[str, Any] = {"decisions": beam.pvalue.AsDict(decisions)}
        if self.known is not None:
            side["known"] = beam.pvalue.AsList(self.known)
        return records | "Apply" >> beam.ParDo(fn, **side).with_outputs(
            DEAD_LETTER, STATS, main="scrubbed")


class Scrub(beam.PTransform):
    """Classify (batch) or decide from schemas (streaming), then apply the policy's actions."""

    def __init__(self, policy: Policy, key: HashKey,
                 schemas: dict[str, SourceSchema] | None = None, streaming: bool = False,
                 tables: list[str] | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.key = key
        self.schemas = schemas or {}
        self.streaming = streaming
        self.tables = tables or []

    def expand(self, records: beam.PCollection) -> ScrubResult:
        if self.streaming:
            static = static_decisions(self.policy, self.schemas,
                                      sorted(set(self.tables) | set(self.schemas)))
            decisions = (records.pipeline | "StaticDecisions" >> beam.Create(
                sorted(static.items())))
            applied = records | "ApplyActions" >> ApplyActions(self.policy, self.key,
                                                               static=static)
        else:
            decisions = records | "Classify" >> Classify(self.policy, self.schemas)
            known = (records
                     | "FindKnownValues" >> beam.FlatMap(
                         known_values, decisions=beam.pvalue.AsDict(decisions))
                     | "DistinctKnownValues" >> beam.Distinct())
            applied = records | "ApplyActions" >> ApplyActions(self.policy, self.key,
                                                               decisions=decisions, known=known)
        # Filtering by type is a no-op where output tags work; Beam 2.77's DaskRunner merges
        # the outputs of a multi-output ParDo into every tagged PCollection.
        return ScrubResult(
            applied.scrubbed | "OnlyScrubbed" >> beam.Filter(_is_scrubbed), decisions,
            applied[STATS] | "OnlyStats" >> beam.Filter(is_stats),
            applied[DEAD_LETTER] | "OnlyDeadLetter" >> beam.Filter(is_bad_record))


def _is_scrubbed(x: Any) -> bool:
    return isinstance(x, ScrubbedRecord)




# ------------------------------------------------------------------ quarantine
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KEY_AFTER = re.compile(r"\s*:")
_CELL = re.compile(r"[^,;\t|]+")
_SAFE_CELL = re.compile(r"\s*(-?\d{1,2}(\.\d+)?|true|false|null|none|nan)?\s*", re.I)


class QuarantineFn(beam.DoFn):
    """BadRecord -> ScrubbedRecord for the quarantine table; the raw text is never kept.

    Detectors scrub the text as free text, then (fail closed, since the record's structure is
    unknown) every remaining JSON string value, or every CSV cell, is replaced by its hash
    token, keeping keys and punctuation for debugging.
    """

    def __init__(self, policy: Policy, key: HashKey) -> None:
        self.policy, self.key = policy, key

    def setup(self) -> None:
        self.scrubber = TextScrubber(self.policy, self.key)

    def _strict(self, text: str) -> str:
        def tok(m: re.Match[str]) -> str:
            v = m.group(1)
            if _KEY_AFTER.match(text, m.end()) or _SAFE_CELL.fullmatch(v) \
                    or v.startswith(("h1:", "<")):
                return m.group(0)  # a key, a small number or an already scrubbed value
            return f'"{self.key.token(v)}"'

        if '"' in text and ("{" in text or ":" in text):
            # string literals paired left to right; a trailing unterminated one is hashed too
            out = _QUOTED.sub(tok, text)
            tail = re.search(r'"([^"]*)$', out) if out.count('"') % 2 else None
            if tail and tail.group(1) and not tail.group(1).startswith(("h1:", "<")):
                out = out[: tail.start(1)] + self.key.token(tail.group(1))
            return out

        def cell(m: re.Match[str]) -> str:
            c = m.group(0)
            if _SAFE_CELL.fullmatch(c) or c.strip().startswith(("h1:", "<")):
                return c
            return self.key.token(c.strip())

        return _CELL.sub(cell, text)

    def process(self, bad: BadRecord) -> Iterator[ScrubbedRecord]:
        scrubbed, _ = self.scrubber.scrub(bad.text)
        yield ScrubbedRecord(QUARANTINE_TABLE, bad.source, bad.line, None, {
            "table": bad.table, "reason": bad.reason, "detail": bad.detail,
            "text_scrubbed": self._strict(scrubbed)})
