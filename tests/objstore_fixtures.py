"""Local object stores for tests: moto's S3 server and the GCS emulator, on 127.0.0.1, on a free
port, started once per session and stopped by PID at teardown.

Import the fixtures into a test module (``from objstore_fixtures import s3, gcs, store``).
Each test gets a fresh bucket; the environment variables that point boto3 and
google-cloud-storage at the servers are set for the test only (and given to subprocesses
through :func:`store_env`). Nothing here reaches a non-loopback host: the servers bind to
127.0.0.1, the clients are pointed there, and the cloud metadata lookups are disabled
(``tests/conftest.py`` sets those variables before google.auth can be imported).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@dataclass
class Server:
    kind: str
    endpoint: str
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Server]:
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", LOOPBACK, "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc)
        endpoint = f"http://{LOOPBACK}:{port}"
        yield Server("s3", endpoint, {
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[Server]:
    pytest.importorskip("google.cloud.storage")
    pytest.importorskip("gcp_storage_emulator")
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "objstore" / "gcs_emulator.py"),
                             "start", "-H", LOOPBACK, "--port", str(port), "--in-memory",
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc)
        endpoint = f"http://{LOOPBACK}:{port}"
        yield Server("gs", endpoint, {"STORAGE_EMULATOR_HOST": endpoint,
                                      "GOOGLE_CLOUD_PROJECT": "test"})
    finally:
        _stop(proc)


def _use(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from telescrub.store import fs

    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    fs.configure()  # drop clients made for another server


def _bucket() -> str:
    return "t-" + uuid.uuid4().hex[:20]


@pytest.fixture
def s3(s3_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on the S3 server: ``s3://<bucket>``."""
    _use(s3_server, monkeypatch)
    import boto3

    name = _bucket()
    boto3.session.Session().client("s3", endpoint_url=s3_server.endpoint).create_bucket(
        Bucket=name)
    yield f"s3://{name}"
    from telescrub.store import fs

    fs.configure()


@pytest.fixture
def gcs(gcs_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on the GCS emulator: ``gs://<bucket>``."""
    _use(gcs_server, monkeypatch)
    from google.cloud import storage

    name = _bucket()
    storage.Client(project="test").create_bucket(name)
    yield f"gs://{name}"
    from telescrub.store import fs

    fs.configure()


@pytest.fixture(params=["local", "s3", "gs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The root of an empty location on each store: a local directory, an S3 and a GCS
    bucket."""
    if request.param == "local":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("s3" if request.param == "s3" else "gcs"))


def store_env(*servers: Server) -> dict[str, str]:
    """The environment for a subprocess that uses these servers (and nothing else)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "STORAGE_EMULATOR", "TELESCRUB_HASH_KEY"))}
    for s in servers:
        env.update(s.env)
    return env
