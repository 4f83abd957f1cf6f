"""AWS ARNs: ``arn:partition:service:region:account:resource``; the span is the *person* in it.

An ARN names an account (OII, kept by the default policy), a service and a resource type; some
also name a person: an IAM user (``arn:aws:iam::123456789012:user/dev/jdoe``), an assumed-role
session (``arn:aws:sts::123456789012:assumed-role/Admin/jdoe@contoso.com``, the session name is
often the caller's e-mail or login), a federated user (``...:federated-user/jdoe``), an
Identity Center user (``arn:aws:identitystore::123456789012:user/<id>``). Only that name is
reported, so scrubbing gives ``arn:aws:iam::123456789012:user/dev/h1:...``: the ARN stays
readable and joinable. Every other ARN is matched as a whole by :meth:`match_value` (a column
of ARNs is classified ``AWS_ARN``) and reports nothing in text.

Partitions ``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso``, ``aws-iso-b``...

Deliberately not matched: ``arn:`` with an unknown partition, accounts not 12 digits, an empty
resource; a trailing full stop, comma, quote or bracket is not part of the span. Not a person:
roles (``role/Admin``), the account root (``:root``), groups, policies, MFA devices.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import NOT_A_TOKEN, CompoundDetector
from telescrub.core import entities

_PARTITION = r"(?<![\w-])arn:aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?"
_HEAD = rf"{_PARTITION}:[a-z0-9-]+:[a-z0-9-]*:"
_RESOURCE = r"[^\s\"'<>,;)\]}]*[^\s\"'<>,;)\]}.]"
_NAME_CHARS = r"[\w+=.@-]"  # IAM names: letters, digits and + = . @ _ - (a comma ends one)
_NAME = rf"{NOT_A_TOKEN}{_NAME_CHARS}*[\w+=@-]"
_END = r"(?![\w+=@/-]|\.[\w])"


class AwsArnDetector(CompoundDetector):
    ENTITY = entities.AWS_ARN
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("arn_iam_user", rf"{_PARTITION}:(?:iam|identitystore)::\d{{12}}:user/"
                rf"(?:{_NAME_CHARS}+/)*(?P<part>{_NAME}){_END}", 0.9),
        Pattern("arn_role_session", rf"{_PARTITION}:sts::\d{{12}}:assumed-role/{_NAME_CHARS}+/"
                rf"(?P<part>{_NAME}){_END}", 0.9),
        Pattern("arn_federated_user", rf"{_PARTITION}:sts::\d{{12}}:federated-user/"
                rf"(?P<part>{_NAME}){_END}", 0.9),
        Pattern("aws_arn_account", rf"{_HEAD}\d{{12}}:{_RESOURCE}", 0.9),
        Pattern("aws_arn_no_account", rf"{_HEAD}:{_RESOURCE}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["arn", "aws", "role", "iam", "resource"]
    PREFILTER = r"arn:aws"
