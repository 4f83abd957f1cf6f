"""Identity-provider user ids with a shape of their own (entity ``USER_ID``), wherever they are.

Audit logs name users by the id their identity provider made, also outside any user field
(a target's detail entry, a changed value, a URL). Each shape here is fixed by its vendor:

* AWS IAM unique ids of people and sessions: ``AIDA`` (IAM user) and ``AROA`` (role, often
  followed by ``:<session name>``, the caller) + 17 upper-case letters or digits
  (``AIDARB2PKUDQYPON37SS4``, ``AROAEXAMPLEID123456AB:jdoe@contoso.com``);
* Okta user ids: ``00u`` + 17 letters or digits (``00u5ia07pgZLGRBAq697``);
* Salesforce user ids: key prefix ``005`` + 12 characters, or 15 + a 3-character case
  checksum (``0053X00000BmHhzQAF``, checksum verified), mixing letters and digits.

Deliberately not matched: other AWS id prefixes (``AKIA``/``ASIA`` are access keys, the
access-key detector's; ``AGPA`` groups, ``ANPA`` policies are not people), other Okta objects
(``0oa`` apps, ``00g`` groups), other Salesforce objects, 18-character Salesforce ids whose
checksum fails, ids glued to other letters or digits, hash tokens.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![A-Za-z0-9_-])"
_E = r"(?![A-Za-z0-9_])"
_SF_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_checksum_ok(sf_id: str) -> bool:
    """The 3-character suffix of an 18-character Salesforce id encodes, per 5-character
    chunk of the 15-character id, which characters are upper case."""
    if len(sf_id) == 15:
        return True
    if len(sf_id) != 18:
        return False
    suffix = ""
    for i in range(3):
        chunk = sf_id[i * 5:(i + 1) * 5]
        bits = sum(1 << j for j, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SF_ALPHABET[bits]
    return suffix == sf_id[15:]


class CloudUserIdDetector(Detector):
    ENTITY = entities.USER_ID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("aws_user_unique_id",
                rf"{_B}(?:AIDA|AROA)[A-Z0-9]{{17}}(?::[\w+=.@-]{{2,64}}[\w+=@-])?{_E}", 0.8),
        Pattern("okta_user_id", rf"{_B}00u[A-Za-z0-9]{{17}}{_E}", 0.7),
        Pattern("salesforce_user_id",
                rf"{_B}005(?=[A-Za-z0-9]{{12}}(?:[A-Za-z0-9]{{3}})?{_E})(?=[A-Za-z0-9]*[A-Za-z])"
                rf"[A-Za-z0-9]{{12}}(?:[A-Za-z0-9]{{3}})?{_E}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["user", "principal", "id", "actor"]
    PREFILTER = r"A(?:ID|RO)A[A-Z0-9]{17}|00u[A-Za-z0-9]{17}|005[A-Za-z0-9]{12}"

    def invalidate_result(self, pattern_text: str) -> bool:
        if pattern_text.startswith("005"):
            return not salesforce_checksum_ok(pattern_text)
        return False
