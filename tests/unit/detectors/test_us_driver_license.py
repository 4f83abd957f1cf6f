"""UsDriverLicenseDetector: licence numbers of any state format, only after a licence phrase."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.us_driver_license import UsDriverLicenseDetector, dl_ok

DET = UsDriverLicenseDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("My driver's license number is F162823540116", [("F162823540116", 0.8)]),
        ("my driver's license number is 2270-66-1551", [("2270-66-1551", 0.8)]),
        ("Drivers license: 6940579.", [("6940579", 0.8)]),
        ("driving licence no. WA1234567", [("WA1234567", 0.8)]),
        ("DL# D1234567 exp 2027", [("D1234567", 0.8)]),
        ("CDL: 123456789", [("123456789", 0.8)]),
        ("License No. A12-345-678", [("A12-345-678", 0.6)]),
        ("licence number is S12345678Z", [("S12345678Z", 0.6)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "F162823540116",  # no licence phrase
        "license number is pending",
        "driver's license number is on file",
        "DL 5 files",  # DL without '#', ':' or 'number'
        "license key ABCDE-12345-FGHIJ",
        "MIT License 2024",
        "driver's license number is 0000000",  # one repeated digit
        "driver's license number is AB12",  # too short
        "driver's license number is abc12345",  # lower case
        "driver's license number is ABCD123456",  # four letters in front
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize("text, ok", [("F162823540116", True), ("2270-66-1551", True),
                                      ("ABC", False), ("A1--2345", False)])
def test_dl_ok(text: str, ok: bool) -> None:
    assert dl_ok(text) is ok


def test_bare_value_needs_the_field_name() -> None:
    assert DET.match_value("F162823540116") == 0.0
