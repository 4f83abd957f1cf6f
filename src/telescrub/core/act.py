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

import json
from collections import Counter
from typing import Any

from telescrub.core.actions import DROP, Actor, Failed, KnownIndex, TextEngine
from telescrub.core.decisions import Decisions, FieldDecision
from telescrub.core.keys import HashKey
from telescrub.core.masking import mask_example, mask_keep_tokens
from telescrub.core.policy import Policy
from telescrub.core.records import BadRecord, Record, ScrubbedRecord, output_name
from telescrub.core.stats import ActStat, ExampleStat, Stat
from telescrub.core.timeparse import event_date

#: reason of a record the decisions cannot place (its input changed after profiling)
UNDECIDED = "changed_during_run"


def undecided(rec: Record, detail: str) -> BadRecord:
    return BadRecord(rec.table, rec.source, rec.line, UNDECIDED, detail,
                     json.dumps(rec.fields, default=str, ensure_ascii=False)[:4096])


class BatchActor:
    """Applies decisions to batches of records and gathers the counts for the report.

    Built once per worker (``DoFn.setup``): it owns the :class:`Actor` and, through it, the
    text engine (``telescrub.classifiers.text.TextScrubber``)."""

    def __init__(self, policy: Policy, key: HashKey, scrubber: TextEngine) -> None:
        self.policy = policy
        self.actor = Actor(policy, key, scrubber)
        self._known_src: object | None = None
        self.reset_stats()

    def reset_stats(self) -> None:
        self.actor.entity_counts.clear()
        self.actor.guard_hits.clear()
        self.dropped: Counter[str] = Counter()
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
        days: dict[tuple[type, Any], str | None] = {}
        ts_paths: dict[frozenset[str], str | None] = {}
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
            day = None
            if ts_path:
                ts = rec.fields.get(ts_path)
                k = (type(ts), ts) if not isinstance(ts, list) else (list, repr(ts))
                if k in days:
                    day = days[k]
                else:
                    day = days[k] = event_date(ts)
            results[i] = ScrubbedRecord(rec.table, rec.source, rec.line, day, out)

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
        if entities or guard or self.dropped:
            out.append(ActStat(entities, guard, dict(self.dropped)))
        return out
