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
import stat
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from telescrub.classifiers.source_schema import load_source_schemas
from telescrub.errors import InputError, OutputError
from telescrub.keys import HashKey, load_key
from telescrub.outdir import (
    OutputLock,
    begin_staging,
    check_output,
    commit_output,
    discard_staging,
    recover_output,
)
from telescrub.parquet_out import RunInfo
from telescrub.pipelines.assemble import ScrubFilesToParquet
from telescrub.pipelines.read import DEFAULT_SPLIT_BYTES, InputFile, split_inputs
from telescrub.pipelines.readers import ReadLimits, detect_format, table_name_for
from telescrub.policy import Policy, load_policy, with_ner_model

log = logging.getLogger("telescrub")
MODES = ("overwrite", "append", "error-if-exists")
DEFAULT_RUNNER = "FnApiRunner"


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
        try:
            name = table_name_for(p, table)
            # sniffing opens the file: only for regular files (a FIFO would block here);
            # anything else is read by the pipeline, which reports it per file
            kind = _file_kind(p)
            f = detect_format(p, fmt) if kind == "file" or fmt != "auto" else "text"
        except ValueError as exc:
            raise InputError(str(exc)) from None
        out.append(InputFile(p, name, f))
    if not out:
        raise InputError("no input files (only directories matched)")
    return out


def _file_kind(path: str) -> str:
    try:
        return "file" if stat.S_ISREG(os.stat(path).st_mode) else "special"
    except OSError:
        return "missing"


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
    max_file_bytes: int | None = None  # decompressed bytes per input file (None: 2 GiB)
    max_line_bytes: int | None = None  # bytes per line / CSV record (None: 64 MiB)
    verify: bool = True  # re-scan the committed output (telescrub verify) and report it
    rows_per_file: int = 50_000  # rows per Parquet file = most rows a worker holds at once
    split_bytes: int | None = None  # read larger uncompressed line files in ranges (None: 64M)
    ner_model: str | None = None  # --ner-model (classifiers/ner.py); None: the policy's


def read_limits(cfg: RunConfig) -> ReadLimits:
    """The readers' caps for this run (defaults unless set)."""
    lim = ReadLimits()
    for name, value in (("max_file_bytes", cfg.max_file_bytes),
                        ("max_line_bytes", cfg.max_line_bytes)):
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1 byte")
    return ReadLimits(
        max_bytes=cfg.max_file_bytes if cfg.max_file_bytes is not None else lim.max_bytes,
        max_line_bytes=(cfg.max_line_bytes if cfg.max_line_bytes is not None
                        else lim.max_line_bytes))


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
    limits = read_limits(cfg)
    policy = with_ner_model(load_policy(cfg.policy_path), cfg.ner_model)
    schemas = load_source_schemas(cfg.schema_dir)
    key = load_key(cfg.key_file, cfg.demo_key)
    if cfg.rows_per_file < 1:
        raise InputError("--rows-per-file must be at least 1")
    files = expand_inputs(cfg.inputs, cfg.fmt, cfg.table)
    units = split_inputs(files, DEFAULT_SPLIT_BYTES if cfg.split_bytes is None
                         else cfg.split_bytes, limits.max_bytes)
    out = os.path.abspath(cfg.output)
    options = PipelineOptions(cfg.beam_args)
    std = options.view_as(StandardOptions)
    if not std.runner:
        # Beam's DirectRunner first tries Prism, which it downloads at run time; telescrub
        # must never reach for the network, so the default is the local FnApiRunner it
        # would fall back to (it honours --direct_num_workers/--direct_running_mode)
        std.runner = DEFAULT_RUNNER
    run_info = make_run_info(policy, key)
    run_meta = {
        "run_id": run_info.run_id, "created_at": run_info.created_at,
        "policy_version": policy.version, "policy_hash": policy.digest,
        "policy_file": os.path.basename(policy.path), "key_id": key.key_id,
        "demo_key": key.demo, "other_key_ids": list(key.other_key_ids),
        "runner": str(std.runner), "mode": cfg.mode,
        "read_limits": {"max_file_bytes": limits.max_bytes,
                        "max_line_bytes": limits.max_line_bytes},
        "output": cfg.output, "schema_dir": cfg.schema_dir,
        "tables": sorted({f.table for f in files}),
        **({"ner_model": policy.ner_model} if policy.ner_model else {}),
    }
    with OutputLock(out):
        for done in recover_output(out):
            log.warning("output %s: %s", out, done)
        check_output(out, cfg.mode)
        # everything is written under <out>/.staging-<run_id>/ and moved into place only
        # after the pipeline succeeded (telescrub.outdir documents the protocol)
        stage = begin_staging(out, run_info.run_id)
        log.info("run %s: %d input file(s) -> %s (runner %s, key id %s%s)", run_info.run_id,
                 len(files), out, std.runner, key.key_id, ", DEMO KEY" if key.demo else "")
        try:
            with beam.Pipeline(options=options) as p:
                _ = p | "TelescrubBatch" >> ScrubFilesToParquet(
                    units, stage, policy, key, run_info, run_meta, schemas,
                    default_year=cfg.default_year, shards=cfg.shards,
                    rows_per_file=cfg.rows_per_file, read_limits=limits)
            with open(os.path.join(stage, "_report", "report.json"), encoding="utf-8") as fh:
                report: dict[str, Any] = json.load(fh)
        except BaseException:
            discard_staging(stage)
            raise
        commit_output(out, stage, cfg.mode, run_info.run_id)
        if cfg.verify:
            # post-write verification: the output re-scanned by the detectors, metadata,
            # manifests and accounting checked; written to _report/verify.json and shown in
            # index.html (telescrub verify OUT does the same on demand)
            from telescrub.verify import run_verify

            log.info("verifying %s", out)
            result = run_verify(out, cfg.policy_path)
            report["verification"] = {
                "ok": result["ok"],
                "checks": {k: v["ok"] for k, v in result["checks"].items()}}
    return report


