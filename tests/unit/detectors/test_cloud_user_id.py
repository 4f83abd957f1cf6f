"""CloudUserIdDetector: user ids of identity providers with a fixed shape (AWS AIDA/AROA unique
ids, Okta 00u ids, Salesforce 005 ids with their case checksum)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.cloud_user_id import (
    CloudUserIdDetector,
    salesforce_checksum_ok,
)

DET = CloudUserIdDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"principalId": "AIDARB2PKUDQYPON37SS4"', ["AIDARB2PKUDQYPON37SS4"]),
        ("principal AROAJQABLZS4A3QDU576Q:jdoe@contoso.com called",
         ["AROAJQABLZS4A3QDU576Q:jdoe@contoso.com"]),
        ("detailEntry subject 00u5ia07pgZLGRBAq697.", ["00u5ia07pgZLGRBAq697"]),
        ("/services/data/v52.0/sobjects/User/0053X00000BmHhzQAF",  # 18 characters, checksum ok
         ["0053X00000BmHhzQAF"]),
        ("shared with 0050O000003RBWV", ["0050O000003RBWV"]),  # 15 characters
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE",  # an access key: the access-key detector's
        "AGPAJ5BR5IE4E4MWXK7TE",  # a group id, not a person
        "0oa5ia07pgZLGRBAq697",  # an Okta app id
        "0053X00000BmHhzQAA",  # 18-character Salesforce id with a wrong checksum
        "005000000000000",  # no letter: a number, not an id
        "X00u5ia07pgZLGRBAq697",  # glued to a letter
        "00u5ia07pgZLGRBAq6971",  # one character too long
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "sf_id, ok",
    [("0053X00000BmHhzQAF", True), ("0053X00000BmHhz", True), ("0053X00000BmHhzQAA", False),
     ("00520000004aQgaAAE", True), ("0053X000009rC26QAE", True)],
)
def test_salesforce_checksum(sf_id: str, ok: bool) -> None:
    assert salesforce_checksum_ok(sf_id) is ok


def test_a_column_of_ids_is_classified() -> None:
    assert DET.match_value("00u5ia07pgZLGRBAq697") == 0.7
    assert DET.match_value("user 00u5ia07pgZLGRBAq697") == 0.0
