"""The act stage: a batch of records -> scrubbed records, column by column.

One engine for every mode: the batch file passes act on batches of a file's records, the
per-record composites (``Scrub``, streaming) on small batches or single records; all of them
call :meth:`BatchActor.act_batch`, so rows, hash tokens and counts are the same whichever
path a record takes. Each distinct value of a column is acted on once per batch
(:meth:`Actor.apply_column`).

Decisions come from a :class:`~telescrub.core.decisions.Decisions` strategy. A record whose
table or field has no decision (batch: the input changed after the profile pass read it) is
quarantined, never written with a guessed column.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any, NamedTuple

import numpy as np

from telescrub.core.actions import DROP, Actor, Failed, KnownIndex, TextEngine, normalise
from telescrub.core.decisions import Decisions, FieldDecision
from telescrub.core.keys import HashKey
from telescrub.core.masking import mask_example, mask_keep_tokens
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, output_name
from telescrub.core.stats import ActStat, ExampleStat, Stat
from telescrub.core.timeparse import IMPLAUSIBLE_REASON, implausible_detail, route_event_time

#: reason of a record the decisions cannot place (its input changed after profiling)
UNDECIDED = "changed_during_run"


def undecided(rec: Record, detail: str) -> BadRecord:
    return BadRecord(rec.table, rec.source, rec.line, UNDECIDED, detail,
                     json.dumps(rec.fields, default=str, ensure_ascii=False)[:4096])


class BatchActor:
    """Applies decisions to batches of records and gathers the counts for the report.

    Built once per worker (``DoFn.setup``): it owns the :class:`Actor` and, through it, the
    text engine (``telescrub.classifiers.text.TextScrubber``)."""

    def __init__(self, policy: Policy, key: HashKey, scrubber: TextEngine,
                 now: dt.datetime | None = None) -> None:
        self.policy = policy
        self.actor = Actor(policy, key, scrubber)
        #: the run's start: event times later than it plus the policy's tolerance are
        #: implausible (the file passes give the run's creation time, the same on every worker)
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self._arrow = _ArrowActing(self.actor)
        self._known_src: object | None = None
        self.reset_stats()

    def reset_stats(self) -> None:
        self.actor.entity_counts.clear()
        self.actor.guard_hits.clear()
        self.dropped: Counter[str] = Counter()
        self.implausible: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], tuple[str, str]] = {}

    def set_known(self, source: object, build: Any) -> None:
        """Use the known identifiers ``build()`` makes, rebuilt only when ``source`` (a side
        input list, or a tuple of a batch's own items) is not the one used last time."""
        if source is not self._known_src and (
                not isinstance(source, tuple) or source != self._known_src):
            known: KnownIndex | None = build()
            self.actor.known = known
            self._known_src = source

    def act_batch(self, recs: list[Record], decisions: Decisions,
                  ) -> list[ScrubbedRecord | BadRecord | None]:
        """One result per record: the scrubbed record; a BadRecord (quarantine) when its
        table or a field has no decision, or an action failed (only the exception's type is
        kept); None when the policy dropped every field (counted in ``dropped``)."""
        results: list[ScrubbedRecord | BadRecord | None] = [None] * len(recs)
        by_table: dict[str, list[int]] = {}
        for i, r in enumerate(recs):
            if decisions.table(r.table) is None:
                results[i] = undecided(r, "a table the profile pass did not see")
            elif any(decisions.field(r.table, p) is None for p in r.fields):
                results[i] = undecided(r, "a field the profile pass did not see")
            else:
                by_table.setdefault(r.table, []).append(i)
        for table, idxs in by_table.items():
            self._act_table(table, idxs, recs, decisions, results)
        for i in range(len(recs)):
            if results[i] is None:
                self.dropped[recs[i].source] += 1
        return results

    def _act_table(self, table: str, idxs: list[int], recs: list[Record],
                   decisions: Decisions, results: list[ScrubbedRecord | BadRecord | None],
                   ) -> None:
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
            d: FieldDecision | None = decisions.field(table, path)
            assert d is not None  # checked by act_batch
            new = self.actor.apply_column(d, values, table,
                                          self._labels(path, rows, recs, cols))
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
        days: dict[tuple[type, Any], tuple[str | None, str | None]] = {}
        ts_paths: dict[frozenset[str], str | None] = {}
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
            shape = frozenset(rec.fields)
            if shape not in ts_paths:
                ts_paths[shape] = decisions.timestamp_path(table, rec.fields)
            ts_path = ts_paths[shape]
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

    def _labels(self, path: str, rows: list[int], recs: list[Record],
                present: dict[str, Any]) -> list[Any] | None:
        """The label of each row's value of ``path`` when ``path`` is the value member of a
        name/value pair array (``Parameters[].Value`` beside ``Parameters[].Name``): per
        record, its first label column (the text engine's ``label_paths``), so that a
        record's labels do not depend on the batch it is acted in; None when no record of
        the batch has a label column for ``path``."""
        candidates = [c for c in self.actor.scrubber.label_paths(path) if c in present]
        if not candidates:
            return None
        labels: list[Any] = []
        for i in rows:
            fields = recs[i].fields
            lp = next((c for c in candidates if c in fields), None)
            labels.append(None if lp is None else fields[lp])
        return labels

    def act_table(self, table: str, source: str, data: Any, decisions: Decisions,
                  ) -> ActedTable:
        """``act_batch`` for a columnar block (``telescrub.formats.arrow_jsonl``: a column per
        field path, null where a record lacks the field, and ``_line``): the same rows,
        tokens, counts, examples and quarantine as acting on its records one batch at a time
        (tests/transforms/test_scrub_files.py)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from telescrub.core.timeparse import route_event_dates

        lines = data.column(LINE_COLUMN)
        paths = [p for p in data.column_names if p != LINE_COLUMN]
        bad: list[BadRecord] = []
        if decisions.table(table) is None:
            for i in range(data.num_rows):
                bad.append(BadRecord(table, source, lines[i].as_py(), UNDECIDED,
                                     "a table the profile pass did not see",
                                     _record_text(data, i)))
            return ActedTable(None, bad, 0)
        undecided_rows = pa.array([False] * data.num_rows)
        for p in paths:
            if decisions.field(table, p) is None:
                undecided_rows = pc.or_(undecided_rows, pc.is_valid(data.column(p)))
        if pc.any(undecided_rows).as_py():
            for i in pc.indices_nonzero(undecided_rows).to_pylist():
                bad.append(BadRecord(table, source, lines[i].as_py(), UNDECIDED,
                                     "a field the profile pass did not see",
                                     _record_text(data, i)))
            data = data.filter(pc.invert(undecided_rows))
            lines = data.column(LINE_COLUMN)
        acting = self._arrow
        out: dict[str, Any] = {}
        failed = pa.nulls(data.num_rows, pa.string())
        for p in paths:
            d = decisions.field(table, p)
            if d is None:
                continue
            col = data.column(p).combine_chunks()
            if d.action == "drop":
                new = pa.nulls(len(col), col.type)
                self._example_arrow(table, p, d.action, col, None)
                continue
            label_cols = [data.column(c) for c in self.actor.scrubber.label_paths(p)
                          if c in paths]
            if label_cols and pa.types.is_list(col.type):
                new, col_failed = acting.labelled_column(d, col, label_cols, table)
            else:
                new, col_failed = acting.column(d, col, table)
            failed = pc.coalesce(failed, col_failed)
            self._example_arrow(table, p, d.action, col, new)
            out[output_name(p)] = new
        held = pa.array([False] * data.num_rows)
        for arr in out.values():
            held = pc.or_(held, pc.is_valid(arr))
        is_failed = pc.is_valid(failed)
        if pc.any(is_failed).as_py():
            for i in pc.indices_nonzero(is_failed).to_pylist():
                bad.append(BadRecord(table, source, lines[i].as_py(), "processing_error",
                                     f"{failed[i].as_py()} while applying actions",
                                     _record_text(data, i)))
        dropped_mask = pc.and_(pc.invert(held), pc.invert(is_failed))
        dropped = int(pc.sum(dropped_mask).as_py() or 0)
        if dropped:
            self.dropped[source] += dropped
        keep = pc.and_(held, pc.invert(is_failed))
        ts_path = decisions.timestamp_path(table, paths)
        rule = self.policy.event_time
        if ts_path in paths:
            days, whys = route_event_dates(data.column(ts_path), rule, self.now)
        else:
            days = whys = pa.nulls(data.num_rows, pa.string())
        implausible = pc.and_(keep, pc.is_valid(whys))
        if pc.any(implausible).as_py():
            for why, n in _counts(pc.filter(whys, implausible)):
                self.implausible[(table, why)] += n
            if rule.implausible == "quarantine":
                for i in pc.indices_nonzero(implausible).to_pylist():
                    row = {n: a[i].as_py() for n, a in out.items() if a[i].is_valid}
                    bad.append(BadRecord(table, source, lines[i].as_py(), IMPLAUSIBLE_REASON,
                                         implausible_detail(whys[i].as_py(), rule),
                                         json.dumps(row, default=str,
                                                    ensure_ascii=False)[:4096]))
                keep = pc.and_(keep, pc.invert(implausible))
        cols = {n: pc.filter(a, keep) for n, a in out.items()}
        cols["_source_file"] = pa.array([source] * int(pc.sum(keep).as_py() or 0), pa.string())
        cols["_source_line"] = pc.filter(lines, keep)
        cols["event_date"] = pc.filter(days, keep)
        return ActedTable(pa.table(cols), bad, dropped)

    def _example_arrow(self, table: str, path: str, action: str, col: Any,
                       new: Any | None) -> None:
        """``_example`` for a column: the first row with a value (not null, "" or [])."""
        if (table, path) in self.examples:
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        present = pc.is_valid(col)
        if pa.types.is_string(col.type):
            present = pc.and_(present, pc.not_equal(col, ""))
        elif pa.types.is_list(col.type):
            present = pc.and_(present, pc.greater(pc.list_value_length(col), 0))
        idx = pc.indices_nonzero(present)
        if not len(idx):
            return
        i = idx[0].as_py()
        self._example(table, path, action, [col[i].as_py()],
                      [DROP if new is None else new[i].as_py()])

    def _example(self, table: str, path: str, action: str, values: list[Any],
                 new: list[Any]) -> None:
        for value, nv in zip(values, new, strict=True):
            if value in (None, [], "") or isinstance(nv, Failed):
                continue
            # free text and kept values may hold what no detector knows: masked too
            after = "(dropped)" if nv is DROP else (
                mask_keep_tokens(nv) if action in ("keep", "scrub_text") else str(nv)[:96])
            self.examples[(table, path)] = (mask_example(value), after)
            return

    def stats(self) -> list[Stat]:
        """Counts and masked examples gathered since the last ``reset_stats``."""
        out: list[Stat] = [ExampleStat(t, p, before, after)
                           for (t, p), (before, after) in sorted(self.examples.items())]
        entities = [(t, p, e, n) for (t, p, e), n in sorted(self.actor.entity_counts.items())]
        guard = [(t, p, n) for (t, p), n in sorted(self.actor.guard_hits.items())]
        implausible = [(t, why, n) for (t, why), n in sorted(self.implausible.items())]
        if entities or guard or self.dropped or implausible:
            out.append(ActStat(entities, guard, dict(self.dropped), implausible))
        return out


# ----------------------------------------------------------------------- columnar (Arrow)
LINE_COLUMN = "_line"  # the physical line of each row of a columnar block


class ActedTable(NamedTuple):
    """What :meth:`BatchActor.act_table` gives: the rows to write (output columns, the
    lineage columns and ``event_date``) and the rows that go to quarantine."""

    rows: Any  # pa.Table
    bad: list[BadRecord]
    dropped: int


def _counts(arr: Any) -> list[tuple[str, int]]:
    """(value, occurrences) of a string column's values."""
    vc = arr.value_counts()
    return list(zip(vc.field(0).to_pylist(), vc.field(1).to_pylist(), strict=True))


def _record_text(data: Any, i: int) -> str:
    """A row of a columnar block as the Python path's dead-letter text (its fields)."""
    row = {k: v for k, v in data.slice(i, 1).to_pylist()[0].items()
           if v is not None and k != LINE_COLUMN}
    return json.dumps(row, default=str, ensure_ascii=False)[:4096]


def _as_text(v: Any) -> str:
    """A scalar as a text column holds it (store.parquet ``coerce`` to string)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


class _ArrowActing:
    """The act stage over one column of a columnar block: each distinct value once
    (dictionary-encoded), then ``take`` back; Arrow kernels decide the values no action
    changes (time stamps and exact identifiers of kept columns)."""

    #: hash tokens remembered across blocks (a value recurs in telemetry)
    MEMO_MAX = 500_000

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self._tokens: dict[tuple[str | None, str], str] = {}

    def _hash(self, d: FieldDecision, arr: Any, table: str) -> Any:
        """The ``hash`` action on a text or integer column: each distinct value's token once
        (what ``Actor`` computes: the keyed HMAC of the normalised text), every occurrence
        counted for the column's entity."""
        import pyarrow as pa
        import pyarrow.compute as pc

        valid = pc.is_valid(arr)
        n = len(arr) - arr.null_count
        texts = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
        enc = pc.dictionary_encode(pc.filter(texts, valid))
        memo, token, entity = self._tokens, self.actor.key.token, d.entity
        if len(memo) > self.MEMO_MAX:
            memo.clear()
        out = []
        for v in enc.dictionary.to_pylist():
            t = memo.get((entity, v))
            if t is None:
                t = memo[(entity, v)] = token(normalise(entity, v))
            out.append(t)
        if entity and n:
            self.actor.entity_counts[(table, d.path, entity)] += n
        tokens = pc.take(pa.array(out, pa.string()), enc.indices)
        return pc.replace_with_mask(pa.nulls(len(arr), pa.string()), valid, tokens)

    def labelled_column(self, d: FieldDecision, arr: Any, label_cols: list[Any], table: str,
                        ) -> tuple[Any, Any]:
        """``column`` for the value member of a name/value pair array (``Parameters[].Value``)
        with its label columns (most specific first): each element acted on by the decision
        its label gives it, as ``act_batch`` does row by row (a null label column is a
        record without that label)."""
        import pyarrow as pa

        values = arr.to_pylist()
        label_lists = [c.to_pylist() for c in label_cols]
        labels = [next((ls[i] for ls in label_lists if ls[i] is not None), None)
                  for i in range(len(values))]
        acted = self.actor.apply_column(d, values, table, labels)
        errors = [a.error if isinstance(a, Failed) else None for a in acted]
        rows = [None if isinstance(a, Failed) else a for a in acted]
        try:
            new = pa.array(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # a label turned some elements into tokens beside kept numbers: the list as text,
            # as the writer's coercion to a text list would store the records' values
            new = pa.array([None if r is None else [None if x is None else _as_text(x)
                                                    for x in r] for r in rows],
                           pa.list_(pa.string()))
        if pa.types.is_null(new.type):  # every row failed or held nothing
            new = new.cast(arr.type)
        return new, pa.array(errors, pa.string())

    def column(self, d: FieldDecision, arr: Any, table: str) -> tuple[Any, Any]:
        """(new column, per-row failure: null, or the exception's type name)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_list(arr.type):
            flat = arr.flatten()
            new_flat, failed_flat = self.column(d, flat, table)
            new = pa.ListArray.from_arrays(arr.offsets, new_flat)
            if arr.null_count:
                new = pc.if_else(pc.is_valid(arr), new, pa.nulls(len(arr), new.type))
            failed = pa.nulls(len(arr), pa.string())
            if failed_flat.null_count < len(failed_flat):
                parents = pc.list_parent_indices(arr)
                bad = pc.filter(parents, pc.is_valid(failed_flat))
                mask = pc.is_in(pa.array(range(len(arr))), bad)
                failed = pc.if_else(mask, "element failed", failed)
            return new, failed
        failed = pa.nulls(len(arr), pa.string())
        if d.action == "keep" and not pa.types.is_string(arr.type):
            return arr, failed  # the actor keeps non-text values as they are
        if d.action == "hash" and (pa.types.is_string(arr.type)
                                   or pa.types.is_integer(arr.type)):
            return self._hash(d, arr, table), failed
        todo = pc.is_valid(arr)
        if d.action == "keep" and pa.types.is_string(arr.type):
            if d.timestamp:
                from telescrub.core.timeparse import fast_utc_mask

                todo = pc.and_(todo, pc.invert(fast_utc_mask(arr)[0]))
            if d.entity:
                exact = self.actor.scrubber.exact_mask(d.entity, arr)
                if exact is not None:
                    todo = pc.and_(todo, pc.invert(exact))
        if not pc.any(todo).as_py():
            return arr, failed
        enc = pc.dictionary_encode(pc.filter(arr, todo))
        distinct = enc.dictionary.to_pylist()
        counts = np.bincount(enc.indices.to_numpy(zero_copy_only=False),
                             minlength=len(distinct)).tolist()
        acted = self.actor.apply_distinct(d, distinct, counts, table)
        errors = [a.error if isinstance(a, Failed) else None for a in acted]
        values = [None if isinstance(a, Failed) else a for a in acted]
        new_vals = pc.take(pa.array(values), enc.indices)
        if pa.types.is_null(new_vals.type):  # every value failed
            new_vals = new_vals.cast(arr.type)
        # a kept text column stays text; any other action acted on every value, so the
        # column is the new values (whatever their type: a hashed number is a token)
        base = arr if new_vals.type == arr.type else pa.nulls(len(arr), new_vals.type)
        new = pc.replace_with_mask(base, todo, new_vals)
        if any(e is not None for e in errors):
            failed = pc.replace_with_mask(failed, todo,
                                          pc.take(pa.array(errors, pa.string()), enc.indices))
        return new, failed
