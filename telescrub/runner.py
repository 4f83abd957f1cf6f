"""The public Python API behind ``telescrub run``: expand inputs, build and run the pipeline.

    from telescrub.runner import run_batch
    report = run_batch(["logs/*.jsonl"], "out/", demo_key=True)

Every Beam pipeline option (``--runner``, ``--direct_num_workers``, Dataflow/Flink options)
passes through ``beam_args`` unchanged.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from telescrub.classifiers.source_schema import load_source_schemas
from telescrub.errors import InputError, OutputError
from telescrub.keys import HashKey, load_key
from telescrub.outdir import OutputLock, prepare_output
from telescrub.parquet_out import RunInfo
from telescrub.pipelines.assemble import ScrubFilesToParquet
from telescrub.pipelines.read import InputFile
from telescrub.pipelines.readers import detect_format, table_name_for
from telescrub.policy import Policy, load_policy

log = logging.getLogger("telescrub")
MODES = ("overwrite", "append", "error-if-exists")


def expand_inputs(patterns: list[str], fmt: str = "auto", table: str | None = None,
                  ) -> list[InputFile]:
    """Globs and directories -> sorted, de-duplicated input files. A pattern matching nothing
    is an error (a typo must not produce an empty, 'successful' run)."""
    paths: list[str] = []
    for pat in patterns:
        if os.path.isdir(pat):
            found = [os.path.join(d, f) for d, _, fs in os.walk(pat) for f in fs
                     if not f.startswith(".")]
        else:
            found = glob.glob(pat, recursive=True) if glob.has_magic(pat) else (
                [pat] if os.path.lexists(pat) else [])
        if not found:
            raise InputError(f"input {pat!r} matches no file")
        paths.extend(found)
    out: list[InputFile] = []
    seen: set[str] = set()
    for p in sorted(paths):
        if p in seen or os.path.isdir(p):
            continue
        seen.add(p)
        out.append(InputFile(p, table_name_for(p, table), detect_format(p, fmt)))
    if not out:
        raise InputError("no input files (only directories matched)")
    return out


@dataclass
class RunConfig:
    inputs: list[str]
    output: str
    policy_path: str | None = None
    schema_dir: str | None = None
    fmt: str = "auto"
    table: str | None = None
    key_file: str | None = None
    demo_key: bool = False
    mode: str = "overwrite"
    default_year: int | None = None
    shards: int = 4
    beam_args: list[str] = field(default_factory=list)


def make_run_info(policy: Policy, key: HashKey) -> RunInfo:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    run_id = now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    return RunInfo(run_id=run_id, policy_version=policy.version, policy_hash=policy.digest,
                   key_id=key.key_id, demo_key=key.demo,
                   created_at=now.isoformat().replace("+00:00", "Z"))


def run_batch(cfg: RunConfig) -> dict[str, Any]:
    """Run the batch job; returns the report (also written to <output>/_report/report.json)."""
    if cfg.mode not in MODES:
        raise OutputError(f"--mode {cfg.mode!r}: expected one of {', '.join(MODES)}")
    policy = load_policy(cfg.policy_path)
    schemas = load_source_schemas(cfg.schema_dir)
    key = load_key(cfg.key_file, cfg.demo_key)
    files = expand_inputs(cfg.inputs, cfg.fmt, cfg.table)
    out = os.path.abspath(cfg.output)
    options = PipelineOptions(cfg.beam_args)
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = "DirectRunner"
    run_info = make_run_info(policy, key)
    run_meta = {
        "run_id": run_info.run_id, "created_at": run_info.created_at,
        "policy_version": policy.version, "policy_hash": policy.digest,
        "policy_file": os.path.basename(policy.path), "key_id": key.key_id,
        "demo_key": key.demo, "runner": str(std.runner), "mode": cfg.mode,
        "output": out, "schema_dir": cfg.schema_dir,
        "tables": sorted({f.table for f in files}),
    }
    with OutputLock(out):
        prepare_output(out, cfg.mode)
        log.info("run %s: %d input file(s) -> %s (runner %s, key id %s%s)", run_info.run_id,
                 len(files), out, std.runner, key.key_id, ", DEMO KEY" if key.demo else "")
        with beam.Pipeline(options=options) as p:
            _ = p | "TelescrubBatch" >> ScrubFilesToParquet(
                files, out, policy, key, run_info, run_meta, schemas,
                default_year=cfg.default_year, shards=cfg.shards)
    with open(os.path.join(out, "_report", "report.json"), encoding="utf-8") as fh:
        report: dict[str, Any] = json.load(fh)
    return report


