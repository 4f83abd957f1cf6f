"""``telescrub profile INPUT... --out-dir DIR``: propose reviewed source schemas.

Runs the read and classify stages only (no output data is written) and writes one
``<table>.yaml`` per table in the source-schema format (classifiers/source_schema.py), each
field with the category, entity and action the classifier chose and, as comments, the
evidence and confidence — for a compliance reviewer to check, edit and commit to
``schemas/sources/``. Nothing from the data itself is written: no example values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from typing import Any

import yaml

from telescrub.core.errors import OutputError

# Beam, Presidio and the pipeline modules are imported inside the functions: the CLI imports
# this module to build its parser, and `telescrub --help` must not pay their start-up cost.


def schema_yaml(td: Any, reviewer: str = "PENDING REVIEW") -> str:
    """The proposed schema as YAML text, evidence as comments (stable order)."""
    lines = [
        f"# Proposed by `telescrub profile` on {dt.date.today().isoformat()} from "
        f"{td.records} records.",
        "# Review every field, fix what is wrong, set reviewed_by, then commit this file to",
        "# schemas/sources/ (or your --schema-dir). Evidence is shown after each field.",
        f"table: {td.table}",
        f"reviewed_by: {reviewer!r}",
        "fields:",
    ]
    for path, d in sorted(td.fields.items()):
        spec: dict[str, Any] = {"category": d.category}
        if d.entity:
            spec["entity"] = d.entity
        if d.free_text:
            spec["free_text"] = True
        if d.action in ("drop", "redact", "keep", "truncate_ip", "email_domain", "mask"):
            spec["action"] = d.action
        flow = yaml.safe_dump(spec, default_flow_style=True, sort_keys=False).strip()
        key = yaml.safe_dump(path, default_style=None).strip().removesuffix("\n...")
        note = f"{d.evidence}; confidence {d.confidence}"
        if d.drift:
            note += "; NO RULE KNOWS THIS FIELD: decide its category"
        lines.append(f"  {key}: {flow}  # {note}")
    return "\n".join(lines) + "\n"


def _write_schema(out_dir: str, kv: tuple[str, Any]) -> str:
    from telescrub.store import fs
    from telescrub.store.layout import validate_table

    table, td = kv
    path = fs.join(out_dir, f"{validate_table(table)}.yaml")
    fs.write(path, schema_yaml(td))  # whole, on a disk or in a bucket
    return path


def profile(inputs: list[str], out_dir: str, policy_path: str | None = None,
            schema_dir: str | None = None, fmt: str = "auto", table: str | None = None,
            beam_args: list[str] | None = None) -> list[str]:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from telescrub.app.batch import expand_inputs
    from telescrub.app.settings import DEFAULT_RUNNER, Settings, location
    from telescrub.classifiers.source_schema import load_source_schemas
    from telescrub.core.policy import load_policy
    from telescrub.pipelines.classify import Classify
    from telescrub.pipelines.read import ReadInputs
    from telescrub.store import fs

    out_dir = location(out_dir, "--out-dir")
    Settings(output=out_dir, beam_args=list(beam_args or [])).configure_store()
    policy = load_policy(policy_path)
    schemas = load_source_schemas(schema_dir)
    files = expand_inputs(inputs, fmt, table)
    if not fs.is_url(out_dir):
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    options = PipelineOptions(beam_args or [])
    std = options.view_as(StandardOptions)
    if not std.runner:
        # as in run: Beam's DirectRunner first tries to download Prism; telescrub never
        # reaches for the network (tests/e2e/test_profile.py runs with it blocked)
        std.runner = DEFAULT_RUNNER
    with beam.Pipeline(options=options) as p:
        read = p | "ListInputs" >> beam.Create(files) | "Read" >> ReadInputs()
        _ = (read.records | "Classify" >> Classify(policy, schemas)
             | "WriteSchemas" >> beam.Map(lambda kv: _write_schema(out_dir, kv)))
    return sorted(fs.join(out_dir, f"{f.table}.yaml") for f in files)


def _cmd(args: argparse.Namespace, beam_args: list[str]) -> int:
    written = profile(args.inputs, args.out_dir, args.policy, args.schema_dir, args.format,
                      args.table, beam_args)
    from telescrub.store import fs

    for path in sorted(set(written)):
        if fs.exists(path):
            print(path)
    print("review these files, then pass their directory as --schema-dir to telescrub run")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("profile", help="propose reviewed source schemas from sample inputs")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--out-dir", required=True, help="where to write <table>.yaml proposals "
                   "(a directory, s3://... or gs://...)")
    p.add_argument("--policy")
    p.add_argument("--schema-dir", help="existing reviewed schemas (kept as evidence)")
    p.add_argument("--format", default="auto", choices=["auto", "jsonl", "csv", "text"])
    p.add_argument("--table")
    p.set_defaults(func=_cmd)
