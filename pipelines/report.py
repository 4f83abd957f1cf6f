"""Beam stage: merge every stage's count records into the run report and write it.

One combiner for batch and streaming runs (``telescrub.core.report``); the report files are
written by the store (``telescrub.store.report``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from telescrub.core import report as build
from telescrub.core.stats import Stat
from telescrub.store.report import stage_report


class ReportCombineFn(beam.CombineFn):
    def create_accumulator(self) -> dict[str, Any]:
        return build.new_acc()

    def add_input(self, acc: dict[str, Any], s: Stat) -> dict[str, Any]:
        return build.add(acc, s)

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return build.merge(accs)

    def extract_output(self, acc: dict[str, Any]) -> dict[str, Any]:
        return acc


class WriteReportFn(beam.DoFn):
    def __init__(self, out_dir: str, run: dict[str, Any]) -> None:
        self.out_dir, self.run = out_dir, run

    def process(self, acc: dict[str, Any]) -> Iterator[str]:
        report = build.finalize(acc, self.run)
        yield stage_report(self.out_dir, report)  # published by the commit


class WriteReport(beam.PTransform):
    """PCollection[Stat] -> the written report path."""

    def __init__(self, out_dir: str, run: dict[str, Any]) -> None:
        super().__init__()
        self.out_dir, self.run = out_dir, run

    def expand(self, stats: beam.PCollection) -> beam.PCollection:
        return (stats
                | "MergeStats" >> beam.CombineGlobally(ReportCombineFn())
                | "WriteFiles" >> beam.ParDo(WriteReportFn(self.out_dir, self.run)))
