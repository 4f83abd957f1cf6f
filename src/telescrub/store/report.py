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


def replace_committed_report(out_dir: str, report: dict[str, Any]) -> None:
    """Replace a batch output's committed report (a tool that moved the output and fixes
    ``run.output``, say): the report the output's manifest pins, its sha256 there (one
    generation-checked write of the manifest), then the copy ``_report/report.json`` and its
    page. An output without a pinned report (streaming) only gets the copy."""
    import hashlib

    from telescrub.store.manifest import load_catalog, publish_root

    data = report_bytes(report)
    cat = load_catalog(out_dir)
    pinned = (cat.root or {}).get("report")
    if cat.root is not None and isinstance(pinned, str) and pinned.startswith("_runs/"):
        fs.write(fs.join(out_dir, pinned), data)
        root = {**cat.root, "report_sha256": hashlib.sha256(data).hexdigest()}
        publish_root(out_dir, root, cat.generation)
    write_report(out_dir, report)
