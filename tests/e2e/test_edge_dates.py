"""End to end: edge dates never crash a run, and every partition a run can write is handled by
``verify``, ``purge`` and ``report``.

One input holds the event times a user meets: the ``9999-12-31T23:59:59Z`` "never expires"
sentinel of directory and certificate telemetry, year 1, 1970 (epoch 0 spelt as a date), epoch
0 and negative epochs as numbers, out-of-range strings, and ordinary times. It is run three
ways:

* the bundled policy: implausible times (before 2000-01-01, later than the run's start plus a
  day) go to the null partition and are counted per table and reason in the report;
* ``event_time.implausible: quarantine``: they are quarantined with a reason, never quoted;
* no bounds at all (``earliest: null, future_tolerance_days: null``): the run writes
  ``event_date=0001-01-01`` and ``event_date=9999-12-31`` partitions, whose expiry saturates
  at 9999-12-31; verify passes, purge deletes and rewrites them on the right dates (one
  column kept in clear for a day, the others 28 days), and the report regenerates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from support import ROOT, telescrub

from telescrub.store.layout import hive_partitioning

pytestmark = pytest.mark.slow
TABLE = "cert_events"
#: (event time, what it is); each record also holds a user e-mail (hashed) and a subject
EVENTS = [
    ("2026-11-20T10:00:00Z", "ordinary"),
    ("9999-12-31T23:59:59Z", "never-expires sentinel"),
    ("9999-12-31", "sentinel, date only"),
    ("9999-12-20T00:00:00Z", "near the end of time"),
    ("0001-01-01T00:00:00Z", "year 1"),
    ("1970-01-01T00:00:00Z", "epoch 0 as a date"),
    (0, "epoch 0 as a number (a counter, not a time)"),
    (-1, "negative epoch"),
    (-62135596800, "0001-01-01 in epoch seconds"),
    ("10000-01-01T00:00:00Z", "out of range"),
    ("9999-12-31T23:59:59-01:00", "past 9999-12-31 in UTC"),
    ("2026-11-21T08:00:00Z", "ordinary"),
]
IMPLAUSIBLE = {"before_floor": 2, "in_future": 3}  # year 1 and 1970; the three 9999 dates


def _write_input(root: Path) -> Path:
    src = root / f"{TABLE}.jsonl"
    src.write_text("".join(json.dumps({
        "timestamp": ts, "user": f"holder{i}@contoso.com", "subject": what, "serial": i})
        + "\n" for i, (ts, what) in enumerate(EVENTS, start=1)))
    return src


def _policy(root: Path, **event_time: str) -> Path:
    text = (ROOT / "schemas" / "policy.yaml").read_text()
    for key, value in event_time.items():
        start = text.index(f"  {key}:")
        text = text[:start] + f"  {key}: {value}\n" + text[text.index("\n", start) + 1:]
    path = root / "policy.yaml"
    path.write_text(text)
    (root / "rules.yaml").write_text((ROOT / "schemas" / "rules.yaml").read_text())
    return path


def _report(out: Path) -> dict:
    return json.loads((out / "_report" / "report.json").read_text())


def _partitions(out: Path) -> dict[str, dict]:
    return {p.name.split("=", 1)[1]: json.loads((p / "_manifest.json").read_text())
            for p in sorted((out / TABLE).iterdir()) if p.name.startswith("event_date=")}


def _rows(out: Path) -> list[dict]:
    return ds.dataset(out / TABLE, format="parquet",
                      partitioning=hive_partitioning()).to_table().to_pylist()


def _assert_clean_run(proc, out: Path) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "verification: PASSED" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr and "OverflowError" not in proc.stderr
    report = _report(out)
    assert report["accounting_ok"] and report["totals"]["read"] == len(EVENTS)
    return report


def test_bundled_policy_routes_implausible_times_to_the_null_partition(tmp_path):
    src, out = _write_input(tmp_path), tmp_path / "out"
    report = _assert_clean_run(telescrub("run", str(src), "--output", str(out)), out)
    assert set(_partitions(out)) == {"2026-11-20", "2026-11-21", "__HIVE_DEFAULT_PARTITION__"}
    assert {(i["reason"], i["records"]) for i in report["implausible_event_times"]} == \
        set(IMPLAUSIBLE.items())
    assert {i["table"] for i in report["implausible_event_times"]} == {TABLE}
    assert report["run"]["event_time"] == {"earliest": "2000-01-01", "future_tolerance_days": 1,
                                           "implausible": "null_partition"}
    assert report["totals"]["written"] == len(EVENTS)  # nothing lost, nothing quarantined
    rows = _rows(out)
    assert sum(1 for r in rows if r["event_date"] is None) == len(EVENTS) - 2
    html = (out / "_report" / "index.html").read_text()
    assert "id='implausible-event-times'" in html and "before_floor" in html


def test_quarantine_routing_keeps_the_value_out_of_the_detail(tmp_path):
    src, out = _write_input(tmp_path), tmp_path / "out"
    policy = _policy(tmp_path, implausible="quarantine")
    report = _assert_clean_run(telescrub("run", str(src), "--output", str(out), "--policy",
                                         str(policy)), out)
    assert report["totals"]["quarantined"] == sum(IMPLAUSIBLE.values())
    assert report["quarantine"] == [{"table": TABLE, "reason": "implausible_event_time",
                                     "records": sum(IMPLAUSIBLE.values())}]
    q = ds.dataset(out / "_quarantine", format="parquet",
                   partitioning=hive_partitioning()).to_table().to_pylist()
    assert len(q) == sum(IMPLAUSIBLE.values())
    for row in q:
        assert row["reason"] == "implausible_event_time" and "event_time" in row["detail"]
        assert "9999-12" not in row["detail"] and "0001-01" not in row["detail"]
        assert "holder" not in row["text_scrubbed"]  # the scrubbed record, never the raw one


@pytest.fixture(scope="module")
def unbounded(tmp_path_factory) -> Path:
    """No bounds: the run writes partitions from year 1 to 9999; the user column is kept in
    clear (1 day: clear EUII), the others expire after 28 days."""
    root = tmp_path_factory.mktemp("unbounded")
    src, out = _write_input(root), root / "out"
    policy = _policy(root, earliest="null", future_tolerance_days="null")
    text = policy.read_text()
    assert "fields: []" in text
    policy.write_text(text.replace("fields: []",
                                   f'fields:\n  - {{match: "{TABLE}.user", action: keep}}'))
    report = _assert_clean_run(telescrub("run", str(src), "--output", str(out), "--policy",
                                         str(policy)), out)
    assert report["implausible_event_times"] == []
    return out


def test_unbounded_run_writes_year_1_and_9999_partitions_that_verify(unbounded, tmp_path):
    parts = _partitions(unbounded)
    assert set(parts) == {"0001-01-01", "1970-01-01", "2026-11-20", "2026-11-21",
                          "9999-12-20", "9999-12-31", "__HIVE_DEFAULT_PARTITION__"}
    assert parts["9999-12-31"]["rows"] == 2  # the sentinel with and without a time
    # the clear user column sets retention (1 day); near the end of time it saturates
    assert parts["9999-12-31"]["expires_on"] == "9999-12-31"
    assert parts["9999-12-20"]["expires_on"] == "9999-12-21"
    assert parts["0001-01-01"]["expires_on"] == "0001-01-02"
    proc = telescrub("verify", str(unbounded))
    assert proc.returncode == 0 and "PASSED" in proc.stdout, proc.stdout + proc.stderr
    proc = telescrub("report", str(unbounded))
    assert proc.returncode == 0, proc.stderr
    html = (unbounded / "_report" / "index.html").read_text()
    assert "9999-12-31" in html and "0001-01-02" in html


def _copy(src: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(src, dest)
    return dest


def test_purge_handles_every_partition_from_year_1_to_9999(unbounded, tmp_path):
    out = _copy(unbounded, tmp_path / "out")
    # as of 9999-12-25: everything before the end of time is deleted (the null partition
    # counts from the run date); 9999-12-20 only lost its 1-day user column (its 28-day
    # columns saturate at 9999-12-31); 9999-12-31 has nothing due
    proc = telescrub("purge", str(out), "--as-of", "9999-12-25")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = _partitions(out)
    assert set(parts) == {"9999-12-20", "9999-12-31"}
    assert parts["9999-12-20"]["purged_columns"] == ["user"]
    assert parts["9999-12-20"]["expires_on"] == "9999-12-31"
    assert "purged_columns" not in parts["9999-12-31"]
    last = ds.dataset(out / TABLE / "event_date=9999-12-31", format="parquet").to_table()
    assert sorted(last.column("user").to_pylist()) == [
        "holder2@contoso.com", "holder3@contoso.com"]  # kept in clear by this policy
    proc = telescrub("verify", str(out))
    assert proc.returncode == 0 and "PASSED" in proc.stdout, proc.stdout + proc.stderr
    # the last day: the end of time itself is due
    proc = telescrub("purge", str(out), "--as-of", "9999-12-31")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (out / TABLE).exists()  # every partition went, and the empty table with them
    proc = telescrub("verify", str(out))
    assert proc.returncode == 0 and "PASSED" in proc.stdout, proc.stdout + proc.stderr
    proc = telescrub("report", str(out))
    assert proc.returncode == 0, proc.stderr
    # and a purge on the first day there is changes nothing
    early = _copy(unbounded, tmp_path / "early")
    proc = telescrub("purge", str(early), "--as-of", "0001-01-01")
    assert proc.returncode == 0 and "nothing to purge" in proc.stdout, proc.stdout
