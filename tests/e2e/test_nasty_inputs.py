"""End to end: a corpus of hostile input files, generated here, through the CLI in one run.

Every nasty file ends in quarantine (with a reason, its file and line, a detail that holds no
data) or in a clear per-file error, while the well-formed files next to it are processed; the
job never crashes and the accounting identity holds per input file.

Unreadable inputs: the tests run as root, and root reads a ``chmod 000`` file anyway, so the
corpus uses what even root cannot read: a dangling symlink (``open`` fails with ENOENT — the
same code path as a file deleted between listing and reading, which cannot be timed reliably
from outside the process), a symlink loop (ELOOP) and a FIFO (opening it would block forever;
the reader refuses non-regular files without opening them).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import time
import zlib
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from support import telescrub

from telescrub.store.layout import hive_partitioning
from telescrub.store.manifest import verify_manifest

pytestmark = pytest.mark.slow

#: planted in bad lines: must never reach a log, the report or a quarantine detail verbatim
CANARY_EMAIL = "canary.leak@example.org"
CANARY_IP = "203.0.113.77"
TS = "2026-11-20T10:00:00Z"
MAX_LINE = 1 << 20  # --max-line-bytes for this run
MAX_FILE = 8 << 20  # --max-file-bytes for this run


def _good(n: int, table_hint: str = "") -> bytes:
    return b"".join(json.dumps({"ts": TS, "level": "info", "seq": i, "component": table_hint
                                or "svc"}).encode() + b"\n" for i in range(n))


def _gzip_stream(path: Path, piece: bytes, total: int) -> None:
    """A gzip file of *total* decompressed bytes of *piece*, written without holding it."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    with open(path, "wb") as fh:
        block = piece * max(1, (1 << 20) // len(piece))
        done = 0
        while done < total:
            fh.write(comp.compress(block))
            done += len(block)
        fh.write(comp.flush())


def build_corpus(root: Path) -> dict[str, str]:
    """Write the nasty corpus under *root*; returns {file name: what it exercises}."""
    rnd = random.Random(20261125)
    c = root
    files: dict[str, str] = {}

    def put(name: str, data: bytes, what: str) -> None:
        (c / name).write_bytes(data)
        files[name] = what

    put("control.jsonl", _good(50), "well-formed control file")
    put("random_bytes.bin", rnd.randbytes(64 * 1024), "random bytes: one unreadable record")
    put("invalid_utf8.jsonl", _good(3) + b'{"email": "' + CANARY_EMAIL.encode()
        + b'", "bad": "\xff\xfe\xc3\x28"}\n' + b'\xed\xa0\x80{"x": 1}\n' + _good(2),
        "invalid UTF-8 (lone continuation bytes, encoded surrogate): decoded with U+FFFD")
    put("bom_crlf.jsonl", b"\xef\xbb\xbf" + _good(5).replace(b"\n", b"\r\n"),
        "UTF-8 BOM and CRLF line ends: all records good")
    put("nul_bytes.jsonl", _good(2) + b'{"a": "x\x00y", "ip": "' + CANARY_IP.encode()
        + b'"}\n' + b"\x00" * 100 + b"\n" + _good(1), "NUL bytes inside and as a line")
    put("nul_bytes.log", b"2026-11-20T10:00:00Z host app: ok\x00 then \x00\x1b[31mred\n"
        b"\x00\x00\x00\n", "NUL and control characters in a text log (kept, scrubbed)")
    put("deep.jsonl", b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"
        + b'{"b": ' + b'{"c": ' * 300 + b"1" + b"}" * 300 + b"}\n" + _good(1),
        "nesting 10,000 deep (parser) and 300 deep (flatten cap 256)")
    put("long_line.jsonl", b'{"msg": "' + CANARY_EMAIL.encode() + b" " + b"x" * (2 * MAX_LINE)
        + b'"}\n' + _good(2), "one line over --max-line-bytes")
    put("numbers.jsonl", b"\n".join([
        b'{"ts": "' + TS.encode() + b'", "v": 1, "big": ' + b"9" * 400 + b"}",
        b'{"ts": "' + TS.encode() + b'", "v": 1.5, "huge": ' + b"1" * 5000 + b"}",
        b'{"ts": "' + TS.encode() + b'", "v": 1e400, "neg": -1e400, "tiny": 1e-400}',
        b'{"ts": "' + TS.encode() + b'", "v": NaN, "i": Infinity, "j": -Infinity}',
        b'{"ts": "' + TS.encode() + b'", "v": 9223372036854775808, "w": -9223372036854775809}',
        b'{"ts": "' + TS.encode() + b'", "v": "text", "x": 1E+2}',
        b'{"ts": 1e400, "v": 2}',
        b'{"ts": NaN, "v": 3}',
    ]) + b"\n", "huge numbers, NaN/Infinity, mixed types in one field, NaN as timestamp")
    put("dup_keys.jsonl", b'{"a": 1, "a": "two", "ts": "' + TS.encode() + b'"}\n'
        b'{"ts": "' + TS.encode() + b'", "ts": "not a date"}\n', "duplicate keys (last wins)")
    put("top_level.jsonl", b'[1, 2, 3]\n"just a string"\n42\nnull\ntrue\n[]\n{}\n'
        b'{"ok": true, "ts": "' + TS.encode() + b'"}\n',
        "top level not an object; {} has no field (dropped by policy)")
    put("pretty.json", json.dumps({"a": {"b": [1, 2]}, "ts": TS}, indent=2).encode(),
        "a pretty-printed JSON document (one invalid_json per line)")
    put("messy.csv", (
        'id,name,note\r\n'
        '1,alice,"multi\r\nline note"\r\n'
        '2,"bob ""the builder""",plain\r\n'
        '3,carol\r\n'
        f'4,dave,{CANARY_EMAIL},extra\r\n'
        '5,"eve",""\r\n'
        '6,nul\x00cell,x\r\n'
        '7,"frank","unterminated\r\n').encode(),
        "CSV: embedded newline and quotes, ragged rows, NUL, unterminated quote at EOF")
    put("bom_header.csv", b"\xef\xbb\xbfid;value\n1;a\n2;b\n", "CSV with BOM, ';' delimiter")
    put("empty.jsonl", b"", "zero bytes")
    put("empty.csv", b"", "zero bytes")
    put("empty.log", b"", "zero bytes")
    put("empty_member.jsonl.gz", gzip.compress(b""), "valid gzip, nothing inside")
    put("not_gzip.jsonl.gz", _good(3), "named .gz but plain text")
    whole = gzip.compress(_good(2000))
    put("truncated.jsonl.gz", whole[: len(whole) // 2], "gzip cut in the middle")
    put("corrupt.jsonl.gz", b"\x1f\x8b\x08\x00" + rnd.randbytes(4096), "gzip magic, garbage")
    _gzip_stream(c / "bomb.jsonl.gz", b" " * 4095 + b"\n", 64 << 20)
    files["bomb.jsonl.gz"] = "gzip bomb: 64 MiB decompressed, over --max-file-bytes"
    put("we ird;name$(x).jsonl", _good(2), "hostile file name -> table we_ird_name_x")
    sub = c / "subdir"
    sub.mkdir()
    (sub / "nested.jsonl").write_bytes(_good(4))
    files["subdir"] = "a directory among the inputs (expanded when named, skipped by a glob)"
    os.symlink(c / "no-such-target.jsonl", c / "dangling.jsonl")
    files["dangling.jsonl"] = "dangling symlink (as a file deleted after listing): ENOENT"
    os.symlink("loop.log", c / "loop.log")
    files["loop.log"] = "symlink to itself: ELOOP"
    os.mkfifo(c / "pipe.jsonl")
    files["pipe.jsonl"] = "a FIFO: opening it would block; refused as not a regular file"
    return files


def _reasons(report: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for q in report["quarantine"]:
        out.setdefault(q["table"], set()).add(q["reason"])
    return out


@pytest.fixture(scope="module")
def nasty_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nasty")
    corpus = root / "corpus"
    corpus.mkdir()
    build_corpus(corpus)
    out = root / "out"
    started = time.monotonic()
    proc = telescrub("run", str(corpus / "*"), str(corpus / "subdir"), "--output", str(out),
                     "--max-line-bytes", "1M", "--max-file-bytes", "8M", "--default-year", "2026",
                     check=False)
    elapsed = time.monotonic() - started
    return corpus, out, proc, elapsed


def test_job_completes_and_every_record_is_accounted_for(nasty_run):
    corpus, out, proc, elapsed = nasty_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "_report" / "report.json").read_text())
    assert report["accounting_ok"] is True
    by_name = {os.path.basename(i["source"]): i for i in report["inputs"]}
    expected = {p.name for p in corpus.iterdir() if p.name != "subdir"} | {"nested.jsonl"}
    assert set(by_name) == expected
    for i in report["inputs"]:
        assert i["read"] == i["written"] + i["quarantined"] + i["dropped_by_policy"], i
    # the well-formed files are processed in full next to the nasty ones
    assert by_name["control.jsonl"]["written"] == 50
    assert by_name["bom_crlf.jsonl"]["written"] == 5
    assert by_name["nested.jsonl"]["written"] == 4
    assert by_name["not_gzip.jsonl.gz"]["written"] == 3
    assert by_name["we ird;name$(x).jsonl"]["table"] == "we_ird_name_x"
    # lines that are not UTF-8 are decoded (U+FFFD) and read, and counted; nothing is lost
    bad_utf8 = by_name["invalid_utf8.jsonl"]
    assert bad_utf8["decoded_with_fallback"] == 2 and bad_utf8["written"] == 6
    # a binary file is one unreadable record, not hundreds of garbage rows
    assert by_name["random_bytes.bin"]["read"] == by_name["random_bytes.bin"]["quarantined"] == 1
    for empty in ("empty.jsonl", "empty.csv", "empty.log", "empty_member.jsonl.gz"):
        assert by_name[empty]["read"] == 0, empty
    # records before a broken gzip stream are kept, the break is one quarantined record
    trunc = by_name["truncated.jsonl.gz"]
    assert trunc["written"] > 0 and trunc["quarantined"] == 1
    assert by_name["bomb.jsonl.gz"]["read"] == 1  # blank lines, then the cap: one record
    assert report["run"]["read_limits"] == {"max_file_bytes": MAX_FILE,
                                            "max_line_bytes": MAX_LINE}
    assert elapsed < 120, f"nasty corpus took {elapsed:.0f}s"


def test_each_nasty_case_has_its_reason(nasty_run):
    _, out, _, _ = nasty_run
    reasons = _reasons(json.loads((out / "_report" / "report.json").read_text()))
    expect = {
        "invalid_utf8": {"invalid_json"},  # the encoded surrogate line: U+FFFD then '{'
        "random_bytes": {"unreadable"},
        "nul_bytes": {"invalid_json"},
        "deep": {"too_deep"},
        "long_line": {"line_too_long"},
        "top_level": {"not_an_object"},
        "pretty": {"invalid_json"},
        "messy": {"csv_too_few_columns", "csv_too_many_columns"},
        "truncated": {"corrupt_gzip"},
        "corrupt": {"corrupt_gzip"},
        "bomb": {"too_large"},
        "dangling": {"unreadable"},
        "loop": {"unreadable"},
        "pipe": {"not_a_file"},
    }
    for table, want in expect.items():
        assert want <= reasons.get(table, set()), (table, reasons.get(table))
    # nothing nasty where nothing is wrong
    for clean in ("control", "bom_crlf", "dup_keys", "numbers", "bom_header", "nested"):
        assert clean not in reasons, (clean, reasons[clean])


def test_quarantine_rows_name_file_and_line_and_hold_no_raw_data(nasty_run):
    corpus, out, proc, _ = nasty_run
    q = ds.dataset(out / "_quarantine", format="parquet",
                   partitioning=hive_partitioning()).to_table().to_pylist()
    assert q
    for row in q:
        assert row["_source_file"].startswith(str(corpus)), row
        assert row["reason"] and row["detail"], row
        if row["reason"] not in ("unreadable", "not_a_file"):
            assert row["_source_line"] >= 1, row
        assert CANARY_EMAIL not in row["detail"] and CANARY_IP not in row["detail"], row
        assert CANARY_EMAIL not in (row["text_scrubbed"] or ""), row
        assert CANARY_IP not in (row["text_scrubbed"] or ""), row
    details: dict[tuple[str, str], str] = {}
    for r in q:
        key = (Path(r["_source_file"]).name, r["reason"])
        details[key] = details.get(key, "") + r["detail"] + "\n"
    assert "line 5: invalid JSON" in details[("invalid_utf8.jsonl", "invalid_json")]
    assert "binary content" in details[("random_bytes.bin", "unreadable")]
    assert "line 1" in details[("deep.jsonl", "too_deep")]
    assert "line 1" in details[("long_line.jsonl", "line_too_long")]
    assert "cannot open file" in details[("dangling.jsonl", "unreadable")]
    assert "FIFO" in details[("pipe.jsonl", "not_a_file")]
    # both canaries really sit in quarantined lines (else the checks above prove nothing)
    planted = {(Path(r["_source_file"]).name, r["reason"]) for r in q}
    assert ("nul_bytes.jsonl", "invalid_json") in planted  # the line with CANARY_IP
    assert ("long_line.jsonl", "line_too_long") in planted  # the line with CANARY_EMAIL
    # the other CANARY_EMAIL line is decoded (U+FFFD) and written: scrubbed, never raw
    written = ds.dataset(out / "invalid_utf8", format="parquet",
                         partitioning=hive_partitioning()).to_table().to_pylist()
    emails = [r["email"] for r in written if r.get("email")]
    assert len(emails) == 1 and CANARY_EMAIL not in emails[0], emails
    assert all(CANARY_EMAIL not in str(v) for r in written for v in r.values())
    report_text = (out / "_report" / "report.json").read_text()
    for text in (report_text, proc.stdout, proc.stderr):
        assert CANARY_EMAIL not in text and CANARY_IP not in text


def test_values_that_do_not_fit_are_kept_as_text_and_datasets_read_back(nasty_run):
    _, out, _, _ = nasty_run
    tables = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith((".", "_r"))]
    for t in tables:
        ds.dataset(t, format="parquet", partitioning=hive_partitioning()).to_table()
        for part in t.iterdir():
            assert verify_manifest(str(part)) == [], part
    nums = ds.dataset(out / "numbers", format="parquet",
                      partitioning=hive_partitioning()).to_table().to_pylist()
    assert len(nums) == 8
    big = [r["big"] for r in nums if r.get("big")]
    assert big == ["9" * 400]  # a literal that fits no number type stays as its text
    assert any(r.get("huge") == "1" * 5000 for r in nums)
    # a NaN / overflowing timestamp gives no event date, never a crash or a bad path
    assert sum(1 for r in nums if r["event_date"] is None) >= 2
    dup = ds.dataset(out / "dup_keys", format="parquet",
                     partitioning=hive_partitioning()).to_table().to_pylist()
    assert len(dup) == 2


def test_clear_errors_for_a_whole_run_that_cannot_start(tmp_path):
    proc = telescrub("run", str(tmp_path / "nothing-here-*.jsonl"), "--output",
                     str(tmp_path / "out"), check=False)
    assert proc.returncode == 2
    assert "matches no file" in proc.stderr and "Traceback" not in proc.stderr
    from telescrub.app.cli import build_parser

    for bad in ("0", "-1", "1.5M", "lots"):
        with pytest.raises(SystemExit) as exc:  # argparse: usage error, exit status 2
            build_parser().parse_args(["run", "x", "-o", "y", "--max-file-bytes", bad])
        assert exc.value.code == 2
    args = build_parser().parse_args(["run", "x", "-o", "y", "--max-line-bytes", "1M",
                                      "--max-file-bytes", "2G"])
    assert (args.max_line_bytes, args.max_file_bytes) == (1 << 20, 2 << 30)


def test_default_line_cap_with_a_100_mb_line(tmp_path):
    """The default 1 MiB line cap on a generated 100 MB single-line file (streamed to disk,
    never held in memory): quarantined as line_too_long, the job finishes quickly."""
    src = tmp_path / "one_line.jsonl"
    with open(src, "wb") as fh:
        fh.write(b'{"msg": "')
        block = b"a" * (1 << 20)
        for _ in range(100):
            fh.write(block)
        fh.write(b'"}\n')
    fh2 = tmp_path / "ok.jsonl"
    fh2.write_bytes(_good(3))
    started = time.monotonic()
    proc = telescrub("run", str(src), str(fh2), "--output", str(tmp_path / "out"), check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "_report" / "report.json").read_text())
    assert report["accounting_ok"]
    assert {(q["table"], q["reason"]) for q in report["quarantine"]} == {
        ("one_line", "line_too_long")}
    assert report["run"]["read_limits"]["max_line_bytes"] == 1 << 20
    assert elapsed < 20, f"100 MB line took {elapsed:.1f}s (move to tools/soak.py)"
