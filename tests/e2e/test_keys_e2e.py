"""End to end: hash keys. A rotation key file (several keys, one primary marked ``*``): the
primary hashes, its id is in every file footer, every manifest and the report, the other ids
are recorded in the report; no key material (raw, hex, base64) appears anywhere in the output,
the report or the logs — even at ``-vv`` — nor in the error for a bad key."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support import SAMPLE, telescrub

from telescrub.core.keys import key_id_for

pytestmark = pytest.mark.slow
OLD = "old-key-" + "a1b2c3d4e5f60718" * 3
PRIMARY = "primary-key-" + "0f1e2d3c4b5a6978" * 3
SPARE = "spare-key-" + "99aa88bb77cc66dd" * 3
TOKEN = re.compile(r"h1:([0-9a-f]{8}):[0-9a-f]{32}")


def key_forms(key: str) -> list[bytes]:
    raw = key.encode()
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
             base64.urlsafe_b64encode(raw), base64.b64encode(raw).rstrip(b"="),
             base64.b32encode(raw)}
    # a key that is itself hex: also its decoded bytes (and their base64)
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", key):
        forms |= {bytes.fromhex(key), base64.b64encode(bytes.fromhex(key))}
    # 16-byte windows catch a truncated or partial copy too
    forms |= {raw[i:i + 16] for i in range(0, len(raw) - 16, 8)}
    return sorted(forms)


def parquet_texts(path: Path) -> list[bytes]:
    """Decoded content of a Parquet file: footer and field metadata and every string cell
    (the bytes on disk are zstd-compressed, so a grep of them alone would prove nothing)."""
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    out = [k + b"=" + v for k, v in (schema.metadata or {}).items()]
    for f in schema:
        out += [k + b"=" + v for k, v in (f.metadata or {}).items()]
    table = pf.read()
    for col in table.columns:
        out += [str(v).encode() for v in col.to_pylist() if v is not None]
    return out


def find_key_material(root: Path | None, texts: list[str], keys: list[str]) -> list[str]:
    hits = []
    forms = {k: key_forms(k) for k in keys}
    blobs: list[tuple[str, bytes]] = [(f"text#{i}", t.encode()) for i, t in enumerate(texts)]
    for p in root.rglob("*") if root is not None else []:
        if p.is_file():
            blobs.append((str(p), p.read_bytes()))
            if p.suffix == ".parquet":
                blobs += [(f"{p} (decoded)", b) for b in parquet_texts(p)]
    for where, blob in blobs:
        for key, fs in forms.items():
            hits += [f"{key[:6]}... in {where}" for f in fs if f in blob]
    return hits


@pytest.fixture(scope="module")
def rotation_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    key_file = d / "keys.txt"
    key_file.write_text(f"# rotation: the starred key hashes\nold={OLD}\n*current={PRIMARY}\n"
                        f"{SPARE}\n")
    out = d / "out"
    proc = telescrub("-vv", "run", str(SAMPLE / "teams_chat_roster.csv"),
                     str(SAMPLE / "intune_billing.csv"), "--output", str(out),
                     "--key-file", str(key_file), key=None)
    return out, proc


def test_primary_key_id_everywhere_and_rotation_recorded(rotation_run):
    out, proc = rotation_run
    pid = key_id_for(PRIMARY.encode())
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["run"]["key_id"] == pid and report["run"]["demo_key"] is False
    assert report["run"]["other_key_ids"] == [key_id_for(OLD.encode()),
                                              key_id_for(SPARE.encode())]
    files = [p for p in out.rglob("*.parquet") if not p.name.startswith(".")]
    assert files
    for f in files:
        meta = pq.read_schema(f).metadata
        assert meta[b"telescrub.key_id"].decode() == pid, f
        assert meta[b"telescrub.demo_key"] == b"false"
    for m in out.rglob("_manifest.json"):
        assert json.loads(m.read_text())["key_id"] == pid, m
    tokens = {t for f in files for b in parquet_texts(f) for t in TOKEN.findall(b.decode())}
    assert tokens == {pid}  # every hash token was made with the primary key
    assert f"key id {pid}" in proc.stderr


def test_no_key_material_in_output_report_or_logs(rotation_run, sample_run):
    out, proc = rotation_run
    assert find_key_material(out, [proc.stdout, proc.stderr], [OLD, PRIMARY, SPARE]) == []
    from support import TEST_KEY

    sample_out, sample_proc = sample_run  # the key from the environment
    assert find_key_material(sample_out, [sample_proc.stdout, sample_proc.stderr],
                             [TEST_KEY]) == []


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run telescrub.app.cli.main in-process (fast for runs that stop before the pipeline);
    returns (status, stdout, stderr). Logging configuration is restored afterwards."""
    from telescrub.app import cli as cli_mod

    names = ["", "telescrub", *cli_mod.THIRD_PARTY_LOGGERS]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}

    def run(*args: str, key: str | None) -> tuple[int, str, str]:
        monkeypatch.delenv("TELESCRUB_HASH_KEY", raising=False)
        if key is not None:
            monkeypatch.setenv("TELESCRUB_HASH_KEY", key)
        status = cli_mod.main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield run
    for n, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


def test_bad_keys_fail_clearly_without_echoing_them(tmp_path, cli):
    short = "tooshort-secret-value"
    status, out, err = cli("run", str(SAMPLE / "intune_billing.csv"), "--output",
                           str(tmp_path / "o1"), key=short)
    assert status == 2, (out, err)
    assert "at least 32 are required" in err and short not in out + err, (out, err)
    assert not (tmp_path / "o1").exists()
    two = tmp_path / "two.txt"
    two.write_text(f"*{PRIMARY}\n*{SPARE}\n")
    status, out, err = cli("run", str(SAMPLE / "intune_billing.csv"), "--output",
                           str(tmp_path / "o2"), "--key-file", str(two), key=None)
    assert status == 2 and "more than one primary" in err, (out, err)
    assert find_key_material(None, [out, err], [PRIMARY, SPARE]) == []
    assert not (tmp_path / "o2").exists()
    status, out, err = cli("run", str(SAMPLE / "intune_billing.csv"), "--output",
                           str(tmp_path / "o3"), key=None)
    assert status == 2 and "no hash key" in err, (out, err)
