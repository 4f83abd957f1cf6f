"""The run report's files: ``<out>/_report/report.json`` and the offline ``index.html``."""

from __future__ import annotations

import json
from typing import Any

from telescrub.store import fs
from telescrub.store.layout import HTML_NAME, REPORT_DIR, REPORT_NAME, staged_report_path
from telescrub.store.report_html import write_html


def report_bytes(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, indent=2, sort_keys=False, default=str) + "\n").encode()


def write_report(out_dir: str, report: dict[str, Any]) -> str:
    """Publish ``report.json`` and render ``index.html`` beside it (a streaming output's
    report, rewritten as the job runs); returns the JSON path."""
    rdir = fs.join(out_dir, REPORT_DIR)
    path = fs.join(rdir, REPORT_NAME)
    fs.write(path, report_bytes(report))
    write_html(report, fs.join(rdir, HTML_NAME))
    return path


def stage_report(out_dir: str, report: dict[str, Any]) -> str:
    """A batch run's report, written into its run area (``_runs/<run id>/report.json``); the
    commit publishes it as ``_report/report.json`` (``telescrub.store.commit``)."""
    path = staged_report_path(out_dir, str(report["run"]["run_id"]))
    fs.write(path, report_bytes(report))
    return path
