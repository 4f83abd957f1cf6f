"""The output protocol (telescrub.store.commit, .lock, .manifest, .fs), the same on a local
disk, S3 (moto) and GCS (the emulator): mode checks, the commit point, a crash before every
single store operation of a commit followed by recovery, append merge, garbage, the lock
object, conditional writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import telescrub
from telescrub.core.errors import OutputError
from telescrub.core.records import ScrubbedRecord
from telescrub.store import fs
from telescrub.store.commit import check_output, commit_output, recover_output
from telescrub.store.layout import LOCK_NAME, PartitionKey, list_output
from telescrub.store.lock import OutputLock, is_stale
from telescrub.store.manifest import load_catalog, stage_manifest
from telescrub.store.parquet import ColumnSpec, RunInfo, TableLayout
from telescrub.store.read import tables
from telescrub.store.report import stage_report
from telescrub.store.writer import write_rows

DATES = ("2026-11-20", "2026-11-21")


def _layout(table: str) -> TableLayout:
    return TableLayout(table, (
        ColumnSpec("tag", "string", "system_metadata", "system_metadata", "keep", "test", 1.0,
                   None, 28),
        ColumnSpec("n", "int64", "system_metadata", "system_metadata", "keep", "test", 1.0,
                   None, 28)))


def stage_run(out: str, run_id: str, tables: dict[str, tuple[str, ...]], tag: str,
              rows: int = 3) -> None:
    """What a run's pipeline leaves: files under final names, staged manifests and report."""
    run = RunInfo(run_id, "v1", "ph", "k1", False, "2026-11-22T00:00:00Z")
    for table, dates in tables.items():
        for d in dates:
            recs = [ScrubbedRecord(table, f"src-{tag}", i, d, {"tag": tag, "n": i})
                    for i in range(rows)]
            files = write_rows(out, _layout(table), run, PartitionKey(d), recs, "s00", 2)
            stage_manifest(out, table, PartitionKey(d), files, run)
    stage_report(out, {"run": {"run_id": run_id}, "tag": tag, "tables": {}, "inputs": [],
                       "totals": {}, "quarantine": [], "drift": [], "partitions": []})


def view(out: str) -> dict[str, set[str]]:
    """What a manifest-trusting reader sees: table -> set of tags in its rows."""
    res = {}
    for table in tables(out):
        res[table] = set(telescrub.read_table(out, table).column("tag").to_pylist())
    return res


def objects(out: str) -> list[str]:
    return sorted(list_output(out).entries)


OLD = {"a": DATES, "b": DATES[:1]}
NEW = {"a": DATES[1:], "c": DATES}


def test_first_commit_then_overwrite(store):
    stage_run(store, "run1", OLD, "old")
    assert view(store) == {}  # staged, not committed: a reader sees nothing yet
    commit_output(store, "run1", "overwrite")
    assert view(store) == {"a": {"old"}, "b": {"old"}}
    stage_run(store, "run2", NEW, "new")
    assert view(store) == {"a": {"old"}, "b": {"old"}}  # run2's files exist, unlisted
    root = commit_output(store, "run2", "overwrite")
    assert root["version"] == 2 and sorted(root["partitions"]) == [
        "a/event_date=2026-11-21", "c/event_date=2026-11-20", "c/event_date=2026-11-21"]
    assert view(store) == {"a": {"new"}, "c": {"new"}}
    names = objects(store)
    # the copies, the report and nothing of the old run's files: garbage is gone
    assert "a/event_date=2026-11-20/_manifest.json" not in names
    assert not any(n.startswith("b/") for n in names)
    assert "_report/report.json" in names and "_report/index.html" in names
    assert json.loads(fs.read_bytes(fs.join(store, "_report", "report.json")))["tag"] == "new"
    for rel, manifest in root["partitions"].items():
        copy = json.loads(fs.read_bytes(fs.join(store, rel, "_manifest.json")))
        assert copy == manifest


def test_append_merges_and_the_same_content_is_listed_once(store):
    stage_run(store, "run1", {"a": DATES[:1]}, "x")
    commit_output(store, "run1", "overwrite")
    first = load_catalog(store).partitions["a/event_date=2026-11-20"]
    stage_run(store, "run2", {"a": DATES}, "x")  # the same rows again, plus a new day
    commit_output(store, "run2", "append")
    cat = load_catalog(store)
    again = cat.partitions["a/event_date=2026-11-20"]
    assert [f["path"] for f in again["files"]] == [f["path"] for f in first["files"]]
    assert again["rows"] == first["rows"] == 3
    # the file was written once: the second run found it and kept it (its footer: run1)
    assert {f["run_id"] for f in again["files"]} == {"run1"}
    assert sorted(cat.partitions) == ["a/event_date=2026-11-20", "a/event_date=2026-11-21"]
    stage_run(store, "run3", {"a": DATES[:1]}, "y")
    commit_output(store, "run3", "append")
    assert view(store) == {"a": {"x", "y"}}


class _Crash(BaseException):
    """Stands for kill -9: not an Exception, nothing catches it."""


@pytest.mark.parametrize("mode", ["overwrite", "append"])
def test_a_crash_before_any_store_operation_of_a_commit(store, monkeypatch, mode):
    """Kill the commit before its n-th write or delete, for every n: a manifest-trusting
    reader sees the previous output or the new one, whole; recovery completes or discards;
    no object is left that no manifest references."""
    real_write, real_delete = fs.write, fs.delete
    # every step on a local disk; every fifth in a bucket (each case costs ~50 requests)
    for step in range(0, 200, 5 if fs.is_url(store) else 1):
        out = fs.join(store, f"{mode}-{step}")
        stage_run(out, "run1", OLD, "old")
        commit_output(out, "run1", "overwrite")
        stage_run(out, "run2", NEW, "new")
        calls: list[str] = []

        def counted(real, *a, _calls=calls, _step=step, **kw):
            if len(_calls) >= _step:
                raise _Crash()
            _calls.append(str(a[0]))
            return real(*a, **kw)

        monkeypatch.setattr(fs, "write", lambda *a, **kw: counted(real_write, *a, **kw))
        monkeypatch.setattr(fs, "delete", lambda *a, **kw: counted(real_delete, *a, **kw))
        try:
            commit_output(out, "run2", mode)
            crashed = False
        except _Crash:
            crashed = True
        monkeypatch.undo()
        committed = any(c.endswith("/_manifest.json") and c.count("/") and
                        fs.relpath(c, out) == "_manifest.json" for c in calls)
        old = {"a": {"old"}, "b": {"old"}}
        new = {"a": {"new"}, "c": {"new"}} if mode == "overwrite" else \
            {"a": {"old", "new"}, "b": {"old"}, "c": {"new"}}
        assert view(out) == (new if committed else old), (step, calls)
        recover_output(out)  # what the next command does first
        assert view(out) == (new if committed else old), step
        cat = load_catalog(out)
        refs = {fs.relpath(p, out) for p in cat.referenced()}
        left = [n for n in objects(out) if n.split("/", 1)[0] in ("a", "b", "c")
                and n not in refs]
        assert left == [], (step, left)
        for rel, manifest in cat.partitions.items():  # the copies agree again
            assert json.loads(fs.read_bytes(fs.join(out, rel, "_manifest.json"))) == manifest
        if not crashed:
            assert committed
            break
    else:
        pytest.fail("the commit never completed")


def test_check_output_modes(store):
    for mode in ("overwrite", "append", "error-if-exists"):
        check_output(store, mode)  # empty: all fine
    fs.write(fs.join(store, LOCK_NAME), b"{}")  # the lock does not make it non-empty
    check_output(store, "error-if-exists")
    fs.write(fs.join(store, "notes.txt"), b"mine")
    with pytest.raises(OutputError, match="does not look like a telescrub output"):
        check_output(store, "overwrite")
    with pytest.raises(OutputError, match="not empty"):
        check_output(store, "error-if-exists")
    check_output(store, "append")
    with pytest.raises(OutputError, match="expected one of"):
        check_output(store, "replace")


def test_a_failed_run_leaves_the_previous_output_and_its_files_are_removed(store):
    stage_run(store, "run1", OLD, "old")
    commit_output(store, "run1", "overwrite")
    stage_run(store, "dead", NEW, "half")  # a run that died before its commit
    assert view(store) == {"a": {"old"}, "b": {"old"}}
    notes = recover_output(store)
    assert any("no manifest lists" in n for n in notes)
    assert view(store) == {"a": {"old"}, "b": {"old"}}
    assert not any(n.startswith(("c/", "_runs/dead")) for n in objects(store))


def test_a_concurrent_commit_is_refused(store, monkeypatch):
    stage_run(store, "run1", OLD, "old")
    commit_output(store, "run1", "overwrite")
    stage_run(store, "run2", NEW, "new")
    import telescrub.store.commit as commit

    # another writer commits between this commit's read of the manifest and its write
    seen = commit.load_catalog(store)
    fs.write_json(fs.join(store, "_manifest.json"), {**(seen.root or {}), "version": 99})
    monkeypatch.setattr(commit, "load_catalog", lambda out, listing=None: seen)
    with pytest.raises(OutputError, match="changed while this run wrote it"):
        commit_output(store, "run2", "overwrite")
    assert json.loads(fs.read_bytes(fs.join(store, "_manifest.json")))["version"] == 99


# ----------------------------------------------------------------------------- the store


def test_conditional_writes(store):
    p = fs.join(store, "x", "o.json")
    g1 = fs.write(p, b"1", fs.CREATE)
    with pytest.raises(fs.PreconditionFailed):
        fs.write(p, b"2", fs.CREATE)
    g2 = fs.write(p, b"2", g1)
    with pytest.raises(fs.PreconditionFailed):
        fs.write(p, b"3", g1)  # a stale generation
    with pytest.raises(fs.PreconditionFailed):
        fs.delete(p, g1)
    assert fs.read_bytes(p) == b"2" and fs.stat(p).generation == g2
    with fs.open_input(p) as fh:
        assert fh.read() == b"2"
    assert fs.delete(p, g2) and not fs.delete(p)
    # a compare-and-swap loop never loses a concurrent update
    from concurrent.futures import ThreadPoolExecutor

    q = fs.join(store, "x", "lines.jsonl")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: fs.append_lines(q, [{"i": i}]), range(12)))
    assert sorted(r["i"] for r in fs.read_jsonl(q)) == list(range(12))


def test_ranged_reads_and_globs(store):
    data = bytes(range(256)) * 40_000  # 10 MB: several ranged reads
    p = fs.join(store, "in", "big.bin")
    fs.write(p, data)
    with fs.open_input(p) as fh:
        assert fh.peek(2)[:2] == data[:2]
        fh.seek(5_000_000)
        assert fh.read(10) == data[5_000_000:5_000_010]
        fh.seek(-3, os.SEEK_END)
        assert fh.read() == data[-3:]
    assert fs.sha256(p, 100, 1000)[1] == 1000
    fs.write(fs.join(store, "in", "a.jsonl"), b"{}\n")
    fs.write(fs.join(store, "in", "sub", "b.jsonl"), b"{}\n")
    fs.write(fs.join(store, "in", ".hidden"), b"")
    assert fs.expand(fs.join(store, "in", "*.jsonl")) == [fs.join(store, "in", "a.jsonl")]
    # the same matches on a disk and in a bucket: ** spans directories (none included)
    assert [fs.relpath(p, store) for p in fs.expand(fs.join(store, "in", "**", "*.jsonl"))] \
        == ["in/a.jsonl", "in/sub/b.jsonl"]
    assert fs.expand(fs.join(store, "in", "[ab].json?")) == [fs.join(store, "in", "a.jsonl")]
    assert fs.join(store, "in", ".hidden") not in fs.expand(fs.join(store, "in"))


# ------------------------------------------------------------------------------ the lock


def test_second_lock_is_refused_naming_the_holder_and_released_on_exit(store):
    with OutputLock(store, "run"):
        doc = fs.read_json(fs.join(store, LOCK_NAME))
        assert doc and doc["owner"]["pid"] == os.getpid() and doc["expires_at"]
        with pytest.raises(OutputError, match="in use by another telescrub run"):
            OutputLock(store).__enter__()
    assert not fs.exists(fs.join(store, LOCK_NAME))
    with OutputLock(store):  # released on exit
        pass


def test_a_dead_holder_on_this_host_or_an_expired_lock_is_taken_over(store):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    import socket

    fs.write_json(fs.join(store, LOCK_NAME), {
        "owner": {"host": socket.gethostname(), "pid": dead, "purpose": "run"},
        "expires_at": "2999-01-01T00:00:00Z"})
    with OutputLock(store) as lock:  # kill -9 left it: the pid is gone
        assert lock.generation is not None
    fs.write_json(fs.join(store, LOCK_NAME), {
        "owner": {"host": "elsewhere", "pid": 1}, "expires_at": "2000-01-01T00:00:00Z"})
    with OutputLock(store):  # another host's, expired
        pass
    live = {"owner": {"host": "elsewhere", "pid": 1}, "expires_at": "2999-01-01T00:00:00Z"}
    assert not is_stale(live) and is_stale(None)


def test_a_lock_taken_over_is_noticed_before_publishing(store):
    with OutputLock(store, ttl=3600) as lock:
        fs.write_json(fs.join(store, LOCK_NAME), {"owner": {"host": "thief"}})  # took over
        with pytest.raises(OutputError, match="lost the lock"):
            lock.check()


def test_the_lock_is_renewed_while_held(store):
    with OutputLock(store, ttl=3) as lock:
        first = fs.read_json(fs.join(store, LOCK_NAME))
        import time

        time.sleep(2.5)
        again = fs.read_json(fs.join(store, LOCK_NAME))
        assert first and again and again["expires_at"] >= first["expires_at"]
        assert again["renewed_at"] > first["renewed_at"] or again["expires_at"] > \
            first["expires_at"]
        lock.check()


def test_the_s3_endpoint_from_beams_options_on_the_launcher_and_on_a_worker(
        s3_server, s3, monkeypatch):
    """``--s3_endpoint_url``/``--s3_region_name`` (Beam's S3 options) reach the store: on the
    launcher through ``fs.configure``, on a worker through the options Beam's SDK harness hands
    to ``FileSystems``; no endpoint in the environment."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    fs.write(fs.join(s3, "o.txt"), b"x")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    args = [f"--s3_endpoint_url={s3_server.endpoint}", "--s3_region_name=us-east-1"]
    fs.configure(PipelineOptions(args))
    assert fs.read_bytes(fs.join(s3, "o.txt")) == b"x"
    monkeypatch.setattr(fs, "_config", {})  # a worker: nothing configured in-process
    fs._clients.clear()
    monkeypatch.setattr(FileSystems, "_pipeline_options", PipelineOptions(args))
    assert fs.read_bytes(fs.join(s3, "o.txt")) == b"x"
    fs._clients.clear()
