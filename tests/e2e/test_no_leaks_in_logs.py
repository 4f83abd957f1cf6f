"""End to end: no raw sensitive value in logs, errors, the report or quarantine — even with
debug logging (``-vv``).

telescrub's own loggers log file names, counts and ids only; third-party loggers (Beam,
Presidio, Dask, ...) stay at WARNING or above whatever ``-v`` says, because they may put
element or text content into debug messages; parse errors carry the file, the line and a
masked excerpt (quarantine ``text_scrubbed``), never the raw text (``detail``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pyarrow.dataset as ds
import pytest
from support import ROOT, SAMPLE, SAMPLE_INPUTS, TEST_KEY, leakcheck

from telescrub.app import cli
from telescrub.store.layout import hive_partitioning

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory):
    """sample_data/ at -vv, stdout and stderr captured to files next to the output."""
    root = tmp_path_factory.mktemp("debuglogs")
    logs = root / "logs"
    logs.mkdir()
    out = root / "out"
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    with open(logs / "stdout.log", "w") as so, open(logs / "stderr.log", "w") as se:
        proc = subprocess.run([sys.executable, "-m", "telescrub", "-vv", "run",
                               *SAMPLE_INPUTS, "--output", str(out), "--default-year", "2026"],
                              stdout=so, stderr=se, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, (logs / "stderr.log").read_text()[-3000:]
    return out, logs


def test_debug_logs_report_and_quarantine_pass_strict_leakcheck(debug_run, shared):
    out, logs = debug_run
    stderr = (logs / "stderr.log").read_text()
    assert "telescrub: scrubbed " in stderr  # -vv really logged (telescrub's own loggers)
    assert (logs / "stdout.log").read_text().startswith("run ")
    for target in (logs, out / "_report", out / "_quarantine"):
        res = leakcheck(SAMPLE / "truth.json", target, "--strict")
        assert res.returncode == 0, (target, res.stdout[-3000:])


def test_quarantine_detail_never_holds_raw_text(debug_run):
    out, logs = debug_run
    rows = ds.dataset(out / "_quarantine", format="parquet",
                      partitioning=hive_partitioning()).to_table().to_pylist()
    assert rows
    raw_lines = {}
    for r in rows:
        src = ROOT / r["_source_file"]  # as given, relative to where the CLI ran
        lines = (src.read_bytes().decode("utf-8", "replace").splitlines())
        raw = lines[r["_source_line"] - 1].strip()
        raw_lines[(src.name, r["_source_line"])] = raw
        assert raw and raw not in r["detail"], r
        assert f"line {r['_source_line']}" in r["detail"], r  # where, not what
        assert r["text_scrubbed"] != raw, r  # the excerpt is masked
        # no token of 6+ characters from the raw line survives into the detail
        for token in {t for t in raw.replace('"', " ").replace(",", " ").split() if len(t) >= 6}:
            assert token not in r["detail"], (token, r["detail"])
    report = json.loads((out / "_report" / "report.json").read_text())
    text = json.dumps(report) + (logs / "stderr.log").read_text()
    for raw in raw_lines.values():
        assert raw not in text


def test_third_party_loggers_stay_quiet_at_debug_level():
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in ["", "telescrub",
                                                           *cli.THIRD_PARTY_LOGGERS]}
    try:
        for verbose in (0, 1, 2, 5):
            cli._setup_logging(verbose)
            for name in cli.THIRD_PARTY_LOGGERS + ("apache_beam.runners.worker.sdk_worker",
                                                   "presidio-analyzer"):
                assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
            assert logging.getLogger().getEffectiveLevel() >= logging.WARNING
        assert logging.getLogger("telescrub.read").getEffectiveLevel() == logging.DEBUG
    finally:
        for n, (handlers, level, propagate) in saved.items():
            lg = logging.getLogger(n)
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate
