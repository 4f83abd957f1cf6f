"""AwsAccessKeyDetector: AKIA/ASIA access key ids."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.aws_access_key import AwsAccessKeyDetector

DET = AwsAccessKeyDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]),
        ('"AccessKeyId": "ASIAY34FZKBOKMUTVV7A",', ["ASIAY34FZKBOKMUTVV7A"]),
        ("Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3", ["AKIAIOSFODNN7EXAMPLE"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "AIDAJQABLZS4A3QDU576Q",  # a user id, not a key
        "AKIAIOSFODNN7EXAMPL",  # 15 after the prefix
        "AKIAIOSFODNN7EXAMPLEX",  # 17
        "xAKIAIOSFODNN7EXAMPLE",
        "akiaiosfodnn7example",
        "AKIAXXXXXXXXXXXXXXXX",  # placeholder
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, score", [("AKIAIOSFODNN7EXAMPLE", 0.9), ("key AKIAIOSFODNN7EXAMPLE", 0.0)]
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
