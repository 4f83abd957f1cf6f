"""telescrub: classify every field of telemetry and logs, hash or redact it per policy, and
write Parquet partitions with retention metadata — on Apache Beam, batch and streaming.

Public API (stable names; the CLI is a thin layer over these)::

    from telescrub import load_policy, load_key, Scrub, FromProfile, FromSchemas
    from telescrub import ReadInputs, InputFile, WritePartitions, WriteManifests
    from telescrub import ScrubFiles, ScrubFilesToParquet, Settings, run_batch, run_streaming
    from telescrub import read_table, output_files     # read an output through its manifests
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
    "RunWide": "telescrub.pipelines.scrub",
    "PerBatch": "telescrub.pipelines.scrub",
    "Classify": "telescrub.pipelines.classify",
    "FromProfile": "telescrub.pipelines.classify",
    "FromSchemas": "telescrub.pipelines.classify",
    "ReadInputs": "telescrub.pipelines.read",
    "InputFile": "telescrub.formats.units",
    "split_inputs": "telescrub.formats.units",
    "WritePartitions": "telescrub.pipelines.write",
    "WriteManifests": "telescrub.pipelines.write",
    "ScrubFiles": "telescrub.pipelines.scrub_files",
    "ScrubFilesToParquet": "telescrub.pipelines.assemble",
    "StreamingScrubToParquet": "telescrub.pipelines.streaming",
    "Settings": "telescrub.app.settings",
    "run_batch": "telescrub.app.batch",
    "run_streaming": "telescrub.app.streaming",
    "TextScrubber": "telescrub.classifiers.text",
    "read_table": "telescrub.store.read",
    "output_files": "telescrub.store.read",
    "KeyRef": "telescrub.core.keys",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:  # lazy: importing telescrub must not import Beam
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'telescrub' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
