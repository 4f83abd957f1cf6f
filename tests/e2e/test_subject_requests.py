"""``telescrub subject find|export|erase``: one person planted across tables, dates, columns,
free text and two keys of a rotation is found with the expected counts, exported, erased
(verify passes afterwards, find reports nothing, every other row is intact), and an erasure
killed at every step is completed by a re-run. The subject's clear value never reaches stdout,
stderr, the audit, the report or the manifests.

The output is made by the real pipeline: run A hashes with the *old* key (table
``legacy_signins``), run B with a rotation key file (``*new``, ``old``) writes ``crm_contacts``
(hashed e-mail column, e-mail inside free-text notes), ``app_events`` (hashed SIP URI, the URI
inside log messages) and ``helpdesk_tickets`` (the e-mail kept in clear by the test policy).
A's table is then moved into B's output and its report merged into B's, standing in for an
output that holds data hashed before a key rotation (an ``--mode append`` run after rotating
would do the same, but ``verify`` cannot yet account for the rows of earlier appended runs:
its ``rows_on_disk`` check compares against the latest run's report only).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from support import OTHER_KEY, ROOT, TEST_KEY, telescrub

from telescrub.app.subject import (
    STEPS,
    Subject,
    email_identifier,
    find,
    leftovers,
)
from telescrub.app.verify import verify_output
from telescrub.core.keys import HashKey, key_id_for
from telescrub.store.manifest import check_file, load_catalog, verify_manifest
from telescrub.store.report import replace_committed_report

pytestmark = pytest.mark.slow

SUBJECT = "jane.doe@contoso.com"
OLD_ID, NEW_ID = key_id_for(TEST_KEY.encode()), key_id_for(OTHER_KEY.encode())
REQUEST = "DSR-2026-0042"

LEGACY = [  # run A, old key
    {"timestamp": "2026-11-19T08:00:00Z", "userPrincipalName": SUBJECT, "clientIp": "203.0.113.7",
     "message": f"sign-in for {SUBJECT} succeeded"},
    {"timestamp": "2026-11-19T09:00:00Z", "userPrincipalName": SUBJECT, "clientIp": "203.0.113.7",
     "message": "token refreshed"},
    {"timestamp": "2026-11-18T09:00:00Z", "userPrincipalName": "omar.haddad@fabrikam.com",
     "clientIp": "198.51.100.20", "message": "sign-in for omar.haddad@fabrikam.com failed"},
    {"timestamp": "2026-11-18T10:00:00Z", "userPrincipalName": "li.wei@fabrikam.com",
     "clientIp": "198.51.100.21", "message": "sign-in succeeded"},
]
CRM = [  # run B, new key
    {"timestamp": "2026-11-20T10:00:00Z", "email": "Jane.Doe@Contoso.com", "department": "Sales",
     "notes": "prefers calls in the morning"},
    {"timestamp": "2026-11-20T11:00:00Z", "email": "omar.haddad@fabrikam.com",
     "department": "Legal", "notes": f"cc {SUBJECT} on renewals"},
    {"timestamp": "2026-11-20T12:00:00Z", "email": "li.wei@fabrikam.com", "department": "Legal",
     "notes": "no notes"},
    {"timestamp": "2026-11-21T10:00:00Z", "email": "ana.silva@fabrikam.com", "department": "IT",
     "notes": "asked about omar.haddad@fabrikam.com"},
    {"timestamp": "2026-11-21T11:00:00Z", "email": SUBJECT, "department": "Sales",
     "notes": "renewal signed"},
]
EVENTS = [
    {"timestamp": "2026-11-21T08:00:00Z", "sipUri": f"sip:{SUBJECT}", "clientIp": "203.0.113.7",
     "message": "call setup ok", "durationMs": 1200},
    {"timestamp": "2026-11-21T08:05:00Z", "sipUri": "sip:li.wei@fabrikam.com",
     "clientIp": "198.51.100.21", "message": f"INVITE from sip:{SUBJECT} rejected",
     "durationMs": 0},
    {"timestamp": "2026-11-21T08:10:00Z", "sipUri": "sip:omar.haddad@fabrikam.com",
     "clientIp": "198.51.100.20", "message": "call setup ok", "durationMs": 300},
    {"timestamp": "2026-11-20T08:10:00Z", "sipUri": "sip:ana.silva@fabrikam.com",
     "clientIp": "198.51.100.22", "message": "call dropped", "durationMs": 50},
]
HELPDESK = f"""timestamp,ticketId,requesterEmail,summary
2026-11-20T09:00:00Z,T-1001,{SUBJECT},printer jammed
2026-11-20T09:30:00Z,T-1002,li.wei@fabrikam.com,password reset
2026-11-21T09:30:00Z,T-1003,ana.silva@fabrikam.com,laptop slow
"""
#: table -> partition -> (rows, {column: {how: rows}}) for the subject under both keys
EXPECTED = {
    "app_events": {"event_date=2026-11-21": (2, {"message": {"text": 1},
                                                  "sipUri": {"token": 1}})},
    "crm_contacts": {"event_date=2026-11-20": (2, {"email": {"token": 1}, "notes": {"text": 1}}),
                     "event_date=2026-11-21": (1, {"email": {"token": 1}})},
    "helpdesk_tickets": {"event_date=2026-11-20": (1, {"requesterEmail": {"clear": 1}})},
    "legacy_signins": {"event_date=2026-11-19": (2, {"message": {"text": 1},
                                                      "userPrincipalName": {"token": 2}})},
}
#: (table, source line) of every row holding the subject
SUBJECT_ROWS = {("legacy_signins", 1), ("legacy_signins", 2), ("crm_contacts", 1),
                ("crm_contacts", 2), ("crm_contacts", 5), ("app_events", 1), ("app_events", 2),
                ("helpdesk_tickets", 2)}
TABLES = ("app_events", "crm_contacts", "helpdesk_tickets", "legacy_signins")


# ------------------------------------------------------------------------------- fixtures


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _merge_outputs(into: Path, other: Path) -> None:
    """Move ``other``'s tables into ``into`` and account for them in ``into``'s report."""
    ra = json.loads((other / "_report" / "report.json").read_text())
    rb = json.loads((into / "_report" / "report.json").read_text())
    root_a = json.loads((other / "_manifest.json").read_text())
    root_b = json.loads((into / "_manifest.json").read_text())
    for table in ra["tables"]:
        shutil.move(str(other / table), str(into / table))
        rb["tables"][table] = ra["tables"][table]
        # the moved partitions are listed in the output's manifest (what readers trust)
        root_b["partitions"].update({rel: m for rel, m in root_a["partitions"].items()
                                     if rel.split("/", 1)[0] == table})
    (into / "_manifest.json").write_text(json.dumps(root_b, indent=2, sort_keys=True) + "\n")
    rb["inputs"] += ra["inputs"]
    rb["partitions"] += ra["partitions"]
    for k, v in ra["totals"].items():
        rb["totals"][k] += v
    (into / "_report" / "verify.json").unlink(missing_ok=True)
    replace_committed_report(str(into), rb)  # the committed report, its copy and its page


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("subject")
    policy = (ROOT / "schemas" / "policy.yaml").read_text()
    (d / "policy.yaml").write_text(policy.replace(
        "fields: []", 'fields:\n  - {match: "helpdesk_tickets.requesterEmail", action: keep}'))
    shutil.copy(ROOT / "schemas" / "rules.yaml", d / "rules.yaml")
    (d / "tombstone.yaml").write_text((d / "policy.yaml").read_text()
                                      + "\nsubject_requests: {erase: tombstone}\n")
    (d / "keys").write_text(f"*new={OTHER_KEY}\nold={TEST_KEY}\n")
    (d / "newkey").write_text(f"{OTHER_KEY}\n")
    (d / "inA").mkdir()
    (d / "inB").mkdir()
    _jsonl(d / "inA" / "legacy_signins.jsonl", LEGACY)
    _jsonl(d / "inB" / "crm_contacts.jsonl", CRM)
    _jsonl(d / "inB" / "app_events.jsonl", EVENTS)
    (d / "inB" / "helpdesk_tickets.csv").write_text(HELPDESK)
    telescrub("run", str(d / "inA"), "--output", str(d / "outA"), "--policy",
              str(d / "policy.yaml"), key=TEST_KEY)
    telescrub("run", str(d / "inB"), "--output", str(d / "out"), "--policy",
              str(d / "policy.yaml"), "--key-file", str(d / "keys"), key=None)
    _merge_outputs(d / "out", d / "outA")
    return d


@pytest.fixture(scope="module")
def erased_reference(base, tmp_path_factory) -> Path:
    """The output after one uninterrupted erasure."""
    out = tmp_path_factory.mktemp("reference") / "out"
    shutil.copytree(base / "out", out)
    _subject_cli(base, "erase", out, "--request-id", REQUEST)
    return out


def _copy(base: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(base / "out", out)
    return out


def _subject_cli(base: Path, command: str, out: Path, *args: str, keys: str = "keys",
                 check: bool = True, email: str = SUBJECT) -> subprocess.CompletedProcess[str]:
    proc = telescrub("subject", command, str(out), "--email", email, "--key-file",
                     str(base / keys), *args, key=None, check=False)
    if check and proc.returncode not in (0, 1):
        raise AssertionError(f"{command}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _listed(out: Path) -> list[Path]:
    """The files the output's manifests list (what a reader must read; never a listing),
    each checked to be there as listed."""
    cat = load_catalog(str(out))
    files = []
    for rel in sorted(cat.partitions):
        for e in cat.partitions[rel]["files"]:
            f = out / rel / e["path"]
            assert check_file(e["path"], e, f.read_bytes() if f.exists() else None) == [], f
            files.append(f)
    return files


def _rows(out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every row of every table, by (table, source line), with its partition."""
    rows = {}
    for f in _listed(out):
        table = f.parent.parent.name
        if table not in TABLES:
            continue
        for r in pq.read_table(f, partitioning=None).to_pylist():
            rows[(table, r["_source_line"])] = {**r, "_partition": f.parent.name}
    return rows


def _audit(out: Path) -> list[dict[str, Any]]:
    path = out / "_audit" / "subject.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] \
        if path.exists() else []


def _no_clear_value(*texts: str) -> None:
    for t in texts:
        low = t.lower()
        assert SUBJECT not in low and "jane.doe" not in low and "jane doe" not in low


def _reports_and_audit(out: Path) -> list[str]:
    texts = [p.read_text() for p in (out / "_report").glob("*") if p.is_file()]
    texts += [p.read_text() for p in (out / "_audit").glob("*") if p.is_file()]
    texts += [p.read_text() for p in out.rglob("_manifest.json")]
    return texts


# ------------------------------------------------------------------------------------ find


def test_find_counts_per_table_partition_and_column(base):
    proc = _subject_cli(base, "find", base / "out", "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    got = {t: {p: (v["rows"], v["columns"]) for p, v in info["partitions"].items()}
           for t, info in res["tables"].items()}
    assert got == EXPECTED
    assert res["rows"] == len(SUBJECT_ROWS) and res["found"] is True
    assert set(res["key_ids_searched"]) == {OLD_ID, NEW_ID} and res["key_ids_missing"] == []
    assert res["key_ids_on_record"][OLD_ID] == 2  # the two legacy_signins files
    human = _subject_cli(base, "find", base / "out")
    assert human.returncode == 0
    assert "FOUND 8 row(s) in 4 table(s), 5 partition(s)" in human.stdout
    assert "requesterEmail" in human.stdout and "clear value (kept column)" in human.stdout
    _no_clear_value(proc.stdout, proc.stderr, human.stdout, human.stderr)
    for other in ("omar", "li.wei", "ana.silva", "h1:"):  # nobody else's value, no token
        assert other not in human.stdout and other not in proc.stdout


def test_find_normalises_like_the_actions_and_names_keys_without_a_key(base):
    upper = _subject_cli(base, "find", base / "out", "--json", email=SUBJECT.upper())
    assert json.loads(upper.stdout)["rows"] == len(SUBJECT_ROWS)
    # only the new key: the old key's data cannot be searched, and one line says so
    only_new = _subject_cli(base, "find", base / "out", keys="newkey")
    assert only_new.returncode == 0
    lines = [x for x in only_new.stdout.splitlines() if "no key supplied" in x]
    assert len(lines) == 1 and OLD_ID in lines[0] and "cannot be searched" in lines[0]
    assert "legacy_signins" not in only_new.stdout
    # an address nobody holds: exit 1
    none = _subject_cli(base, "find", base / "out", email="nobody@contoso.com")
    assert none.returncode == 1 and "NOT FOUND" in none.stdout


def test_find_by_ip_and_by_value(base):
    proc = telescrub("subject", "find", str(base / "out"), "--ip", "203.0.113.7", "--json",
                     "--key-file", str(base / "keys"), key=None, check=False)
    res = json.loads(proc.stdout)
    assert {t: info["rows"] for t, info in res["tables"].items()} == {
        "app_events": 1, "legacy_signins": 2}
    assert "203.0.113" not in proc.stdout
    val = telescrub("subject", "find", str(base / "out"), "--value", f"SIP_URI=sip:{SUBJECT}",
                    "--json", "--key-file", str(base / "keys"), key=None, check=False)
    assert json.loads(val.stdout)["tables"]["app_events"]["rows"] == 2


def test_bad_identifiers_are_one_line_errors_that_never_echo_the_value(base, tmp_path):
    for args, msg in ((["--value", "EMAIL=secret.value@contoso.com"], "unknown entity type"),
                      (["--email", "secret.value"], "not an e-mail address"),
                      (["--ip", "secret.value"], "not an IPv4 or IPv6 address"),
                      ([], "name the subject")):
        proc = telescrub("subject", "find", str(base / "out"), *args, "--key-file",
                         str(base / "keys"), key=None, check=False)
        assert proc.returncode == 2 and msg in proc.stderr, proc.stderr
        assert "secret.value" not in proc.stderr + proc.stdout
        assert len(proc.stderr.strip().splitlines()) == 1
    listed = telescrub("subject", "find", str(base / "out"), "--value", "EMAIL=x",
                       "--key-file", str(base / "keys"), key=None, check=False)
    assert "EMAIL_ADDRESS" in listed.stderr and "SIP_URI" in listed.stderr
    out = _copy(base, tmp_path)  # a mistake here must not erase the shared output
    rid = _subject_cli(base, "erase", out, "--request-id", "req-jane.doe@contoso.com",
                       check=False)
    assert rid.returncode == 2 and "request-id" in rid.stderr
    rid = _subject_cli(base, "erase", out, "--request-id", "Jane.Doe-2026", check=False)
    assert rid.returncode == 2 and "must not contain" in rid.stderr
    _no_clear_value(rid.stderr)


# ---------------------------------------------------------------------------------- export


def test_export_writes_the_subjects_rows_as_stored(base, tmp_path):
    to = tmp_path / "export"
    proc = _subject_cli(base, "export", base / "out", "--to", str(to), "--request-id", REQUEST)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((to / "summary.json").read_text())
    assert summary["rows"] == len(SUBJECT_ROWS) and summary["request_id"] == REQUEST
    before = _rows(base / "out")
    got = set()
    for table in TABLES:
        jl = [json.loads(x) for x in (to / f"{table}.jsonl").read_text().splitlines()]
        pt = pq.read_table(to / f"{table}.parquet").to_pylist()
        assert len(jl) == len(pt) == sum(v[0] for v in EXPECTED[table].values())
        for row in jl:
            key = (table, row["_source_line"])
            got.add(key)
            stored = before[key]
            assert row["event_date"] == stored["_partition"].split("=")[1]
            for col, value in stored.items():  # exactly as stored: tokens, kept columns
                if col != "_partition":
                    assert row[col] == value
    assert got == SUBJECT_ROWS
    assert pt and all(r["event_date"] for r in pt)
    # the data exported is the stored data (her kept clear value included); what telescrub
    # writes about it — the summary and the console — holds no value
    _no_clear_value((to / "summary.json").read_text(), proc.stdout, proc.stderr)
    refused = _subject_cli(base, "export", base / "out", "--to", str(to), check=False)
    assert refused.returncode == 2 and "not an empty directory" in refused.stderr


# ----------------------------------------------------------------------------------- erase


def test_erase_then_verify_passes_find_reports_nothing_and_other_rows_are_intact(
        base, tmp_path):
    out = _copy(base, tmp_path)
    before = _rows(out)
    verified = verify_output(str(out))
    assert verified["ok"], verified["checks"]
    dry = _subject_cli(base, "erase", out, "--request-id", REQUEST, "--dry-run")
    assert dry.returncode == 0 and "would remove 8 row(s)" in dry.stdout
    assert _rows(out) == before
    proc = _subject_cli(base, "erase", out, "--request-id", REQUEST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "after erasing, find reports 0 row(s)" in proc.stdout
    after = _rows(out)
    assert set(after) == set(before) - SUBJECT_ROWS
    for key, row in after.items():  # every other row: same partition, same content
        assert row == before[key]
    assert not (out / "legacy_signins" / "event_date=2026-11-19").exists()  # all hers: gone
    assert not (out / "_audit" / "pending").exists()
    res = verify_output(str(out))
    assert res["ok"], json.dumps(res["checks"], indent=1)
    assert res["tables"]["legacy_signins"]["rows"] == 2
    again = _subject_cli(base, "find", out)
    assert again.returncode == 1 and "NOT FOUND" in again.stdout
    # the audit: one line per changed file, then the request summary
    audit = _audit(out)
    files = [r for r in audit if r["action"] == "erase_rows" and not r["dry_run"]]
    assert len(files) == 5 and sum(r["rows_removed"] for r in files) == len(SUBJECT_ROWS)
    for r in files:
        assert r["request_id"] == REQUEST and r["at"].endswith("Z")
        assert r["sha256_before"] and r["rows_before"] - r["rows_removed"] == r["rows_after"]
        assert r["subject_ref"].startswith(f"h1:{NEW_ID}:")
        pdir = out / r["path"]
        if r["partition_deleted"]:
            assert not pdir.exists() and r["file_after"] is None
        else:
            m = json.loads((pdir / "_manifest.json").read_text())
            entry = next(e for e in m["files"] if e["path"] == r["file_after"])
            assert entry["sha256"] == r["sha256_after"] and entry["rows"] == r["rows_after"]
            assert m["last_subject_erasure"]["request_id"] == REQUEST
            meta = pq.read_schema(pdir / r["file_after"]).metadata
            assert json.loads(meta[b"telescrub.subject_erasures"])[0]["request_id"] == REQUEST
            assert meta[b"telescrub.expires_on"]  # retention kept
    req = [r for r in audit if r["action"] == "request"]
    assert [r["dry_run"] for r in req] == [True, False] and req[-1]["remaining"] == 0
    assert req[-1]["rows_removed"] == len(SUBJECT_ROWS)
    # the report shows the request beside the purge audit
    html = (out / "_report" / "index.html").read_text()
    assert "id='subject-audit'" in html and REQUEST in html
    # no clear value anywhere: console, audit, reports, manifests, and no cell left
    _no_clear_value(dry.stdout, dry.stderr, proc.stdout, proc.stderr, again.stdout,
                    *_reports_and_audit(out))
    _no_clear_value(json.dumps(list(_rows(out).values())))
    # idempotent: a second run finds nothing and changes nothing
    snap = _rows(out)
    second = _subject_cli(base, "erase", out, "--request-id", REQUEST)
    assert second.returncode == 0 and "nothing to erase" in second.stdout
    assert _rows(out) == snap
    assert [r["action"] for r in _audit(out)[len(audit):]] == ["request"]


def test_tombstone_keeps_the_rows_and_replaces_only_the_subjects_cells(base, tmp_path):
    out = _copy(base, tmp_path)
    before = _rows(out)
    proc = telescrub("subject", "erase", str(out), "--email", SUBJECT, "--key-file",
                     str(base / "keys"), "--request-id", REQUEST, "--policy",
                     str(base / "tombstone.yaml"), key=None, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = _rows(out)
    assert set(after) == set(before)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == SUBJECT_ROWS
    assert after[("crm_contacts", 2)]["notes"] == "cc <ERASED:SUBJECT> on renewals"
    assert after[("crm_contacts", 2)]["email"] == before[("crm_contacts", 2)]["email"]
    assert after[("helpdesk_tickets", 2)]["requesterEmail"] == "<ERASED:SUBJECT>"
    assert after[("helpdesk_tickets", 2)]["ticketId"] == "T-1001"
    res = verify_output(str(out))
    assert res["ok"], res["checks"]
    assert _subject_cli(base, "find", out).returncode == 1
    recs = [r for r in _audit(out) if r["action"] == "tombstone"]
    assert sum(r["cells_tombstoned"] for r in recs) == 9 and all(
        r["rows_removed"] == 0 for r in recs)


# -------------------------------------------------------------------------- crash safety

DRIVER = """
import os, signal, sys
import telescrub.app.subject as s
step, nth, exchange = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
seen = []
def hook(name):
    if name == step:
        seen.append(name)
        if len(seen) == nth:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
s.set_step_hook(hook)
sys.exit(s.main(sys.argv[4:]))
"""


def _killed_erase(base: Path, out: Path, step: str, nth: int = 1, exchange: bool = True,
                  ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    return subprocess.run(
        [sys.executable, "-c", DRIVER, step, str(nth), "1" if exchange else "0", "erase",
         str(out), "--email", SUBJECT, "--key-file", str(base / "keys"), "--request-id",
         REQUEST], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


def _partition_rows(out: Path) -> dict[str, set[int]]:
    """Source lines per partition, as the manifests show them."""
    got: dict[str, set[int]] = {}
    for f in _listed(out):
        table = f.parent.parent.name
        if table not in TABLES:
            continue
        key = f"{table}/{f.parent.name}"
        got.setdefault(key, set()).update(
            pq.read_table(f, columns=["_source_line"], partitioning=None).column(0).to_pylist())
    return got


CRASHES = [(s, 1, True) for s in STEPS if s != "recovered"]
CRASHES += [("erase-file", 3, True), ("erase-intent", 2, True)]


@pytest.mark.parametrize(("step", "nth", "exchange"), CRASHES, ids=[
    f"{s}@{n}" + ("" if e else "-no-exchange") for s, n, e in CRASHES])
def test_an_erasure_killed_at_any_step_is_completed_by_a_rerun(
        base, erased_reference, tmp_path, step, nth, exchange):
    out = _copy(base, tmp_path)
    old_parts, new_parts = _partition_rows(out), _partition_rows(erased_reference)
    killed = _killed_erase(base, out, step, nth, exchange)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    # at any moment each partition the manifests list is whole: entirely old or entirely new
    # (one switch for the whole erasure: every partition old, or every one new)
    now = _partition_rows(out)
    assert now in (old_parts, new_parts), step
    if leftovers(str(out)):  # an unfinished erasure: verify says so until it is finished
        assert not verify_output(str(out))["checks"]["manifests"]["ok"]
    rerun = _subject_cli(base, "erase", out, "--request-id", REQUEST)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _partition_rows(out) == new_parts
    assert _rows(out) == _rows(erased_reference)
    assert not (out / "_audit" / "pending").exists()
    for part in new_parts:  # nothing left that no manifest lists
        assert verify_manifest(str(out / part)) == [], part
    res = verify_output(str(out))
    assert res["ok"], json.dumps(res["checks"], indent=1)
    assert _subject_cli(base, "find", out).returncode == 1
    # each file's erasure is audited exactly once
    files = [r for r in _audit(out) if r["action"] == "erase_rows" and not r["dry_run"]]
    assert sorted((r["path"], r["file"]) for r in files) == sorted(
        (r["path"], r["file"]) for r in _audit(erased_reference)
        if r["action"] == "erase_rows")
    assert sum(r["rows_removed"] for r in files) == len(SUBJECT_ROWS)
    _no_clear_value(killed.stdout, killed.stderr, rerun.stdout, *_reports_and_audit(out))


def test_a_crash_during_recovery_then_rerun(base, erased_reference, tmp_path):
    out = _copy(base, tmp_path)
    assert _killed_erase(base, out, "erase-switched").returncode == -signal.SIGKILL
    assert _killed_erase(base, out, "recovered").returncode == -signal.SIGKILL
    assert _subject_cli(base, "erase", out, "--request-id", REQUEST).returncode == 0
    assert _partition_rows(out) == _partition_rows(erased_reference)
    assert verify_output(str(out))["ok"]


def test_purge_and_recover_finish_an_interrupted_erasure(base, erased_reference, tmp_path):
    out = _copy(base, tmp_path)
    assert _killed_erase(base, out, "erase-audited").returncode == -signal.SIGKILL
    proc = telescrub("subject", "recover", str(out), key=None, check=False)
    assert proc.returncode == 0 and "finished the erasure rewrite" in proc.stdout
    out2 = _copy(base, tmp_path / "second")
    assert _killed_erase(base, out2, "erase-switched").returncode == -signal.SIGKILL
    purge = telescrub("purge", str(out2), "--as-of", "2026-11-01", key=None, check=False)
    assert purge.returncode == 0 and "recovered:" in purge.stdout
    assert not (out2 / "_audit" / "pending").exists()
    assert verify_output(str(out2))["checks"]["manifests"]["ok"]


def test_the_subject_api_never_shows_the_value(base):
    subject = Subject([email_identifier(SUBJECT)], [HashKey(OTHER_KEY.encode(), NEW_ID)])
    assert SUBJECT not in repr(subject) and SUBJECT not in repr(subject.identifiers)
    res = find(str(base / "out"), subject)
    _no_clear_value(json.dumps(res.to_json()))
