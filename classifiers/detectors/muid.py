"""The MUID cookie value (Microsoft machine/browser id): 32 uppercase hex digits.

Strong when it is the value of a ``MUID`` key (``MUID=...``, ``"MUID": "..."``,
``muid:...``); weak on its own, and then it must mix letters and digits.

Deliberately not matched: lowercase or mixed-case hex (``hex_id`` covers digests),
GUIDs with dashes, runs longer than 32 hex digits, all-digit runs.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_VALUE = r"[0-9A-F]{32}(?![0-9A-Za-z])"


class MuidDetector(Detector):
    ENTITY = entities.MUID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("muid_keyed", rf"(?i:\bmuid)[\"']?\s*[=:]\s*[\"']?\K{_VALUE}", 0.9),
        Pattern(
            "muid_bare",
            rf"(?<![0-9A-Za-z])(?=[0-9A-F]*[A-F])(?=[0-9A-F]*[0-9]){_VALUE}",
            0.3,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["muid", "cookie", "anid", "machine"]
    PREFILTER = r"[0-9A-F]{32}"
