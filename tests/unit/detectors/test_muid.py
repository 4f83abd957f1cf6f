"""MuidDetector: 32 uppercase hex digits, strong as the value of a MUID key."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.muid import MuidDetector

DET = MuidDetector()
M = "1A2B3C4D5E6F708192A3B4C5D6E7F801"


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"Cookie: MUID={M}; _EDGE_S=F=1", [(M, 0.9)]),
        (f'{{"muid": "{M}"}}', [(M, 0.9)]),
        (f"muid:{M}", [(M, 0.9)]),
        (f"anon id {M} seen", [(M, 0.3)]),  # weak without the key
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "MUID=" + M.lower(),  # lowercase: a digest, see hex_id
        "MUID=" + M + "A",  # 33 digits
        "MUID=" + M[:-1],
        "12345678901234567890123456789012",  # digits only
        "ABCDEFABCDEFABCDEFABCDEFABCDEFAB",  # letters only
        "3F2504E0-4F89-11D3-9A0C-0305E82C3301",  # GUID
        "0x" + M,
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize("value, score", [(M, 0.3), ("MUID=" + M, 0.0), (M.lower(), 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
