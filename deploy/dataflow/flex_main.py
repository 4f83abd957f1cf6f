"""Dataflow Flex Template entry point: template parameters -> ``telescrub run --detach``.

The Flex launcher calls ``python flex_main.py --name=value ...`` with the template's parameters
(deploy/dataflow/*-metadata.json) and Dataflow's own options (``--runner``, ``--project``,
``--region``, ``--temp_location``, ``--sdk_container_image``, ...). telescrub's parameters
are turned into its command line; everything else passes through to Beam. The job is
submitted detached (a Flex launcher must not wait): a batch job commits its own output in its
last step, a streaming job runs until drained.
"""

from __future__ import annotations

import sys

#: template parameter -> telescrub option (None: a flag)
OPTIONS = {
    "output": "--output", "mode": "--mode", "key_ref": "--key-ref", "policy": "--policy",
    "schema_dir": "--schema-dir", "format": "--format", "table": "--table",
    "default_year": "--default-year", "rows_per_file": "--rows-per-file",
    "split_bytes": "--split-bytes", "shards": "--shards", "window": "--window",
    "allowed_lateness": "--allowed-lateness", "input_subscription": "--input_subscription",
    "input_topic": "--input_topic",
}
FLAGS = {"streaming": "--streaming", "no_verify": "--no-verify"}


def to_cli(argv: list[str]) -> list[str]:
    """``--inputs=a,b --output=gs://... --runner=DataflowRunner`` -> ``run a b --output
    gs://... --detach --runner=DataflowRunner``."""
    own: list[str] = []
    inputs: list[str] = []
    beam: list[str] = []
    for arg in argv:
        name, sep, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if name == "inputs" and sep:
            inputs += [v.strip() for v in value.split(",") if v.strip()]
        elif name in OPTIONS and sep:
            own += [OPTIONS[name], value]
        elif name in FLAGS and sep:
            if value.strip().lower() in ("true", "1", "yes"):
                own.append(FLAGS[name])
        else:
            beam.append(arg)
    if not any(a.startswith("--runner") for a in beam):
        beam.insert(0, "--runner=DataflowRunner")  # never run locally on the launcher VM
    return ["run", *inputs, *own, "--detach", *beam]


def main(argv: list[str] | None = None) -> int:
    from telescrub.app.cli import main as cli

    return cli(to_cli(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
