"""telescrub: classify every field of telemetry and logs, hash or redact it per policy, and
write Parquet partitions with retention metadata — on Apache Beam, batch and streaming.

Public API (stable names; the CLI is a thin layer over these)::

    from telescrub import load_policy, load_key, Scrub, ReadInputs, WritePartitions
    from telescrub import ScrubFiles, WriteManifests, ScrubFilesToParquet, RunConfig, run_batch
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_policy": "telescrub.core.policy",
    "Policy": "telescrub.core.policy",
    "load_key": "telescrub.core.keys",
    "HashKey": "telescrub.core.keys",
    "Scrub": "telescrub.pipelines.scrub",
    "Classify": "telescrub.pipelines.classify",
    "ReadInputs": "telescrub.pipelines.read",
    "InputFile": "telescrub.pipelines.read",
    "WritePartitions": "telescrub.pipelines.write",
    "ScrubFilesToParquet": "telescrub.pipelines.assemble",
    "ScrubFiles": "telescrub.pipelines.scrub_files",
    "WriteManifests": "telescrub.pipelines.write",
    "RunConfig": "telescrub.app.batch",
    "run_batch": "telescrub.app.batch",
    "TextScrubber": "telescrub.classifiers.text",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:  # lazy: importing telescrub must not import Beam
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'telescrub' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
