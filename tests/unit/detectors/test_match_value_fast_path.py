"""``Detector.match_value``'s fast path for pure pattern detectors must score every value
exactly as the slow path (Presidio's pattern analysis through ``find``) does."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.detectors.base import Detector

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data"
CRAFTED = [
    "", " ", "a", "0", "-", "user@example.com", " user@example.com ", "user@example.com,x",
    "10.0.0.1", "10.0.0.1:443", "999.1.1.1", "fe80::1", "2001:db8::ff00:42:8329",
    "00:1A:2B:3C:4D:5E", "6301bbfc-a0c5-454e-8ff9-bb510944fe0c",
    "{6301BBFC-A0C5-454E-8FF9-BB510944FE0C}", "4111 1111 1111 1111", "4111111111111112",
    "GB82WEST12345698765432", "GB82WEST12345698765431", "+1 (425) 555-0100", "078-05-1120",
    "000-12-3456", "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::123456789012:user/alice",
    "S-1-5-21-3623811015-3361044348-30300820-1013", "CONTOSO\\alice", "sip:alice@contoso.com",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "password=hunter2",
    "https://x.example/?token=abc123&email=a@b.co", "DESKTOP-4F2K9QZ", "web-01.corp.local",
    "deadbeefdeadbeefdeadbeef", "Failed password for alice", "MUID=0A1B2C3D4E5F60718293A4B5C6D7E8F9",
    "2026-11-20T00:00:00.668Z", "16.0.17176.20043", "Windows 10.0.22631", "ok\n", "line\nbreak",
]


def _slow(det: Detector, value: str) -> float:
    v = value.strip()
    if not v:
        return 0.0
    best = 0.0
    for r in det.find(v):
        if r.start == 0 and r.end == len(v):
            best = max(best, r.score)
    return best


def _values() -> list[str]:
    out = set(CRAFTED)
    for path in sorted(SAMPLE.iterdir()):
        if path.suffix not in (".jsonl", ".csv", ".log", ".gz"):
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                out.update(t for t in re.split(r'[\s,"{}\[\]]+', line) if t)
                if line.lstrip().startswith("{"):
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue
                    out.update(str(v) for v in obj.values() if not isinstance(v, dict))
    return sorted(out)


VALUES = _values()


@pytest.mark.parametrize("det", build_detectors(), ids=lambda d: type(d).__name__)
def test_fast_path_scores_like_presidio(det: Detector) -> None:
    assert len(VALUES) > 500
    if type(det).match_value is not Detector.match_value:
        pytest.skip("the detector scores whole values its own way")
    diffs = [v for v in VALUES if det.match_value(v) != _slow(det, v)]
    assert not diffs, f"{type(det).__name__}: {len(diffs)} values score differently"
