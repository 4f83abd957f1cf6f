"""Name/value pair arrays (M365 Parameters[], Workspace events[].parameters[], Entra
additionalDetails[], Jira changedValues[]): each value is decided by its label."""

from __future__ import annotations

import pyarrow as pa

from telescrub.classifiers.decide import ReviewedDecisions
from telescrub.classifiers.labelled import LabelledValues, label_path
from telescrub.classifiers.text import TextScrubber
from telescrub.core.act import LINE_COLUMN, BatchActor
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for
from telescrub.core.policy import load_policy
from telescrub.core.records import Record
from telescrub.formats.flatten import flatten

POLICY = load_policy()
KEY = HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True)


def test_label_path() -> None:
    present = {"Parameters[].Name", "Parameters[].Value", "events[].parameters[].name",
               "events[].parameters[].value", "changedValues[].fieldName",
               "changedValues[].changedTo", "a.value", "x[].value"}
    assert label_path("Parameters[].Value", present) == "Parameters[].Name"
    assert label_path("events[].parameters[].value", present) == "events[].parameters[].name"
    assert label_path("changedValues[].changedTo", present) == "changedValues[].fieldName"
    assert label_path("a.value", present) is None  # not in an array
    assert label_path("x[].value", present) is None  # no label beside it
    assert label_path("Parameters[].Name", present) is None


def test_decisions_by_label() -> None:
    lv = LabelledValues(POLICY)
    assert lv.decision("t", "Parameters[].Value", "Identity").action == "hash"
    assert lv.decision("t", "p[].value", "target_user").action == "hash"
    assert lv.decision("t", "p[].value", "USER_EMAIL").action == "hash"
    assert lv.decision("t", "p[].value", "client_secret").action == "redact"
    assert lv.decision("t", "p[].value", "UserAgent") is None  # kept: the column decides
    assert lv.decision("t", "p[].value", "SomethingUnknown") is None  # scanned as text
    assert lv.decision("t", "p[].value", None) is None


def test_pairs_in_records_one_by_one_in_a_batch_and_in_a_columnar_block() -> None:
    """The act stage's label hook gives the same values whichever way a record is acted on:
    alone (streaming), in a batch beside records without labels, or in a columnar block."""
    obj = {"Operation": "Set-Mailbox",
           "Parameters": [{"Name": "Identity", "Value": "jdoe"},
                          {"Name": "UserAgent", "Value": "Mozilla/5.0"}],
           "events": [{"parameters": [{"name": "target_user", "value": "alice"},
                                      {"name": "SETTING_NAME", "value": "x"}]}]}
    other = {"Operation": "Get-Mailbox", "Parameters": [{"Value": "bob"}]}
    rec, plain = Record("t", "s", 1, flatten(obj)), Record("t", "s", 2, flatten(other))
    decisions = ReviewedDecisions(POLICY)
    acting = BatchActor(POLICY, KEY, TextScrubber(POLICY, KEY))
    one = acting.act_batch([rec], decisions)[0]
    batch = acting.act_batch([plain, rec], decisions)
    assert one is not None and batch[1] is not None and one.fields == batch[1].fields
    assert one.fields["Parameters[].Value"] == [KEY.token("jdoe"), "Mozilla/5.0"]
    assert one.fields["events[].parameters[].value"] == [KEY.token("alice"), "x"]
    assert one.fields["Operation"] == "Set-Mailbox"
    paths = sorted(set(rec.fields) | set(plain.fields))
    block = pa.table({**{p: [r.fields.get(p) for r in (plain, rec)] for p in paths},
                      LINE_COLUMN: [2, 1]})
    rows = acting.act_table("t", "s", block, decisions).rows.to_pylist()
    for row, scrubbed in zip(rows, batch, strict=True):
        assert scrubbed is not None
        lineage = ("_source_file", "_source_line", "event_date")
        assert {k: v for k, v in row.items() if v is not None and k not in lineage} == \
            scrubbed.fields
