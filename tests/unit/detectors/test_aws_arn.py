"""AwsArnDetector: an ARN is matched whole (column classification) but only the person in it
(an IAM / Identity Center user, an assumed-role session, a federated user) is reported."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.aws_arn import AwsArnDetector

DET = AwsArnDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"Arn": "arn:aws:sts::123456789012:assumed-role/dev/alice@example.com"',
         [("alice@example.com", 0.9)]),
        ("arn:aws:sts::123456789012:assumed-role/Admin/h1-session.", [("h1-session", 0.9)]),
        ("by arn:aws:iam::072643944673:user/CATTeamIDC,", [("CATTeamIDC", 0.9)]),
        ("arn:aws:iam::123456789012:user/dev/team/bob.smith", [("bob.smith", 0.9)]),
        ("arn:aws-cn:sts::123456789012:federated-user/jdoe", [("jdoe", 0.9)]),
        ("arn:aws:identitystore::123456789012:user/9067-1234abcd",
         [("9067-1234abcd", 0.9)]),
        ("arn:aws-us-gov:iam::123456789012:user/svc+deploy=1", [("svc+deploy=1", 0.9)]),
    ],
)
def test_finds_the_person_in_an_arn(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "assumed arn:aws:iam::123456789012:role/Admin.",  # a role is not a person
        "arn:aws:iam::123456789012:root",  # the account itself (OII, kept)
        "arn:aws:iam::123456789012:mfa/alice",  # an MFA device
        "arn:aws:iam::123456789012:group/Developers",
        "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc,",
        "bucket arn:aws:s3:::my-bucket/key.txt",
        "arn:azure:iam::123456789012:user/x",  # unknown partition
        "arn:aws:iam::12345678901:user/x",  # 11-digit account
        "arn:aws:iam::123456789012:",  # no resource
        "yarn:aws:iam::123456789012:user/x",
        "arn: aws is a word",
        # already scrubbed: the hash token is not a name to scrub again
        "arn:aws:iam::123456789012:user/h1:8dbe2624:0123456789abcdef0123456789abcdef",
    ],
)
def test_reports_nothing_without_a_person(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "value, score",
    [
        ("arn:aws:iam::123456789012:user/alice", 0.9),
        ("arn:aws:iam::123456789012:role/Admin", 0.9),
        ("arn:aws:s3:::bucket", 0.6),
        ("123456789012", 0.0),
    ],
)
def test_match_value_takes_the_whole_arn(value: str, score: float) -> None:
    assert DET.match_value(value) == score
