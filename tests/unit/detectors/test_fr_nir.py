"""FrNirDetector: 13 characters + key 97 - (n mod 97), Corsica 2A/2B."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.fr_nir import FrNirDetector, nir_ok

DET = FrNirDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NIR 2 55 08 14 168 025 38", [("2 55 08 14 168 025 38", 0.8)]),
        ("assuré 255081416802538.", [("255081416802538", 0.5)]),
        ("2550814168025 38", [("2550814168025 38", 0.5)]),  # key apart
        (
            "mon numéro de sécurité sociale est 1 80 03 2A 004 023 78",
            [("1 80 03 2A 004 023 78", 0.8)],
        ),
        ("carte vitale: 269092B01234531", [("269092B01234531", 0.8)]),
        ("n° 1 84 12 76 451 089 46", [("1 84 12 76 451 089 46", 0.5)]),
        ("NIR: 355081416802585", [("355081416802585", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "255081416802539",  # wrong key
        "NIR 2 55 08 14 168 025 39",
        "555081416802538",  # sex digit 5
        "card 346412338913585",  # a 15-digit Amex card: provisional NIRs need a NIR word
        "355081416802585",  # the same without the word
        "2 55 00 14 168 025 38",  # month 00
        "1 80 03 2A 004 023 79",  # Corsica, wrong key
        "id=1255081416802538",  # inside a longer run
        "x255081416802538",  # glued
        "2 55 0814 168 025 38",  # other grouping
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "text, ok",
    [("255081416802538", True), ("1 80 03 2A 004 023 78", True), ("269092B01234531", True),
     ("269092B01234530", False), ("25508141680253", False)],
)
def test_nir_ok(text: str, ok: bool) -> None:
    assert nir_ok(text) is ok


@pytest.mark.parametrize("value, score", [("255081416802538", 0.5), ("255081416802537", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
