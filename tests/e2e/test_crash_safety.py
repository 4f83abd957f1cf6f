"""End to end: crash-safe, idempotent writes, through the CLI.

* **Kills at known points.** An output holds a previous run (tables ``alpha`` and ``beta``);
  a new run into it writes different ``alpha`` rows, a new table ``gamma`` and drops ``beta``
  (overwrite), so a half-done commit is visible. The new run, started through
  ``tests/hooked.py --stop-at POINT``, writes a signal file and stops itself exactly at a
  named point of the commit protocol (``telescrub.core.hooks``): staging created, a manifest
  written mid-pipeline, the commit marker written (the commit point), after the first,
  second and third entry moved into place, the marker removed. The test then kills its
  process group with SIGKILL. Afterwards every table reads through the manifests
  (``telescrub.read_table``), every listed file is there as listed, and the whole output is
  its old or its new version, as the protocol says for that point (the commit point is one
  write of ``_manifest.json``: ``commit.marker``). The next run into the directory (here one
  with ``--mode error-if-exists``: it recovers under the lock, then refuses the non-empty
  directory) completes the copies of the commit or removes the killed run's files: the
  result is exactly the old output or exactly the new one, and no Parquet file is left that
  no manifest lists.
* A second run while the first holds the lock is refused at once, clearly (exit 2).
* ``--mode`` through the CLI: overwrite replaces a previous telescrub output and only that,
  append adds (appending the same input again adds nothing), error-if-exists refuses.
* ``--split-bytes``: a multi-megabyte JSONL file read in small byte ranges gives the rows and
  hash tokens of the unsplit run, and the report adds the ranges up to the whole file.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import HOOKED, ROOT, TEST_KEY, telescrub

from telescrub.store import fs
from telescrub.store.manifest import check_file, load_catalog
from telescrub.store.read import read_table, tables

pytestmark = pytest.mark.slow


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


def _events(path: Path, rows: int, day: str, seq0: int = 0, who: str = "user") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({
        "timestamp": f"{day}T10:{i % 60:02d}:00Z", "level": "info", "seq": seq0 + i,
        "status": 200, "user": f"{who}{seq0 + i}@contoso.com"}) + "\n" for i in range(rows)))
    return path


def _run_id(out: Path) -> str:
    return json.loads((out / "_report" / "report.json").read_text())["run"]["run_id"]


def _hidden(out: Path) -> list[str]:
    return sorted(e for e in os.listdir(out) if e.startswith("."))


# ------------------------------------------------------------------------- kills at points


@pytest.fixture(scope="module")
def generations(tmp_path_factory) -> dict:
    """Inputs of the previous run (old/) and of the run that is killed (new/), and each
    one's complete output."""
    root = tmp_path_factory.mktemp("generations")
    old = [_events(root / "old" / "alpha.jsonl", 6, "2026-11-20"),
           _events(root / "old" / "beta.jsonl", 4, "2026-11-20", 100)]
    new = [_events(root / "new" / "alpha.jsonl", 8, "2026-11-21", 50, who="other"),
           _events(root / "new" / "gamma.jsonl", 3, "2026-11-22", 200)]
    refs = {}
    for name, inputs in (("old", old), ("new", new)):
        out = root / f"ref-{name}"
        telescrub("run", *map(str, inputs), "--output", str(out))
        refs[name] = (out, dataset_rows(out))
    assert set(refs["old"][1]) == {"alpha", "beta"} and set(refs["new"][1]) == {"alpha", "gamma"}
    assert refs["old"][1]["alpha"] != refs["new"][1]["alpha"]
    return {"old": old, "new": new, "refs": refs}


def _start_stopped_at(point: str, inputs: list[Path], out: Path,
                      signal_file: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    return subprocess.Popen(
        [sys.executable, str(HOOKED), "--block-network", "--stop-at", point, "--signal",
         str(signal_file), "--", "run", *map(str, inputs), "--output", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def _wait_for(signal_file: Path, proc: subprocess.Popen[bytes], point: str) -> None:
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        assert proc.poll() is None, f"the run ended (status {proc.returncode}) before {point}"
        assert time.monotonic() < deadline, f"the run never reached {point}"
        time.sleep(0.02)
    assert signal_file.read_text() == point.partition("@")[0]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the run and any worker it started
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


#: point -> what each visible table is right after the kill (then after recovery: "after")
KILLS = {
    "commit.staging": ({"alpha": "old", "beta": "old"}, "old"),
    "manifest.written": ({"alpha": "old", "beta": "old"}, "old"),
    # after the commit point every table is new, through the manifests, while the copies
    # (a partition's _manifest.json) are written one by one
    "commit.marker": ({"alpha": "new", "gamma": "new"}, "new"),
    "commit.install@1": ({"alpha": "new", "gamma": "new"}, "new"),
    "commit.install@2": ({"alpha": "new", "gamma": "new"}, "new"),
    "commit.done": ({"alpha": "new", "gamma": "new"}, "new"),
}


@pytest.mark.parametrize("point", list(KILLS))
def test_a_run_killed_at_each_commit_step_leaves_whole_tables_and_the_next_run_finishes(
        point, generations, tmp_path):
    (old_out, old_rows), (_, new_rows) = generations["refs"]["old"], generations["refs"]["new"]
    out = tmp_path / "out"
    shutil.copytree(old_out, out, ignore=shutil.ignore_patterns(".telescrub.lock"))
    signal_file = tmp_path / "reached"
    proc = _start_stopped_at(point, generations["new"], out, signal_file)
    try:
        _wait_for(signal_file, proc, point)
        old_run = _run_id(old_out)
        runs = out / "_runs"
        [killed_run] = [e for e in (os.listdir(runs) if runs.exists() else [])
                        if e not in (old_run, "applied.json")] or [None]
        if point == "commit.staging":
            # while this run holds the lock, a second run into the same output is refused
            second = telescrub("run", *map(str, generations["old"]), "--output", str(out),
                               check=False)
            assert second.returncode == 2, second.stderr[-2000:]
            assert "is in use by another telescrub run (lock held)" in second.stderr
    finally:
        _kill(proc)

    visible, after = KILLS[point]
    rows = dataset_rows(out)  # every table reads, every partition verifies, no duplicate
    assert set(rows) == set(visible), (point, sorted(rows))
    for table, version in visible.items():
        want = old_rows if version == "old" else new_rows
        assert rows[table] == want[table], (point, table, version)
    json.loads((out / "_report" / "report.json").read_text())  # whole, old or new

    # the next run into the directory recovers under the lock (then refuses: not empty)
    nxt = telescrub("run", *map(str, generations["old"]), "--output", str(out),
                    "--mode", "error-if-exists", check=False)
    assert nxt.returncode == 2 and "is not empty" in nxt.stderr, nxt.stderr[-2000:]
    if after == "new" and point != "commit.done":
        assert "completed publishing version" in nxt.stderr, nxt.stderr[-2000:]
    assert dataset_rows(out) == (old_rows if after == "old" else new_rows), point
    report_run = _run_id(out)
    assert (report_run == killed_run) == (after == "new"), (point, report_run, killed_run)
    assert _hidden(out) == [], point  # the lock object was released
    cat = load_catalog(str(out))
    listed = {Path(p) for rel in cat.partitions for p in cat.files(rel)}
    assert set(out.rglob("*.parquet")) == listed, point  # the killed run's files are gone


def test_every_commit_hook_point_is_killed_somewhere():
    from telescrub.core.hooks import POINTS

    killed = {p.partition("@")[0] for p in KILLS}
    assert killed == {p for p in POINTS if p.startswith(("commit.", "manifest."))}


def test_a_rerun_of_the_same_input_gives_the_same_dataset(generations, tmp_path):
    out = tmp_path / "out"
    new_out, new_rows = generations["refs"]["new"]
    shutil.copytree(new_out, out, ignore=shutil.ignore_patterns(".telescrub.lock"))
    telescrub("run", *map(str, generations["new"]), "--output", str(out))
    assert dataset_rows(out) == new_rows  # idempotent: no duplicates, no leftovers
    assert _hidden(out) == []
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"] and report["run"]["output"] == str(out)
    for f in (out / "_report").iterdir():  # the report names the final place, not staging
        assert ".staging-" not in f.read_text(errors="replace"), f


# ---------------------------------------------------------------------------------- modes


def test_modes_overwrite_append_error_if_exists_through_the_cli(tmp_path):
    a = _events(tmp_path / "events.jsonl", 6, "2026-11-20")
    # the same day: appending merges into a partition an earlier run wrote (each file keeps
    # its own run in the merged manifest, and the post-write verification passes)
    b = _events(tmp_path / "later" / "events.jsonl", 4, "2026-11-20", seq0=100)
    out = tmp_path / "out"

    def run(src: Path, *mode: str, dest: Path = out, check: bool = True):
        return telescrub("run", str(src), "--output", str(dest), *mode, check=check)

    run(a)
    first = dataset_rows(out)
    assert {t: len(r) for t, r in first.items()} == {"events": 6}
    run(a)
    assert dataset_rows(out) == first  # idempotent: same dataset, no duplicates

    appended = run(b, "--mode", "append")
    assert "verification: PASSED" in appended.stdout, appended.stdout
    both = dataset_rows(out)
    assert len(both["events"]) == 10
    assert set(both["events"]) > set(first["events"])
    run(b, "--mode", "append")
    assert dataset_rows(out) == both  # appending the same input again adds nothing
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["run"]["mode"] == "append"

    refused = run(a, "--mode", "error-if-exists", check=False)
    assert refused.returncode == 2
    assert "is not empty (--mode error-if-exists)" in refused.stderr
    assert dataset_rows(out) == both

    run(a, "--mode", "overwrite")  # overwrite replaces what was appended
    assert dataset_rows(out) == first

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not telescrub's")
    refused = run(a, dest=mine, check=False)
    assert refused.returncode == 2 and "does not look like a telescrub output" in refused.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    fresh = tmp_path / "fresh"
    run(a, "--mode", "error-if-exists", dest=fresh)  # an empty or new directory is fine
    assert dataset_rows(fresh) == first
    assert _hidden(out) == []


# ----------------------------------------------------------------------------- split bytes


AGENTS = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          f"Chrome/1{i}0.0.0.0 Safari/537.36 Edg/1{i}0.0.0.0 " + "Teams/24.1.0 " * 12
          for i in range(4)]


def _big_jsonl(path: Path, records: int) -> Path:
    rnd = random.Random(20261206)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(records):
            rec = {"timestamp": f"2026-11-{20 + i % 5:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                   "user": {"email": f"person{i % 997}@contoso.com",
                            "id": f"{rnd.getrandbits(128):032x}"},
                   "clientIp": f"203.0.113.{i % 250}", "durationMs": rnd.randint(1, 99999),
                   "status": rnd.choice([200, 200, 200, 404, 500]),
                   "path": f"/api/v1/items/{rnd.randint(1, 10**6)}",
                   "userAgent": AGENTS[i % len(AGENTS)]}  # long, few distinct: bytes, cheaply
            if i % 10 == 0:
                rec["message"] = f"login failed for person{i % 997}@contoso.com from 10.0.0.{i % 9}"
            fh.write(json.dumps(rec) + "\n")
            if i == records // 2:
                fh.write('{"broken": \n')  # one bad line in the middle of a range
    return path


def test_split_bytes_through_the_cli_gives_the_unsplit_rows_and_adds_up_per_range(tmp_path):
    src = _big_jsonl(tmp_path / "big_events.jsonl", 6_000)
    size = src.stat().st_size
    assert size > 2 << 20  # multi-megabyte
    split, whole = tmp_path / "split", tmp_path / "whole"
    p1 = telescrub("-v", "run", str(src), "--output", str(split), "--split-bytes", "256K")
    telescrub("run", str(src), "--output", str(whole), "--split-bytes", "0", "--no-verify")
    rows_split, rows_whole = dataset_rows(split), dataset_rows(whole)
    assert rows_split == rows_whole  # same rows, same hash tokens, same lines
    assert len(rows_whole["big_events"]) == 6_000
    # every range wrote its own files (named by the range), the unsplit run one set
    tags = {p.name.split("-")[1] for p in split.rglob("part-*.parquet")
            if "_quarantine" not in p.parts}
    assert len(tags) > 5
    r_split = json.loads((split / "_report" / "report.json").read_text())
    r_whole = json.loads((whole / "_report" / "report.json").read_text())
    [i_split] = r_split["inputs"]
    [i_whole] = r_whole["inputs"]
    assert i_split["ranges"] > 5 and "ranges" not in i_whole
    assert i_split["ranges"] == p1.stderr.count(f"scrubbed {src} (bytes ")
    for key in ("read", "written", "quarantined", "dropped_by_policy", "records", "bad",
                "sha256", "bytes"):
        assert i_split[key] == i_whole[key], key
    assert i_split["read"] == 6_001 and i_split["quarantined"] == 1 and i_split["accounted"]
    assert r_split["accounting_ok"] and r_split["totals"] == r_whole["totals"]
    assert "verification: PASSED" in p1.stdout
