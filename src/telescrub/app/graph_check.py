"""Check a job's graph offline, before submitting it: ``telescrub run ... --dry_run=True``.

With ``--dry_run=True`` (Beam's own test option) ``telescrub run`` builds the batch or
streaming pipeline, lets the runner translate it — for ``DataflowRunner``: the Dataflow
overrides, the portable pipeline proto, the job description and its environment with the
serialized pipeline options, exactly what would be staged and submitted — and then stops: no
job is submitted, no output is written, nothing is staged. It needs no network and no
credentials (add ``--no_auth`` so Beam does not look for them; ``--sdk_location=container``
or ``--sdk_container_image`` so it does not fetch an SDK).

It then checks what a deployment must never carry: the hash key, in any encoding Beam uses for
a pickled function (raw, hex, base64, bz2/zlib inside base64), anywhere in the pipeline proto,
the job description or the options. ``--dataflow_job_file=PATH`` also writes the job
description there (Beam's option of the same name), for review.
"""

from __future__ import annotations

import base64
import bz2
import json
import logging
import zlib
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("telescrub")

__all__ = ["is_dry_run", "key_in", "job_blobs", "dry_run"]


def is_dry_run(options: Any) -> bool:
    from apache_beam.options.pipeline_options import TestOptions

    return str(options.view_as(TestOptions).dry_run).lower() in ("true", "1", "yes")


def decoded_blobs(blob: bytes) -> list[bytes]:
    """The blob, and what Beam's pickler makes of a pickle: base64 of bz2 (cloudpickle,
    dill) or zlib-compressed bytes."""
    out = [blob]
    try:
        raw = base64.b64decode(blob, validate=True)
    except Exception:  # noqa: BLE001 - not base64
        raw = blob
    out.append(raw)
    for unpack in (bz2.decompress, zlib.decompress):
        try:
            out.append(unpack(raw))
        except Exception:  # noqa: BLE001 - not compressed that way
            continue
    return out


def _payloads(proto: Any) -> Iterable[bytes]:
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2 as rapi

    for t in proto.components.transforms.values():
        spec = t.spec
        if spec.urn == common_urns.primitives.PAR_DO.urn:
            yield rapi.ParDoPayload.FromString(spec.payload).do_fn.payload
        elif spec.urn == common_urns.composites.COMBINE_PER_KEY.urn:
            yield rapi.CombinePayload.FromString(spec.payload).combine_fn.payload
        yield spec.payload
    for c in proto.components.coders.values():
        yield c.spec.payload
    for env in proto.components.environments.values():
        yield env.payload


def key_in(secret: bytes, blobs: Iterable[bytes]) -> bool:
    """Whether ``secret`` appears in any of the blobs, raw, as hex or base64, or inside a
    pickled function as Beam encodes them."""
    needles = (secret, secret.hex().encode(), base64.b64encode(secret))
    for blob in blobs:
        for piece in decoded_blobs(blob):
            if any(n in piece for n in needles):
                return True
    return False


def job_blobs(result: Any, pipeline_proto: Any) -> tuple[dict[str, Any], list[bytes]]:
    """The Dataflow job description (with its environment: the serialized options) of a dry
    run's result, and every blob a deployment would carry."""
    blobs = [pipeline_proto.SerializeToString(), *_payloads(pipeline_proto)]
    job = getattr(result, "job", None)
    description: dict[str, Any] = {}
    if job is not None:
        from apache_beam.runners.dataflow.internal import apiclient

        env = apiclient.Environment(
            packages=[], options=job.options, environment_version="8",
            proto_pipeline_staged_url=f"{job.google_cloud_options.staging_location}/"
                                      "pipeline.pb",
            proto_pipeline=job.proto_pipeline)
        job.proto.environment = env.proto
        text = job.json()
        description = json.loads(text)
        blobs.append(text.encode())
        blobs.append(json.dumps(job.options.get_all_options(drop_default=True),
                                default=str).encode())
    return description, blobs


def dry_run(pipeline: Any, secret: bytes, mode: str) -> dict[str, Any]:
    """Translate ``pipeline`` with its runner (which must not submit: ``--dry_run=True``),
    check that no key is in what would be submitted, and return a summary."""
    from apache_beam.options.pipeline_options import DebugOptions, StandardOptions

    from telescrub.core.errors import TelescrubError

    options = pipeline.options
    proto = pipeline.to_runner_api()
    result = pipeline.run()
    runner_proto = getattr(getattr(result, "job", None), "proto_pipeline", None) or proto
    description, blobs = job_blobs(result, runner_proto)
    if key_in(secret, [proto.SerializeToString(), *_payloads(proto), *blobs]):
        raise TelescrubError("the job graph holds the hash key; refusing to go on (give the key "
                             "as a reference: --key-ref, --key-file or TELESCRUB_HASH_KEY)")
    summary = {
        "mode": mode,
        "runner": str(options.view_as(StandardOptions).runner),
        "transforms": len(runner_proto.components.transforms),
        "streaming": bool(options.view_as(StandardOptions).streaming),
        "environments": sorted(
            env.urn for env in runner_proto.components.environments.values()),
        "job_type": description.get("type"),
        "key_in_graph": False,
        "submitted": False,
    }
    path = options.view_as(DebugOptions).dataflow_job_file
    if path and description:
        from telescrub.store import fs

        fs.write(path, json.dumps(description, indent=2, sort_keys=True) + "\n")
        summary["job_file"] = path
    log.info("dry run: %s job graph translated for %s (%d transforms), no key in it; not "
             "submitted", mode, summary["runner"], summary["transforms"])
    return summary
