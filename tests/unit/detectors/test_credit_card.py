"""CreditCardDetector: Luhn-valid PANs, 4-4-4-4 groups and card-worded numbers."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.credit_card import CreditCardDetector, luhn_ok

DET = CreditCardDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pay 4111 1111 1111 1111 now", [("4111 1111 1111 1111", 1.0)]),
        ("4111-1111-1111-1111", [("4111-1111-1111-1111", 1.0)]),
        ("visa 4111111111111111.", [("4111111111111111", 1.0)]),
        (
            "amex 378282246310005 and 3782 822463 10005",
            [("378282246310005", 1.0), ("3782 822463 10005", 1.0)],
        ),
        ("x 6011111111111117 y", [("6011111111111117", 1.0)]),  # Discover
        ("JCB 3530111333300000", [("3530111333300000", 1.0)]),
        # grouped 16 digits that fail Luhn: kept, lower score
        ("ref 1234 5678 9012 3456 end", [("1234 5678 9012 3456", 0.5)]),
        # a card word makes any 12-19 digits a card (synthetic data is often not Luhn-valid)
        ("redeem points won on credit card 060426070011 transactions", [("060426070011", 1.0)]),
        ("I want to cancel my card 180000826105911 because", [("180000826105911", 0.6)]),
        ("My card # 4030874397740603789 is expiring", [("4030874397740603789", 0.6)]),
        ("card number is 4111-1111-1111-1112", [("4111-1111-1111-1112", 0.6)]),
        # several cards on one line: bare runs, and a run of 4-digit groups cut into cards
        ("cards 4111111111111111 5555555555554444 both declined",
         [("4111111111111111", 1.0), ("5555555555554444", 1.0)]),
        ("4111 1111 1111 1111 5555 5555 5555 4444",
         [("4111 1111 1111 1111", 1.0), ("5555 5555 5555 4444", 1.0)]),
        ("4111111111111111,5555555555554444;378282246310005",
         [("4111111111111111", 1.0), ("5555555555554444", 1.0), ("378282246310005", 1.0)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # Luhn fails, no grouping, no card word
        "Receiving block blk_-1608999687919862906 src",  # HDFS block id
        "blk_7541621664406141215",
        "attempt_1445144423722_0020_m_000009_0",
        "setTodayTotalDetailSteps=1514040660000##7189",  # epoch milliseconds
        "ts 1445144423722 and 1514040660000",
        "0000 0000 0000 0000",  # Luhn-valid but a placeholder
        "Fan speeds ( 3552 3534 3375 4245 3515 3479 )",  # a list of counters
        "1234 5678 1234 5678 1234 5678 1234 5678",  # eight groups that are no cards
        "4111 1111 1111 1111 1234 5678 9012 3456",  # ... not every one of them a card
        "4111 1111-1111 1111",  # mixed separators
        "4111.1111.1111.1111",
        "IMEI 356938035643809",
        "card 12",
        "1.4111111111111111",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "digits, ok",
    [
        ("4111111111111111", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("0", True),
    ],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    "value, score",
    [
        ("4111111111111111", 1.0),
        ("4111 1111 1111 1111", 1.0),
        ("4111111111111112", 0.0),
        ("card 4111111111111111", 0.0),
    ],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
