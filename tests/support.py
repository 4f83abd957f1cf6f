"""What the tests share besides fixtures: paths, the test keys, the CLI and leakcheck runners,
the session's network guard. Test modules import these from here (``from support import
...``), never from a conftest: the detector tests have their own conftest.py, and a second
module named ``conftest`` in sys.modules would shadow this one's names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from apache_beam.testing.test_pipeline import TestPipeline
from netguard import NetGuard

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


#: installed for the whole session (module and session fixtures included)
NETWORK_GUARD = NetGuard()
