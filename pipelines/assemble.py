"""The whole batch job as one composite: read -> scrub (classify, act) -> write, plus report.

``ScrubFilesToParquet`` is what ``telescrub run`` builds; each stage is also usable alone
(``ReadInputs``, ``Scrub``, ``WritePartitions``, ``WriteReport``).
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.report import QUARANTINE_TABLE
from telescrub.formats.readers import ReadLimits
from telescrub.formats.units import InputFile
from telescrub.pipelines.report import WriteReport
from telescrub.pipelines.scrub import QuarantineFn, decision_stat, quarantine_stat
from telescrub.pipelines.scrub_files import ScrubFiles
from telescrub.pipelines.write import WriteManifests, WritePartitions
from telescrub.store.parquet import RunInfo, quarantine_layout


class ScrubFilesToParquet(beam.PTransform):
    """PBegin -> report path. Reads ``files``, scrubs, writes partitions and the report.

    The records themselves never cross a shuffle: ``ScrubFiles`` profiles, scrubs and writes
    each input file in passes (see ``pipelines.scrub_files``); only quarantined records go
    through ``WritePartitions`` (``shards`` files per quarantine partition). ``rows_per_file``
    bounds both the rows per Parquet file and the rows a worker holds at once.
    """

    def __init__(self, files: list[InputFile], out_dir: str, policy: Policy, key: HashKey,
                 run_info: RunInfo, run_meta: dict[str, Any],
                 schemas: dict[str, SourceSchema] | None = None,
                 default_year: int | None = None, shards: int = 4,
                 rows_per_file: int = 50_000, read_limits: ReadLimits | None = None) -> None:
        super().__init__()
        self.files, self.out_dir, self.policy, self.key = files, out_dir, policy, key
        self.run_info, self.run_meta, self.schemas = run_info, run_meta, schemas or {}
        self.default_year, self.shards, self.rows_per_file = default_year, shards, rows_per_file
        self.read_limits = read_limits  # caps per file/line (None: the readers' defaults)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        policy = self.policy
        result = (pbegin | "ListInputs" >> beam.Create(self.files)
                  | "ScrubFiles" >> ScrubFiles(
                      policy, self.key, self.out_dir, self.run_info, self.schemas,
                      self.default_year, self.read_limits, self.rows_per_file))

        qlayout = pbegin | "QuarantineLayout" >> beam.Create(
            [(QUARANTINE_TABLE, quarantine_layout(policy.retention_days["customer_content"]))])
        quarantined = (result.quarantine
                       | "ScrubQuarantine" >> beam.ParDo(QuarantineFn(policy, self.key)))
        qfiles = quarantined | "WriteQuarantine" >> WritePartitions(
            self.out_dir, self.run_info, qlayout, rows_per_file=self.rows_per_file,
            shards=self.shards)
        partitions = ((result.files | "DataManifests" >> WriteManifests(
            self.out_dir, self.run_info), qfiles) | "AllPartitions" >> beam.Flatten())

        stats = (
            result.stats,
            result.decisions | "DecisionStats" >> beam.Map(decision_stat),
            partitions,
            quarantined | "QuarantineStats" >> beam.Map(quarantine_stat),
        ) | "AllStats" >> beam.Flatten()
        return stats | "Report" >> WriteReport(self.out_dir, self.run_meta)
