"""Windows security identifiers of accounts: ``S-1-5-21-<3 domain sub-authorities>-<RID>``
(domain/local users and groups) and ``S-1-12-1-<4 parts>`` (Azure AD users).

Deliberately not matched: well-known SIDs that name no one (``S-1-5-18`` LocalSystem,
``S-1-5-32-544`` Administrators, ``S-1-1-0`` Everyone), SIDs inside longer dashed runs,
sub-authorities longer than 10 digits.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_N = r"-\d{1,10}"
_B = r"(?<![\w-])"
_E = r"(?![\w-])"


class WindowsSidDetector(Detector):
    ENTITY = entities.WINDOWS_SID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("sid_domain", rf"{_B}[Ss]-1-5-21(?:{_N}){{3}}(?:{_N})?{_E}", 0.85),
        Pattern("sid_azure_ad", rf"{_B}[Ss]-1-12-1(?:{_N}){{4}}{_E}", 0.85),
    ]
    CONTEXT: ClassVar[list[str]] = ["sid", "security id", "account", "user"]
    PREFILTER = r"[Ss]-1-(?:5-21|12-1)-"
