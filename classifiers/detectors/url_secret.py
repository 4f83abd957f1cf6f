"""Secrets and personal values inside URLs (entity ``URL_SECRET``); the span is the value.

* query/matrix parameters whose name says token, key, signature, password, session, e-mail
  or user: ``?token=..``, ``&access_token=..``, ``&api_key=..``, ``&sig=..``,
  ``X-Amz-Signature=..``, ``&code=..`` (OAuth), ``&email=..``, ``&user_id=..``,
  ``;jsessionid=..``, ``&PHPSESSID=..``;
* the password of ``scheme://user:password@host``.

A parameter counts only after ``?``, ``&`` or ``;`` so ``token=`` in plain key/value logs is
left to ``password_kv``. Deliberately not matched: other parameters (``?page=2&q=x``),
empty values and one-character values, parameter names that merely contain a word
(``?tokenizer=``, ``?username_hint=``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_NAMES = (
    r"(?:[\w.-]*[_.-])?(?:token|access_token|id_token|refresh_token|auth|auth_token|key|"
    r"api_?key|sig|signature|password|passwd|pwd|pass|secret|client_secret|code|session|"
    r"session_?id|sessid|phpsessid|jsessionid|sid|ticket|otp|email|e-?mail|mail|user|"
    r"user_?id|user_?name|uid|login|phone|credential|security-token|x-amz-credential)"
)


class UrlSecretDetector(Detector):
    ENTITY = entities.URL_SECRET
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("url_param", rf"[?&;](?i:{_NAMES})=\K[^&#;?\s\"'<>]{{2,}}", 0.8),
        Pattern("url_userinfo_password", r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:\K[^/\s@]+(?=@)", 0.9),
    ]
    CONTEXT: ClassVar[list[str]] = ["url", "uri", "http", "https", "query", "link"]
    PREFILTER = r"[?&;][\w.-]+=|://[^/\s:@]+:[^/\s@]+@"
