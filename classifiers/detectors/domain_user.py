"""Windows down-level logon names ``DOMAIN\\user`` (also JSON-escaped ``DOMAIN\\\\user``);
the span is the *user*: the domain is a NetBIOS / Active Directory domain name, OII that the
default policy keeps, so ``CONTOSO\\jdoe`` is scrubbed to ``CONTOSO\\h1:...`` (a column of
such names is classified ``DOMAIN_USER`` on the whole value). ``user@domain`` is an
e-mail/UPN and left to those detectors.

The domain is a NetBIOS name (letter first, up to 15 characters) or a dotted DNS name; the
user may hold ``.``, ``-``, ``_`` and a trailing ``$`` (machine accounts).

Deliberately not matched: file paths (``C:\\Windows\\System32``, ``\\\\server\\share\\dir``,
``dir\\file.dll``), registry keys (``HKLM\\Software``), object namespaces
(``Global\\Mutex``), built-in principals (``NT AUTHORITY\\SYSTEM``, ``BUILTIN\\Users``),
and escape sequences in lowercase text (``line\\nnext``, ``tab\\tvalue``): a lowercase domain
followed by a user starting with an escape letter is taken for an escape.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import NOT_A_TOKEN, CompoundDetector
from telescrub.core import entities

_DOMAIN = r"[A-Za-z][A-Za-z0-9-]{0,14}(?:\.[A-Za-z0-9-]{1,63}){0,4}"
_USER = r"[A-Za-z0-9](?:[\w.$-]{0,62}[\w$])?"
_NOT_DOMAINS_TEXT = """authority builtin service hklm hkcu hkcr hku hkcc global local session
windows system32 users program device driver drivers software system temp"""
_NOT_DOMAINS = frozenset(_NOT_DOMAINS_TEXT.split())
_FILE = re.compile(r"(?i).*\.(?:exe|dll|sys|log|txt|ini|dat|xml|json|cfg|mui|cat|mum|manifest|"
                   r"etl|tmp|bat|cmd|ps1|msi|cab|inf|lnk|zip)")
_ESCAPE_START = tuple("ntrbfvux01234567")


class DomainUserDetector(CompoundDetector):
    ENTITY = entities.DOMAIN_USER
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "domain_backslash_user",
            rf"(?<![\w\\/:.%$-]){_DOMAIN}\\{{1,2}}{NOT_A_TOKEN}(?P<part>{_USER})"
            rf"(?![\w\\/-]|\.\w)",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["user", "account", "logon", "login", "domain", "principal"]
    PREFILTER = r"[A-Za-z0-9]\\{1,2}[A-Za-z0-9]"

    def invalidate_result(self, pattern_text: str) -> bool:
        domain, _, user = pattern_text.partition("\\")
        user = user.lstrip("\\")
        if domain.lower() in _NOT_DOMAINS or _FILE.fullmatch(user):
            return True
        escaped = pattern_text.count("\\") == 1 and not domain.isupper()
        return escaped and user.startswith(_ESCAPE_START)
