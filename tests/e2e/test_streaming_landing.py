"""End to end: ``telescrub run --streaming --watch`` on a landing directory, as a subprocess.

Files are dropped in over time (renamed into place, as a writer should); partitions appear
while the job runs; a malformed file and records too late for their window are quarantined,
never lost; the job stops by itself after being idle; every record is accounted for, nothing
sensitive survives, and a restart on the same landing directory processes nothing twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from support import ROOT, SAMPLE, TEST_KEY, leakcheck

from telescrub.pipelines import streaming as st
from telescrub.store.layout import ROLLING_REPORT, streaming_partitioning
from telescrub.store.manifest import verify_manifest

pytestmark = pytest.mark.slow

IDLE_S = 6


def _cmd(landing: Path, out: Path, idle: float) -> list[str]:
    return [sys.executable, "-m", "telescrub", "run", "--streaming", "--watch", str(landing),
            "--output", str(out), "--window", "1h", "--allowed-lateness", "10m",
            "--stop-after-idle", str(idle), "--default-year", "2026"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    return env


def _drop(landing: Path, name: str, data: bytes) -> None:
    """Write under a dot-name (ignored by the watcher), then rename into place."""
    tmp = landing / f".{name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, landing / name)


def _ledger(out: Path) -> list[dict]:
    path = out / "_streaming" / "ledger.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _wait(cond, proc: subprocess.Popen, what: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the streaming job exited ({proc.returncode}) before {what}")
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _outputs(out: Path) -> dict[str, int]:
    """Every Parquet file and manifest with its mtime: a restart must not touch any."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.suffix == ".parquet" or p.name == "_manifest.json"}


def _bad_file() -> bytes:
    """Two good support cases, one cut in half (invalid JSON full of identifiers), one line
    that is not JSON at all, and a blank line."""
    lines = (SAMPLE / "m365_support_cases.jsonl").read_bytes().splitlines()
    return b"\n".join([lines[0], lines[1][: len(lines[1]) // 2], lines[2],
                       b"not json: call jane.doe@contoso.com", b""]) + b"\n"


def _late_file() -> bytes:
    """For the skype table (same table name): 20 records from days before the table's
    watermark (too late) and one just after it (on time)."""
    lines = (SAMPLE / "skype_telemetry.jsonl").read_bytes().splitlines()[:20]
    fresh = {"eventType": "usage", "timestamp": "2026-11-26T21:50:00Z",
             "user": {"id": "f048f8e0aa00aa00aa00aa00aa00aa00"}, "mysteryCount": 3,
             "mysteryField": "call me on +1-206-555-0175"}
    return b"\n".join([*lines, json.dumps(fresh).encode()]) + b"\n"


def _feed(landing: Path, out: Path, proc: subprocess.Popen) -> None:
    _drop(landing, "skype_telemetry.jsonl", (SAMPLE / "skype_telemetry.jsonl").read_bytes())
    _wait(lambda: any((out / "skype_telemetry").glob("event_date=*/event_window=*/*.parquet")),
          proc, "the first partitions")
    assert proc.poll() is None  # partitions are there while the job still runs
    _wait(lambda: len(_ledger(out)) == 1, proc, "the first commit")
    gz = SAMPLE / "teams_chat_log.jsonl.gz"
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    _drop(landing, "teams_chat_log.jsonl.gz", gz.read_bytes())
    _drop(landing, "support_broken.jsonl", _bad_file())
    time.sleep(1.5)
    _drop(landing, "intune_billing.csv", (SAMPLE / "intune_billing.csv").read_bytes())
    _drop(landing, "web_access.log", (SAMPLE / "web_access.log").read_bytes())
    _wait(lambda: len(_ledger(out)) == 5, proc, "five files in the ledger")
    _drop(landing, "Skype-Telemetry.jsonl", _late_file())  # table skype_telemetry again
    _wait(lambda: len(_ledger(out)) == 6, proc, "the late file")


def test_landing_directory_streaming_end_to_end(tmp_path, shared):
    landing, out = tmp_path / "landing", tmp_path / "out"
    landing.mkdir()
    started = time.monotonic()
    with open(tmp_path / "stdout", "w") as log_out, open(tmp_path / "stderr", "w") as log_err:
        proc = subprocess.Popen(_cmd(landing, out, IDLE_S), cwd=ROOT, env=_env(), text=True,
                                stdout=log_out, stderr=log_err)
        try:
            _feed(landing, out, proc)
            proc.wait(timeout=IDLE_S + 30)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
    stdout = (tmp_path / "stdout").read_text()
    stderr = (tmp_path / "stderr").read_text()
    assert proc.returncode == 0, stderr[-4000:]
    assert f"idle for {IDLE_S:g}s" in stderr and "records read" in stdout
    first_run_s = time.monotonic() - started

    # -- every record accounted for: ledger, summary report, rolling report agree
    ledger = _ledger(out)
    assert sorted(Path(e["path"]).name for e in ledger) == sorted([
        "skype_telemetry.jsonl", "teams_chat_log.jsonl.gz", "support_broken.jsonl",
        "intune_billing.csv", "web_access.log", "Skype-Telemetry.jsonl"])
    assert all(e["status"] == "processed" and len(e["sha256"]) == 64 for e in ledger)
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"] is True
    t = report["totals"]
    assert t["read"] == t["written"] + t["quarantined"] + t["dropped_by_policy"]
    by_name = {Path(i["source"]).name: i for i in report["inputs"]}
    for e in ledger:
        info = by_name[Path(e["path"]).name]
        assert info["records"] == e["records"] and info["bad"] == e["bad"], e
        assert info["read"] == info["written"] + info["quarantined"] + info["dropped_by_policy"]
    assert by_name["support_broken.jsonl"]["quarantined"] == 2  # the cut and the non-JSON line
    assert by_name["support_broken.jsonl"]["written"] == 2
    late = by_name["Skype-Telemetry.jsonl"]
    assert (late["read"], late["written"], late["quarantined"]) == (21, 1, 20)
    reasons = {(q["table"], q["reason"]): q["records"] for q in report["quarantine"]}
    assert reasons[("skype_telemetry", st.TOO_LATE)] == 20
    assert reasons[("support_broken", "invalid_json")] == 2
    assert "mysteryField" in {d["path"] for d in report["drift"]}  # unknown: failed closed

    lines = [json.loads(x) for x in (out / ROLLING_REPORT).read_text().splitlines()]
    assert sum(x["read"] for x in lines) == t["read"]
    assert sum(x["written"] for x in lines) == t["written"]
    assert sum(x["quarantined"] for x in lines) == t["quarantined"]
    assert {x["batch"] for x in lines} and all(x["pane"]["timing"] == "ON_TIME" for x in lines)
    assert any("mysteryField" in x["drift_fields"] for x in lines)

    # -- Hive layout, manifests, files readable as one dataset
    windows = sorted(p for p in out.glob("*/event_date=*/event_window=*") if p.is_dir())
    assert windows and all(verify_manifest(str(w)) == [] for w in windows)
    skype = ds.dataset(out / "skype_telemetry", format="parquet",
                       partitioning=streaming_partitioning(), exclude_invalid_files=True)
    assert skype.count_rows() == by_name["skype_telemetry.jsonl"]["written"] + 1
    two = [w for w in windows if len(json.loads((w / "_manifest.json").read_text())["files"]) > 1]
    assert two  # the on-time late-file record joined a window written by the first batch
    assert not list((out / "_streaming" / "staging").glob("*"))
    assert not (out / "_streaming" / "inflight.json").exists()

    # -- zero leaks, in the data and in the reports
    res = leakcheck(SAMPLE / "truth.json", out, "--strict")
    assert res.returncode == 0, res.stdout[-3000:]

    # -- a restart on the same landing directory processes nothing twice
    before = _outputs(out)
    rolling = (out / ROLLING_REPORT).read_text()
    again = subprocess.run(_cmd(landing, out, 2), cwd=ROOT, env=_env(), text=True,
                           capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 micro-batch(es)" in again.stderr
    assert _ledger(out) == ledger
    assert _outputs(out) == before
    assert (out / ROLLING_REPORT).read_text() == rolling
    assert json.loads((out / "_report" / "report.json").read_text())["totals"] == t
    assert first_run_s < 120, first_run_s  # ~35 s on a quiet machine


def test_crash_after_write_before_commit_replays_without_duplicates(tmp_path, monkeypatch):
    """Exactly once across a crash: the output of a batch is on disk but the batch was not
    committed; the next start replays the same batch (same files, same arrival time and
    watermarks) — content-named files are overwritten, not duplicated."""
    from telescrub.app.settings import Settings
    from telescrub.app.streaming import LandingDriver, window_spec
    from telescrub.core.keys import HashKey, key_id_for
    from telescrub.core.policy import load_policy

    landing, out = tmp_path / "landing", tmp_path / "out"
    landing.mkdir()
    shutil.copy(SAMPLE / "intune_billing.csv", landing)
    shutil.copy(SAMPLE / "teams_chat_log.jsonl.gz", landing)
    cfg = Settings(output=str(out), watch=[str(landing)], window="1h",
                   stop_after_idle=1.0, poll_interval=0.2, settle_seconds=0.0)
    key = HashKey(TEST_KEY.encode(), key_id_for(TEST_KEY.encode()))
    policy = load_policy()

    def crash(self, batch, state):
        raise KeyboardInterrupt("simulated crash after the pipeline, before the commit")

    monkeypatch.setattr(LandingDriver, "_commit", crash)
    with pytest.raises(KeyboardInterrupt):
        LandingDriver(cfg, policy, key, {}, window_spec(cfg)).run()
    written = _outputs(out)
    assert written and (out / "_streaming" / "inflight.json").exists()
    assert not _ledger(out)
    monkeypatch.undo()

    report = LandingDriver(cfg, policy, key, {}, window_spec(cfg)).run()
    assert len(_ledger(out)) == 2 and not (out / "_streaming" / "inflight.json").exists()
    assert set(_outputs(out)) == set(written)  # same file names: replaced, not added
    assert report["accounting_ok"] and report["totals"]["read"] == 45 + 1 + 150
    for table in ("intune_billing", "teams_chat_log"):
        rows = ds.dataset(out / table, format="parquet",
                          partitioning=streaming_partitioning()).count_rows()
        assert rows == report["tables"][table]["rows_written"]
    lines = [json.loads(x) for x in (out / ROLLING_REPORT).read_text().splitlines()]
    assert sum(x["read"] for x in lines) == report["totals"]["read"]  # no line twice
