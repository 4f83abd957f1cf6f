"""``telescrub verify`` and ``telescrub purge`` on a streaming output, whose partitions are one
level deeper than batch's: ``<table>/event_date=D/event_window=HHMM/`` with the window's
``_manifest.json``. Verify passes on it (manifests, footers, rows, and the report against its
rolling report); purge deletes and rewrites window partitions with audit records, verify still
passes, and a purge interrupted between the switches of two windows (a rewrite, a deletion
emptying its date directory) is completed by the next run."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support import HOOKED, ROOT, SAMPLE, TEST_KEY, telescrub

from telescrub.app.purge import purge
from telescrub.app.verify import run_verify
from telescrub.store import layout
from telescrub.store import manifest as manifests

pytestmark = pytest.mark.slow

# skype_telemetry events are on 2026-11-22..26 (28-day partitions with shorter-lived columns),
# the roster's in 2019..2024: as of AS_OF the 2026-11-22 skype windows and every roster window
# have expired (deleted), the later skype windows only hold expired columns (rewritten)
AS_OF = dt.date(2026, 12, 21)
FAR = dt.date(2100, 1, 1)
SKYPE, ROSTER = "skype_telemetry", "teams_chat_roster"


def _windows(out: Path) -> dict[str, list[str]]:
    """``{table/event_date=D/event_window=W: [parquet names]}`` of every window partition."""
    return {str(d.relative_to(out)): sorted(p.name for p in d.glob("*.parquet"))
            for d in sorted(out.glob("*/event_date=*/event_window=*")) if d.is_dir()}


def _audit(out: Path) -> list[dict]:
    path = out / "_audit" / "purge.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(src, out)
    return out


def _verify_ok(out: Path) -> dict:
    result = run_verify(str(out))
    failed = {k: c["problems"][:5] for k, c in result["checks"].items() if not c["ok"]}
    assert result["ok"], failed
    assert result["partitions"] == len(_windows(out))  # every partition is a window
    return result


def _cli_purge(out: Path, as_of: dt.date, *hooks: str) -> subprocess.CompletedProcess:
    """``telescrub purge`` through tests/hooked.py with ``hooks`` (``--crash-at ...``)."""
    return subprocess.run([sys.executable, str(HOOKED), *hooks, "--", "purge", str(out),
                           "--as-of", as_of.isoformat()], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ), timeout=120)


def _empty_dirs(out: Path) -> list[Path]:
    return [d for d in out.glob("*/event_date=*") if d.is_dir() and not any(d.iterdir())]


@pytest.fixture(scope="module")
def streaming_out(tmp_path_factory) -> Path:
    """A small streaming output: two sample files in a landing directory, one micro-batch."""
    base = tmp_path_factory.mktemp("stream")
    landing, out = base / "landing", base / "out"
    landing.mkdir()
    for name in (f"{SKYPE}.jsonl", f"{ROSTER}.csv"):
        shutil.copy(SAMPLE / name, landing / name)
    telescrub("run", "--streaming", "--watch", str(landing), "--output", str(out),
              "--window", "60m", "--stop-after-idle", "3", "--default-year", "2026",
              key=TEST_KEY)
    assert (out / "_report" / "streaming.jsonl").exists()
    return out


@pytest.fixture(scope="module")
def reference(streaming_out, tmp_path_factory) -> tuple[Path, object]:
    """The streaming output purged as of AS_OF without interruption."""
    out = _copy(streaming_out, tmp_path_factory.mktemp("reference"))
    return out, purge(str(out), AS_OF)


def test_verify_passes_on_a_streaming_output(streaming_out, tmp_path):
    out = _copy(streaming_out, tmp_path)
    windows = _windows(out)
    assert any(k.startswith(f"{SKYPE}/") for k in windows)
    assert any(k.startswith(f"{ROSTER}/") for k in windows)
    assert not list(out.glob("*/event_date=*/*.parquet"))  # nothing at the batch level
    result = _verify_ok(out)
    assert result["files"] == sum(len(v) for v in windows.values())
    assert "rolling-report lines agree" in result["checks"]["accounting"]["summary"]
    assert result["tables"][SKYPE]["rows"] > 0 and result["tables"][ROSTER]["rows"] > 0
    # a window without its manifest is named; its files are not data (readers trust the
    # manifests), so the rows the report counts for it are missing on disk
    window = out / next(k for k in windows if k.startswith(f"{SKYPE}/"))
    (window / layout.MANIFEST_NAME).unlink()
    result = run_verify(str(out))
    assert not result["checks"]["manifests"]["ok"]
    rel = str(window.relative_to(out))
    assert any(p.startswith(rel) and "missing manifest" in p
               for p in result["checks"]["manifests"]["problems"])
    assert all(g.startswith(rel) for g in result["garbage"]) and result["garbage"]
    assert result["checks"]["accounting"]["ok"] and not result["checks"]["rows_on_disk"]["ok"]


def test_purge_enforces_retention_on_window_partitions(streaming_out, reference, tmp_path):
    out, result = reference
    before = _windows(streaming_out)
    assert result.ok, result.skipped
    assert result.deleted and result.rewritten
    after = _windows(out)
    for rec in result.deleted + result.rewritten:
        # the record names the window partition, below its date
        assert rec["path"].count("/") == 2 and "/event_window=" in rec["path"], rec["path"]
        assert rec["partition"] == rec["path"].split("/", 1)[1]
        assert rec["event_window"] == rec["path"].rsplit("=", 1)[1]
        assert rec["files_before"] and rec["rows"] > 0
    deleted = {r["path"] for r in result.deleted}
    assert any(p.startswith(f"{SKYPE}/event_date=2026-11-22/") for p in deleted)
    assert {p for p in before if p.startswith(f"{ROSTER}/")} <= deleted
    assert not deleted & set(after)
    assert not (out / ROSTER).exists()  # its last window went: date and table dirs too
    assert not _empty_dirs(out)
    for rec in result.rewritten:
        window = out / rec["path"]
        assert manifests.verify_manifest(str(window)) == []
        manifest = json.loads((window / layout.MANIFEST_NAME).read_text())
        dropped = {c["name"] for c in rec["columns_dropped"]}
        assert dropped and set(manifest["purged_columns"]) >= dropped
        assert manifest["event_window"] == rec["event_window"]
        assert manifest["expires_on"] > AS_OF.isoformat()
        for e in manifest["files"]:  # provenance kept, retention of the new file
            schema = pq.read_schema(window / e["path"])
            assert not dropped & set(schema.names)
            assert e["run_id"] and e["pane"] and e["batch"]
            assert e["expires_on"] == schema.metadata[b"telescrub.expires_on"].decode()
            assert e["retention_days"] == int(schema.metadata[b"telescrub.retention_days"])
        assert [e["path"] for e in rec["files_after"]] == after[rec["path"]]
    audited = [r for r in _audit(out) if r["action"] in ("delete_partition", "drop_columns")]
    assert sorted(r["path"] for r in audited) == sorted(
        r["path"] for r in result.deleted + result.rewritten)
    assert not (out / "_audit" / "pending").exists()
    _verify_ok(out)
    # a second run with the same date has nothing to do
    again = purge(str(out), AS_OF)
    assert not again.deleted and not again.rewritten and again.checked == len(after)
    # far in the future every window has expired: all deleted, and the output still verifies
    out = _copy(out, tmp_path)  # (the reference stays as it is for the tests below)
    final = purge(str(out), FAR)
    assert final.ok and len(final.deleted) == len(after) and not final.rewritten
    assert not list(out.rglob("*.parquet")) and not _windows(out)
    result = _verify_ok(out)
    assert result["partitions"] == 0


def test_interrupted_window_rewrite_is_completed(streaming_out, reference, tmp_path):
    """Killed after the first window's manifest was switched: that window is new, the others
    old, each whole; the next purge audits the switched one, re-plans the others and ends
    like an uninterrupted purge."""
    out = _copy(streaming_out, tmp_path)
    proc = _cli_purge(out, AS_OF, "--crash-at", "purge.switched-one")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    pending = list((out / "_audit" / "pending").glob("*.json"))
    assert len(pending) > 1  # one record per planned action, the first one switched
    assert [r for r in _audit(out) if r["action"] != "run"] == []  # audited after the switch
    result = purge(str(out), AS_OF)
    assert result.ok and result.recovered
    ref_out, ref = reference
    assert _windows(out) == _windows(ref_out)
    audited = [r["path"] for r in _audit(out) if r["action"] in ("delete_partition",
                                                                 "drop_columns")]
    assert sorted(audited) == sorted(r["path"] for r in ref.deleted + ref.rewritten)  # once
    assert not (out / "_audit" / "pending").exists()
    _verify_ok(out)


def test_interrupted_window_delete_removes_the_empty_date_dir(streaming_out, tmp_path):
    """Killed right after deleting the manifest of the only window of a date: its files are
    still there (listed by no manifest, so not data); the next purge audits the deletion once,
    removes them and the empty date directory."""
    out = _copy(streaming_out, tmp_path)
    first = sorted((out / ROSTER).glob("event_date=*"))[0]
    assert len(list(first.iterdir())) == 1
    # tables and partitions are purged in sorted order: this is the first roster deletion
    nth = sum(len(list((out / t).glob("event_date=*/event_window=*")))
              for t in ("_quarantine", SKYPE)) + 1
    proc = _cli_purge(out, FAR, "--crash-at", f"purge.switched-one@{nth}")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    window = next(first.iterdir())
    assert not (window / "_manifest.json").exists() and list(window.glob("*.parquet"))
    result = purge(str(out), FAR)
    assert result.ok and result.recovered
    assert not (out / ROSTER).exists() and not _empty_dirs(out)
    deletions = [r["path"] for r in _audit(out) if r["action"] == "delete_partition"]
    assert len(deletions) == len(set(deletions)) == len(_windows(streaming_out))
    _verify_ok(out)
