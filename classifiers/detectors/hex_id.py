"""Opaque hex identifiers: whole tokens of exactly 32, 40 or 64 hex digits (MD5/SHA-1/
SHA-256-sized), e.g. client-side hashed user ids or Keystone user/project ids, and of 24
lower-case hex digits (12-byte object ids: Atlassian account ids, MongoDB ObjectIds).

One case per token (all lower or all upper); a token must mix letters and digits, as
random hex nearly always does. ``_`` and ``-`` count as token separators, so
``user_<hex>`` and ``/v2/<hex>/servers`` match.

Deliberately not matched: other lengths (16-hex ids, ``0x`` addresses), 24-hex runs in upper
case or with fewer than two letters or four digits, hex inside a
longer alphanumeric run, dashed GUIDs, all-digit or all-letter runs.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_MIXED = r"(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*[0-9])"
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
_LEN = r"(?:{0}{{64}}|{0}{{40}}|{0}{{32}})"
_OBJECT_ID = r"(?=[0-9a-f]{24}(?![0-9A-Za-z]))(?=[0-9a-f]*[a-f][0-9a-f]*[a-f])(?=(?:[a-f]*[0-9]){4})[0-9a-f]{24}"


class HexIdDetector(Detector):
    ENTITY = entities.HEX_ID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("hex_id_lower", rf"{_B}{_MIXED}{_LEN.format('[0-9a-f]')}{_E}", 0.6),
        Pattern("hex_id_upper", rf"{_B}{_MIXED}{_LEN.format('[0-9A-F]')}{_E}", 0.5),
        Pattern("object_id", rf"{_B}{_OBJECT_ID}{_E}", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["hash", "sha", "sha1", "sha256", "md5", "digest", "id"]
    PREFILTER = r"[0-9a-fA-F]{32}|[0-9a-f]{24}"
