"""Cost linear in bytes whatever the input (issue #14, part 4).

A 60 MB single-line log and a 10 MB JSON string value cost no more than an ordinary file of
the same size (lines under the cap), read and scrubbed the way the file passes do it (records
-> free text through TextScrubber, a bad line -> its scrubbed preview). The bound is a ratio of
CPU times, never a wall-clock figure. And the scan itself is linear: hostile texts four times
longer cost about four times as much, not sixteen.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from telescrub.classifiers.text import TextScrubber
from telescrub.core.keys import HashKey
from telescrub.core.policy import load_policy
from telescrub.core.records import BadRecord, Record
from telescrub.formats.readers import DEFAULT_MAX_LINE_BYTES, ReadLimits, read_records

MB = 1 << 20
#: ordinary lines (under the cap) that make up the "normal file of the same size"
NORMAL_LINES = [
    "Nov 20 00:00:00 web-01 sshd[63346]: Failed password for wei.silva from 52.217.89.20 port "
    "26896 ssh2",
    "Nov 20 00:01:09 web-01 support[49856]: callback requested by Richard Rodriguez at "
    "312.773.1475",
    "Nov 20 00:02:18 web-01 webapp[33118]: request a77a64b5-307c-428e-afb1-6969c587479b from "
    "23.136.100.235 by ethan.davis229@northwind.example completed in 1392 ms",
    "Nov 20 00:02:44 web-01 dhcpd[25838]: DHCPACK on 172.33.191.30 to b7:90:a4:e9:ae:b9 via eth0",
]


@pytest.fixture(scope="module")
def scrubber() -> TextScrubber:
    ts = TextScrubber(load_policy(None), HashKey(b"linear-time-test-key-0123456789ab", "t"))
    ts.scrub("warm up: anna.smith@example.com 10.1.2.3 John Smith, 12 Main Street")
    return ts


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _scrub_file(path: Path, fmt: str, ts: TextScrubber) -> tuple[float, list[BadRecord]]:
    """CPU seconds to read ``path`` and scrub its string values (a bad line: its preview)."""
    bad: list[BadRecord] = []
    t0 = _cpu()
    for rec in read_records(path, "t", fmt, limits=ReadLimits()):
        if isinstance(rec, BadRecord):
            bad.append(rec)
            ts.scrub(rec.text)
            continue
        assert isinstance(rec, Record)
        for v in rec.fields.values():
            if isinstance(v, str):
                ts.scrub(v)
    return _cpu() - t0, bad


def _write_normal(path: Path, size: int, make: Callable[[int], str]) -> None:
    """A file of ``size`` bytes of ordinary lines (each ~2 KiB, well under the cap)."""
    written = 0
    i = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            line = make(i) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            i += 1


def _log_line(i: int) -> str:
    return " | ".join(NORMAL_LINES[(i + k) % len(NORMAL_LINES)] for k in range(20))[:2000]


def test_60_mb_single_line_costs_no_more_than_a_normal_file(tmp_path: Path,
                                                            scrubber: TextScrubber) -> None:
    size = 60 * MB
    hostile = tmp_path / "one_line.log"
    with open(hostile, "wb") as fh:
        block = b"x" * MB
        for _ in range(60):
            fh.write(block)
        fh.write(b" 10.1.2.3\n")
    normal = tmp_path / "normal.log"
    _write_normal(normal, size, _log_line)
    t_hostile, bad = _scrub_file(hostile, "text", scrubber)
    t_normal, _ = _scrub_file(normal, "text", scrubber)
    assert [b.reason for b in bad] == ["line_too_long"]
    assert len(bad[0].text) <= 4096 and DEFAULT_MAX_LINE_BYTES <= 4 * MB
    assert t_hostile <= 1.5 * t_normal + 0.2, (t_hostile, t_normal)


def test_10_mb_json_string_value_costs_no_more_than_a_normal_file(
        tmp_path: Path, scrubber: TextScrubber) -> None:
    size = 10 * MB
    hostile = tmp_path / "one_value.jsonl"
    with open(hostile, "wb") as fh:
        fh.write(b'{"id": 1, "message": "')
        block = b"Xxxx " * (MB // 5)
        for _ in range(10):
            fh.write(block)
        fh.write(b'anna.smith@example.com"}\n')
    normal = tmp_path / "normal.jsonl"
    _write_normal(normal, size, lambda i: json.dumps({"id": i, "message": _log_line(i)}))
    t_hostile, bad = _scrub_file(hostile, "jsonl", scrubber)
    t_normal, _ = _scrub_file(normal, "jsonl", scrubber)
    assert [b.reason for b in bad] == ["line_too_long"]
    assert "anna.smith" not in scrubber.scrub(bad[0].text)[0]
    assert t_hostile <= 1.5 * t_normal + 0.2, (t_hostile, t_normal)


HOSTILE: dict[str, Callable[[int], str]] = {
    "letters then an address": lambda n: "x" * n + " 10.1.2.3",
    "capitalised words": lambda n: "Xxxx " * (n // 5) + "10.1.2.3",
    "name-like words and numbers": lambda n: "Anna 12, " * (n // 9),
    "digits": lambda n: "1" * n,
    "digit groups": lambda n: "12 " * (n // 3),
    "dotted labels": lambda n: "a." * (n // 2),
    "hex run": lambda n: "ab12" * (n // 4),
    "key=value": lambda n: "user=" * (n // 5),
    "at signs": lambda n: "a@" * (n // 2),
    "backslashes": lambda n: "A\\" * (n // 2),
    "lines of one word": lambda n: "Anna\n" * (n // 5),
}


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_scan_is_linear_on_hostile_texts(shape: str, scrubber: TextScrubber) -> None:
    make = HOSTILE[shape]
    n = 12_000

    def cost(length: int) -> float:
        text = make(length)
        best = float("inf")
        for _ in range(2):
            t0 = time.process_time()
            scrubber.analyze(text)
            best = min(best, time.process_time() - t0)
        return best

    small, large = cost(n), cost(4 * n)
    # linear: ~4x; a quadratic engine would show ~16x (small absolute times get slack)
    assert large <= 8 * small + 0.05, (shape, small, large)


def test_long_text_is_analysed_in_overlapping_chunks(scrubber: TextScrubber) -> None:
    text = " ".join(f"host 10.0.{i // 250}.{i % 250 + 1} ok" for i in range(2000))
    whole = sorted((r.entity_type, r.start, r.end) for r in scrubber.analyze(text))
    saved = scrubber.max_text_chars
    try:
        scrubber.max_text_chars = 1000
        chunked = sorted((r.entity_type, r.start, r.end) for r in scrubber.analyze(text))
    finally:
        scrubber.max_text_chars = saved
    assert len(whole) == 2000 and chunked == whole
