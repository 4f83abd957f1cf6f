"""AwsArnDetector: whole ARNs, strong with a 12-digit account id."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.aws_arn import AwsArnDetector

DET = AwsArnDetector()


def found(text: str) -> list[tuple[str, float]]:
    return [(text[r.start : r.end], r.score) for r in sorted(DET.find(text), key=lambda r: r.start)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "assumed arn:aws:iam::123456789012:role/Admin.",
            [("arn:aws:iam::123456789012:role/Admin", 0.9)],
        ),
        (
            '"Arn": "arn:aws:sts::123456789012:assumed-role/dev/alice@example.com"',
            [("arn:aws:sts::123456789012:assumed-role/dev/alice@example.com", 0.9)],
        ),
        (
            "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc,",
            [("arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc", 0.9)],
        ),
        (
            "(arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn:1)",
            [("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn:1", 0.9)],
        ),
        ("bucket arn:aws:s3:::my-bucket/key.txt", [("arn:aws:s3:::my-bucket/key.txt", 0.6)]),
    ],
)
def test_finds(text: str, expected: list[tuple[str, float]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "arn:azure:iam::123456789012:role/x",  # unknown partition
        "arn:aws:iam::12345678901:role/x",  # 11-digit account
        "arn:aws:iam::123456789012:",  # no resource
        "yarn:aws:iam::123456789012:role/x",
        "arn: aws is a word",
    ],
)
def test_ignores(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, score",
    [
        ("arn:aws:iam::123456789012:user/alice", 0.9),
        ("arn:aws:s3:::bucket", 0.6),
        ("123456789012", 0.0),
    ],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
