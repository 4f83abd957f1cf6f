"""Beam stage: merge every stage's count records into the run report and write it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from telescrub.core import report as build
from telescrub.core.decisions import TableDecision
from telescrub.store.report_html import write_html


class ReportCombineFn(beam.CombineFn):
    def create_accumulator(self) -> dict[str, Any]:
        return build.new_acc()

    def add_input(self, acc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
        return build.add(acc, s)

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return build.merge(accs)

    def extract_output(self, acc: dict[str, Any]) -> dict[str, Any]:
        return acc


def decision_stats(kv: tuple[str, TableDecision]) -> dict[str, Any]:
    table, td = kv
    return {"kind": "decision", "table": table, "records": td.records,
            "timestamp_path": td.timestamp_path, "schema_path": td.schema_path,
            "fields": [d.to_json() for _, d in sorted(td.fields.items())]}


def partition_stats(summary: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "partition", **summary}


def write_report(out_dir: str, report: dict[str, Any]) -> str:
    rdir = os.path.join(out_dir, "_report")
    os.makedirs(rdir, exist_ok=True)
    path = os.path.join(rdir, "report.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)
    write_html(report, os.path.join(rdir, "index.html"))
    return path


class WriteReportFn(beam.DoFn):
    def __init__(self, out_dir: str, run: dict[str, Any]) -> None:
        self.out_dir, self.run = out_dir, run

    def process(self, acc: dict[str, Any]) -> Iterator[str]:
        report = build.finalize(acc, self.run)
        yield write_report(self.out_dir, report)


class WriteReport(beam.PTransform):
    """PCollection[stats dict] -> the written report path."""

    def __init__(self, out_dir: str, run: dict[str, Any]) -> None:
        super().__init__()
        self.out_dir, self.run = out_dir, run

    def expand(self, stats: beam.PCollection) -> beam.PCollection:
        return (stats
                | "MergeStats" >> beam.CombineGlobally(ReportCombineFn())
                | "WriteFiles" >> beam.ParDo(WriteReportFn(self.out_dir, self.run)))
