"""The host of a URL (entity ``HOSTNAME``), whatever its top-level domain.

The hostname detector only takes names ending in a known TLD, so that file names and Java
packages are never taken for hosts; after ``scheme://`` a name *is* a host, also on the
hundreds of newer generic TLDs (``https://shop.example.app/``, ``http://bar.dev/y``,
``https://my.company.technology``) and internationalised ones (``https://bücher.example/``,
punycode ``xn--...``). User info before the host (``user:pass@``) is left to the secret and
e-mail detectors.

Deliberately not matched: a scheme-less name (the hostname detector's), single-label hosts
(``http://intranet/``), IP literals (the IP detectors'), ``localhost``, a numeric last label.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,24}|xn--[a-z0-9-]{2,59})"
_SCHEME = r"(?i:\b(?:https?|ftps?|wss?|sftp|ldaps?|smb|git|ssh))://"
_USERINFO = r"(?:[^\s/@?#]{1,128}@)?"


class UrlHostDetector(Detector):
    ENTITY = entities.HOSTNAME
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("url_host", rf"{_SCHEME}{_USERINFO}\K(?:{_LABEL}\.)+{_TLD}\.?(?=[:/?#\s\"'<>)\]|\\,;]|$)",
                0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["url", "link", "host", "site"]
    PREFILTER = r"://"
