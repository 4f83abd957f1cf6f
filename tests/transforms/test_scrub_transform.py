"""Scrub / Classify / Quarantine as Beam transforms, with TestPipeline and assert_that."""

from __future__ import annotations

import re

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from telescrub.core.keys import HashKey, key_id_for
from telescrub.core.policy import load_policy
from telescrub.core.records import BadRecord, Record
from telescrub.core.report import QUARANTINE_TABLE
from telescrub.pipelines.classify import Classify, FromSchemas
from telescrub.pipelines.scrub import PerBatch, QuarantineFn, RunWide, Scrub

KEY = HashKey(b"k" * 32, key_id_for(b"k" * 32))
TOKEN = re.compile(r"h1:[0-9a-f]{8}:[0-9a-f]{32}")


def _records(n: int = 40) -> list[Record]:
    out = []
    for i in range(n):
        out.append(Record("events", "f.jsonl", i + 1, {
            "timestamp": f"2026-11-2{i % 3}T10:00:00Z",
            "clientIp": f"203.0.113.{i % 250}",
            "user.email": f"person{i}@contoso.com",
            "device.id": f"3f2504e0-4f89-11d3-9a0c-0305e82c{i:04d}",
            "counters.imsSent": i,
            "message": f"login failed for person{i}@contoso.com from 198.51.100.{i % 200}",
            "mysteryField": f"value {i}",
            "cardSecurityCode": "123",
        }))
    return out


def test_classify_decides_by_role_and_values():
    policy = load_policy()
    with TestPipeline() as p:
        decisions = (p | beam.Create(_records()) | Classify(policy)
                     | beam.MapTuple(lambda t, td: sorted(
                         (path, d.category, d.action) for path, d in td.fields.items())))
        assert_that(decisions, equal_to([[
            ("cardSecurityCode", "account_data", "drop"),
            ("clientIp", "euii", "hash"),
            ("counters.imsSent", "system_metadata", "keep"),
            ("device.id", "eupi", "hash"),
            ("message", "system_metadata", "scrub_text"),
            ("mysteryField", "customer_content", "scrub_text"),
            ("timestamp", "system_metadata", "keep"),
            ("user.email", "euii", "hash"),
        ]]))


def _check_scrubbed(rows):
    assert len(rows) == 40
    for r in rows:
        f = r.fields
        assert "cardSecurityCode" not in f
        assert TOKEN.fullmatch(f["clientIp"]) and TOKEN.fullmatch(f["user.email"])
        assert TOKEN.fullmatch(f["device.id"])
        assert isinstance(f["counters.imsSent"], int)
        assert "@contoso.com" not in f["message"] and "198.51.100." not in f["message"]
        assert f["message"].startswith("login failed for h1:")
        assert r.event_date in ("2026-11-20", "2026-11-21", "2026-11-22")


def test_scrub_batch_applies_actions():
    policy = load_policy()
    with TestPipeline() as p:
        res = p | beam.Create(_records()) | Scrub(policy, KEY)
        assert_that(res.scrubbed | beam.combiners.ToList(), lambda xs: _check_scrubbed(xs[0]),
                    label="CheckScrubbed")
        assert_that(res.dead_letter, equal_to([]), label="NoDeadLetters")


def test_same_value_same_token_across_tables():
    policy = load_policy()
    recs = [Record("a", "a.jsonl", 1, {"email": "Joe@Contoso.com"}),
            Record("b", "b.jsonl", 1, {"contact_email": "joe@contoso.com"})]
    with TestPipeline() as p:
        res = p | beam.Create(recs) | Scrub(policy, KEY)
        tokens = res.scrubbed | beam.Map(lambda r: next(iter(r.fields.values())))
        assert_that(tokens | beam.Distinct() | beam.combiners.Count.Globally(), equal_to([1]))


def test_streaming_mode_rules_only_and_fail_closed():
    policy = load_policy()
    recs = [Record("t", "s", 1, {"email": "ann@contoso.com", "weird": "call ann at +1 425 555 0100",
                                 "timestamp": "2026-11-25T00:00:00Z"})]
    with TestPipeline() as p:
        res = p | beam.Create(recs) | Scrub(policy, KEY, FromSchemas(tables=["t"]))
        out = res.scrubbed | beam.Map(lambda r: (r.event_date, sorted(r.fields)))
        assert_that(out, equal_to([("2026-11-25", ["email", "timestamp", "weird"])]))
        text = res.scrubbed | beam.Map(lambda r: "425 555 0100" in r.fields["weird"]
                                       or "ann@contoso.com" in r.fields["email"])
        assert_that(text, equal_to([False]), label="NothingSurvives")


def test_quarantine_never_keeps_raw_values():
    policy = load_policy()
    bad = [BadRecord("t", "f.jsonl", 7, "invalid_json", "line 7: invalid JSON",
                     '{"user": "Anna Kowalski", "ip": "203.0.113.9", "note": "call me'),
           BadRecord("c", "f.csv", 3, "csv_too_many_columns", "row 3: 5 fields, header has 4",
                     "Theo Marchand,theo@fabrikam.com,12 Main Street, Suite 4,98052")]
    with TestPipeline() as p:
        rows = p | beam.Create(bad) | beam.ParDo(QuarantineFn(policy, KEY))

        def check(rs):
            assert len(rs) == 2
            for r in rs:
                assert r.table == QUARANTINE_TABLE and r.event_date is None
                text = r.fields["text_scrubbed"]
                for raw in ("Anna", "Kowalski", "203.0.113.9", "call me", "Theo", "Marchand",
                            "theo@fabrikam.com", "Main Street", "98052"):
                    assert raw not in text, (raw, text)
                if r.fields["reason"] == "invalid_json":
                    assert '"user":' in text  # structure kept for debugging

        assert_that(rows | beam.combiners.ToList(), lambda xs: check(xs[0]))


def _roster_and_chat() -> list[Record]:
    return [Record("t", "s", 1, {"user.displayName": "Tendai Moyo",
                                 "errorMessage": "sync failed for Tendai Moyo on node 4",
                                 "timestamp": "2026-11-25T00:00:00Z"}),
            Record("t", "s", 2, {"errorMessage": "Tendai Moyo retried",
                                 "timestamp": "2026-11-25T00:01:00Z"})]


def test_known_identifiers_become_the_columns_token_in_text_for_each_scope():
    """One token form everywhere: a name found in a name column is replaced by the same hash
    token in free text, whether known identifiers are collected run-wide (a side input) or
    from the records acted on together (streaming: the record itself)."""
    policy = load_policy()
    for label, known in (("run", RunWide()), ("record", PerBatch())):
        with TestPipeline() as p:
            res = (p | f"Recs{label}" >> beam.Create(_roster_and_chat())
                   | f"Scrub{label}" >> Scrub(policy, KEY, FromSchemas(tables=["t"]), known))

            def check(rows, known=known):
                by_line = {r.line: r.fields for r in rows}
                token = by_line[1]["user.displayName"]
                assert TOKEN.fullmatch(token)
                assert by_line[1]["errorMessage"] == f"sync failed for {token} on node 4"
                # the second record has no name column: only a run-wide scope knows the name
                if isinstance(known, RunWide):
                    assert token in by_line[2]["errorMessage"]
                for f in by_line.values():
                    assert all("Tendai" not in str(v) or not isinstance(known, RunWide)
                               for v in f.values())

            assert_that(res.scrubbed | f"All{label}" >> beam.combiners.ToList(),
                        lambda xs, c=check: c(xs[0]), label=f"Check{label}")
