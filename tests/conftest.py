"""Shared fixtures: paths, the shared corpora, a test key, a one-time CLI run on sample_data/
reused by the end-to-end tests, and the network guard.

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
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from netguard import NetGuard

# Never let a test (or a library it imports) look for cloud credentials on a metadata server:
# set before google.auth / boto3 can be imported (tests/objstore_fixtures.py, the notes on
# object stores).
for _name, _value in (("NO_GCE_CHECK", "true"), ("GCE_METADATA_HOST", "127.0.0.1:9"),
                      ("GCE_METADATA_IP", "127.0.0.1:9"), ("AWS_EC2_METADATA_DISABLED", "true"),
                      ("GOOGLE_CLOUD_PROJECT", "test")):
    os.environ.setdefault(_name, _value)

#: s3 / gcs / store fixtures: local object-store servers on loopback (tests/objstore_fixtures.py)
pytest_plugins = ["objstore_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TELESCRUB_SHARED", ROOT.parent / "shared"))
LEAKCHECK = SHARED / "tools" / "leakcheck.py"
SAMPLE = ROOT / "sample_data"
#: telescrub with test hooks (crash, stop, fault injection, network guard): tests/hooked.py
HOOKED = ROOT / "tests" / "hooked.py"
# relative to ROOT (the CLI runs there): reports record inputs as given, and an absolute
# checkout path could itself contain a truth value (a weak user name such as 'root')
SAMPLE_INPUTS = [f"sample_data/{g}" for g in ("*.jsonl", "*.jsonl.gz", "*.csv", "*.log")]
TEST_KEY = "test-key-" + "0123456789abcdef" * 3
OTHER_KEY = "other-key-" + "fedcba9876543210" * 3


#: the runner of every TestPipeline() built without options (Beam's default, the
#: DirectRunner, first tries to download Prism)
TEST_RUNNER = "FnApiRunner"
TestPipeline.pytest_test_pipeline_options = f"--runner={TEST_RUNNER}"


def telescrub(*args: str, key: str | None = TEST_KEY, check: bool = True,
              env_extra: dict[str, str] | None = None, hooks: tuple[str, ...] = (),
              ) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess (through tests/hooked.py: network blocked, plus ``hooks``,
    e.g. ``("--drop-row", "events")``)."""
    env = {k: v for k, v in os.environ.items() if k != "TELESCRUB_HASH_KEY"}
    if key is not None:
        env["TELESCRUB_HASH_KEY"] = key
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, str(HOOKED), "--block-network", *hooks, "--", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"telescrub {' '.join(args)} -> {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def leakcheck(truth: Path, outdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LEAKCHECK), str(truth), str(outdir), *extra],
                          capture_output=True, text=True, timeout=600)


def pytest_unconfigure(config: pytest.Config) -> None:
    NETWORK_GUARD.uninstall()


def pytest_configure(config: pytest.Config) -> None:
    NETWORK_GUARD.install()
    # pytest's default base temp is /tmp/pytest-of-<user>: as root that path holds 'root',
    # a weak truth value, which reports (recording their output path) would then "leak"
    if not config.option.basetemp:
        config.option.basetemp = os.path.join(tempfile.gettempdir(),
                                              f"telescrub-tests-{os.getpid()}")


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


#: installed for the whole session (module and session fixtures included)
NETWORK_GUARD = NetGuard()
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
