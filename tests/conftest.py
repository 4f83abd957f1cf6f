"""Shared fixtures: the shared corpora, a one-time CLI run on sample_data/ reused by the
end-to-end tests, and the network guard (the names tests import live in tests/support.py).

No test reaches for the network: every test runs with non-loopback sockets and name lookups
refused (``tests/netguard.py``), and a test during which anything *tried* fails, even when
the library swallowed the error (Beam's DirectRunner silently falls back when its Prism
download fails). CLI runs (:func:`telescrub`) go through ``tests/hooked.py --block-network``,
which exits 97 after such an attempt. Pipelines the tests build name their runner:
``TestPipeline()`` gets ``--runner=FnApiRunner`` for the session (:data:`TEST_RUNNER`); the
TestStream tests name ``BundleBasedDirectRunner``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import LEAKCHECK, NETWORK_GUARD, SAMPLE_INPUTS, SHARED, telescrub

# Never let a test (or a library it imports) look for cloud credentials on a metadata server:
# set before google.auth / boto3 are imported (tests/objstore_fixtures.py, the notes on
# object stores).
for _name, _value in (("NO_GCE_CHECK", "true"), ("GCE_METADATA_HOST", "127.0.0.1:9"),
                      ("GCE_METADATA_IP", "127.0.0.1:9"), ("AWS_EC2_METADATA_DISABLED", "true"),
                      ("GOOGLE_CLOUD_PROJECT", "test")):
    os.environ.setdefault(_name, _value)

#: s3 / gcs / store fixtures: local object-store servers on loopback (tests/objstore_fixtures.py)
pytest_plugins = ["objstore_fixtures"]


_OWN_BASETEMP = pytest.StashKey[bool]()


def pytest_unconfigure(config: pytest.Config) -> None:
    NETWORK_GUARD.uninstall()


def pytest_configure(config: pytest.Config) -> None:
    NETWORK_GUARD.install()
    # pytest's default base temp is /tmp/pytest-of-<user>: as root that path holds 'root',
    # a weak truth value, which reports (recording their output path) would then "leak"
    if not config.option.basetemp:
        config.option.basetemp = os.path.join(tempfile.gettempdir(),
                                              f"telescrub-tests-{os.getpid()}")
        config.stash[_OWN_BASETEMP] = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The base temp chosen above is ours to remove (pytest prunes only its default one):
    after a passing run, so that repeated runs do not fill /tmp; kept after a failure."""
    config = session.config
    if exitstatus == 0 and config.stash.get(_OWN_BASETEMP, False) \
            and not hasattr(config, "workerinput"):  # the xdist controller, or a plain run
        shutil.rmtree(config.option.basetemp, ignore_errors=True)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not LEAKCHECK.exists():
        pytest.skip(f"shared material not found at {SHARED} (set TELESCRUB_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One CLI run over sample_data/ with the test key (shared by e2e tests)."""
    out = tmp_path_factory.mktemp("sample") / "out"
    proc = telescrub("run", *SAMPLE_INPUTS, "--output", str(out), "--default-year", "2026")
    return out, proc


_attempts_seen = 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A test phase (setup with its fixtures, call, teardown) during which anything tried to
    reach the network fails, also when a library caught the error and carried on."""
    global _attempts_seen
    outcome = yield
    report = outcome.get_result()
    new = NETWORK_GUARD.attempts[_attempts_seen:]
    _attempts_seen = len(NETWORK_GUARD.attempts)
    if new:
        report.outcome = "failed"
        report.longrepr = ("the test tried to reach the network (blocked by tests/netguard.py): "
                           + ", ".join(sorted(set(new))))
