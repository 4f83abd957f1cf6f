"""UkNinoDetector: HMRC-allocatable prefixes, six digits, suffix A-D; any case after NI words."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.uk_nino import UkNinoDetector, nino_ok

DET = UkNinoDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("nino AB123456C on file", [("AB123456C", 0.8)]),
        ("ref AB123456C", [("AB123456C", 0.5)]),
        ("printed as AB 12 34 56 C.", [("AB 12 34 56 C", 0.5)]),
        ("my NI number is AB 12 34 56 C ok", [("AB 12 34 56 C", 0.8)]),
        ("national insurance number: ab123456", [("ab123456", 0.8)]),  # suffix optional here
        ("National Insurance No. JG 10 37 49 D", [("JG 10 37 49 D", 0.8)]),
        ("(CE123456A)", [("CE123456A", 0.5)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "QQ 12 34 56 C",  # HMRC's published example: Q is no first letter
        "DA123456A",  # D never first
        "AO123456A",  # O never second
        "GB123456A",  # prefix not allocated
        "ZZ123456A",
        "AB123456E",  # suffix outside A-D
        "AB123456",  # no suffix and no NI word
        "ab123456c",  # lower case without an NI word
        "XAB123456C",  # glued
        "AB1234567C",
        "AB12 3456C",  # other grouping
        "user-AB123456C",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "text, ok",
    [("AB123456C", True), ("ab 12 34 56 c", True), ("AB123456", True), ("TN123456A", False),
     ("AB123456Z", False)],
)
def test_nino_ok(text: str, ok: bool) -> None:
    assert nino_ok(text) is ok


@pytest.mark.parametrize("value, score", [("AB123456C", 0.5), ("QQ123456C", 0.0), ("AB", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
