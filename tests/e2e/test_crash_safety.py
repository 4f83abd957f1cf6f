"""End to end: crash-safe, idempotent writes.

* A run killed with SIGKILL at 2, 4, 6 and 8 seconds (start-up, reading, writing, commit)
  leaves the output readable through its manifests: every table is read by
  ``telescrub.read_table`` without error, every file a manifest lists is there whole (rows,
  sha256), and the rows are those of a complete run (the previous one: nothing partial is
  visible). Re-running then completes normally, to the same dataset with no duplicates, and
  removes whatever the killed runs left that no manifest lists.
* Two runs into the same output at once: the second fails at once with a clear message.
* ``--mode``: overwrite (the default) replaces a previous telescrub output and only that;
  append adds (appending the same input again adds nothing); error-if-exists refuses.
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

import pytest
from conftest import ROOT, SAMPLE_INPUTS, TEST_KEY, telescrub

from telescrub.app.batch import run_batch
from telescrub.app.settings import Settings
from telescrub.core.errors import OutputError
from telescrub.store import fs
from telescrub.store.manifest import check_file, load_catalog
from telescrub.store.read import read_table, tables

pytestmark = pytest.mark.slow
RUN_ARGS = ("run", *SAMPLE_INPUTS, "--default-year", "2026")


def dataset_rows(out: Path | str) -> dict[str, list[tuple]]:
    """Sorted row tuples per table (every column, the partition column included), read the
    way users are told to: through the manifests. Checks that every listed file is there as
    listed and that no row is duplicated."""
    out = str(out)
    cat = load_catalog(out)
    for rel, m in cat.partitions.items():
        for e in m["files"]:
            try:
                data: bytes | None = fs.read_bytes(fs.join(out, rel, e["path"]))
            except FileNotFoundError:
                data = None
            assert check_file(e["path"], e, data) == [], (rel, e["path"])
    res: dict[str, list[tuple]] = {}
    for name in tables(out):
        table = read_table(out, name)
        cols = sorted(table.column_names)
        rows = sorted(tuple(repr(r[c]) for c in cols) for r in table.to_pylist())
        keys = [(r["_source_file"], r["_source_line"]) for r in table.to_pylist()]
        assert len(keys) == len(set(keys)), f"duplicate rows in {name}"
        res[name] = rows
    return res


def _start(out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    return subprocess.Popen([sys.executable, "-m", "telescrub", *RUN_ARGS, "--output",
                             str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and any worker it started
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def reference(sample_run):
    out, _ = sample_run
    return out, dataset_rows(out)


def test_killed_runs_leave_a_readable_output_and_a_rerun_completes(reference, tmp_path):
    ref_out, ref_rows = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out, ignore=shutil.ignore_patterns(".telescrub.lock"))
    outcomes = []
    lock = out / ".telescrub.lock"
    for delay in (2, 4, 6, 8):
        proc = _start(out)
        if delay == 4:
            # while this run holds the lock (the lock object names its pid), freeze it and
            # start a second run into the same directory: refused at once, clearly
            deadline = time.monotonic() + 60
            while not _held_by(lock, proc.pid):
                assert proc.poll() is None and time.monotonic() < deadline, "run never started"
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGSTOP)
            second = telescrub(*RUN_ARGS, "--output", str(out), check=False)
            assert second.returncode == 2, second.stderr[-2000:]
            assert "is in use by another telescrub run" in second.stderr
            os.killpg(proc.pid, signal.SIGCONT)
        else:
            time.sleep(delay)
        finished = proc.poll() is not None
        _kill(proc)
        outcomes.append((delay, "finished" if finished else "killed"))
        assert dataset_rows(out) == ref_rows, outcomes  # old or new: both whole, both equal
        json.loads((out / "_report" / "report.json").read_text())
    assert any(o == "killed" for _, o in outcomes), outcomes

    proc = telescrub(*RUN_ARGS, "--output", str(out))
    assert dataset_rows(out) == ref_rows
    assert sorted(e for e in os.listdir(out) if e.startswith(".")) == []  # lock released
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"] and report["run"]["output"] == str(out)
    # nothing the killed runs left is still there: every Parquet file is listed
    cat = load_catalog(str(out))
    listed = {Path(p) for rel in cat.partitions for p in cat.files(rel)}
    assert set(out.rglob("*.parquet")) == listed
    assert sorted(p.name for p in (out / "_runs").iterdir()) == sorted([
        "applied.json", report["run"]["run_id"]])


def _held_by(lock: Path, pid: int) -> bool:
    try:
        return json.loads(lock.read_text())["owner"]["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


def _tiny(path: Path, rows: int, day: str, seq0: int = 0) -> Path:
    path.write_text("".join(json.dumps({"timestamp": f"{day}T10:{i % 60:02d}:00Z",
                                        "level": "info", "seq": seq0 + i, "status": 200})
                            + "\n" for i in range(rows)))
    return path


def test_modes_overwrite_append_error_if_exists(tmp_path, monkeypatch):
    # modes are the launcher's business, the same on every runner: run in-process
    monkeypatch.setenv("TELESCRUB_HASH_KEY", TEST_KEY)
    a = _tiny(tmp_path / "events.jsonl", 6, "2026-11-20")
    b_dir = tmp_path / "later"
    b_dir.mkdir()
    b = _tiny(b_dir / "events.jsonl", 4, "2026-11-21", seq0=100)
    out = tmp_path / "out"

    def run(src: Path, mode: str = "overwrite", dest: Path = out) -> dict:
        return run_batch(Settings(inputs=[str(src)], output=str(dest), mode=mode,
                                   beam_args=["--runner=FnApiRunner"]))

    assert Settings(inputs=[], output="x").resolved_mode("overwrite") == "overwrite"  # default
    run(a)
    first = dataset_rows(out)
    assert {t: len(r) for t, r in first.items()} == {"events": 6}
    run(a)
    assert dataset_rows(out) == first  # idempotent: same dataset, no duplicates

    run(b, "append")
    both = dataset_rows(out)
    assert len(both["events"]) == 10
    report = run(b, "append")
    assert dataset_rows(out) == both  # appending the same input again adds nothing
    assert report["run"]["mode"] == "append"

    with pytest.raises(OutputError, match=r"is not empty \(--mode error-if-exists\)"):
        run(a, "error-if-exists")
    assert dataset_rows(out) == both

    run(a)  # overwrite replaces what was appended
    assert dataset_rows(out) == first

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not telescrub's")
    with pytest.raises(OutputError, match="does not look like a telescrub output"):
        run(a, dest=mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert sorted(e for e in os.listdir(out) if e.startswith(".")) == []
