"""E-mail addresses: ``local@domain.tld``, also URL-encoded as ``local%40domain.tld``.

Matches an RFC-5322-ish dot-atom local part (letters, digits, ``._%+-``) and a domain of
at least two labels whose last label is 2-24 letters, any top-level domain (``.technology``,
``.photography``). Internationalised addresses (RFC 6531) too: letters of any script in the
local part and the domain (``jörg@exämple.de``, ``用户@例子.中国``), and punycode top-level
domains (``xn--p1ai``). A URL-encoded local part such as
``13957525385%40163.com@host.example`` stays one match.

Deliberately not matched: ``user@host`` without a dot (``local@tbird-admin1``, Java's
``Object@1a2b``), quoted local parts, IP-literal domains (``x@[10.0.0.1]``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

# \w is Unicode-aware: letters of every script, digits and "_"
_LOCAL = r"[\w%+-](?:[\w.%+-]{0,62}[\w%+-])?"
_DOMAIN = r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,24}|xn--[a-z0-9-]{2,59})"
_END = r"(?![\w-]|\.[^\W_])"


class EmailDetector(Detector):
    ENTITY = entities.EMAIL
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("email", rf"(?<![\w.%+-]){_LOCAL}@{_DOMAIN}{_END}", 0.8),
        Pattern("email_url_encoded", rf"(?<![\w.%+-]){_LOCAL}%40{_DOMAIN}{_END}", 0.7),
    ]
    CONTEXT: ClassVar[list[str]] = ["email", "e-mail", "mail", "address", "contact"]
    PREFILTER = r"@|%40"
