"""EsDniDetector: eight digits and the mod-23 check letter."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.es_dni import EsDniDetector, check_letter, dni_ok

DET = EsDniDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DNI 12345678Z", [("12345678Z", 0.8)]),
        ("titular 12345678Z.", [("12345678Z", 0.5)]),
        ("12345678-Z", [("12345678-Z", 0.5)]),
        ("12.345.678-Z", [("12.345.678-Z", 0.5)]),
        ("dni: 12345678 z", [("12345678 z", 0.8)]),
        ("NIF 00000023T", [("00000023T", 0.8)]),
        ("mi documento nacional de identidad es 87654321X", [("87654321X", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12345678A",  # wrong letter
        "DNI 12345678A",
        "12345678z",  # lower case without a DNI word
        "size 12345678 Z",  # a letter after a space needs the DNI word
        "1234567Z",  # seven digits
        "123456789Z",
        "x12345678Z",  # glued
        "12345678ZZ",
        "v1.12345678Z",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


def test_check_letter() -> None:
    assert (check_letter(12345678), check_letter(0), check_letter(22)) == ("Z", "T", "E")


@pytest.mark.parametrize("text, ok", [("12345678Z", True), ("12.345.678-z", True),
                                      ("12345678Y", False), ("1234567Z", False)])
def test_dni_ok(text: str, ok: bool) -> None:
    assert dni_ok(text) is ok


@pytest.mark.parametrize("value, score", [("12345678Z", 0.5), ("12345678Y", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
