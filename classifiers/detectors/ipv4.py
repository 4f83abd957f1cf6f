"""IPv4 addresses in dotted-quad form, each octet 0-255 (``10.251.39.209``).

A trailing ``:port`` or ``/prefix`` is left out of the span (``10.250.6.4:50010`` gives
``10.250.6.4``). Octets with a superfluous leading zero (``059``) are accepted, as reverse
DNS names embed them.

Deliberately not matched: longer dotted numbers (``1.2.3.4.5``, ``6.1.7601.17514``),
version strings (``v1.2.3.4``, ``1.2.3.4-SNAPSHOT``, ``amd64~~6.1.1.1``) and browser versions
in user agents (``Chrome/134.0.0.0``, ``Edg/134.0.0.0``, ``Version/17.0.0.1``), octets above 255,
dotted quads glued to a word (``x1.2.3.4``, ``blk_1.2.3.4``), the unspecified ``0.0.0.0``
and the broadcast ``255.255.255.255``.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|0?[1-9]?\d)"
_BROWSER = (r"(?i:chrome|chromium|headlesschrome|edg|edge|edga|edgios|safari|firefox|version|"
            r"opr|opera|crios|fxios|yabrowser|samsungbrowser|applewebkit|webkit|gecko|trident|"
            r"electron|brave|vivaldi|ucbrowser|msie|mobile|teams|outlook|skype)")
_BEFORE = rf"(?<![\w.~-])(?<!\b[vV](?:er(?:sion)?)?[ =:]?)(?<!\b{_BROWSER}/)"
_AFTER = r"(?![\w~]|\.\d|-[A-Za-z])"


class Ipv4Detector(Detector):
    ENTITY = entities.IPV4
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ipv4", rf"{_BEFORE}{_OCTET}(?:\.{_OCTET}){{3}}{_AFTER}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["ip", "ipv4", "address", "host", "client", "from", "src"]
    PREFILTER = r"\d\.\d{1,3}\.\d{1,3}\.\d"
    EXACT = r"^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0?[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0?[1-9]?[0-9])){3}$"
    EXACT_SCORE = 0.6
    EXACT_EXCLUDE = ("0.0.0.0", "255.255.255.255")

    def invalidate_result(self, pattern_text: str) -> bool:
        return pattern_text in ("0.0.0.0", "255.255.255.255")  # "any" and broadcast: nobody's
