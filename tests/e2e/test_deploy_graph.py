"""The deployment check, offline (issue #13, item 5): ``telescrub run ... --dry_run=True`` with
``--runner=DataflowRunner`` builds the batch job (inputs in GCS, output in GCS) and the
streaming job (Pub/Sub in, GCS out), lets the DataflowRunner translate them — Dataflow's
overrides, the portable pipeline proto, the job description with the serialized options —
validates the options, finds no hash key in anything that would be submitted, and submits
nothing. Any network access would fail: HTTP(S) and gRPC proxies point at a closed port on
127.0.0.1 and credentials lookup is off (``--no_auth``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

pytestmark = pytest.mark.slow
pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient")
SECRET = "graph-check-" + "7e57" * 10
IMAGE = "europe-docker.pkg.dev/my-project/telescrub/telescrub:0.1.0"
DATAFLOW = ["--runner=DataflowRunner", "--project=my-project", "--region=europe-west1",
            "--temp_location=gs://my-bucket/tmp", "--staging_location=gs://my-bucket/staging",
            f"--sdk_container_image={IMAGE}", "--no_auth", "--dry_run=True"]


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESCRUB_HASH_KEY",))}
    closed = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
               grpc_proxy=closed, NO_PROXY="", no_proxy="")
    return env


def _run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "telescrub", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


def test_dataflow_batch_graph_offline(tmp_path):
    env = {**_offline_env(), "TELESCRUB_HASH_KEY": SECRET}
    job_file = tmp_path / "batch-job.json"
    proc = _run("run", str(ROOT / "sample_data"), "--output", "gs://my-bucket/out",
                "--job_name=telescrub-batch", f"--dataflow_job_file={job_file}", *DATAFLOW,
                env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dry run: batch job graph translated for DataflowRunner" in proc.stdout
    assert "no hash key in the graph; NOT submitted" in proc.stdout
    job = json.loads(job_file.read_text())
    assert job["type"] == "JOB_TYPE_BATCH"
    assert "use_runner_v2" in job["environment"]["experiments"]
    text = job_file.read_text()
    assert SECRET not in text and IMAGE in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch-job.json"]  # nothing else


def test_dataflow_streaming_graph_offline_pubsub_to_gcs(tmp_path):
    secret = tmp_path / "mounted-secret"
    secret.write_text(SECRET + "\n")
    job_file = tmp_path / "stream-job.json"
    proc = _run("run", "--streaming",
                "--input_subscription", "projects/my-project/subscriptions/telemetry-sub",
                "--output", "gs://my-bucket/stream-out", "--window", "5m",
                "--allowed-lateness", "10m", "--key-ref", f"file:{secret}",
                "--job_name=telescrub-stream", f"--dataflow_job_file={job_file}", *DATAFLOW,
                env=_offline_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dry run: streaming job graph translated" in proc.stdout and "streaming)" in proc.stdout
    job = json.loads(job_file.read_text())
    assert job["type"] == "JOB_TYPE_STREAMING"
    assert SECRET not in job_file.read_text()


def test_missing_dataflow_options_are_one_line(tmp_path):
    env = {**_offline_env(), "TELESCRUB_HASH_KEY": SECRET}
    proc = _run("run", str(ROOT / "sample_data" / "intune_billing.csv"), "--output",
                "gs://my-bucket/out", "--runner=DataflowRunner", "--region=europe-west1",
                "--no_auth", "--dry_run=True", f"--sdk_container_image={IMAGE}",
                env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("telescrub: error: Beam options:")
    assert "project" in proc.stderr and "temp_location" in proc.stderr
