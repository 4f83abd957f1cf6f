"""ItFiscalCodeDetector: 16-character personal fiscal codes with their check letter."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.it_fiscal_code import (
    ItFiscalCodeDetector,
    check_char,
    fiscal_code_ok,
)

DET = ItFiscalCodeDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CF: RSSMRA85T10A562S", [("RSSMRA85T10A562S", 0.85)]),
        ("intestato a RSSMRA85T10A562S.", [("RSSMRA85T10A562S", 0.7)]),
        ("codice fiscale rssmra85t10a562s", [("rssmra85t10a562s", 0.85)]),
        ("(RSSMRA85T50A562W)", [("RSSMRA85T50A562W", 0.7)]),  # a woman: day + 40
        ("RSSMRA85T10A56NH", [("RSSMRA85T10A56NH", 0.7)]),  # omocodia: 2 -> N
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "RSSMRA85T10A562T",  # wrong check letter
        "rssmra85t10a562s",  # lower case without a fiscal-code word
        "RSSMRA85Z10A562S",  # Z is no month letter
        "RSSMRA85T35A562S",  # day 35
        "RSSMRA85T10A562SX",  # glued
        "XRSSMRA85T10A562S",
        "12345678901",  # a company's partita IVA
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


def test_check_char() -> None:
    assert check_char("RSSMRA85T10A562") == "S"


@pytest.mark.parametrize("text, ok", [("RSSMRA85T10A562S", True), ("rssmra85t10a562s", True),
                                      ("RSSMRA85T10A562A", False), ("RSSMRA85T10A562", False)])
def test_fiscal_code_ok(text: str, ok: bool) -> None:
    assert fiscal_code_ok(text) is ok


@pytest.mark.parametrize("value, score", [("RSSMRA85T10A562S", 0.7), ("RSSMRA85T10A562X", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
