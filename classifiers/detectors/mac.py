"""MAC (EUI-48) addresses: ``00:1A:2B:3C:4D:5E``, ``00-1a-2b-3c-4d-5e``, ``001a.2b3c.4d5e``.

Colon and dash notations need the same separator throughout. The Cisco dot notation must
hold at least one hex letter, so that dotted decimal numbers are left alone. The all-zero
and broadcast addresses are rejected.

Deliberately not matched: six groups inside a longer run (``00:11:22:33:44:55:66``,
IPv6), times (``12:30:45``), groups of one or three digits, bare 12-hex-digit runs.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_X = "[0-9A-Fa-f]"


class MacDetector(Detector):
    ENTITY = entities.MAC
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "mac_colon_dash",
            rf"(?<![\w:.-]){_X}{{2}}([:-])(?:{_X}{{2}}\1){{4}}{_X}{{2}}(?![\w:-]|\.\w)",
            0.7,
        ),
        Pattern(
            "mac_cisco_dot",
            rf"(?<![\w.:-])(?=[\d.]*[A-Fa-f]){_X}{{4}}\.{_X}{{4}}\.{_X}{{4}}(?![\w-]|\.\w)",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["mac", "hwaddr", "ether", "hardware", "bssid", "address"]
    PREFILTER = r"[0-9A-Fa-f]{2}[:.-][0-9A-Fa-f]{2}"

    def invalidate_result(self, pattern_text: str) -> bool:
        digits = pattern_text.translate(str.maketrans("", "", ":-.")).lower()
        return digits in ("000000000000", "ffffffffffff")
