"""Tagged outputs of a multi-output ``ParDo``, made safe on every runner (the one place for
the DaskRunner workaround).

Beam 2.77's DaskRunner (``apache_beam/runners/dask/transform_evaluator.py``) hands the union
of all outputs of a multi-output ``ParDo`` to every tagged PCollection, and drops what
``finish_bundle`` emits. So every stage here (1) emits its counts from ``process``, never
from ``finish_bundle``, where a batch job may run on Dask, and (2) reads its tagged outputs
through :func:`outputs`, which filters each by element type: a no-op on the runners where
tags work, the fix where they do not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apache_beam as beam


def outputs(applied: Any, **wanted: Callable[[Any], bool]) -> dict[str, beam.PCollection]:
    """``{tag: PCollection}`` for each ``tag=predicate`` (the main output by the name given
    to ``with_outputs(main=...)``), each filtered to the elements its predicate accepts; step
    labels ``Only<Tag>``."""
    out = {}
    for tag, keep in wanted.items():
        pcoll = applied[tag]
        label = "Only" + "".join(p.capitalize() for p in tag.split("_"))
        out[tag] = pcoll | label >> beam.Filter(keep)
    return out
