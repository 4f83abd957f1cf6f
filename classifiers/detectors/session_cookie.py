"""Session and tracking identifiers as values of well-known cookie / parameter names
(entity ``SESSION_ID``); the span is the value only.

``SessID=KQZ6ysaHLG4W...``, ``JSESSIONID=...``, ``PHPSESSID=...``, ``ASP.NET_SessionId=...``,
``session_id=...``, ``sid=...``, ``ANID=...``, ``_ga=...``, ``"sessionId": "..."``.

Deliberately not matched: values shorter than 8 characters (flags, counters), names that only
contain "session" as part of a sentence (``session opened``), and values that are already
hash tokens (``h1:...``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_NAMES = (r"(?i:sess(?:ion)?[_.-]?id|sessid|jsessionid|phpsessid|asp\.net_sessionid|"
          r"sid|ssid|anid|_ga|_gid|visitor[_-]?id|client[_-]?id|session[_-]?token|"
          r"x-ms-session-id|ai_session|ai_user)")
_VALUE = r"(?!h1:)[A-Za-z0-9+/=_.%-]{8,256}"


class SessionCookieDetector(Detector):
    ENTITY = entities.SESSION_ID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("cookie_kv", rf"(?<![\w.-]){_NAMES}=\K{_VALUE}(?![\w+/=.%-])", 0.75),
        Pattern("json_kv", rf"[\"']{_NAMES}[\"']\s*:\s*[\"']\K{_VALUE}(?=[\"'])", 0.75),
    ]
    CONTEXT: ClassVar[list[str]] = ["cookie", "session"]
    PREFILTER = r"(?i)sess|sid|anid|_ga|_gid|visitor|client.?id|ai_(?:session|user)"
