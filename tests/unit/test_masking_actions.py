from __future__ import annotations

import pytest

from telescrub.core.actions import mask, redact_placeholder, truncate_ip
from telescrub.core.masking import mask_example


@pytest.mark.parametrize("value,keep,expected", [
    ("4111 1111 1111 1111", 4, "**** **** **** 1111"),
    ("4111111111111111", 4, "************1111"),
    ("GB82WEST12345698765432", 4, "******************5432"),
    ("12", 4, "12"),
    ("", 4, ""),
])
def test_mask(value, keep, expected):
    assert mask(value, keep) == expected


@pytest.mark.parametrize("value,expected", [
    ("203.0.113.77", "203.0.113.0/24"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3:8d3::/64"),
    ("[2001:db8::1]", "2001:db8::/64"),
    ("not an ip", None),
    ("999.1.1.1", None),
])
def test_truncate_ip(value, expected):
    assert truncate_ip(value) == expected


def test_redact_placeholder():
    assert redact_placeholder("euii", "EMAIL_ADDRESS") == "<EUII:EMAIL_ADDRESS>"
    assert redact_placeholder("account_data", None) == "<ACCOUNT_DATA>"


@pytest.mark.parametrize("value", ["anna.kowalski@contoso.com", "203.0.113.7", "Anna Kowalski",
                                   "sip:anna@contoso.com", 4111111111111111])
def test_mask_example_hides_every_token(value):
    masked = mask_example(value)
    for token in str(value).replace("@", " ").replace(".", " ").replace(":", " ").split():
        if len(token) > 1:
            assert token not in masked


def test_mask_example_keeps_safe_tokens():
    assert mask_example("h1:abcd1234:" + "0" * 32).startswith("h1:abcd1234:")
    assert mask_example("<EUII:EMAIL_ADDRESS>") == "<EUII:EMAIL_ADDRESS>"
