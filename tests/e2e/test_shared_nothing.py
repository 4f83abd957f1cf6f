"""A batch run on a cluster that shares no disk (issue #13, item 4).

A ``dask.distributed`` scheduler and two workers, started as separate processes (the
``dask scheduler`` / ``dask worker`` command lines) on 127.0.0.1, each in its own empty working
directory; the launcher runs in a third. Inputs are uploaded to S3 (moto's server) first; the
run reads them from the bucket and writes its output there through Beam's DaskRunner
(``--dask_client_address``). No process has a path the others can see: the only thing they
share is the bucket (and the installed package). The workers get the hash key's *reference*
in the job and resolve it themselves from their own environment.

Checked: the same rows and hash tokens as a local run; ``verify`` and ``purge`` against the
bucket; a run killed mid-way, then re-run, leaves no unreadable or duplicated data visible
through the manifests and no file the manifests do not list; no process wrote anything into
its working directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import TEST_KEY
from test_crash_safety import dataset_rows
from test_object_stores import _by_name, _upload, cli, local_rows

from telescrub.store import fs
from telescrub.store.manifest import load_catalog

pytestmark = pytest.mark.slow
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
BULK_ROWS = 3000


def _bulk(n: int) -> bytes:
    """A made-up table big enough that its files keep coming for a while."""
    import json

    return "".join(json.dumps({"timestamp": f"2026-11-{20 + i % 5}T10:{i % 60:02d}:00Z",
                               "level": "info", "seq": i, "status": 200 + i % 3,
                               "message": f"request {i} served"}) + "\n"
                   for i in range(n)).encode()


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def cluster(s3_server, tmp_path_factory):
    """Scheduler and two workers, separate processes, separate empty directories."""
    pytest.importorskip("distributed")
    from objstore_fixtures import LOOPBACK, free_port, store_env

    bin_dir = Path(sys.executable).parent
    port = free_port()
    env = {**store_env(s3_server), "TELESCRUB_HASH_KEY": TEST_KEY,
           "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    dirs = {name: tmp_path_factory.mktemp(name) for name in ("scheduler", "worker1",
                                                             "worker2")}
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        log = open(dirs["scheduler"].parent / "scheduler.log", "wb")  # noqa: SIM115
        logs.append(log)
        procs.append(subprocess.Popen(
            [str(bin_dir / "dask"), "scheduler", "--host", LOOPBACK, "--port", str(port),
             "--no-dashboard"], cwd=dirs["scheduler"], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        address = f"{LOOPBACK}:{port}"
        for name in ("worker1", "worker2"):
            scratch = tmp_path_factory.mktemp(f"{name}-scratch")
            log = open(dirs[name].parent / f"{name}.log", "wb")  # noqa: SIM115
            logs.append(log)
            procs.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", f"tcp://{address}", "--host", LOOPBACK,
                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--local-directory", str(scratch), "--name", name],
                cwd=dirs[name], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout=5) as c:
                    if len(c.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dask cluster did not come up"
            time.sleep(0.5)
        yield address, dirs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> dict[str, list[tuple]]:
    return local_rows(tmp_path_factory)


#: evaluated on each dask worker: did it load the scrubbing step, which key references did it
#: resolve (the references, never a key)?
WORKER_STATE = ('{"scrubbed": "telescrub.pipelines.scrub_files" in __import__("sys").modules, '
                '"keys": sorted(getattr(__import__("sys").modules.get("telescrub.core.keys"), '
                '"_cache", {}))}')


def _launcher_env(s3_server) -> dict[str, str]:
    from objstore_fixtures import store_env

    return {**store_env(s3_server), "TELESCRUB_HASH_KEY": TEST_KEY}


def test_dask_cluster_run_shares_no_disk(cluster, s3_server, s3, local_reference,
                                         tmp_path):
    address, dirs = cluster
    env = _launcher_env(s3_server)
    _upload(s3)
    out = f"{s3}/out"
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    args = ("run", f"{s3}/in/*", "--output", out, "--default-year", "2026",
            "--runner", DASK_RUNNER, "--dask_client_address", address)
    started = time.monotonic()
    proc = cli(*args, env=env, cwd=launcher)
    took = time.monotonic() - started
    assert "verification: PASSED" in proc.stdout
    assert _by_name(dataset_rows(out)) == local_reference  # same rows, same tokens
    print(f"dask cluster run (3 inputs, 2 workers): {took:.1f}s")
    # the workers ran the scrubbing and resolved the key's reference themselves
    from distributed import Client

    with Client(address, timeout=10) as client:
        seen = client.run(eval, WORKER_STATE)  # an expression: workers cannot import tests
    assert any(w["scrubbed"] for w in seen.values()), seen
    assert all(w["keys"] in ([], ["env:TELESCRUB_HASH_KEY"]) for w in seen.values()), seen
    assert any(w["keys"] == ["env:TELESCRUB_HASH_KEY"] for w in seen.values()), seen

    # a run killed mid-way, then a re-run: a bigger input of a new table is added, and the
    # launcher is killed as soon as that table's first file is in the bucket (files written,
    # nothing committed)
    fs.write(f"{s3}/in/bulk_events.jsonl", _bulk(BULK_ROWS))
    before = load_catalog(out)
    args = (*args, "--rows-per-file", "250")
    killed = subprocess.Popen([sys.executable, "-m", "telescrub", *args, "--no-verify"],
                              cwd=launcher, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not fs.list_tree(f"{out}/bulk_events"):
        assert killed.poll() is None and time.monotonic() < deadline, "no file was written"
        time.sleep(0.1)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    after_kill = load_catalog(out)
    assert after_kill.version == before.version  # not committed: the previous output, whole
    assert _by_name(dataset_rows(out)) == local_reference
    assert "bulk_events" not in {rel.split("/")[0] for rel in after_kill.partitions}
    # verify trusts the manifests: it passes, and names the killed run's files as garbage
    proc = cli("verify", out, env=env, cwd=launcher)
    assert "PASSED" in proc.stdout and "listed by no manifest" in proc.stdout
    garbage = json.loads(fs.read_bytes(f"{out}/_report/verify.json"))["garbage"]
    assert garbage and any(g.startswith("bulk_events/") for g in garbage)
    proc = cli(*args, env=env, cwd=launcher)  # takes over the dead launcher's lock
    assert "verification: PASSED" in proc.stdout
    rows = _by_name(dataset_rows(out))  # reads through the manifests, no duplicate row
    assert len(rows.pop("bulk_events")) == BULK_ROWS
    assert rows == local_reference
    cat = load_catalog(out)
    listed = set(cat.referenced())
    stray = [e.path for e in fs.list_tree(out) if e.path.endswith(".parquet")
             and e.path not in listed]
    assert stray == []

    proc = cli("verify", out, env=env, cwd=launcher)
    assert "PASSED" in proc.stdout
    proc = cli("purge", out, "--as-of", "2026-12-21", env=env, cwd=launcher)
    assert "deleted" in proc.stdout
    assert "PASSED" in cli("verify", out, env=env, cwd=launcher).stdout
    # nobody wrote into its working directory: the bucket is the only shared place
    for d in (launcher, *dirs.values()):
        assert _files(d) == [], (d, _files(d))
