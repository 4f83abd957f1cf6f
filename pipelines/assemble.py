"""The whole job as one composite: read -> scrub (classify, act) -> write, plus report.

``ScrubFilesToParquet`` is what ``telescrub run`` builds; each stage is also usable alone
(``ReadInputs``, ``Scrub``, ``WritePartitions``, ``WriteReport``).
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from telescrub.classifiers.source_schema import SourceSchema
from telescrub.keys import HashKey
from telescrub.parquet_out import ColumnSpec, RunInfo, TableLayout
from telescrub.pipelines.classify import TableDecision
from telescrub.pipelines.read import InputFile, ReadInputs
from telescrub.pipelines.readers import ReadLimits
from telescrub.pipelines.report import WriteReport, decision_stats, partition_stats
from telescrub.pipelines.scrub import QUARANTINE_TABLE, QuarantineFn, Scrub, output_name
from telescrub.pipelines.write import WritePartitions
from telescrub.policy import Policy

#: retention of a column whose values were redacted: it constrains nothing
_NO_CONSTRAINT = 36500


def layout_for(td: TableDecision, policy: Policy) -> TableLayout:
    cols = []
    for path, d in sorted(td.fields.items()):
        if d.action == "drop":
            continue
        out_cat = d.output_category
        cols.append(ColumnSpec(
            name=output_name(path), arrow_type=d.arrow_type, category=out_cat or "redacted",
            source_category=d.category, action=d.action, evidence=d.evidence,
            confidence=d.confidence, entity=d.entity,
            retention_days=policy.retention_days[out_cat] if out_cat else _NO_CONSTRAINT))
    return TableLayout(td.table, tuple(cols))


def quarantine_layout(policy: Policy) -> TableLayout:
    days = policy.retention_days["customer_content"]
    cols = [ColumnSpec(name, "string", cat, cat, action, "quarantine", 1.0, None, days)
            for name, cat, action in (("table", "system_metadata", "keep"),
                                      ("reason", "system_metadata", "keep"),
                                      ("detail", "system_metadata", "keep"),
                                      ("text_scrubbed", "customer_content", "scrub_text"))]
    return TableLayout(QUARANTINE_TABLE, tuple(cols))


def quarantine_stats(row: Any) -> dict[str, Any]:
    return {"kind": "quarantine", "table": row.fields["table"], "reason": row.fields["reason"],
            "n": 1}


class ScrubFilesToParquet(beam.PTransform):
    """PBegin -> report path. Reads ``files``, scrubs, writes partitions and the report."""

    def __init__(self, files: list[InputFile], out_dir: str, policy: Policy, key: HashKey,
                 run_info: RunInfo, run_meta: dict[str, Any],
                 schemas: dict[str, SourceSchema] | None = None,
                 default_year: int | None = None, shards: int = 4,
                 rows_per_file: int = 100_000, read_limits: ReadLimits | None = None) -> None:
        super().__init__()
        self.files, self.out_dir, self.policy, self.key = files, out_dir, policy, key
        self.run_info, self.run_meta, self.schemas = run_info, run_meta, schemas or {}
        self.default_year, self.shards, self.rows_per_file = default_year, shards, rows_per_file
        self.read_limits = read_limits  # caps per file/line (None: the readers' defaults)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        policy = self.policy
        read = (pbegin | "ListInputs" >> beam.Create(self.files)
                | "Read" >> ReadInputs(self.default_year, limits=self.read_limits))
        result = read.records | "Scrub" >> Scrub(policy, self.key, self.schemas)

        layouts = result.decisions | "TableLayouts" >> beam.MapTuple(
            lambda t, td: (t, layout_for(td, policy)))
        qlayout = pbegin | "QuarantineLayout" >> beam.Create(
            [(QUARANTINE_TABLE, quarantine_layout(policy))])
        all_layouts = (layouts, qlayout) | "AllLayouts" >> beam.Flatten()

        quarantined = ((read.bad, result.dead_letter) | "AllBad" >> beam.Flatten()
                       | "ScrubQuarantine" >> beam.ParDo(QuarantineFn(policy, self.key)))
        rows = (result.scrubbed, quarantined) | "AllRows" >> beam.Flatten()
        partitions = rows | "Write" >> WritePartitions(
            self.out_dir, self.run_info, all_layouts, rows_per_file=self.rows_per_file,
            shards=self.shards)

        stats = (
            read.stats,
            result.stats,
            result.decisions | "DecisionStats" >> beam.Map(decision_stats),
            partitions | "PartitionStats" >> beam.Map(partition_stats),
            quarantined | "QuarantineStats" >> beam.Map(quarantine_stats),
        ) | "AllStats" >> beam.Flatten()
        return stats | "Report" >> WriteReport(self.out_dir, self.run_meta)
