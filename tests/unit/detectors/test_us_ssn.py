"""UsSsnDetector: AAA-GG-SSSS with SSA validity rules; bare digits only after an SSN word."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.us_ssn import UsSsnDetector, ssn_ok

DET = UsSsnDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("id 023-01-0866 on file", [("023-01-0866", 0.5)]),
        ("Here's my SSN: 023-01-0866", [("023-01-0866", 0.8)]),
        ("ssn 023010866", [("023010866", 0.8)]),
        ("SSN is 853 37 1694.", [("853 37 1694", 0.8)]),
        ("social security number: 772-11-2233", [("772-11-2233", 0.8)]),
        ("ssn 219.09.9999 in the form", [("219.09.9999", 0.8)]),  # dotted
        ("on file: 023.01.0866.", [("023.01.0866", 0.5)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "023010866",  # bare digits, no SSN word
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "901-12-3456",  # area 9xx
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "123-45-6789",  # published example
        "078-05-1120",  # the Woolworth wallet number
        "2005-023-01-0866",  # inside a longer dashed run
        "023-01-08661",
        "023-01 0866",  # mixed separators
        "12-345-6789",
        "1.219.09.9999",  # inside a longer dotted run
        "219.09.9999.1",  # a version string
        "023.01-0866",  # mixed separators
        "ssn 023-01 0866",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "text, ok",
    [("023-01-0866", True), ("023 01 0866", True), ("900-01-0866", False), ("02301086", False)],
)
def test_ssn_ok(text: str, ok: bool) -> None:
    assert ssn_ok(text) is ok


@pytest.mark.parametrize(
    "value, score", [("023-01-0866", 0.5), ("023010866", 0.0), ("666-01-0866", 0.0)]
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
