"""``telescrub verify``: the clean sample output passes; a planted identifier, a file without
telescrub footer metadata, a file missing from its manifest and a broken accounting identity
each fail, naming what is wrong — and verify never prints the planted value."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telescrub.app.cli import main as cli_main
from telescrub.app.purge import purge

pytestmark = pytest.mark.slow
PLANTED = "planted.leak@contoso.com"


def _copy(sample_run, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out)
    for stale in ("verify.json",):
        (out / "_report" / stale).unlink(missing_ok=True)
    return out


def _verify(out: Path, capsys) -> tuple[int, str, dict]:
    capsys.readouterr()
    rc = cli_main(["verify", str(out)])
    stdout = capsys.readouterr().out
    result = json.loads((out / "_report" / "verify.json").read_text())
    return rc, stdout, result


def _failed(result: dict) -> set[str]:
    return {name for name, c in result["checks"].items() if not c["ok"]}


def _hashed_column(out: Path) -> tuple[Path, str, str]:
    """(file, table, column) of a string column the policy hashed, in a non-quarantine table."""
    for path in sorted(out.glob("*/event_date=*/*.parquet")):
        table = path.parts[-3]
        if table.startswith("_"):
            continue
        schema = pq.read_schema(path)
        for f in schema:
            if f.type == pa.string() and (f.metadata or {}).get(b"action") == b"hash":
                return path, table, f.name
    raise AssertionError("no hashed string column in the sample output")


def _update_manifest(path: Path) -> None:
    """Record a rewritten file's new sha256 in its partition's manifest and in the output's
    manifest (which verify trusts), as a tool that rewrites files consistently would."""
    mpath = path.parent / "_manifest.json"
    m = json.loads(mpath.read_text())
    for entry in m["files"]:
        if entry["path"] == path.name:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    mpath.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    out = path.parents[2]
    root = json.loads((out / "_manifest.json").read_text())
    root["partitions"][f"{path.parts[-3]}/{path.parts[-2]}"] = m
    (out / "_manifest.json").write_text(json.dumps(root, indent=2, sort_keys=True) + "\n")


def _rewrite_report(out: Path, report: dict) -> None:
    """Replace the committed report consistently (the pinned report, its sha256 in the
    output's manifest, the copy), as a tool rewriting it would."""
    from telescrub.store.report import replace_committed_report

    replace_committed_report(str(out), report)


def _plant(out: Path, fix_manifest: bool) -> tuple[str, str]:
    path, table, column = _hashed_column(out)
    t = pq.read_table(path, partitioning=None)
    i = t.schema.get_field_index(column)
    values = t.column(i).to_pylist()
    values[0] = f"contact {PLANTED} for access"
    t = t.set_column(i, t.schema.field(i), pa.array(values, pa.string()))
    assert t.schema.metadata and b"telescrub.key_id" in t.schema.metadata
    pq.write_table(t, path, compression="zstd")
    if fix_manifest:
        _update_manifest(path)
    return table, column


def _no_leak(out: Path, stdout: str) -> None:
    for text in (stdout, (out / "_report" / "verify.json").read_text(),
                 (out / "_report" / "index.html").read_text()):
        assert PLANTED not in text and "planted.leak" not in text


# ----------------------------------------------------------------------------------- tests


def test_clean_sample_output_passes(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 0, stdout
    assert result["ok"] and _failed(result) == set()
    assert stdout.startswith(f"verify {out}: PASSED")
    assert result["residual"]["total"] == 0 and result["residual"]["cells_scanned"] > 0
    report = json.loads((out / "_report" / "report.json").read_text())
    assert result["report_run_id"] == report["run"]["run_id"]
    assert result["files"] == sum(len(p["files"]) for p in report["partitions"])
    assert set(result["tables"]) == set(report["tables"]) | {"_quarantine"}
    # identifiers the policy keeps on purpose are listed apart, not counted as leaks
    for kept in result["kept_by_policy"]:
        assert kept["action"] in ("keep", "truncate_ip", "email_domain"), kept
    html = (out / "_report" / "index.html").read_text()
    assert "id='verification'" in html and "PASSED" in html and "not run" not in html


def test_planted_leak_fails_naming_the_field_and_the_checksum(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    table, column = _plant(out, fix_manifest=False)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1
    assert _failed(result) == {"residual", "manifests"}
    assert f"{table}.{column}" in stdout and "EMAIL_ADDRESS" in stdout
    assert any("sha256 mismatch" in p for p in result["checks"]["manifests"]["problems"])
    _no_leak(out, stdout)


def test_planted_leak_alone_fails_the_residual_check(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    table, column = _plant(out, fix_manifest=True)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1
    assert _failed(result) == {"residual"}
    fields = {(f["table"], f["field"]): f for f in result["residual"]["by_field"]}
    hit = fields[(table, column)]
    assert hit["entities"].get("EMAIL_ADDRESS") == 1 and hit["action"] == "hash"
    assert hit["examples"] and all("*" in e for e in hit["examples"])  # masked
    assert result["residual"]["total"] > result["residual"]["max_allowed"]
    html = (out / "_report" / "index.html").read_text()
    assert "FAILED" in html and column in html
    _no_leak(out, stdout)


def test_file_without_footer_metadata_fails(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    path, table, _ = _hashed_column(out)
    t = pq.read_table(path, partitioning=None)
    meta = {k: v for k, v in (t.schema.metadata or {}).items()
            if not k.startswith(b"telescrub.")}
    pq.write_table(t.replace_schema_metadata(meta), path)
    _update_manifest(path)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1 and _failed(result) == {"footer_metadata"}
    problems = result["checks"]["footer_metadata"]["problems"]
    assert any(path.name in p and "telescrub.key_id" in p and "telescrub.policy_hash" in p
               and "telescrub.retention_days" in p for p in problems), problems
    assert path.name in stdout


def test_file_deleted_behind_the_manifest_fails(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    path, table, _ = _hashed_column(out)
    path.unlink()
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1
    assert _failed(result) == {"manifests", "rows_on_disk"}
    assert any(f"missing file {path.name}" in p
               for p in result["checks"]["manifests"]["problems"])
    assert any(p.startswith(f"table {table}:") for p in result["checks"]["rows_on_disk"]
               ["problems"])
    assert "missing file" in stdout


def test_broken_accounting_identity_fails(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    rpath = out / "_report" / "report.json"
    report = json.loads(rpath.read_text())
    victim = next(i for i in report["inputs"] if i["written"] > 0)
    victim["written"] -= 1
    _rewrite_report(out, report)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1 and _failed(result) == {"accounting"}
    assert any(victim["source"] in p and "read" in p
               for p in result["checks"]["accounting"]["problems"])
    assert "accounting" in stdout and "FAILED" in stdout


def test_verify_after_purge_accounts_for_purged_rows(sample_run, tmp_path, capsys):
    out = _copy(sample_run, tmp_path)
    result = purge(str(out), dt.date(2026, 12, 21))
    assert result.deleted and result.ok
    rc, stdout, verified = _verify(out, capsys)
    assert rc == 0, stdout
    assert verified["ok"] and "rows_on_disk" not in _failed(verified)


def test_missing_output_is_one_line_error(tmp_path, capsys):
    assert cli_main(["verify", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("telescrub: error:") and err.count("\n") == 1


def _kept_columns(out: Path) -> list[tuple[Path, str, str, str]]:
    """(file, table, column, kind) of kept GUID and time stamp columns."""
    found = []
    for path in sorted(out.glob("*/event_date=*/*.parquet")):
        table = path.parts[-3]
        if table.startswith("_"):
            continue
        for f in pq.read_schema(path):
            meta = f.metadata or {}
            if f.type != pa.string() or meta.get(b"action") != b"keep":
                continue
            if meta.get(b"entity") == b"GUID":
                found.append((path, table, f.name, "guid"))
            elif meta.get(b"evidence", b"").startswith(b"role:timestamp"):
                found.append((path, table, f.name, "timestamp"))
    return found


@pytest.mark.parametrize("kind", ["guid", "timestamp"])
def test_shortcut_for_exact_values_still_catches_a_planted_leak(sample_run, tmp_path, capsys,
                                                                kind):
    """Verify skips values that are exactly the kept column's identifier or a well-formed
    time stamp (the guard's rule); anything else in those columns is still scanned."""
    out = _copy(sample_run, tmp_path)
    path, table, column, _ = next(c for c in _kept_columns(out) if c[3] == kind)
    t = pq.read_table(path, partitioning=None)
    i = t.schema.get_field_index(column)
    values = t.column(i).to_pylist()
    values[0] = f"{values[0]} {PLANTED}"
    t = t.set_column(i, t.schema.field(i), pa.array(values, pa.string()))
    pq.write_table(t, path, compression="zstd")
    _update_manifest(path)
    rc, stdout, result = _verify(out, capsys)
    assert rc == 1 and _failed(result) == {"residual"}
    fields = {(f["table"], f["field"]): f for f in result["residual"]["by_field"]}
    assert fields[(table, column)]["entities"].get("EMAIL_ADDRESS") == 1
    _no_leak(out, stdout)


def test_a_stale_report_copy_is_named_and_the_committed_report_is_used(sample_run, tmp_path,
                                                                       capsys):
    """After a kill between the commit and the copies, ``_report/report.json`` can be the
    previous run's: verify checks the report the output's manifest commits, and names the
    stale copy; the next purge (or run) rewrites it."""
    out = _copy(sample_run, tmp_path)
    path = out / "_report" / "report.json"
    stale = json.loads(path.read_text())
    stale["totals"]["read"] += 1  # as if the previous run's report were still there
    path.write_text(json.dumps(stale))
    applied = out / "_runs" / "applied.json"  # ... because the copies were not all written
    applied.write_text(json.dumps({"version": json.loads(applied.read_text())["version"] - 1}))
    rc, _stdout, result = _verify(out, capsys)
    assert rc == 1 and _failed(result) == {"manifests"}
    assert any("differs from the report the output's manifest commits" in p
               for p in result["checks"]["manifests"]["problems"])
    purge(str(out), dt.date(2000, 1, 1))  # any command that takes the lock completes it
    rc, _stdout, result = _verify(out, capsys)
    assert rc == 0, result["checks"]["manifests"]
