"""IPv6 addresses: full (8 groups), ``::``-compressed and IPv4-mapped/embedded forms.

Candidates are checked with :mod:`ipaddress`; an optional ``%zone`` is kept in the span,
a ``/prefix`` is not (``2001:db8::1/64`` -> ``2001:db8::1``), except after a bare ``xxxx::``,
which is only taken for a network when a prefix length follows (``2a02::/16``, ``fe80::/10``).
The unspecified ``::`` and all-zero addresses are rejected.

Deliberately not matched: times (``12:30:45``, ``20:11:11.761``), MAC addresses
(six groups, no ``::``), C++ scopes (``AppleCamIn::systemWakeCall``, ``std::map``), a
full form followed by another ``:group`` (``0:0:0:0:0:0:0:0:2181``, ambiguous port), and
a bare ``xxxx::`` with a single group and no prefix length.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_H = r"[0-9A-Fa-f]{1,4}"
_V4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_BEFORE = r"(?<![\w:.])"
_AFTER = r"(?:%[0-9A-Za-z]+)?(?![\w:]|\.\d)"
_FULL = rf"(?:{_H}:){{7}}{_H}"
_COMPRESSED = rf"(?:(?:{_H}:){{0,6}}{_H})?::(?:(?:{_H}:){{0,6}}{_H})?"
_MAPPED = rf"(?:(?:{_H}:){{6}}|(?:(?:{_H}:){{0,5}}{_H})?::(?:{_H}:){{0,5}}){_V4}"


class Ipv6Detector(Detector):
    ENTITY = entities.IPV6
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ipv6", rf"{_BEFORE}(?:{_MAPPED}|{_FULL}|{_COMPRESSED}){_AFTER}", 0.7),
        Pattern("ipv6_short_network", rf"{_BEFORE}{_H}::/(?:12[0-8]|1[01]\d|\d?\d)(?![\w:/.])",
                0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["ip", "ipv6", "address", "host", "client"]
    PREFILTER = r"[0-9A-Fa-f]:[0-9A-Fa-f:]|::[0-9A-Fa-f]"

    def invalidate_result(self, pattern_text: str) -> bool:
        address, slash, _ = pattern_text.split("%", 1)[0].partition("/")
        if address.endswith("::") and address.count(":") < 3 and not slash:
            return True  # 'face::' — too likely a word followed by '::'
        try:
            ip = ipaddress.IPv6Address(address)
        except ValueError:
            return True
        return ip.is_unspecified
