"""End to end: the same job on real engines gives the same dataset.

sample_data/ (plus one file whose every record is dropped by policy, so that the
``dropped_by_policy`` leg of the accounting identity is exercised) through:

* the default runner (the shared ``sample_run``),
* Beam's portable path: ``--runner=PortableRunner --job_endpoint=embed
  --environment_type=LOOPBACK``,
* the multi-process direct runner: ``--direct_num_workers 2
  --direct_running_mode=multi_processing``,
* a Dask cluster through Beam's DaskRunner: a ``dask.distributed.LocalCluster`` with 2
  worker processes over TCP (``processes=True, n_workers=2, threads_per_worker=1``).

Every run: the same rows per table (sorted row tuples, every column), no duplicate rows
(Dask may run a side-effecting step twice: files are content-named and written
temp-then-rename, so a repeat overwrites), every manifest verifies, accounting holds.

Known on Beam 2.77's DaskRunner (``apache_beam/runners/dask/transform_evaluator.py``) and
worked around in our transforms: a multi-output ``ParDo`` hands the union of all its
outputs to every tagged PCollection (``ReadInputs`` and ``Scrub`` filter each output by
type), and ``finish_bundle`` outputs are dropped (``apply_dofn_to_bundle`` collects results
before calling it): the batch path (``ScrubFiles``) emits every count from ``process``, once
per input file or range, so the report is complete on Dask too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support import SAMPLE_INPUTS, TEST_KEY, telescrub
from test_crash_safety import dataset_rows

pytestmark = pytest.mark.slow

RUNNERS = {
    "portable": ["--runner=PortableRunner", "--job_endpoint=embed",
                 "--environment_type=LOOPBACK"],
    "multiprocess": ["--direct_num_workers", "2", "--direct_running_mode=multi_processing"],
    "dask": ["--runner", "apache_beam.runners.dask.dask_runner.DaskRunner"],
}


@pytest.fixture(scope="module")
def dropped_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("dropped") / "card_checks.jsonl"
    p.write_text("".join(json.dumps({"cvv": f"{100 + i}"}) + "\n" for i in range(3)))
    return p


@pytest.fixture(scope="module")
def dask_address():
    distributed = pytest.importorskip("dask.distributed")
    # the workers resolve the hash key's reference (env:TELESCRUB_HASH_KEY) themselves: the
    # job carries only the reference, so the key must be in the workers' environment
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None,
                                       env={"TELESCRUB_HASH_KEY": TEST_KEY})
    try:
        yield cluster.scheduler_address.removeprefix("tcp://")
    finally:
        cluster.close()


def _check(out: Path, ref_rows: dict, dropped: Path) -> dict:
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"] is True
    by_src = {Path(i["source"]).name: i for i in report["inputs"]}
    card = by_src[dropped.name]
    assert (card["read"], card["dropped_by_policy"], card["written"]) == (3, 3, 0)
    rows = dataset_rows(out)  # reads, verifies manifests, no duplicate rows
    assert rows == ref_rows
    return report


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_same_dataset_on_every_runner(runner, sample_run, dropped_file, tmp_path, request):
    ref_out, _ = sample_run
    ref_rows = dataset_rows(ref_out)
    ref_report = json.loads((ref_out / "_report" / "report.json").read_text())
    args = list(RUNNERS[runner])
    if runner == "dask":
        args += ["--dask_client_address", request.getfixturevalue("dask_address")]
    out = tmp_path / runner
    started = time.monotonic()
    proc = telescrub("run", *SAMPLE_INPUTS, str(dropped_file), "--output", str(out),
                     "--default-year", "2026", *args, check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = _check(out, ref_rows, dropped_file)
    for key in ("written", "quarantined"):
        assert report["totals"][key] == ref_report["totals"][key], key
    assert report["totals"]["read"] == ref_report["totals"]["read"] + 3
    # detection counts and masked examples come from process() (per file), not
    # finish_bundle, so every runner reports them — Dask included
    assert report["detections_by_entity"] == ref_report["detections_by_entity"]
    examples = {(t, f["path"]) for t, tab in report["tables"].items() for f in tab["fields"]
                if f.get("example") and t in ref_report["tables"]}
    ref_examples = {(t, f["path"]) for t, tab in ref_report["tables"].items()
                    for f in tab["fields"] if f.get("example")}
    assert examples == ref_examples
    print(f"{runner}: {elapsed:.1f}s")  # shown with -s; the lead keeps timings in the README
