"""EsNieDetector: X/Y/Z, seven digits and the DNI check letter."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.es_nie import EsNieDetector, nie_ok

DET = EsNieDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NIE X1234567L", [("X1234567L", 0.8)]),
        ("residente X1234567L.", [("X1234567L", 0.5)]),
        ("X-1234567-L", [("X-1234567-L", 0.5)]),
        ("nie: x1234567l", [("x1234567l", 0.8)]),
        ("Y0000000Z", [("Y0000000Z", 0.5)]),
        ("número de identidad de extranjero Z7654321H", [("Z7654321H", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "X1234567A",  # wrong letter
        "x1234567l",  # lower case without a NIE word
        "W1234567L",  # other first letter
        "X123456L",  # six digits
        "X12345678L",
        "AX1234567L",  # glued
        "X1234567LL",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize("text, ok", [("X1234567L", True), ("y-0000000-z", True),
                                      ("X1234567M", False), ("12345678Z", False)])
def test_nie_ok(text: str, ok: bool) -> None:
    assert nie_ok(text) is ok


@pytest.mark.parametrize("value, score", [("X1234567L", 0.5), ("X1234567M", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
