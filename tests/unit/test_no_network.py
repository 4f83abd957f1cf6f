"""The tests never reach for the network: the guard refuses non-loopback connections and name
lookups, records every attempt, and a test that made one fails even when a library swallowed
the error (Beam's DirectRunner does, when its Prism download fails); pipelines built with
``TestPipeline()`` run on the FnApiRunner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from netguard import NetGuard, NetworkBlocked
from support import NETWORK_GUARD, ROOT

TEST_NET = "192.0.2.1"  # RFC 5737 TEST-NET-1: never routed


@pytest.fixture
def guard():
    g = NetGuard().install()  # on top of the session guard: it refuses first
    yield g
    g.uninstall()


def test_the_session_guard_is_installed():
    assert NETWORK_GUARD._saved, "tests/conftest.py did not install the network guard"
    assert socket.socket.connect is not NETWORK_GUARD._saved["connect"]


def test_a_non_loopback_connect_fails_and_is_recorded(guard):
    with pytest.raises(NetworkBlocked, match=r"blocked by the test guard: 192\.0\.2\.1:443"):
        socket.create_connection((TEST_NET, 443), timeout=1)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s, \
            pytest.raises(NetworkBlocked):
        s.connect_ex(("2001:db8::1", 80, 0, 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(NetworkBlocked):
        s.sendto(b"x", (TEST_NET, 53))
    assert guard.attempts == [f"{TEST_NET}:443", "2001:db8::1:80", f"{TEST_NET}:53"]


def test_a_name_lookup_fails_before_any_dns_query(guard):
    with pytest.raises(NetworkBlocked, match="github.com:443 .name lookup"):
        socket.getaddrinfo("github.com", 443)
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname("pypi.org")
    import urllib.request

    with pytest.raises(OSError):  # urllib wraps it in URLError, an OSError
        urllib.request.urlopen("https://github.com/apache/beam/releases", timeout=2)
    assert guard.attempts[0].startswith("github.com:443")
    assert len(guard.attempts) == 3


def test_loopback_and_unix_sockets_work(guard, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        accepted: list[bytes] = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                accepted.append(conn.recv(10))

        t = threading.Thread(target=serve)
        t.start()
        with socket.create_connection(("localhost", port), timeout=5) as c:
            c.sendall(b"ping")
        t.join(5)
    assert accepted == [b"ping"]
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as u:
        u.bind(path)
        u.listen()
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(path)
    assert guard.attempts == []


def test_test_pipelines_run_on_the_fnapi_runner_by_default():
    assert TestPipeline().options.view_as(StandardOptions).runner == "FnApiRunner"


SWALLOWED = '''
import socket
import apache_beam as beam


def test_swallowed_connect():
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    except OSError:
        pass  # a library that ignores the failure


def test_direct_runner_tries_to_download_prism():
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = p | beam.Create([1, 2]) | beam.Map(lambda x: x)


def test_quiet():
    assert True
'''


@pytest.mark.slow
def test_a_test_that_tried_the_network_fails_even_if_the_error_was_swallowed(tmp_path):
    """Runs three tests in a pytest of their own with this conftest as a plugin: the one that
    swallowed a refused connection and the one whose DirectRunner looked up github.com for
    Prism (and fell back) fail; the quiet one passes."""
    (tmp_path / "test_net.py").write_text(SWALLOWED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_net.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert "FAILED test_net.py::test_swallowed_connect" in out, out[-3000:]
    assert "FAILED test_net.py::test_direct_runner_tries_to_download_prism" in out, out[-3000:]
    assert "github.com:443" in out and "192.0.2.1:80" in out
    assert "1 passed" in out and "2 failed" in out, out[-3000:]
    assert Path(tmp_path / "test_net.py").exists()
