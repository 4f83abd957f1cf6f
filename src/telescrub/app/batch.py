"""The public Python API behind ``telescrub run``: expand inputs, build and run the pipeline.

    from telescrub.app.batch import run_batch
    from telescrub.app.settings import Settings
    report = run_batch(Settings("out/", ["logs/*.jsonl"], demo_key=True))

Every Beam pipeline option (``--runner``, ``--direct_num_workers``, Dataflow/Flink options)
passes through ``beam_args`` unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from telescrub.app.settings import DEFAULT_RUNNER, Settings, location, new_pipeline
from telescrub.core.errors import InputError
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.policy import describe as describe_policy
from telescrub.formats.readers import detect_format, table_name_for
from telescrub.formats.units import DEFAULT_SPLIT_BYTES, InputFile, split_inputs
from telescrub.pipelines.assemble import ScrubFilesToParquet
from telescrub.store import fs
from telescrub.store.commit import (
    begin_run,
    check_output,
    commit_output,
    discard_run,
    recover_output,
)
from telescrub.store.fs import open_input
from telescrub.store.layout import staged_report_path
from telescrub.store.lock import OutputLock
from telescrub.store.parquet import RunInfo

log = logging.getLogger("telescrub")


def expand_inputs(patterns: list[str], fmt: str = "auto", table: str | None = None,
                  ) -> list[InputFile]:
    """Globs and directories (local, or ``s3://``/``gs://`` prefixes) -> sorted, de-duplicated
    input files. A pattern matching nothing is an error (a typo must not produce an empty,
    'successful' run)."""
    paths: list[str] = []
    for pat in patterns:
        if "://" in pat:
            location(pat, "input")  # an unsupported scheme is an error, not a local name
        try:
            found = fs.expand(pat)
        except fs.StoreUnavailable as exc:
            raise InputError(str(exc)) from None
        if not found:
            raise InputError(f"input {pat!r} matches no file")
        paths.extend(found)
    out: list[InputFile] = []
    seen: set[str] = set()
    for p in sorted(paths):
        if p in seen or (not fs.is_url(p) and os.path.isdir(p)):
            continue
        seen.add(p)
        try:
            name = table_name_for(p, table)
            # sniffing opens the file: only for regular files (a FIFO would block here);
            # anything else is read by the pipeline, which reports it per file
            kind = _file_kind(p)
            f = detect_format(p, fmt, open_input) if kind == "file" or fmt != "auto" \
                else "text"
        except ValueError as exc:
            raise InputError(str(exc)) from None
        out.append(InputFile(p, name, f))
    if not out:
        raise InputError("no input files (only directories matched)")
    return out


def _file_kind(path: str) -> str:
    if fs.is_url(path):
        return "file"
    try:
        return "file" if stat.S_ISREG(os.stat(path).st_mode) else "special"
    except OSError:
        return "missing"


def make_run_info(policy: Policy, key: HashKey) -> RunInfo:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    run_id = now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    return RunInfo(run_id=run_id, policy_version=policy.version, policy_hash=policy.digest,
                   key_id=key.key_id, demo_key=key.demo,
                   created_at=now.isoformat().replace("+00:00", "Z"))


@dataclass
class BatchJob:
    """A batch job, planned on the launcher: what ``run_batch`` runs and what
    :func:`build_batch_pipeline` turns into a Beam pipeline (without running it: the offline
    job-graph checks build it for Dataflow)."""

    cfg: Settings
    out: str
    mode: str
    policy: Policy
    key: HashKey
    schemas: dict[str, Any]
    files: list[InputFile]
    units: list[InputFile]
    options: PipelineOptions
    run_info: RunInfo
    run_meta: dict[str, Any]
    shards: int
    limits: Any


def plan_batch(cfg: Settings) -> BatchJob:
    """Check the settings, load policy and key, list and split the inputs."""
    mode = cfg.resolved_mode("overwrite")
    shards = cfg.resolved_shards(4)
    limits = cfg.read_limits()
    policy = cfg.load_policy()
    schemas = cfg.load_schemas()
    key = cfg.load_key()
    if cfg.rows_per_file < 1:
        raise InputError("--rows-per-file must be at least 1")
    out = cfg.output_path()
    cfg.configure_store()
    files = expand_inputs(cfg.inputs, cfg.fmt, cfg.table)
    units = split_inputs(files, DEFAULT_SPLIT_BYTES if cfg.split_bytes is None
                         else cfg.split_bytes, limits.max_bytes, open_input)
    options = PipelineOptions(cfg.beam_args)
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = DEFAULT_RUNNER  # never Prism, which Beam would download
    run_info = make_run_info(policy, key)
    run_meta = {
        "run_id": run_info.run_id, "created_at": run_info.created_at,
        "policy_version": policy.version, "policy_hash": policy.digest,
        "policy_file": os.path.basename(policy.path), "key_id": key.key_id,
        "demo_key": key.demo, "other_key_ids": list(key.other_key_ids),
        "runner": str(std.runner), "mode": mode,
        "read_limits": {"max_file_bytes": limits.max_bytes,
                        "max_line_bytes": limits.max_line_bytes,
                        **({"fallback_encoding": limits.fallback_encoding}
                           if limits.fallback_encoding else {})},
        "output": cfg.output, "schema_dir": cfg.schema_dir,
        "tables": sorted({f.table for f in files}),
        "event_time": describe_policy(policy)["event_time"],
        **({"ner_model": policy.ner_model} if policy.ner_model else {}),
    }
    return BatchJob(cfg, out, mode, policy, key, schemas, files, units, options, run_info,
                    run_meta, shards, limits)


def build_batch_pipeline(job: BatchJob, lock_token: str | None = None,
                         commit_in_job: bool = False) -> beam.Pipeline:
    """The job's Beam pipeline, constructed but not run. It carries the key's reference and
    id only (``telescrub.core.keys``): workers resolve the key in ``DoFn.setup``.
    ``commit_in_job``: a last step publishes the run once its report is staged (after every
    file and manifest) and releases the lock ``lock_token`` names (``--detach``)."""
    p = new_pipeline(job.options)
    staged = p | "TelescrubBatch" >> ScrubFilesToParquet(
        job.units, job.out, job.policy, job.key, job.run_info, job.run_meta, job.schemas,
        default_year=job.cfg.default_year, shards=job.shards,
        rows_per_file=job.cfg.rows_per_file, read_limits=job.limits)
    if commit_in_job:
        _ = staged | "Commit" >> beam.Map(
            _commit_step, job.out, job.run_info.run_id, job.mode, lock_token)
    return p


def _commit_step(_report: str, out: str, run_id: str, mode: str, token: str | None) -> str:
    from telescrub.store.commit import commit_from_job

    return commit_from_job(out, run_id, mode, token)


def run_batch(cfg: Settings) -> dict[str, Any]:
    """Run the batch job; returns the report (also written to <output>/_report/report.json).
    With ``--dry_run=True`` the job graph is only translated and checked
    (``telescrub.app.graph_check``): returns ``{"dry_run": summary}``, writes nothing."""
    job = plan_batch(cfg)
    from telescrub.app.graph_check import dry_run, is_dry_run

    if is_dry_run(job.options):
        return {"dry_run": dry_run(build_batch_pipeline(job, None, cfg.detach), job.key.key,
                                   "batch")}
    if cfg.detach:
        return _submit_detached(job)
    out, mode, key, run_info = job.out, job.mode, job.key, job.run_info
    runner = job.options.view_as(StandardOptions).runner
    with OutputLock(out) as lock:
        for done in recover_output(out):
            log.warning("output %s: %s", out, done)
        check_output(out, mode)
        begin_run(out, run_info.run_id)
        # data files are written once under their final names; manifests and the report are
        # staged in <out>/_runs/<run_id>/ and published by one write of <out>/_manifest.json
        # after the pipeline succeeded (telescrub.store.commit documents the protocol)
        log.info("run %s: %d input file(s) -> %s (runner %s, key id %s%s)", run_info.run_id,
                 len(job.files), out, runner, key.key_id, ", DEMO KEY" if key.demo else "")
        try:
            p = build_batch_pipeline(job)
            p.run().wait_until_finish()
            report: dict[str, Any] = json.loads(
                fs.read_bytes(staged_report_path(out, run_info.run_id)))
        except BaseException:
            discard_run(out, run_info.run_id)
            raise
        commit_output(out, run_info.run_id, mode, lock)
        if cfg.verify:
            # post-write verification: the output re-scanned by the detectors, metadata,
            # manifests and accounting checked; written to _report/verify.json and shown in
            # index.html (telescrub verify OUT does the same on demand)
            from telescrub.app.verify import run_verify

            log.info("verifying %s", out)
            result = run_verify(out, cfg.policy_path)
            report["verification"] = {
                "ok": result["ok"],
                "checks": {k: v["ok"] for k, v in result["checks"].items()}}
    return report


def _submit_detached(job: BatchJob) -> dict[str, Any]:
    """``--detach``: take the lock, recover and check the output, hand the lock to the job
    and submit it; the job's last step commits and releases the lock. For launchers that
    must not wait (Dataflow Flex Templates, schedulers)."""
    out, run_info = job.out, job.run_info
    with OutputLock(out) as lock:
        for done in recover_output(out):
            log.warning("output %s: %s", out, done)
        check_output(out, job.mode)
        token = lock.hand_over(job.cfg.job_lock_hours * 3600)
    try:
        result = build_batch_pipeline(job, token, commit_in_job=True).run()
    except BaseException:
        from telescrub.store.lock import release_job_lock

        release_job_lock(out, token)
        raise
    state = str(getattr(result, "state", ""))
    log.info("run %s submitted (%s); the job commits %s when it finishes and releases its "
             "lock; then run `telescrub verify %s`", run_info.run_id, state, out, out)
    return {"detached": {"run_id": run_info.run_id, "output": out, "state": state,
                         "lock_hours": job.cfg.job_lock_hours}}
