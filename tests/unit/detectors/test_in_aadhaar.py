"""InAadhaarDetector: Verhoeff-valid twelve digits, only after an Aadhaar word."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.in_aadhaar import InAadhaarDetector, aadhaar_ok, verhoeff_ok

DET = InAadhaarDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Aadhaar: 2345 6789 0124", [("2345 6789 0124", 0.8)]),
        ("aadhaar number 234567890124", [("234567890124", 0.8)]),
        ("Aadhar card no. 4987-6543-2102.", [("4987-6543-2102", 0.8)]),
        ("UIDAI 498765432102", [("498765432102", 0.8)]),
        ("आधार 2345 6789 0124", [("2345 6789 0124", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2345 6789 0124",  # no Aadhaar word
        "Aadhaar: 2345 6789 0125",  # Verhoeff fails
        "Aadhaar: 1345 6789 0124",  # first digit 1
        "Aadhaar: 2345 6789-0124",  # mixed separators
        "Aadhaar: 2345 6789 0124 5678",  # four groups: a card
        "Aadhaar: 22345 6789 0124",
        "Aadhaar: 2222 2222 2222",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize("digits, ok", [("2363", True), ("2364", False), ("234567890124", True)])
def test_verhoeff_ok(digits: str, ok: bool) -> None:
    assert verhoeff_ok(digits) is ok


@pytest.mark.parametrize("text, ok", [("2345 6789 0124", True), ("0345 6789 0124", False),
                                      ("23456789012", False)])
def test_aadhaar_ok(text: str, ok: bool) -> None:
    assert aadhaar_ok(text) is ok


def test_bare_value_needs_the_field_name() -> None:
    assert DET.match_value("2345 6789 0124") == 0.0
