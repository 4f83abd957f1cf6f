from __future__ import annotations

import errno
import gzip
import io
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telescrub.core.records import BadRecord, Record
from telescrub.formats import readers
from telescrub.formats.readers import (
    InputError,
    LineTooLong,
    ReadLimits,
    detect_format,
    open_text_lines,
    parse_text_line,
    read_records,
    table_name_for,
)

BOM = b"\xef\xbb\xbf"
CANARY = "SECRETCANARY"


def write(tmp_path: Path, name: str, data: bytes, *, gz: bool = False) -> Path:
    p = tmp_path / name
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


def read(path: Path, fmt: str, **limits: Any) -> list[Record | BadRecord]:
    out = list(read_records(path, "t", fmt, limits=ReadLimits(**limits)))
    for r in out:
        assert isinstance(r, (Record, BadRecord))
        assert r.table == "t" and r.source == str(path)
        if isinstance(r, BadRecord):
            assert r.reason != "reader_error", r
            assert CANARY not in r.detail
            assert len(r.text.encode("utf-8")) <= 3 * 4096  # 4 KiB of bytes, maybe U+FFFD'd
    return out


def outcomes(records: list[Record | BadRecord]) -> list[str]:
    return ["ok" if isinstance(r, Record) else r.reason for r in records]


# --------------------------------------------------------------------------- detect / names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.JSON", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.csv", "csv"),
        ("a.tsv.GZ", "csv"),
        ("a.log", "text"),
        ("a.txt.gz", "text"),
        ("dir.v2/a.csv", "csv"),
    ],
)
def test_detect_format_by_extension(name: str, expected: str) -> None:
    assert detect_format(name) == expected  # the file need not exist


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}\n{"a": 2}\n', "jsonl"),
        (BOM + b'  {"a": 1}\n', "jsonl"),
        (b"id,name,email\n1,x,y\n", "csv"),
        (b"id;name\n1;x\n", "csv"),
        (b"2015-10-18 18:01:47,978 INFO x\n2015-10-18 18:01:48,978 INFO y\n", "text"),
        (b"hello, world\n", "text"),
        (b"\xff\xfe\x00garbage\n", "text"),
        (b"", "text"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_detect_format_sniffs_unknown_extension(
    tmp_path: Path, data: bytes, expected: str, gz: bool
) -> None:
    p = write(tmp_path, "input.dat" + (".gz" if gz else ""), data, gz=gz)
    assert detect_format(p) == expected


def test_detect_format_declared(tmp_path: Path) -> None:
    assert detect_format("x.csv", "text") == "text"
    assert detect_format(tmp_path, "auto") == "text"  # a directory: reading reports it
    with pytest.raises(ValueError, match="unknown format"):
        detect_format("x.csv", "parquet")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data/Web Access.2024.LOG.gz", "web_access_2024"),
        ("events.jsonl", "events"),
        ("events.jsonl.gz", "events"),
        ("x/y/My-File.csv", "my_file"),
        ("__x__.log", "x"),
        (".hidden.log", "hidden"),
        ("noext", "noext"),
        ("a" * 64 + ".log", "a" * 64),
    ],
)
def test_table_name_for(path: str, expected: str) -> None:
    assert table_name_for(path) == expected


@pytest.mark.parametrize("path", ["日本.log", "---.csv", "a" * 65 + ".log", ".gz"])
def test_table_name_for_unusable_file_names(path: str) -> None:
    with pytest.raises(ValueError, match="--table"):
        table_name_for(path)


def test_table_name_override() -> None:
    assert table_name_for("whatever.log", "Events_2024") == "events_2024"
    assert table_name_for("whatever.log", "  web  ") == "web"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("../etc", r"'\.\.'"),
        ("a/b", "separators"),
        ("a\\b", "separators"),
        ("x" * 65, "longer than 64"),
        ("my-table", "letters, digits"),
        ("tab\x00le", "letters, digits"),
        ("naïve", "letters, digits"),
    ],
)
def test_table_name_bad_override(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table_name_for("x.log", override)


# --------------------------------------------------------------------------- raw lines


def test_open_text_lines_basics(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", BOM + b"one\r\ntwo\n\nthr\x00ee\r\rx\nlast")
    assert list(open_text_lines(p)) == [
        (1, b"one"),
        (2, b"two"),
        (3, b""),
        (4, b"thr\x00ee\r\rx"),
        (5, b"last"),
    ]


def test_open_text_lines_bom_only_at_start(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", b"a\n" + BOM + b"b\n")
    assert [x for _, x in open_text_lines(p)] == [b"a", BOM + b"b"]


def test_open_text_lines_gzip_by_magic_not_name(tmp_path: Path) -> None:
    data = b"x\ny\n"
    gz = write(tmp_path, "looks_plain.log", data, gz=True)
    plain = write(tmp_path, "looks_gz.log.gz", data)
    assert [x for _, x in open_text_lines(gz)] == [b"x", b"y"]
    assert [x for _, x in open_text_lines(plain)] == [b"x", b"y"]
    multi = write(tmp_path, "multi.gz", gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    assert [x for _, x in open_text_lines(multi)] == [b"a", b"b"]


def test_open_text_lines_long_line_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CHUNK_BYTES", 1000)  # force many chunks per line
    long = b"A" * 5000 + b"B" * (2 * 1024 * 1024)
    p = write(tmp_path, "a.txt", b"short\n" + long + b"\r\nafter\n" + b"C" * 3000)
    got = list(open_text_lines(p, max_line_bytes=4000))
    assert got[0] == (1, b"short")
    n, item = got[1]
    assert n == 2 and isinstance(item, LineTooLong)
    assert item.head == b"A" * 4096
    assert item.length == len(long) + 1  # the \r counts: the cap is on raw bytes
    assert got[2] == (3, b"after")
    assert got[3] == (4, b"C" * 3000)


def test_open_text_lines_cap_exactly(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", b"1234\n12345\n")
    got = list(open_text_lines(p, max_line_bytes=4))
    assert got[0] == (1, b"1234")
    assert got[1] == (2, LineTooLong(b"12345", 5))


def test_open_text_lines_gzip_bomb(tmp_path: Path) -> None:
    p = write(tmp_path, "bomb.gz", b"ok\n" + b"\0" * (8 * 1024 * 1024), gz=True)
    assert p.stat().st_size < 100_000
    it = open_text_lines(p, max_bytes=1024 * 1024, max_line_bytes=1024)
    assert next(it) == (1, b"ok")
    with pytest.raises(InputError) as e:
        list(it)
    assert e.value.reason == "too_large"
    assert "decompressed" in e.value.detail and e.value.line == 2


def test_open_text_lines_max_bytes_keeps_complete_lines(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", b"aaaa\nbbbb\ncccc\n")
    it = open_text_lines(p, max_bytes=12)
    assert [next(it), next(it)] == [(1, b"aaaa"), (2, b"bbbb")]
    with pytest.raises(InputError) as e:
        next(it)
    assert (e.value.reason, e.value.line, e.value.text) == ("too_large", 3, "cc")


# --------------------------------------------------------------------------- nasty files

_rng = random.Random(1234)
RANDOM_BYTES = bytes(_rng.randrange(256) for _ in range(20_000))
DEEP_OBJ = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
DEEP_ARR = b'{"a":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
DEPTH_300 = b'{"a":' * 300 + b"1" + b"}" * 300


@pytest.mark.parametrize(
    ("name", "data", "fmt", "expected"),
    [
        ("zero.jsonl", b"", "jsonl", []),
        ("zero.csv", b"", "csv", []),
        ("zero.log", b"", "text", []),
        ("blank.jsonl", b"\n  \n\r\n\t\n", "jsonl", []),
        ("bom_crlf.jsonl", BOM + b'{"a":1}\r\n\r\n{"a":2}\r\n', "jsonl", ["ok", "ok"]),
        # not UTF-8: decoded with U+FFFD and read (nothing of the record is lost)
        ("utf8.jsonl", b'{"a":"\xff' + CANARY.encode() + b'"}\n', "jsonl", ["ok"]),
        (
            "nul.jsonl",
            b'{"a":"x\x00' + CANARY.encode() + b'"}\n{"a":"\\u0000"}\n',
            "jsonl",
            ["invalid_json", "ok"],
        ),
        ("bad.jsonl", b'{"a": ' + CANARY.encode() + b"\n{}\n", "jsonl", ["invalid_json", "ok"]),
        ("array.jsonl", b'[1, 2]\n"s"\n3\nnull\ntrue\n', "jsonl", ["not_an_object"] * 5),
        (
            "deep.jsonl",
            DEEP_OBJ + b"\n" + DEEP_ARR + b'\n{"ok":1}\n',
            "jsonl",
            ["too_deep", "too_deep", "ok"],
        ),
        ("depth300.jsonl", DEPTH_300 + b"\n", "jsonl", ["too_deep"]),
        (
            "numbers.jsonl",
            b'{"a": 1' + b"0" * 400 + b', "b": 1e999, "c": NaN, "d": -Infinity}\n',
            "jsonl",
            ["ok"],
        ),
        ("dups.jsonl", b'{"a": 1, "a": 2}\n', "jsonl", ["ok"]),
        ("surrogate.jsonl", b'{"a": "\\ud800", "\\udfff": 1}\n', "jsonl", ["ok"]),
        ("random.jsonl", RANDOM_BYTES, "jsonl", None),
        ("random.csv", RANDOM_BYTES, "csv", None),
        ("random.log", RANDOM_BYTES, "text", None),
        ("text.log", b"a\xffb\n\x00\x00\nplain\n", "text", ["ok", "ok", "ok"]),
        ("bom.log", BOM + b"\n" + BOM + b"x\n", "text", ["ok"]),
        ("header_only.csv", b"a,b\n", "csv", []),
        ("utf8.csv", b"a,b\n\xff" + CANARY.encode() + b",2\n3,4\n", "csv", ["ok", "ok"]),
        # a trailing delimiter (empty cells beyond the header) is no extra column
        ("trailing.csv", b"a,b\n1,2,\n3,4,,\n5,6,x\n", "csv",
         ["ok", "ok", "csv_too_many_columns"]),
    ],
)
def test_nasty_files(
    tmp_path: Path, name: str, data: bytes, fmt: str, expected: list[str] | None
) -> None:
    p = write(tmp_path, name, data)
    got = read(p, fmt)
    if expected is not None:
        assert outcomes(got) == expected
    lines = [r.line for r in got]
    assert lines == sorted(lines)


def test_jsonl_values(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "a.jsonl",
        BOM
        + b'{"user": {"name": "x", "tags": ["a", "b"]}, "n": 123456789012345678901234}\r\n'
        + b'{"a": NaN, "b": 1e999, "a": 2}\n'
        + b'{"s": "\\ud800", "\\udfff": [{"k": 1}, {}]}\n',
    )
    r1, r2, r3 = read(p, "jsonl")
    assert isinstance(r1, Record) and r1.line == 1
    assert r1.fields == {
        "user.name": "x",
        "user.tags[]": ["a", "b"],
        "n": "123456789012345678901234",
    }
    assert isinstance(r2, Record) and r2.fields == {"a": 2, "b": "1e999"}
    assert isinstance(r3, Record) and r3.fields == {"s": "\ufffd", "\ufffd[].k": [1, None]}


def test_jsonl_bad_record_details_hold_no_data(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "a.jsonl",
        b"\n\n"
        + b'{"email": "'
        + CANARY.encode()
        + b'@x.com", }\n'
        + b"["
        + CANARY.encode()
        + b"]\n",
    )
    b1, b2 = read(p, "jsonl")
    assert isinstance(b1, BadRecord) and isinstance(b2, BadRecord)
    assert b1.line == 3 and b1.detail.startswith("line 3: invalid JSON at column")
    assert CANARY in b1.text  # the raw text is kept for the (scrubbed) quarantine
    assert b2.reason == "invalid_json"


def test_jsonl_limits(tmp_path: Path) -> None:
    wide = b'{"a": [' + b",".join(b'{"k%d": 1}' % i for i in range(300)) + b"]}\n"
    many = b"{" + b",".join(b'"k%d": 1' % i for i in range(50)) + b"}\n"
    p = write(tmp_path, "a.jsonl", wide + many + b'{"a": {"b": {"c": 1}}}\n')
    got = read(p, "jsonl", max_values=10_000, max_fields=40, max_depth=3)
    assert outcomes(got) == ["too_many_fields", "too_many_fields", "ok"]
    got = read(p, "jsonl", max_values=10_000, max_fields=40, max_depth=2)
    assert outcomes(got)[2] == "too_deep"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "text"])
def test_long_line(tmp_path: Path, fmt: str) -> None:
    header = b"a,b\n" if fmt == "csv" else b""
    good = b'{"a": 1}\n' if fmt == "jsonl" else b"1,2\n"
    long = b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}\n'
    p = write(tmp_path, "f", header + good + long + good)
    got = read(p, fmt, max_line_bytes=64 * 1024)
    assert outcomes(got) == ["ok", "line_too_long", "ok"]
    bad = got[1]
    assert isinstance(bad, BadRecord)
    assert bad.line == (3 if fmt == "csv" else 2)
    assert len(bad.text) == 4096 and bad.text.startswith('{"a": "xxx')
    assert str(len(long) - 1) in bad.detail


def test_gzip_bomb_record(tmp_path: Path) -> None:
    p = write(tmp_path, "bomb.log.gz", b"first\n" + b"y" * (16 * 1024 * 1024), gz=True)
    got = read(p, "text", max_bytes=1024 * 1024, max_line_bytes=4096)
    assert outcomes(got) == ["ok", "too_large"]
    assert got[1].line == 2


def _gz_lines(n: int) -> bytes:
    return gzip.compress(b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, b"x" * 50) for i in range(n)))


@pytest.mark.parametrize("cut", [10, 100, 2000, -9, -4, -1])
def test_truncated_gzip(tmp_path: Path, cut: int) -> None:
    full = _gz_lines(2000)
    p = write(tmp_path, "t.jsonl.gz", full[:cut])
    got = read(p, "jsonl")
    assert got, "at least the error record"
    *good, last = got
    assert all(isinstance(r, Record) for r in good)
    assert [r.line for r in good] == list(range(1, len(good) + 1))
    assert [r.fields["i"] for r in good] == list(range(len(good)))
    assert isinstance(last, BadRecord) and last.reason == "corrupt_gzip"
    assert last.line == len(good) + 1
    assert "truncated" in last.detail


def test_corrupt_gzip_mid_stream(tmp_path: Path) -> None:
    full = bytearray(_gz_lines(5000))
    mid = len(full) // 2
    full[mid : mid + 64] = b"\xff" * 64
    p = write(tmp_path, "c.jsonl.gz", bytes(full))
    got = read(p, "jsonl")
    assert isinstance(got[-1], BadRecord) and got[-1].reason == "corrupt_gzip"
    assert all(isinstance(r, (Record, BadRecord)) for r in got[:-1])


def test_garbage_after_gzip_member(tmp_path: Path) -> None:
    p = write(tmp_path, "g.log.gz", gzip.compress(b"a\nb\n") + b"not gzip at all")
    got = read(p, "text")
    assert outcomes(got) == ["ok", "ok", "corrupt_gzip"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "text"])
def test_directory_and_missing(tmp_path: Path, fmt: str) -> None:
    for path in (tmp_path, tmp_path / "missing.log"):
        (bad,) = read(path, fmt)
        assert isinstance(bad, BadRecord)
        assert (bad.reason, bad.line, bad.text) == ("unreadable", 0, "")
        assert bad.detail.startswith("cannot open file: ")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read chmod 000 files"
)
def test_permission_denied(tmp_path: Path) -> None:
    p = write(tmp_path, "secret.log", b"x\n")
    p.chmod(0)
    try:
        (bad,) = read(p, "text")
        assert isinstance(bad, BadRecord) and bad.reason == "unreadable"
        assert "Permission denied" in bad.detail
    finally:
        p.chmod(0o600)


class _FailingStream(io.BytesIO):
    """Returns its data, then fails like a disk error (works as root, unlike chmod)."""

    def read1(self, size: int = -1, /) -> bytes:
        data = super().read1(size)
        if not data:
            raise OSError(errno.EIO, "Input/output error")
        return data


def test_read_error_mid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "x.log", b"")

    def fake_open(path: Any, opener: Any = None) -> tuple[Any, Any, bool]:
        s = _FailingStream(b"one\ntwo\nthr")
        return s, s, False

    monkeypatch.setattr(readers, "_open_stream", fake_open)
    got = read(p, "text")
    assert outcomes(got) == ["ok", "ok", "unreadable"]
    assert got[2].line == 3 and got[2].text == "thr"
    assert got[2].detail == "read failed at line 3: Input/output error"


# --------------------------------------------------------------------------- CSV


def test_csv_quotes_newlines_and_ragged_rows(tmp_path: Path) -> None:
    data = (
        b"id,name,note\r\n"
        b'1,"Smith, J","He said ""hi""\r\nand left"\r\n'
        b"\r\n"
        b"2,Bob,\r\n"
        b"3,x,y,z\r\n"
        b"4,only\r\n"
        b'5,"multi\nline\nvalue",ok\n'
        b",,\n"
    )
    got = read(write(tmp_path, "c.csv", data), "csv")
    assert outcomes(got) == ["ok", "ok", "csv_too_many_columns", "csv_too_few_columns", "ok", "ok"]
    assert [r.line for r in got] == [2, 5, 6, 7, 8, 11]
    assert got[0].fields == {"id": "1", "name": "Smith, J", "note": 'He said "hi"\nand left'}
    assert got[1].fields == {"id": "2", "name": "Bob", "note": None}
    assert got[4].fields == {"id": "5", "name": "multi\nline\nvalue", "note": "ok"}
    assert got[5].fields == {"id": None, "name": None, "note": None}
    assert "4 fields, header has 3" in got[2].detail and "3,x,y,z" in got[2].text


def test_csv_header_names(tmp_path: Path) -> None:
    got = read(write(tmp_path, "c.csv", BOM + b" a ,,a,b.c,a_2,a\n1,2,3,4,5,6\n"), "csv")
    assert got[0].fields == {
        "a": "1",
        "_column_2": "2",
        "a_2": "3",
        "b\\.c": "4",
        "a_2_2": "5",
        "a_3": "6",
    }


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("t.tsv", b"a\tb\n1,5\t2\n"),
        ("t.csv", b"a;b\n1,5;2\n"),
        ("t.csv", b"a|b\n1,5|2\n"),
    ],
)
def test_csv_delimiters(tmp_path: Path, name: str, data: bytes) -> None:
    (r,) = read(write(tmp_path, name, data), "csv")
    assert r.fields == {"a": "1,5", "b": "2"}


def test_csv_unclosed_quote_and_huge_field(tmp_path: Path) -> None:
    data = b"a,b\n" + b"x" * 200_000 + b",1\n2,3\n" + b'"open,1\n4,5\n'
    got = read(write(tmp_path, "c.csv", data), "csv")
    assert outcomes(got) == ["csv_error", "ok", "csv_too_few_columns"]
    assert got[0].detail == "line 2: CSV syntax error: field larger than field limit (131072)"
    assert got[1].fields == {"a": "2", "b": "3"}


def test_csv_record_too_long(tmp_path: Path) -> None:
    body = b'"' + b"line\n" * 100 + b'end",1\n'
    got = read(write(tmp_path, "c.csv", b"a,b\n" + body + b"7,8\n"), "csv", max_line_bytes=200)
    assert outcomes(got)[0] == "record_too_long"
    assert got[0].line == 2 and "more than 200 bytes" in got[0].detail
    # the reader resynchronises on the following lines (leftovers may be ragged rows)
    assert outcomes(got)[-1] == "ok" and got[-1].fields == {"a": "7", "b": "8"}
    assert got[-1].line == 103


def test_csv_unreadable_header(tmp_path: Path) -> None:
    data = b"a" * 5000 + b"\n1\n2\n"
    got = read(write(tmp_path, "c.csv", data), "csv", max_line_bytes=1000)
    assert outcomes(got) == ["line_too_long", "csv_no_header", "csv_no_header"]


def test_csv_nul_bytes(tmp_path: Path) -> None:
    (r,) = read(write(tmp_path, "c.csv", b"a,b\nx\x00y,2\n"), "csv")
    assert r.fields == {"a": "x\x00y", "b": "2"}


# --------------------------------------------------------------------------- text lines

Y = 2024


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", {"message": ""}),
        ("hello world", {"message": "hello world"}),
        # RFC 3164
        (
            "Nov 24 06:55:46 host proc[123]: the msg",
            {
                "timestamp": "2024-11-24T06:55:46Z",
                "host": "host",
                "process": "proc",
                "pid": "123",
                "message": "the msg",
            },
        ),
        (
            "Jun  4 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=1.2.3.4 ",
            {
                "timestamp": "2024-06-04T15:16:01Z",
                "host": "combo",
                "process": "sshd(pam_unix)",
                "pid": "19939",
                "message": "authentication failure; rhost=1.2.3.4 ",
            },
        ),
        (
            "Nov 24 06:55:46 kernel: boot",
            {"timestamp": "2024-11-24T06:55:46Z", "process": "kernel", "message": "boot"},
        ),
        (
            "Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
            {
                "timestamp": "2024-06-19T04:09:11Z",
                "host": "combo",
                "message": "syslogd 1.4.1: restart.",
            },
        ),
        (
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
            {
                "timestamp": "2024-10-11T22:14:15Z",
                "host": "mymachine",
                "process": "su",
                "message": "'su root' failed",
            },
        ),
        (
            "Feb 30 10:00:00 h p[1]: x",  # impossible date: split, no timestamp
            {"host": "h", "process": "p", "pid": "1", "message": "x"},
        ),
        # RFC 5424
        (
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed",
            {
                "timestamp": "2003-10-11T22:14:15.003Z",
                "host": "mymachine.example.com",
                "process": "su",
                "message": "ID47 'su root' failed",
            },
        ),
        (
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time",
            {
                "timestamp": "2003-08-24T12:14:15.000003Z",
                "host": "192.0.2.1",
                "process": "myproc",
                "pid": "8710",
                "message": "%% It's time",
            },
        ),
        (
            '<165>1 2003-10-11T22:14:15.003Z h evntslog - ID47 [ex@32473 iut="3" a="\\]"] An entry',
            {
                "timestamp": "2003-10-11T22:14:15.003Z",
                "host": "h",
                "process": "evntslog",
                "message": 'ID47 [ex@32473 iut="3" a="\\]"] An entry',
            },
        ),
        ("<34>1 - - - - - -", {"message": ""}),
        # ISO-8601 at line start
        (
            "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.X: Created",
            {
                "timestamp": "2015-10-18T18:01:47.978Z",
                "message": "INFO [main] org.apache.hadoop.X: Created",
            },
        ),
        (
            "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:F@774] - x",
            {
                "timestamp": "2015-07-29T17:41:44.747Z",
                "message": "- INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:F@774] - x",
            },
        ),
        (
            "2016-09-28 04:30:30, Info                  CBS    Loaded",
            {"timestamp": "2016-09-28T04:30:30Z", "message": "Info                  CBS    Loaded"},
        ),
        (
            "2017-05-16T00:00:00.008+02:00 x",
            {"timestamp": "2017-05-15T22:00:00.008Z", "message": "x"},
        ),
        # Apache error log
        (
            "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
            {"timestamp": "2005-12-04T04:47:44Z", "message": "[notice] workerEnv.init() ok"},
        ),
        (
            "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] x",
            {
                "timestamp": "2000-10-11T14:32:52.123456Z",
                "message": "[core:error] [pid 35708:tid 4328636416] x",
            },
        ),
        # access log: timestamp only
        (
            '1.2.3.4 - - [25/Nov/2026:10:12:01 +0100] "GET /x HTTP/1.1" 200 12',
            {
                "timestamp": "2026-11-25T09:12:01Z",
                "message": '1.2.3.4 - - [25/Nov/2026:10:12:01 +0100] "GET /x HTTP/1.1" 200 12',
            },
        ),
        # HDFS
        (
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: x",
            {
                "timestamp": "2008-11-09T20:36:15Z",
                "message": "148 INFO dfs.DataNode$PacketResponder: x",
            },
        ),
        # other loghub formats
        (
            "03-17 16:13:38.811  1702  2395 D WindowManager: x",
            {"timestamp": "2024-03-17T16:13:38.811Z", "message": "1702  2395 D WindowManager: x"},
        ),
        ("17/06/09 20:10:40 INFO x", {"timestamp": "2017-06-09T20:10:40Z", "message": "INFO x"}),
        (
            "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
            {
                "timestamp": "2017-12-23T22:15:29.606Z",
                "message": "Step_LSC|30002312|onStandStepChanged 3579",
            },
        ),
        (
            "[10.30 16:49:06] chrome.exe - x",
            {"timestamp": "2024-10-30T16:49:06Z", "message": "chrome.exe - x"},
        ),
        (
            "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 RAS KERNEL INFO x",
            {
                "timestamp": "2005-06-03T22:42:50Z",
                "message": "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 RAS KERNEL INFO x",
            },
        ),
        (
            "2286759 full partition status 1061219795 -1 running",
            {
                "timestamp": "2003-08-18T15:16:35Z",
                "message": "2286759 full partition status 1061219795 -1 running",
            },
        ),
        (
            "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO x",
            {
                "timestamp": "2017-05-16T00:00:00.008Z",
                "message": "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO x",
            },
        ),
        # the timestamp never swallows data
        ("2015-10-18 18:01:47,abc", {"timestamp": "2015-10-18T18:01:47Z", "message": "abc"}),
        ("2015-10-18 18:01:47,978abc", {"timestamp": "2015-10-18T18:01:47Z", "message": "978abc"}),
        ("2015-10-18 18:01:47|x", {"timestamp": "2015-10-18T18:01:47Z", "message": "x"}),
        ("2015-10-18 18:01:47", {"timestamp": "2015-10-18T18:01:47Z", "message": ""}),
        ("[Sun Dec 04 04:47:44 2005]x", {"message": "[Sun Dec 04 04:47:44 2005]x"}),
        ("<34>1 - h a - - -x", {"message": "<34>1 - h a - - -x"}),
        ("<34>1 - h a - ID -", {"host": "h", "process": "a", "message": "ID"}),
        (
            "Nov 24 06:55:46 host\tx",
            {"timestamp": "2024-11-24T06:55:46Z", "message": "host\tx"},
        ),
        ("081109 203615x", {"message": "081109 203615x"}),
        # look-alikes that are not timestamps
        ("20151018 is a number", {"message": "20151018 is a number"}),
        ("2125551234 called", {"message": "2125551234 called"}),
        ("Nov is a month", {"message": "Nov is a month"}),
        ("[x] bracket", {"message": "[x] bracket"}),
    ],
)
def test_parse_text_line(line: str, expected: dict[str, str]) -> None:
    now = readers.datetime(Y, 12, 31, tzinfo=readers.UTC)
    assert parse_text_line(line, default_year=Y, now=now) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Nov 24 06:55:46 " + "a" * 3_000_000,
        "Nov 24 06:55:46 h p[1]: " + "a" * 3_000_000,
        "Nov 24 06:55:46 " + "h" * (4096 - 16) + " tail",
        "<1>1 - - - - - " + "[a]" * 1_000_000,
        "<1>1 - - - - - " + "[a\\\\" * 1_000_000,
        "2015-10-18 18:01:47" + "," * 3_000_000,
        "2015-10-18 18:01:47 " + " " * (4096 - 20) + "x" * 10,
    ],
)
def test_text_huge_lines_are_fast_and_lossless(line: str) -> None:
    t0 = time.perf_counter()
    fields = parse_text_line(line, default_year=Y)
    assert time.perf_counter() - t0 < 0.5
    # nothing is dropped: apart from the timestamp and separators, the split-off fields
    # and the message hold every non-blank character of the line
    kept = sum(len("".join(v.split())) for k, v in fields.items() if k != "timestamp")
    assert kept >= len("".join(line.split())) - 64


def test_text_year_inference() -> None:
    now = readers.datetime(2026, 1, 2, tzinfo=readers.UTC)
    got = parse_text_line("Dec 31 23:59:59 h p: x", now=now)
    assert got["timestamp"] == "2025-12-31T23:59:59Z"


def test_text_records(tmp_path: Path) -> None:
    p = write(tmp_path, "sys.log", b"Nov 24 06:55:46 h p[1]: caf\xe9\r\n\n   \nplain\n")
    got = read(p, "text", default_year=2020)
    assert [(r.line, r.fields) for r in got] == [
        (
            1,
            {
                "timestamp": "2020-11-24T06:55:46Z",
                "host": "h",
                "process": "p",
                "pid": "1",
                "message": "caf\ufffd",
            },
        ),
        (4, {"message": "plain"}),
    ]


def test_loghub_samples_get_timestamps() -> None:
    root = Path("/work/shared/corpora/loghub")
    files = sorted(root.glob("*/*_2k.log"))
    if not files:
        pytest.skip("loghub corpus not available")
    for f in files:
        recs = list(read_records(f, "t", "text", limits=ReadLimits(default_year=2024)))
        with_ts = sum(1 for r in recs if isinstance(r, Record) and "timestamp" in r.fields)
        assert with_ts / len(recs) > 0.95, f.name


# --------------------------------------------------------------------------- properties


def _expected_lines(data: bytes, cap: int) -> int:
    """Independent count of physical lines that must produce a record (JSONL/text)."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    count = 0
    for i, raw in enumerate(parts):
        if len(raw) > cap:
            count += 1
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if i == 0 and raw.startswith(BOM):
            raw = raw[3:]
        if raw.strip():
            count += 1
    return count


_line_bytes = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"{",
            b"}",
            b'{"a": 1}',
            b"[1]",
            b'{"a": [{"b": NaN}]}',
            BOM,
            b"\r",
            b'"',
            b",",
            b"\xff",
            b"\x00",
            b" ",
        ]
    ),
)
_structured = st.lists(_line_bytes, max_size=30).map(lambda xs: b"".join(xs))
_any_bytes = st.one_of(
    st.binary(max_size=400), _structured, st.lists(_structured, max_size=10).map(b"\n".join)
)

_PROP = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROP
@given(data=_any_bytes, cap=st.sampled_from([8, 64, 1 << 20]))
def test_jsonl_and_text_one_outcome_per_line(tmp_path: Path, data: bytes, cap: int) -> None:
    p = write(tmp_path, "p.bin", data)
    for fmt in ("jsonl", "text"):
        got = read(p, fmt, max_line_bytes=cap)
        if data[:2] == b"\x1f\x8b":
            continue  # random bytes that happen to carry the gzip magic
        if readers.binary_content(p):  # binary: one 'unreadable' record for the file
            assert [(r.reason, r.line) for r in got] == [("unreadable", 0)]  # type: ignore
            continue
        assert len(got) == _expected_lines(data, cap)
        lines = [r.line for r in got]
        assert lines == sorted(set(lines))


@_PROP
@given(data=_any_bytes)
def test_csv_never_raises(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, "p.csv", data)
    got = read(p, "csv", max_line_bytes=256)
    lines = [r.line for r in got]
    assert lines == sorted(lines)
    for r in got:
        if isinstance(r, Record):
            assert all(v is None or isinstance(v, str) for v in r.fields.values())


@_PROP
@given(data=_any_bytes)
def test_gzip_compressed_matches_plain(tmp_path: Path, data: bytes) -> None:
    plain = write(tmp_path, "p.log", data)
    gz = write(tmp_path, "p.log.gz", data, gz=True)
    for fmt in ("jsonl", "csv", "text"):
        a = [(type(r).__name__, r.line, getattr(r, "fields", None)) for r in read(plain, fmt)]
        b = [(type(r).__name__, r.line, getattr(r, "fields", None)) for r in read(gz, fmt)]
        if data[:2] != b"\x1f\x8b":
            assert a == b


@_PROP
@given(data=_any_bytes, frac=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_gzip_never_raises(tmp_path: Path, data: bytes, frac: float) -> None:
    full = gzip.compress(data)
    cut = int(len(full) * frac)
    p = write(tmp_path, "t.gz", full[:cut])
    for fmt in ("jsonl", "csv", "text"):
        got = read(p, fmt)
        if 2 <= cut < len(full):
            assert got and isinstance(got[-1], BadRecord) and got[-1].reason == "corrupt_gzip"


_PREFIXES = [
    "",
    "Nov 24 06:55:46 ",
    "<34>Oct 11 22:14:15 ",
    "<34>1 2003-10-11T22:14:15.003Z ",
    "<165>1 - h app 1 ID ",
    "2015-10-18 18:01:47,978",
    "2016-09-28 04:30:30, ",
    "[Sun Dec 04 04:47:44 2005]",
    "081109 203615",
    "03-17 16:13:38.811",
    "17/06/09 20:10:40",
    "20171223-22:15:29:606|",
    "[10.30 16:49:06]",
    "- 1117838570 2005.06.03 ",
    '1.2.3.4 - - [25/Nov/2026:10:12:01 +0000] "',
]
_line_text = st.builds(
    lambda p, t: p + t,
    st.sampled_from(_PREFIXES),
    st.text(alphabet=st.sampled_from("ab :[]|-,.\t\u00e9\ufeff0123456789"), max_size=30)
    | st.text(max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(_line_text)
def test_parse_text_line_never_loses_text(line: str) -> None:
    fields = parse_text_line(line, default_year=Y)
    assert set(fields) <= {"message", "timestamp", "host", "process", "pid"}
    assert all(isinstance(v, str) for v in fields.values())
    if "timestamp" in fields:
        assert readers.parse_timestamp(fields["timestamp"]) is not None
    kept = sum(len("".join(v.split())) for k, v in fields.items() if k != "timestamp")
    assert kept >= len("".join(line.split())) - 45
    if set(fields) == {"message"}:
        assert fields["message"] == line


# --------------------------------------------------------------------------- byte ranges
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.sampled_from([b"a", b"{}", b"\n", b"\r\n", b"\xef\xbb\xbf", b"xyz" * 9]),
                     max_size=60),
       target=st.integers(min_value=1, max_value=80))
def test_line_ranges_read_back_exactly_the_whole_file(tmp_path: Path, data: list[bytes],
                                                      target: int) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"".join(data))
    whole = list(readers.open_text_lines(path))
    ranges, sha, size = readers.line_ranges(path, target)
    assert size == path.stat().st_size
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(path.read_bytes()[b - 1:b] == b"\n" for _, b, _ in ranges[:-1])
    assert [x for r in ranges for x in readers.open_text_lines(path, byte_range=r)] == whole


def test_byte_ranges_refuse_gzip_and_csv(tmp_path: Path) -> None:
    gz = tmp_path / "f.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"a": 1}\n'))
    with pytest.raises(readers.InputError, match="file changed after it was split: now gzip"):
        list(readers.open_text_lines(gz, byte_range=(0, 4, 1)))
    bad = list(readers.read_records(gz, "f", "jsonl", byte_range=(0, 4, 1)))
    assert [b.reason for b in bad if isinstance(b, BadRecord)] == ["unreadable"]
    csv_path = tmp_path / "f.csv"
    csv_path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"CSV files are read whole"):
        list(readers.read_records(csv_path, "f", "csv", byte_range=(0, 4, 1)))


def test_split_inputs_cuts_only_large_uncompressed_line_files(tmp_path: Path) -> None:
    from telescrub.formats.units import InputFile, split_inputs

    big = tmp_path / "big.jsonl"
    big.write_text("".join(f'{{"n": {i}}}\n' for i in range(2000)))
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(big.read_bytes()))
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("n\n" + "".join(f"{i}\n" for i in range(5000)))
    small = tmp_path / "small.log"
    small.write_text("one line\n")
    files = [InputFile(str(big), "big", "jsonl"), InputFile(str(gz), "big", "jsonl"),
             InputFile(str(csv_path), "big", "csv"), InputFile(str(small), "small", "text")]
    out = split_inputs(files, 4096)
    ranges = [f for f in out if f.path == str(big)]
    assert len(ranges) > 3 and all(f.is_range for f in ranges)
    assert [f for f in out if not f.is_range] == files[1:]
    assert ranges[0].first_line == 1 and ranges[-1].end == big.stat().st_size
    assert {f.size for f in ranges} == {big.stat().st_size} and len({f.sha256 for f in ranges}) == 1
    lines = [r.line for f in ranges for r in readers.read_records(
        f.path, f.table, f.fmt, byte_range=(f.start, f.end, f.first_line))]
    assert lines == list(range(1, 2001))
    assert split_inputs(files, 0) == files  # disabled
    assert split_inputs(files, 4096, max_bytes=1000)[0] == files[0]  # over the cap: whole


# --------------------------------------------------------------------------- encodings


def test_lines_that_are_not_utf8_are_decoded_and_counted(tmp_path: Path) -> None:
    data = ('{"name": "Jos\u00e9"}\n'.encode("latin-1") + b'{"name": "ok"}\n'
            + '{"name": "Ren\u00e9"}\n'.encode("utf-8"))
    p = write(tmp_path, "latin1.jsonl", data)
    stats = readers.ReadStats()
    got = list(read_records(p, "t", "jsonl", stats=stats))
    assert [r.fields["name"] for r in got] == ["Jos\ufffd", "ok", "Ren\u00e9"]  # type: ignore
    assert stats.decoded_with_fallback == 1
    # a configured fallback encoding gives the right letters
    stats = readers.ReadStats()
    got = list(read_records(p, "t", "jsonl", stats=stats,
                            limits=ReadLimits(fallback_encoding="cp1252")))
    assert [r.fields["name"] for r in got] == ["Jos\u00e9", "ok", "Ren\u00e9"]  # type: ignore
    assert stats.decoded_with_fallback == 1


@pytest.mark.parametrize("fmt, name", [("text", "x.log"), ("csv", "x.csv")])
def test_text_and_csv_count_their_repairs(tmp_path: Path, fmt: str, name: str) -> None:
    data = b"h,v\n" if fmt == "csv" else b""
    data += b"caf\xe9,1\n\xff\xfe,2\nok,3\n"
    stats = readers.ReadStats()
    got = list(read_records(write(tmp_path, name, data), "t", fmt, stats=stats))
    assert all(isinstance(r, Record) for r in got) and len(got) == 3
    assert stats.decoded_with_fallback == 2


def test_a_binary_file_is_one_unreadable_record(tmp_path: Path) -> None:
    rnd = random.Random(7)
    p = write(tmp_path, "blob.log", rnd.randbytes(64 * 1024))
    got = read(p, "text")
    assert [(type(r).__name__, r.reason, r.line) for r in got  # type: ignore[union-attr]
            ] == [("BadRecord", "unreadable", 0)]
    assert "binary content" in got[0].detail  # type: ignore[union-attr]
    # a text file with NUL bytes in a line or a garbage line keeps its lines
    p = write(tmp_path, "nul.jsonl", b'{"a": 1}\n' + b"\x00" * 100 + b'\n{"b": 2}\n')
    assert outcomes(read(p, "jsonl")) == ["ok", "invalid_json", "ok"]


@pytest.mark.parametrize("name, ok", [("cp1252", True), ("latin-1", True), ("UTF-16", True),
                                      ("nope-8", False), ("rot13", False)])
def test_check_encoding(name: str, ok: bool) -> None:
    if ok:
        assert readers.check_encoding(name)
    else:
        with pytest.raises(ValueError, match=name):
            readers.check_encoding(name)
