"""End to end: no value from the data or the options can make telescrub write outside
``--output``.

Path components come from three places: the table name (``--table``, or the input file name),
the event date (from a timestamp field of the data) and, in streaming, the window id. Each is
validated against a strict pattern before anything is written (``^[a-z0-9_]{1,64}$``,
``YYYY-MM-DD`` that is a real date, ``^[A-Za-z0-9_-]{1,64}$``) and every final path is
checked to resolve inside the output directory; an output entry that is a symlink is replaced
as a link, never followed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, TEST_KEY

from telescrub.app.batch import expand_inputs
from telescrub.core.errors import InputError

pytestmark = pytest.mark.slow

HOSTILE_TIMESTAMPS = [
    "../../../../tmp/pwned", "/etc/passwd", "2026-11-20/../../x", "2026-11-20\n../x",
    "..\\..\\x", "2026-13-45T00:00:00Z", "\x00", "%2e%2e%2f", "event_date=../x",
    "2026-11-20T10:00:00Z/../../y", "0000-01-01", "-2026-11-20",
    "2026-11-20 ../", "${HOME}", "$(touch /tmp/x)",
]
HOSTILE_TABLES = ["../x", "/abs", "a/b", "..", "a\\b", "x\x1b[31m", "a\nb", " ", "a" * 65,
                  "ok/../../x", "tab\tle", "é"]
OK_DIR = re.compile(r"(_report|_quarantine|[a-z0-9_]{1,64})")
OK_PART = re.compile(r"event_date=(\d{4}-\d{2}-\d{2}|__HIVE_DEFAULT_PARTITION__)")


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int, bool]]:
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if d == skip or skip in d.parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = d / name
            if p == skip:
                continue
            st = p.lstat()
            snap[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, p.is_symlink())
    return snap


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "telescrub", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


def test_hostile_data_and_names_stay_inside_the_output(tmp_path):
    cwd = tmp_path / "a" / "b" / "cwd"
    inputs = cwd / "in"
    inputs.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    lines = []
    for i, ts in enumerate(HOSTILE_TIMESTAMPS):
        lines.append(json.dumps({"timestamp": ts, "seq": i, "event_date": "../../x",
                                 "../../k": "v", "a/b": 1, "table": "../../t"}))
    lines.append(json.dumps({"timestamp": "2026-11-20T10:00:00Z", "seq": 99}))
    (inputs / "hostile.jsonl").write_text("\n".join(lines) + "\n")
    # hidden: skipped when its directory is the input, read when named -> table "sneaky"
    (inputs / "..sneaky.jsonl").write_text(lines[-1] + "\n")
    (inputs / "new\nline.jsonl").write_text(lines[-1] + "\n")  # -> table "new_line"
    out = cwd / "out"
    # a previous output whose table directory is a symlink to somewhere else: replaced as a
    # link, the target is never written into or deleted
    (out / "_report").mkdir(parents=True)
    os.symlink(outside, out / "hostile")
    before = _snapshot(tmp_path, out)

    proc = _run(cwd, "run", "in", "in/..sneaky.jsonl", "--output", "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _snapshot(tmp_path, out) == before, "something changed outside --output"
    assert (outside / "precious.txt").read_text() == "keep me"

    real_out = os.path.realpath(out)
    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            assert not os.path.islink(p), p
            assert os.path.commonpath([real_out, os.path.realpath(p)]) == real_out, p
    # (the output's manifest and the runs' area are the protocol's, not tables)
    tables = {p.name for p in out.iterdir()
              if not p.name.startswith(".") and p.name not in ("_manifest.json", "_runs")}
    assert {"_report", "hostile", "sneaky", "new_line"} <= tables <= {
        "_report", "_quarantine", "hostile", "sneaky", "new_line"}
    for t in tables - {"_report"}:
        assert OK_DIR.fullmatch(t), t
        for part in (out / t).iterdir():
            assert OK_PART.fullmatch(part.name), part
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"]
    assert (cwd / report["run"]["output"]).resolve() == out.resolve()  # as given: final place
    hostile = report["tables"]["hostile"]
    assert hostile["rows_written"] == len(HOSTILE_TIMESTAMPS) + 1
    dates = {p["event_date"] for p in report["partitions"] if p["table"] == "hostile"}
    assert dates <= {None, "2026-11-20"}, dates


def test_hostile_table_option_is_refused_before_anything_is_written(tmp_path):
    src = tmp_path / "x.jsonl"
    src.write_text('{"a": 1}\n')
    for bad in HOSTILE_TABLES:
        with pytest.raises(InputError, match="--table"):
            expand_inputs([str(src)], table=bad)
    # through the CLI: one clear line, exit status 2, no output directory created
    proc = _run(tmp_path, "run", str(src), "--table", "../x", "--output", "out")
    assert proc.returncode == 2, proc.stderr
    assert "telescrub: error: --table '../x' must not contain '..'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]


def test_file_names_that_give_no_table_name_are_a_clear_error(tmp_path):
    src = tmp_path / "---.jsonl"
    src.write_text('{"a": 1}\n')
    with pytest.raises(InputError, match="cannot derive a table name"):
        expand_inputs([str(src)])
