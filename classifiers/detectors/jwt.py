"""Bearer credentials in free text (entity ``SECRET``): JSON Web Tokens and the token of an
``Authorization: Bearer``/``Basic`` header.

* a JWT anywhere: ``eyJ<header>.eyJ<payload>.<signature>`` (base64url; signature may be
  empty for ``alg: none``) — the whole token;
* ``Bearer <token>`` and ``Authorization: Basic <base64>``: the token only, 16+ characters.

Deliberately not matched: base64 blobs without a JWT header or an auth scheme word, the
word ``bearer`` followed by prose (``bearer of bad news``: fewer than 16 token characters,
or spaces), placeholder tokens made of one repeated character.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_TOKEN_END = r"(?![\w~+/=-]|\.\w)"
_BASIC = r"(?i:\bauthorization\b[\"']?\s*[:=]\s*[\"']?basic)"
_B64 = r"[\w~+/.-]{15,}[\w~+/-]=*"


class JwtDetector(Detector):
    ENTITY = entities.SECRET
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("jwt", rf"(?<![\w-])eyJ[\w-]{{8,}}\.eyJ[\w-]{{8,}}\.[\w-]*{_TOKEN_END}", 0.95),
        Pattern("bearer_token", rf"\b(?i:bearer)\s+\K(?=[\w~+/.-]*\d){_B64}{_TOKEN_END}", 0.8),
        Pattern("basic_auth", rf"{_BASIC}\s+\K[A-Za-z0-9+/]{{16,}}={{0,2}}{_TOKEN_END}", 0.8),
    ]
    CONTEXT: ClassVar[list[str]] = ["token", "bearer", "authorization", "jwt", "auth"]
    PREFILTER = r"eyJ|(?i:bearer|basic)\s"

    def invalidate_result(self, pattern_text: str) -> bool:
        return len(set(pattern_text.rstrip("="))) < 4
