"""IbanDetector: IBANs validated by country length and mod-97."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.iban import IbanDetector, iban_ok

DET = IbanDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my iban is gb42nawi04454264788619", ["gb42nawi04454264788619"]),
        ("IBAN GB82WEST12345698765432.", ["GB82WEST12345698765432"]),
        ("GB82 WEST 1234 5698 7654 32 and more", ["GB82 WEST 1234 5698 7654 32"]),
        ("DE89 3704 0044 0532 0130 00", ["DE89 3704 0044 0532 0130 00"]),
        (
            "to FR1420041010050500013M02606, NO9386011117947",
            ["FR1420041010050500013M02606", "NO9386011117947"],
        ),
        # dashes, any case: the country and bank-code letters are part of the span
        ("IBAN DE89-3704-0044-0532-0130-00 for the refund", ["DE89-3704-0044-0532-0130-00"]),
        ("gb82 west 1234 5698 7654 32 for the refund", ["gb82 west 1234 5698 7654 32"]),
        ("GB82-WEST-1234-5698-7654-32", ["GB82-WEST-1234-5698-7654-32"]),
        ("Gb82 West 1234 5698 7654 32", ["Gb82 West 1234 5698 7654 32"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GB82WEST12345698765433",  # checksum
        "GB82WEST1234569876543",  # length for GB
        "XX82WEST12345698765432",  # unknown country
        "xGB82WEST12345698765432",  # glued
        "GB82 WEST-1234-5698-7654-32",  # mixed separators
        "GB82.WEST.1234.5698.7654.32",  # dots
        "GB82 WES T123 4569 8765 432",  # groups not of four
        "DE89 3704 0044 0532 0130 0012",  # one character too many
        "KB3149090 Package_for_KB2750841",
        "AB12CD34EF56GH78",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_score_is_max_after_validation() -> None:
    (r,) = DET.find("GB82WEST12345698765432")
    assert r.score == 1.0


@pytest.mark.parametrize(
    "text, ok",
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("gb82west12345698765432", True),
        ("GB00WEST12345698765432", False),
    ],
)
def test_iban_ok(text: str, ok: bool) -> None:
    assert iban_ok(text) is ok


@pytest.mark.parametrize(
    "value, score",
    [
        ("DE89370400440532013000", 1.0),
        ("DE89 3704 0044 0532 0130 00", 1.0),
        ("DE89370400440532013001", 0.0),
    ],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
