"""The output directory protocol (telescrub.store.commit): lock, mode checks, staged commit,
crash at every step of a commit followed by recovery, append merge."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from telescrub.core.errors import OutputError
from telescrub.store import commit as outdir
from telescrub.store.commit import (
    begin_staging,
    check_output,
    commit_output,
    recover_output,
)
from telescrub.store.lock import LOCK_NAME, OutputLock


def _partition(pdir: Path, files: dict[str, int], tag: str, days: int = 28) -> None:
    pdir.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, rows in files.items():
        (pdir / name).write_text(f"{tag}:{name}")
        entries.append({"path": name, "rows": rows, "sha256": f"sha-{tag}-{name}"})
    manifest = {"table": pdir.parent.name, "event_date": pdir.name.split("=", 1)[1],
                "run_id": tag, "files": entries, "rows": sum(files.values()),
                "retention_days": days, "expires_on": f"2026-12-{days:02d}",
                "retention_category": f"cat{days}", "format_version": "1"}
    (pdir / "_manifest.json").write_text(json.dumps(manifest))


def _output(root: Path, tables: list[str], tag: str) -> None:
    for t in tables:
        _partition(root / t / "event_date=2026-11-20", {f"part-{t}-{tag}.parquet": 2}, tag)
    (root / "_report").mkdir(parents=True, exist_ok=True)
    (root / "_report" / "report.json").write_text(json.dumps({"run": tag}))


def _state(out: Path) -> dict[str, str]:
    """Visible content: relative path -> file text (hidden entries excluded)."""
    res = {}
    for dirpath, dirnames, filenames in os.walk(out):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if not f.startswith("."):
                p = Path(dirpath) / f
                res[str(p.relative_to(out))] = p.read_text()
    return res


def _hidden(out: Path) -> list[str]:
    return sorted(e for e in os.listdir(out) if e.startswith(".") and e != LOCK_NAME)


def _setup(tmp_path: Path, mode: str = "overwrite") -> tuple[Path, str]:
    out = tmp_path / "out"
    _output(out, ["a", "b"], "old")
    (out / "_audit").mkdir()
    (out / "_audit" / "audit.jsonl").write_text("purge record\n")
    stage = begin_staging(str(out), "run2")
    _output(Path(stage), ["a", "c"], "new")
    return out, stage


def _expected_new(tmp_path: Path) -> dict[str, str]:
    ref = tmp_path / "ref"
    _output(ref, ["a", "c"], "new")
    (ref / "_audit").mkdir()
    (ref / "_audit" / "audit.jsonl").write_text("purge record\n")
    state = _state(ref)
    shutil.rmtree(ref)
    return state


def test_overwrite_replaces_previous_output_keeps_audit_and_cleans_up(tmp_path):
    out, stage = _setup(tmp_path)
    expected = _expected_new(tmp_path)
    commit_output(str(out), stage, "overwrite", "run2")
    assert _state(out) == expected  # table b of the old run is gone, _audit kept
    assert _hidden(out) == []


class _Crash(BaseException):
    """Stands for kill -9: not an Exception, nothing catches it."""


def _crash_after(monkeypatch, n: int) -> list[str]:
    """Let n file system changes happen, then 'die'; returns the targets changed."""
    done: list[str] = []
    for mod, name in ((os, "rename"), (os, "replace"), (os, "remove"), (shutil, "rmtree")):
        real = getattr(mod, name)

        def wrapper(*a, _real=real, **kw):
            if len(done) >= n:
                raise _Crash()
            done.append(os.path.basename(str(a[-1])))
            return _real(*a, **kw)

        monkeypatch.setattr(mod, name, wrapper)
    return done


@pytest.mark.parametrize("mode", ["overwrite", "append"])
def test_a_crash_at_any_step_of_the_commit_is_completed_or_undone(tmp_path, monkeypatch, mode):
    for step in range(100):  # crash before the step-th file system change, until none is hit
        case = tmp_path / f"{mode}-{step}"
        case.mkdir()
        out, stage = _setup(case, mode)
        old_state = _state(out)
        calls = _crash_after(monkeypatch, step)
        try:
            commit_output(str(out), stage, mode, "run2")
            crashed = False
        except _Crash:
            crashed = True
        monkeypatch.undo()
        # whatever is visible is whole: each table is entirely old or entirely new
        state = _state(out)
        for table in ("a", "b", "c"):
            tags = {v.split(":")[0] for k, v in state.items()
                    if k.startswith(f"{table}/") and k.endswith(".parquet")}
            assert len(tags) <= 1 or (mode == "append" and table == "a"), (step, table, tags)
        # the commit point: the marker renamed into place
        committed = any(t.startswith(outdir.COMMIT_PREFIX) and t.endswith(outdir.COMMIT_SUFFIX)
                        for t in calls)
        recover_output(str(out))  # what the next run does first
        assert _hidden(out) == [], step
        final = _state(out)
        if not committed:  # crashed before the commit point: the previous output is untouched
            assert final == old_state, step
        elif mode == "overwrite":  # the commit is rolled forward
            assert final == _expected_new(case), step
        else:
            assert set(final) == set(old_state) | set(_expected_new(case)), step
        if not crashed:
            assert committed and len(calls) >= 6
            break
    else:
        pytest.fail("the commit never completed")


def test_append_merges_partitions_and_manifests(tmp_path):
    out = tmp_path / "out"
    _partition(out / "t" / "event_date=2026-11-20", {"f1.parquet": 2, "f2.parquet": 3}, "old")
    _partition(out / "t" / "event_date=2026-11-21", {"g.parquet": 1}, "old", days=1)
    (out / "_report").mkdir()
    stage = Path(begin_staging(str(out), "r2"))
    _partition(stage / "t" / "event_date=2026-11-20", {"f1.parquet": 2, "f3.parquet": 4}, "new",
               days=30)
    _partition(stage / "t" / "event_date=2026-11-22", {"h.parquet": 5}, "new")
    (stage / "_report").mkdir()
    commit_output(str(out), str(stage), "append", "r2")
    p20 = out / "t" / "event_date=2026-11-20"
    m = json.loads((p20 / "_manifest.json").read_text())
    assert [f["path"] for f in m["files"]] == ["f1.parquet", "f2.parquet", "f3.parquet"]
    assert m["rows"] == 2 + 3 + 4
    assert (p20 / "f1.parquet").read_text() == "new:f1.parquet"  # same name: new copy wins
    assert (p20 / "f2.parquet").read_text() == "old:f2.parquet"
    assert m["retention_days"] == 28 and m["expires_on"] == "2026-12-28"  # the shorter
    assert sorted(p.name for p in (out / "t").iterdir()) == [
        "event_date=2026-11-20", "event_date=2026-11-21", "event_date=2026-11-22"]
    assert (out / "t" / "event_date=2026-11-21" / "g.parquet").read_text() == "old:g.parquet"
    assert _hidden(out) == []


def test_check_output_modes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for mode in ("overwrite", "append", "error-if-exists"):
        check_output(str(out), mode)  # empty: all fine
    (out / LOCK_NAME).write_text("1\n")
    (out / ".staging-x").mkdir()  # protocol entries do not make it non-empty
    check_output(str(out), "error-if-exists")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="does not look like a telescrub output"):
        check_output(str(out), "overwrite")
    with pytest.raises(OutputError, match="not empty"):
        check_output(str(out), "error-if-exists")
    check_output(str(out), "append")
    with pytest.raises(OutputError, match="expected one of"):
        check_output(str(out), "replace")


def test_recovery_removes_what_failed_runs_left(tmp_path):
    out = tmp_path / "out"
    _output(out, ["a"], "old")
    before = _state(out)
    stage = Path(begin_staging(str(out), "dead"))
    _output(stage, ["a"], "half")
    (out / ".trash-older").mkdir()
    (out / "._manifest.json.tmp-123").write_text("x")
    done = recover_output(str(out))
    assert any("did not finish" in d for d in done)
    assert _state(out) == before and _hidden(out) == []


def test_a_tampered_commit_marker_moves_nothing(tmp_path):
    out = tmp_path / "out"
    _output(out, ["a"], "old")
    victim = tmp_path / "victim"
    victim.mkdir()
    (out / ".staging-x").mkdir()
    for install in (["../victim"], ["/etc"], [".."], ["a/b"]):
        (out / ".commit-x.json").write_text(json.dumps(
            {"run_id": "x", "mode": "overwrite", "staging": ".staging-x", "trash": ".trash-x",
             "install": install, "remove": []}))
        with pytest.raises(OutputError, match="corrupt commit marker"):
            recover_output(str(out))
        assert victim.is_dir() and (out / "a").is_dir()
    (out / ".commit-x.json").write_text(json.dumps(
        {"run_id": "x", "mode": "overwrite", "staging": "../..", "trash": ".trash-x",
         "install": [], "remove": []}))
    with pytest.raises(OutputError, match="corrupt commit marker"):
        recover_output(str(out))


def test_second_lock_on_the_same_directory_fails_clearly(tmp_path):
    out = tmp_path / "out"
    with OutputLock(str(out)):
        second = OutputLock(str(out))
        with pytest.raises(OutputError, match="in use by another"):
            second.__enter__()
    with OutputLock(str(out)):  # released on exit
        pass
