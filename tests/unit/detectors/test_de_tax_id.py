"""DeTaxIdDetector: eleven digits with the BZSt digit rule and MOD 11,10, after a Steuer-ID word."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.de_tax_id import DeTaxIdDetector, check_digit, tax_id_ok

DET = DeTaxIdDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Steuer-ID: 86095742719", [("86095742719", 0.8)]),
        ("Steuer-IdNr. 86 095 742 719", [("86 095 742 719", 0.8)]),
        ("IdNr 65929970489.", [("65929970489", 0.8)]),
        ("Ihre Steueridentifikationsnummer ist 26954371827", [("26954371827", 0.8)]),
        ("German tax ID 47036892816", [("47036892816", 0.8)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "86095742719",  # no Steuer-ID word
        "Steuer-ID: 86095742718",  # check digit
        "Steuer-ID: 06095742719",  # leading 0
        "Steuer-ID: 12345678903",  # every digit once: never issued
        "Steuer-ID: 1860957427190",  # longer run
        "Steuer-ID: 86 0957 42719",  # other grouping
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


def test_check_digit() -> None:
    assert check_digit("8609574271") == 9


@pytest.mark.parametrize(
    "text, ok",
    [("86095742719", True), ("65929970489", True), ("11123456780", False), ("8609574271", False)],
)
def test_tax_id_ok(text: str, ok: bool) -> None:
    assert tax_id_ok(text) is ok


def test_bare_value_needs_the_field_name() -> None:
    assert DET.match_value("86095742719") == 0.0
