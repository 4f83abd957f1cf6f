"""AWS ARNs: ``arn:partition:service:region:account:resource``, the whole ARN as the span.

The account field is the 12-digit AWS account id (strong); ARNs without one
(``arn:aws:s3:::my-bucket/key``) still name a customer resource and score lower.
Partitions ``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso``, ``aws-iso-b``...

Deliberately not matched: ``arn:`` with an unknown partition, accounts not 12 digits,
an empty resource; a trailing full stop, comma, quote or bracket is not part of the span.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_HEAD = r"(?<![\w-])arn:aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?:[a-z0-9-]+:[a-z0-9-]*:"
_RESOURCE = r"[^\s\"'<>,;)\]}]*[^\s\"'<>,;)\]}.]"


class AwsArnDetector(Detector):
    ENTITY = entities.AWS_ARN
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("aws_arn_account", rf"{_HEAD}\d{{12}}:{_RESOURCE}", 0.9),
        Pattern("aws_arn_no_account", rf"{_HEAD}:{_RESOURCE}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["arn", "aws", "role", "iam", "resource"]
    PREFILTER = r"arn:aws"
