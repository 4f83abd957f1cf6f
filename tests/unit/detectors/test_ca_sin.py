"""CaSinDetector: Luhn-valid nine digits, only after a SIN word."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.ca_sin import CaSinDetector, sin_ok

DET = CaSinDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SIN: 130 692 544", [("130 692 544", 0.8)]),
        ("SIN 130-692-544.", [("130-692-544", 0.8)]),
        ("social insurance number 130692544", [("130692544", 0.8)]),
        ("My Social Insurance No. is 130 692 544", [("130 692 544", 0.8)]),
        ("numéro d'assurance sociale : 130 692 544", [("130 692 544", 0.8)]),
        ("S.I.N. 130692544", [("130692544", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "130 692 544",  # no SIN word
        "id 130692544",
        "SIN: 130 692 545",  # Luhn fails
        "SIN: 046 454 286",  # starts with 0: never issued (the Service Canada example)
        "SIN: 830 692 540",  # starts with 8
        "sin 130692544",  # lower-case 'sin' is a word
        "SIN: 130-692 544",  # mixed separators
        "SIN: 1306925440",  # ten digits
        "SIN: 2130 692 544",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "text, ok",
    [("130 692 544", True), ("130692545", False), ("046454286", False), ("13069254", False)],
)
def test_sin_ok(text: str, ok: bool) -> None:
    assert sin_ok(text) is ok


@pytest.mark.parametrize("value", ["130 692 544", "130692544"])
def test_bare_value_needs_the_field_name(value: str) -> None:
    # a column of SINs is classified by its name (rules.yaml role national_id), not by shape
    assert DET.match_value(value) == 0.0
