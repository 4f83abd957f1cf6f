"""HexIdDetector: whole 32/40/64-hex-digit tokens (hashed ids, Keystone ids, digests)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.hex_id import HexIdDetector

DET = HexIdDetector()
MD5 = "113d3a99c3da401fbd62cc2caa5b96d2"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "53f725cf03f511fab16f19e789ce64aa1eed72395fc246e9f1100748325002f4"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            f"[req-1 {MD5} 54fadb412c4e40cdbaed9335e4c35a9e - - -]",
            [MD5, "54fadb412c4e40cdbaed9335e4c35a9e"],
        ),
        (
            "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail",
            ["54fadb412c4e40cdbaed9335e4c35a9e"],
        ),
        (f"sha1 {SHA1} ok", [SHA1]),
        (f"digest={SHA256}", [SHA256]),
        (f"user_{MD5.upper()}", [MD5.upper()]),
        (f"/_base/{SHA1}): checking", [SHA1]),
        # 24-hex object ids (Atlassian account ids, MongoDB ObjectIds)
        ('"changedFrom": "5f75da6525fbdf00683c0c1d"', ["5f75da6525fbdf00683c0c1d"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        MD5[:-1],  # 31
        MD5 + "a",  # 33
        SHA1 + "ab",  # 42
        "0x" + MD5,  # glued to a word
        "12345678901234567890123456789012",  # digits only
        "abcdefabcdefabcdefabcdefabcdefab",  # letters only
        "113d3a99c3da401fBD62cc2caa5b96d2",  # mixed case
        "31bf3856ad364e35",  # 16 hex
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",  # GUID
        "blk_-1608999687919862906",
        "5F75DA6525FBDF00683C0C1D",  # a 24-hex object id is lower case
        "aaaaaaaaaaaaaaaaaaaaa123",  # ... and mixes letters and digits (4+ digits)
        "5f75da6525fbdf00683c0c1d1",  # 25
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, score",
    [(MD5, 0.6), (SHA256, 0.6), (MD5.upper(), 0.5), ("id:" + MD5, 0.0), (MD5[:30], 0.0)],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
