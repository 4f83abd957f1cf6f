"""The run report's files: ``<out>/_report/report.json`` and the offline ``index.html``."""

from __future__ import annotations

import json
import os
from typing import Any

from telescrub.store.fs import write_atomic
from telescrub.store.layout import HTML_NAME, REPORT_DIR, REPORT_NAME
from telescrub.store.report_html import write_html


def write_report(out_dir: str, report: dict[str, Any]) -> str:
    """Write ``report.json`` (atomically) and render ``index.html`` beside it; returns the
    JSON path."""
    rdir = os.path.join(out_dir, REPORT_DIR)
    path = os.path.join(rdir, REPORT_NAME)
    write_atomic(path, json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")
    write_html(report, os.path.join(rdir, HTML_NAME))
    return path
