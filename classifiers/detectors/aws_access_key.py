"""AWS access key ids: ``AKIA`` (long-term) or ``ASIA`` (temporary STS) + 16 of ``[A-Z0-9]``.

Deliberately not matched: other AWS id prefixes (``AIDA`` users, ``AROA`` roles: ids,
not credentials), lowercase or shorter/longer runs, keys glued to other letters or digits.
The 40-character secret key has no shape of its own; ``password_kv`` catches it as the
value of ``aws_secret_access_key=...``.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities


class AwsAccessKeyDetector(Detector):
    ENTITY = entities.AWS_ACCESS_KEY
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("aws_access_key", r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", 0.9),
    ]
    CONTEXT: ClassVar[list[str]] = ["aws", "access", "key", "credential"]
    PREFILTER = r"A(?:KI|SI)A[A-Z0-9]{16}"

    def invalidate_result(self, pattern_text: str) -> bool:
        return len(set(pattern_text[4:])) < 4  # AKIAXXXXXXXXXXXXXXXX placeholders
