"""``telescrub purge``: deletion by date, column-level expiry, dry run, the audit trail,
idempotence, and crash safety (a purge killed after every step leaves each partition old or
new for a reader that trusts the manifests, and a rerun completes it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from support import HOOKED, ROOT, telescrub

from telescrub.app.purge import CRASH_STEPS, purge
from telescrub.app.purge import main as purge_main
from telescrub.store import fs, layout, manifest
from telescrub.store.manifest import check_file, load_catalog

pytestmark = pytest.mark.slow
TABLE = "teams_chat_roster"
# Synthetic roster (no real person): e-mail is kept in clear by the test policy, so it is
# EUII with 1 day of retention in partitions whose other columns keep 28 days.
ROSTER = """userId,firstName,lastName,displayName,email,department,joinedAt
1d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a01,Testa,Alpha,Testa Alpha,testa.alpha@example.com,Research,2026-10-01
2d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a02,Testb,Bravo,Testb Bravo,testb.bravo@example.com,Research,2026-10-01
3d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a03,Testc,Charlie,Testc Charlie,testc.charlie@example.com,Sales,2026-11-01
4d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a04,Testd,Delta,Testd Delta,testd.delta@example.com,Sales,2026-11-01
5d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a05,Teste,Echo,Teste Echo,teste.echo@example.com,Legal,2026-11-20
6d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a06,Testf,Foxtrot,Testf Foxtrot,testf.foxtrot@example.com,Legal,2026-11-20
7d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a07,Testg,Golf,Testg Golf,testg.golf@example.com,IT,2026-11-22
8d9f2a44-0c1e-4a43-9a57-1f0f5b7e2a08,Testh,Hotel,Testh Hotel,testh.hotel@example.com,IT,2026-11-25
"""
AS_OF = "2026-11-25"
# as of AS_OF: 2026-10-01 is past 28 days (delete); 2026-11-01/-20/-22 have only the 1-day
# e-mail column expired (rewrite without it); 2026-11-25 has nothing expired yet.
DELETED = {"event_date=2026-10-01"}
REWRITTEN = {"event_date=2026-11-01", "event_date=2026-11-20", "event_date=2026-11-22"}
UNTOUCHED = {"event_date=2026-11-25"}


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def roster_out(tmp_path_factory) -> Path:
    """A run over the synthetic roster with a policy that keeps e-mail in clear (1 day)."""
    base = tmp_path_factory.mktemp("roster")
    policy = (ROOT / "schemas" / "policy.yaml").read_text()
    assert "fields: []" in policy
    (base / "policy.yaml").write_text(policy.replace(
        "fields: []", 'fields:\n  - {match: "teams_chat_roster.email", action: keep}'))
    shutil.copy(ROOT / "schemas" / "rules.yaml", base / "rules.yaml")
    src = base / "in" / f"{TABLE}.csv"
    src.parent.mkdir()
    src.write_text(ROSTER)
    out = base / "out"
    telescrub("run", str(src), "--output", str(out), "--policy", str(base / "policy.yaml"))
    return out


@pytest.fixture(scope="module")
def reference(roster_out, tmp_path_factory) -> Path:
    """The roster output after one uninterrupted purge as of AS_OF."""
    out = tmp_path_factory.mktemp("reference") / "out"
    shutil.copytree(roster_out, out)
    purge(str(out), dt.date.fromisoformat(AS_OF))
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(src, out)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(out: Path) -> dict[str, str]:
    """Every file under out (audit, report and lock excluded) -> sha256."""
    return {str(p.relative_to(out)): _sha(p) for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] not in ("_audit", "_report")
            and p.name != ".telescrub.lock"}


def _audit(out: Path) -> list[dict]:
    path = out / "_audit" / "purge.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _partitions(out: Path, table: str = TABLE) -> set[str]:
    tdir = out / table
    return {p.name for p in tdir.iterdir() if p.name.startswith("event_date=")} \
        if tdir.exists() else set()


def _cli_purge(out: Path, *args: str, hooks: tuple[str, ...] = (),
               ) -> subprocess.CompletedProcess[str]:
    """``telescrub purge OUT ARGS``; with ``hooks``, through tests/hooked.py (e.g.
    ``("--crash-at", "purge.intent")``)."""
    cmd = ([sys.executable, str(HOOKED), *hooks, "--", "purge"] if hooks
           else [sys.executable, "-m", "telescrub.app.purge"])
    return subprocess.run([*cmd, str(out), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=dict(os.environ))


def _columns(pdir: Path) -> list[str]:
    files = sorted(p for p in pdir.glob("*.parquet"))
    return pq.read_schema(files[0]).names


def _rows_by_line(pdir: Path) -> dict[int, dict]:
    t = ds.dataset(pdir, format="parquet").to_table()
    return {r["_source_line"]: r for r in t.to_pylist()}


# ------------------------------------------------------------------------------ behaviour


def test_deletes_partitions_whose_columns_have_all_expired(roster_out, tmp_path, capsys):
    out = _copy(roster_out, tmp_path)
    manifests = {p: json.loads((out / TABLE / p / "_manifest.json").read_text())
                 for p in _partitions(out)}
    # 2026-11-22 + 28 days = 2026-12-20: "on or before" the date counts
    as_of = "2026-12-20"
    assert purge_main([str(out), "--as-of", as_of]) == 0
    stdout = capsys.readouterr().out
    records = {r["path"]: r for r in _audit(out) if r["action"] == "delete_partition"}
    deleted = {"event_date=2026-10-01", "event_date=2026-11-01", "event_date=2026-11-20",
               "event_date=2026-11-22"}
    assert _partitions(out) == {"event_date=2026-11-25"}
    assert {p.split("/")[1] for p in records} == deleted
    for part in deleted:
        m, rec = manifests[part], records[f"{TABLE}/{part}"]
        assert rec["rows"] == m["rows"] and not rec["dry_run"] and rec["as_of"] == as_of
        assert m["expires_on"] in rec["why"] and rec["expires_on_before"] == m["expires_on"]
        assert [f["sha256"] for f in rec["files_before"]] == [f["sha256"] for f in m["files"]]
        assert rec["manifest_sha256_before"] and rec["files_after"] == []
        assert rec["run_id"] == m["run_id"] and rec["key_id"] == m["key_id"]
        assert rec["at"].endswith("Z") and rec["action_id"]
        assert f"deleted {TABLE}/{part} " in stdout
    # the last partition only lost its expired e-mail column
    assert "email" not in _columns(out / TABLE / "event_date=2026-11-25")
    assert not (out / "_audit" / "pending").exists()
    # what is left still reads as a dataset, and the report page shows the purge
    assert ds.dataset(out / TABLE, format="parquet",
                      partitioning=layout.hive_partitioning()).count_rows() == 1
    html = (out / "_report" / "index.html").read_text()
    assert "id='purge-audit'" in html and "delete_partition" in html
    run = _audit(out)[-1]
    assert run["action"] == "run" and run["deleted"] == 4 and run["rewritten"] == 1


def test_column_level_expiry_rewrites_without_the_column(roster_out, tmp_path):
    out = _copy(roster_out, tmp_path)
    old = {p: json.loads((out / TABLE / p / "_manifest.json").read_text())
           for p in _partitions(out)}
    old_rows = {p: _rows_by_line(out / TABLE / p) for p in old}
    assert all(m["retention_days"] == 1 and m["retention_category"] == "euii"
               for m in old.values())
    result = purge(str(out), dt.date.fromisoformat(AS_OF))
    assert result.ok
    assert _partitions(out) == REWRITTEN | UNTOUCHED
    recs = {r["path"].split("/")[1]: r for r in _audit(out) if r["action"] == "drop_columns"}
    assert set(recs) == REWRITTEN
    for part in REWRITTEN:
        pdir = out / TABLE / part
        assert manifest.verify_manifest(str(pdir)) == []
        assert "email" not in _columns(pdir) and "userId" in _columns(pdir)
        new_rows = _rows_by_line(pdir)
        assert set(new_rows) == set(old_rows[part])
        for line, row in new_rows.items():  # every other value unchanged
            assert row == {k: v for k, v in old_rows[part][line].items() if k != "email"}
        m = json.loads((pdir / "_manifest.json").read_text())
        event = dt.date.fromisoformat(part.split("=")[1])
        # the partition now lives as long as its shortest remaining column (28 days)
        assert m["retention_days"] == 28 and m["retention_category"] == "eupi"
        assert m["expires_on"] == (event + dt.timedelta(days=28)).isoformat()
        assert m["purged_columns"] == ["email"] and m["rows"] == old[part]["rows"]
        for f in pdir.glob("*.parquet"):
            meta = pq.read_schema(f).metadata
            assert meta[b"telescrub.expires_on"].decode() == m["expires_on"]
            assert meta[b"telescrub.retention_days"] == b"28"
            assert json.loads(meta[b"telescrub.purged_columns"]) == ["email"]
            assert meta[b"telescrub.key_id"] and meta[b"telescrub.policy_hash"]
        rec = recs[part]
        assert rec["columns_dropped"][0]["name"] == "email"
        assert rec["columns_dropped"][0]["retention_days"] == 1
        assert rec["columns_dropped"][0]["expired_on"] == (event + dt.timedelta(days=1)) \
            .isoformat()
        assert [f["sha256"] for f in rec["files_before"]] == \
            [f["sha256"] for f in old[part]["files"]]
        assert rec["files_after"] == m["files"]
        assert rec["manifest_sha256_after"] == _sha(pdir / "_manifest.json")
        assert rec["expires_on_before"] == old[part]["expires_on"]
        assert rec["expires_on_after"] == m["expires_on"]
    untouched = out / TABLE / "event_date=2026-11-25"
    assert "email" in _columns(untouched) and manifest.verify_manifest(str(untouched)) == []
    # the table still reads as one dataset with a unified schema (missing column -> NULL)
    files = sorted((out / TABLE).rglob("*.parquet"))
    schema = pa.unify_schemas([pq.read_schema(f) for f in files])
    t = ds.dataset(out / TABLE, format="parquet", partitioning=layout.hive_partitioning(),
                   schema=schema.append(pa.field("event_date", pa.date32()))).to_table()
    assert t.num_rows == sum(m["rows"] for p, m in old.items() if p not in DELETED)


def test_dry_run_changes_nothing_but_reports(roster_out, tmp_path, capsys):
    out = _copy(roster_out, tmp_path)
    before = _snapshot(out)
    html_before = (out / "_report" / "index.html").read_text()
    assert purge_main([str(out), "--as-of", AS_OF, "--dry-run"]) == 0
    stdout = capsys.readouterr().out
    assert _snapshot(out) == before
    assert (out / "_report" / "index.html").read_text() == html_before
    assert "would delete 1 partition" in stdout and "would drop email" in stdout
    recs = _audit(out)
    assert recs and all(r["dry_run"] for r in recs)
    planned = {r["path"].split("/")[1]: r["action"] for r in recs if r["action"] != "run"}
    assert planned == {**{p: "delete_partition" for p in DELETED},
                       **{p: "drop_columns" for p in REWRITTEN}}


def test_idempotent_second_run_does_nothing_new(roster_out, tmp_path, capsys):
    out = _copy(roster_out, tmp_path)
    assert purge_main([str(out), "--as-of", AS_OF]) == 0
    state = _snapshot(out)
    actions = [r for r in _audit(out) if r["action"] != "run"]
    capsys.readouterr()
    assert purge_main([str(out), "--as-of", AS_OF]) == 0
    assert "nothing to purge" in capsys.readouterr().out
    assert _snapshot(out) == state
    assert [r for r in _audit(out) if r["action"] != "run"] == actions
    runs = [r for r in _audit(out) if r["action"] == "run"]
    assert len(runs) == 2 and runs[-1]["why"] == "no-op"


def test_default_as_of_is_today_and_bad_date_is_one_line(roster_out, tmp_path):
    out = _copy(roster_out, tmp_path)
    proc = _cli_purge(out, "--as-of", "2026-13-01")
    assert proc.returncode == 2 and proc.stderr.startswith("telescrub: error: --as-of")
    proc = _cli_purge(out)
    assert proc.returncode == 0, proc.stderr
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert f"as of {today}" in proc.stdout


# ---------------------------------------------------------------------------- crash safety


def _listed(out: Path, part: str) -> tuple[list[str], dict[int, dict]] | None:
    """What a reader that trusts the manifests sees of a partition: its files (each present,
    whole and as listed) and its rows by line; None when no manifest lists it."""
    rel = f"{TABLE}/{part}"
    m = load_catalog(str(out)).partitions.get(rel)
    if m is None:
        return None
    rows: dict[int, dict] = {}
    names = []
    for e in m["files"]:
        path = out / TABLE / part / e["path"]
        data = path.read_bytes() if path.exists() else None
        assert check_file(e["path"], e, data) == [], (part, e["path"])
        names.append(e["path"])
        for r in pq.read_table(path).to_pylist():
            rows[r["_source_line"]] = r
    return sorted(names), rows


def _state(out: Path, roster_out: Path, reference: Path) -> dict[str, str]:
    """Each partition: 'old' (as written), 'new' (as after a full purge) or 'absent', as the
    manifests show it."""
    states = {}
    for part in DELETED | REWRITTEN | UNTOUCHED:
        seen = _listed(out, part)
        if seen is None:
            states[part] = "absent"
        elif seen == _listed(roster_out, part):
            states[part] = "old"
        elif seen == _listed(reference, part):
            states[part] = "new"
        else:
            raise AssertionError(f"{part} is neither old nor new: {seen[0]}")
    return states


CRASHES = ["rewrite-file", "rewrite-file@3", "intent", "intent@3", "switched", "audited",
           "removed", "done"]


def test_every_purge_step_has_a_crash_test():
    # (switched-one: a streaming window's own switch, tests/e2e/test_streaming_retention.py)
    assert {s.partition("@")[0] for s in CRASHES} | {"recovered", "switched-one"} \
        == set(CRASH_STEPS)


@pytest.mark.parametrize("step", CRASHES)
def test_interrupted_purge_leaves_old_or_new_and_rerun_completes(
        step, roster_out, reference, tmp_path):
    out = _copy(roster_out, tmp_path)
    proc = _cli_purge(out, "--as-of", AS_OF, hooks=("--crash-at", f"purge.{step}"))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)  # os._exit(1) at the step
    assert "purge " not in proc.stdout  # it died there: the summary was never printed
    states = _state(out, roster_out, reference)
    # one switch for the whole purge: every partition old, or every one new
    switched = step in ("switched", "audited", "removed", "done")
    for part in DELETED:
        assert states[part] == ("absent" if switched else "old"), (part, states)
    for part in REWRITTEN:
        assert states[part] == ("new" if switched else "old"), (part, states)
    assert states["event_date=2026-11-25"] == "old"
    deleted_rows = [r for r in _audit(out) if r["action"] == "delete_partition"]
    if not switched or step == "switched":  # nothing deleted is in the audit log yet ...
        assert deleted_rows == []
        # ... and nothing listed before the switch was removed: the old files are all there
        for part in DELETED | REWRITTEN:
            for e in load_catalog(str(roster_out)).partitions[f"{TABLE}/{part}"]["files"]:
                assert (out / TABLE / part / e["path"]).exists(), (part, e["path"])
    # a rerun recovers and completes; afterwards the output equals an uninterrupted purge
    result = purge(str(out), dt.date.fromisoformat(AS_OF))
    assert result.ok
    final = _state(out, roster_out, reference)
    assert {p for p, s in final.items() if s == "absent"} == DELETED
    assert {p for p, s in final.items() if s == "new"} == REWRITTEN
    assert not (out / "_audit" / "pending").exists()
    assert sorted(_partitions(out)) == sorted(REWRITTEN | UNTOUCHED)  # no garbage left
    for part in REWRITTEN | UNTOUCHED:
        assert manifest.verify_manifest(str(out / TABLE / part)) == []
    # every action is in the audit trail exactly once
    done = [r["path"].split("/")[1] for r in _audit(out)
            if r["action"] in ("delete_partition", "drop_columns")]
    assert sorted(done) == sorted(DELETED | REWRITTEN), done
    # and a further run has nothing to do
    again = purge(str(out), dt.date.fromisoformat(AS_OF))
    assert not again.deleted and not again.rewritten and not again.recovered


def test_crash_during_recovery_then_rerun(roster_out, reference, tmp_path):
    out = _copy(roster_out, tmp_path)
    assert _cli_purge(out, "--as-of", AS_OF,
                      hooks=("--crash-at", "purge.switched")).returncode == 1
    proc = _cli_purge(out, "--as-of", AS_OF, hooks=("--crash-at", "purge.recovered"))
    assert proc.returncode == 1 and "purge " not in proc.stdout
    _state(out, roster_out, reference)
    proc = _cli_purge(out, "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stderr
    final = _state(out, roster_out, reference)
    assert {p for p, s in final.items() if s == "new"} == REWRITTEN
    recovers = [r for r in _audit(out) if r["action"] == "recover"]
    assert recovers and all(r["why"] for r in recovers)
    assert fs.list_tree(str(out / "_audit" / "pending")) == []
