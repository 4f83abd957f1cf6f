"""A user inside a resource path or URL (entity ``USER_ID``); the span is the user's segment.

REST APIs and cloud resource names address people by path: ``/api/v1/users/00u5ia07pgZLGRBAq697
/lifecycle`` (Okta), ``graph.microsoft.com/v1.0/users/<id or UPN>/...`` (Microsoft Graph),
``projects/-/serviceAccounts/113245997248201920622`` (Google Cloud IAM), ``users/<email>``
(Google Workspace), ``/members/<login>``, ``principals/<id>``, and OneDrive personal sites
``https://contoso-my.sharepoint.com/personal/jdoe_contoso_com/Documents``. The collection
word and the rest of the path stay; the segment after it is the identifier.

Deliberately not matched: a collection word not followed by ``/`` (``users list``), route
templates and placeholders (``users/{id}``, ``users/:id``, ``users/<id>``, ``users/*``,
``users/-``), API verbs and well-known names (``users/me``, ``users/self``, ``users/search``,
``users/count``...), segments shorter than three characters, e-mail addresses (the e-mail
detector's), an ARN's ``user/`` (the ARN detector's), home directories
(``/home/x``, ``/Users/x/``: the user-name phrase detector's), a segment that is already a
hash token.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, RecognizerResult

from telescrub.classifiers.detectors.base import NOT_A_TOKEN, CompoundDetector
from telescrub.core import entities

_COLLECTION = (r"(?i:users|user|members|member|people|persons|principals|principal|"
               r"serviceaccounts|service-accounts|service_accounts|identities|employees|"
               r"customers|contacts|accounts|profiles|assignees|actors|mailboxes|"
               r"userprincipals|directoryobjects)")
_SEGMENT = r"[^/\s?#&\"'<>{}\[\]()|\\,;*:=]{3,256}"
_NOT_IDS_TEXT = """me self current search list count new create delete update all any none
null undefined default lookup find query batch bulk filter export import invite invites
membership memberships roles groups settings profile profiles photo manager direct reports
password passwords sessions session factors factor status lifecycle activate deactivate"""
_NOT_IDS = frozenset(_NOT_IDS_TEXT.split())
#: an absolute path starting with the collection: a home directory (/home/x, /Users/x, /user/x)
_HOME = re.compile(r"(?:^|[\s\"'=:(\[])/(?:home|users|user)/$", re.IGNORECASE)


class ResourcePathUserDetector(CompoundDetector):
    ENTITY = entities.USER_ID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("path_collection",
                rf"(?<![\w.:-]){_COLLECTION}/{NOT_A_TOKEN}(?P<part>{_SEGMENT})(?=[/?#\s\"',;)&]|$)",
                0.6),
        Pattern("onedrive_personal",
                rf"/personal/{NOT_A_TOKEN}(?P<part>[\w.-]+_[\w-]+_[a-z]{{2,24}})(?=[/?#\s\"']|$)",
                0.8),
    ]
    CONTEXT: ClassVar[list[str]] = ["user", "users", "member", "principal", "account"]
    PREFILTER = r"(?i)(?:user|member|people|person|principal|account|identit|employee|customer|contact|profile|assignee|actor|mailbox|directoryobject)s?/|/personal/"

    def _find_patterns(self, text: str) -> list[RecognizerResult]:
        results = super()._find_patterns(text)
        return [r for r in results if self._is_id(text, r.start, r.end)]

    @staticmethod
    def _is_id(text: str, start: int, end: int) -> bool:
        segment = text[start:end]
        if segment.lower() in _NOT_IDS or segment.startswith("%7B") or "@" in segment:
            return False  # a placeholder, a URL-encoded '{', an e-mail (the e-mail detector's)
        # a home directory is the user-name phrase detector's (/home/x, /Users/x/, /user/x)
        return _HOME.search(text[max(0, start - 16):start]) is None

    def match_value(self, value: str) -> float:
        return 0.0  # a path is never a column's identifier as a whole
