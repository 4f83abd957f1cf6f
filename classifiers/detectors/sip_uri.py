"""SIP and SIPS URIs (RFC 3261): ``sip:alice@example.com``, ``sips:+15551234567@gw;user=phone``.

The span is the whole URI including ``;uri-parameters``; a ``:port`` is kept, a trailing
``>`` or sentence full stop is not. A URI with a user part (a person or a phone number)
scores high; a bare ``sip:host`` (a server, rarely personal) scores low.

Deliberately not matched: the word ``sip`` alone, ``sip:`` followed by a space, ``SIP/2.0``
protocol tokens, ``Via:`` header host lists.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_USER = r"[A-Za-z0-9_.!~*'()&=+$,;?/%-]+"
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_TAIL = r"(?::\d{1,5})?(?:;[A-Za-z0-9_.!~*'()%+-]+(?:=[A-Za-z0-9_.!~*'()%+:-]*[A-Za-z0-9_])?)*"
_START = r"(?<![\w.+-])(?i:sips?):"


class SipUriDetector(Detector):
    ENTITY = entities.SIP_URI
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("sip_uri_user", rf"{_START}{_USER}@{_HOST}{_TAIL}", 0.9),
        Pattern("sip_uri_host", rf"{_START}{_HOST}{_TAIL}(?![\w@])", 0.4),
    ]
    CONTEXT: ClassVar[list[str]] = ["sip", "voip", "call", "invite", "from", "to", "contact"]
    PREFILTER = r"(?i)sips?:"
