"""End to end on object stores (issue #13): every command on ``s3://`` (moto's server) and
``gs://`` (the GCS emulator), as a user runs it — the CLI in a subprocess, credentials and
endpoint from the environment only, servers on 127.0.0.1.

* ``run`` reads its inputs from a bucket and writes its output to a bucket: the same rows and
  hash tokens as a local run over the same files; nothing is written locally (the old
  behaviour: a folder named ``s3:`` in the working directory).
* ``verify``, ``purge`` (then ``verify`` again), ``report`` and ``profile`` on the bucket.
* the streaming landing prefix on S3: listing, the ledger object, exactly once across a
  restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import ROOT, SAMPLE, TEST_KEY
from test_crash_safety import dataset_rows

from telescrub.store import fs
from telescrub.store.manifest import load_catalog

pytestmark = pytest.mark.slow
INPUTS = ("skype_telemetry.jsonl", "teams_chat_roster.csv", "m365_support_cases.jsonl")


def cli(*args: str, env: dict[str, str], cwd: Path = ROOT,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    from objstore_fixtures import LOOPBACK

    proc = subprocess.run([sys.executable, "-m", "telescrub", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"telescrub {' '.join(args)} -> {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr[-4000:]}")
    assert LOOPBACK  # every endpoint in env is loopback (objstore_fixtures)
    return proc


def _env(*servers) -> dict[str, str]:
    from objstore_fixtures import store_env

    return {**store_env(*servers), "TELESCRUB_HASH_KEY": TEST_KEY}


def _upload(root: str) -> list[str]:
    urls = []
    for name in INPUTS:
        url = fs.join(root, "in", name)
        fs.write(url, (SAMPLE / name).read_bytes())
        urls.append(url)
    return urls


def _by_name(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Rows with the input's location reduced to its file name (a bucket URL vs. a path)."""
    out = {}
    for table, tuples in rows.items():
        out[table] = sorted(tuple(v.rsplit("/", 1)[-1].rstrip("'") if "sample_data" in v or
                                  "://" in v else v for v in t) for t in tuples)
    return out


def local_rows(tmp_path_factory) -> dict[str, list[tuple]]:
    """The rows of a local run over the same inputs (file names instead of locations)."""
    out = tmp_path_factory.mktemp("objref") / "out"
    env = {k: v for k, v in __import__("os").environ.items() if k != "TELESCRUB_HASH_KEY"}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    cli("run", *(f"sample_data/{n}" for n in INPUTS), "--output", str(out),
        "--default-year", "2026", "--no-verify", env=env)
    return _by_name(dataset_rows(out))


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> dict[str, list[tuple]]:
    return local_rows(tmp_path_factory)


def test_s3_run_verify_purge_report(s3_server, s3, local_reference, tmp_path):
    env = _env(s3_server)
    _upload(s3)
    out = f"{s3}/out"
    started = time.monotonic()
    proc = cli("run", f"{s3}/in/*", "--output", out, "--default-year", "2026",
               env=env, cwd=tmp_path)
    took = time.monotonic() - started
    assert f"output: {out}" in proc.stdout and "verification: PASSED" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # nothing landed in the working directory
    names = {fs.relpath(e.path, out) for e in fs.list_tree(out)}
    assert {"_manifest.json", "_report/report.json", "_report/index.html",
            "_report/verify.json"} <= names
    assert not any(n.startswith(".") for n in names)  # the lock object was released
    # the same rows and tokens as a local run over the same files
    assert _by_name(dataset_rows(out)) == local_reference
    report = json.loads(fs.read_bytes(f"{out}/_report/report.json"))
    assert report["run"]["output"] == out and report["accounting_ok"]
    assert {i["source"] for i in report["inputs"]} == {f"{s3}/in/{n}" for n in INPUTS}

    proc = cli("verify", out, env=env, cwd=tmp_path)
    assert "PASSED" in proc.stdout and f"{out}/_report/verify.json" in proc.stdout
    before = load_catalog(out)
    proc = cli("purge", out, "--as-of", "2026-12-21", env=env, cwd=tmp_path)
    assert "delete" in proc.stdout and f"audit: {out}/_audit/purge.jsonl" in proc.stdout
    after = load_catalog(out)
    assert after.version == before.version + 1 and len(after.partitions) < len(before.partitions)
    audit = fs.read_jsonl(f"{out}/_audit/purge.jsonl")
    deleted = [r for r in audit if r["action"] == "delete_partition"]
    assert deleted and all(not fs.exists(f"{out}/{r['path']}/{f['path']}")
                           for r in deleted for f in r["files_before"])
    proc = cli("verify", out, env=env, cwd=tmp_path)  # purged rows are accounted for
    assert "PASSED" in proc.stdout
    assert list(tmp_path.iterdir()) == []
    proc = cli("report", out, env=env, cwd=tmp_path)
    assert proc.stdout.strip() == f"{out}/_report/index.html"
    print(f"s3 run: {took:.1f}s")


def test_gcs_output_and_profile_from_a_bucket(gcs_server, gcs, s3_server, s3, tmp_path):
    env = _env(gcs_server, s3_server)
    out = f"{gcs}/out"
    proc = cli("run", *(f"sample_data/{n}" for n in INPUTS[:2]), "--output", out,
               "--default-year", "2026", env=env)
    assert "verification: PASSED" in proc.stdout
    cat = load_catalog(out)
    assert cat.root and cat.root["mode"] == "overwrite" and cat.partitions
    # a second run into the same output: overwrite, the first run's files collected
    proc = cli("run", f"sample_data/{INPUTS[0]}", "--output", out, "--default-year", "2026",
               "--no-verify", env=env)
    tables = {rel.split("/")[0] for rel in load_catalog(out).partitions}
    assert tables == {"skype_telemetry", "_quarantine"}
    assert not any(fs.relpath(e.path, out).startswith("teams_chat_roster/")
                   for e in fs.list_tree(out))
    # profile: inputs in one bucket, proposals written to another store
    _upload(s3)
    proc = cli("profile", f"{s3}/in/skype_telemetry.jsonl", "--out-dir", f"{gcs}/schemas",
               env=env)
    assert f"{gcs}/schemas/skype_telemetry.yaml" in proc.stdout
    assert b"skype_telemetry" in fs.read_bytes(f"{gcs}/schemas/skype_telemetry.yaml")


def test_unsupported_scheme_and_credentials_on_the_command_line_are_refused(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items()}
    env["TELESCRUB_HASH_KEY"] = TEST_KEY
    proc = cli("run", "sample_data/intune_billing.csv", "--output", "abfs://c/out", env=env,
               cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "unsupported URL scheme" in proc.stderr
    proc = cli("run", "sample_data/intune_billing.csv", "--output", "s3://b/out",
               "--s3_secret_access_key=hunter2", env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "not accepted on the command line" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_streaming_landing_prefix_on_s3_exactly_once_across_restarts(s3_server, s3, tmp_path):
    env = _env(s3_server)
    landing, out = f"{s3}/landing", f"{s3}/sout"
    fs.write(f"{landing}/skype_telemetry.jsonl", (SAMPLE / "skype_telemetry.jsonl").read_bytes())
    fs.write(f"{landing}/.partial.tmp", b"ignored")  # hidden: never picked up
    cmd = ("run", "--streaming", "--watch", landing, "--output", out, "--window", "1h",
           "--allowed-lateness", "10m", "--stop-after-idle", "4", "--default-year", "2026")
    cli(*cmd, env=env, cwd=tmp_path)
    ledger = fs.read_jsonl(f"{out}/_streaming/ledger.jsonl")
    assert [e["path"] for e in ledger] == [f"{landing}/skype_telemetry.jsonl"]
    first = json.loads(fs.read_bytes(f"{out}/_report/report.json"))
    read_first = first["totals"]["read"]
    assert read_first > 0 and first["accounting_ok"]
    root = fs.read_json(f"{out}/_manifest.json")
    assert root and root["streaming"] is True and root["partitions"] is None
    # restart: one new file; the first is not processed again
    fs.write(f"{landing}/intune_billing.csv", (SAMPLE / "intune_billing.csv").read_bytes())
    cli(*cmd, env=env, cwd=tmp_path)
    ledger = fs.read_jsonl(f"{out}/_streaming/ledger.jsonl")
    assert sorted(e["path"].rsplit("/", 1)[-1] for e in ledger) == [
        "intune_billing.csv", "skype_telemetry.jsonl"]
    report = json.loads(fs.read_bytes(f"{out}/_report/report.json"))
    def skype(rep: dict) -> dict:
        return next(i for i in rep["inputs"] if i["source"].endswith("skype_telemetry.jsonl"))

    assert skype(report)["read"] == skype(first)["read"]  # counted once, not twice
    assert report["accounting_ok"] and report["totals"]["read"] > read_first
    rows = dataset_rows(out)  # windows' manifests, no duplicate row
    assert sum(len(v) for t, v in rows.items() if t != "_quarantine") == \
        report["totals"]["written"]
    proc = cli("verify", out, env=env, cwd=tmp_path)
    assert "PASSED" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_detached_run_commits_in_the_job_and_holds_the_lock_until_then(s3, monkeypatch):
    """``--detach`` (Flex Templates, schedulers): the launcher hands the lock to the job and
    returns; the job's last step commits and releases the lock; meanwhile other runs are
    refused; a commit step whose lock was taken over refuses to publish."""
    from telescrub.app.batch import run_batch
    from telescrub.app.settings import Settings
    from telescrub.core.errors import OutputError
    from telescrub.store.commit import commit_from_job
    from telescrub.store.lock import OutputLock, release_job_lock

    monkeypatch.setenv("TELESCRUB_HASH_KEY", TEST_KEY)
    out = f"{s3}/out"
    cfg = Settings(output=out, inputs=[str(SAMPLE / "intune_billing.csv")], detach=True,
                   beam_args=["--runner=FnApiRunner"], default_year=2026)
    result = run_batch(cfg)
    run_id = result["detached"]["run_id"]
    cat = load_catalog(out)
    assert cat.root and cat.root["run_id"] == run_id and cat.partitions
    assert not fs.exists(f"{out}/.telescrub.lock")  # released by the job's commit step
    assert commit_from_job(out, run_id, "overwrite", "no-such-token") == "already committed"
    # a job still running holds the lock: another run is refused, naming it
    with OutputLock(out) as lock:
        token = lock.hand_over(3600)
    doc = fs.read_json(f"{out}/.telescrub.lock")
    assert doc and "detached job" in doc["owner"]["purpose"] and doc["token"] == token
    with pytest.raises(OutputError, match="in use by another telescrub run"):
        run_batch(Settings(output=out, inputs=cfg.inputs, beam_args=cfg.beam_args))
    with pytest.raises(OutputError, match="belongs to another run"):
        commit_from_job(out, "run-x", "overwrite", "stolen")
    release_job_lock(out, token)
    assert not fs.exists(f"{out}/.telescrub.lock")


def test_a_bucket_that_cannot_be_used_is_one_clear_line(s3_server, s3, tmp_path):
    """A missing bucket, missing credentials: exit 2 and one line naming the bucket and what
    to check, never a client library's traceback or a withheld 'pipeline failed'."""
    env = _env(s3_server)
    missing = "s3://no-such-bucket-" + s3.rsplit("-", 1)[-1]
    for command in (("verify", f"{missing}/out"), ("report", f"{missing}/out"),
                    ("run", "sample_data/intune_billing.csv", "--output", f"{missing}/out")):
        proc = cli(*command, env=env, cwd=ROOT, check=False)
        assert proc.returncode == 2, (command, proc.stderr)
        line, = proc.stderr.strip().splitlines()
        assert line.startswith("telescrub: error: ") and missing in line, command
        assert "no such bucket" in line or "does not exist" in line, (command, line)
    bare = {k: v for k, v in env.items()
            if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    bare["AWS_SHARED_CREDENTIALS_FILE"] = bare["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    proc = cli("verify", f"{s3}/out", env=bare, cwd=ROOT, check=False)
    assert proc.returncode == 2
    line, = proc.stderr.strip().splitlines()
    assert line.startswith(f"telescrub: error: {s3}: no credentials for s3:// (set AWS_")
