"""User names inside common log phrases (entity ``USERNAME``); the span is the name only.

Generic shapes of sshd/PAM/su/sudo/audit/Apache/Windows logs, none tuned to one file:
``Failed password for [invalid user] X from``, ``Accepted publickey for X from``,
``Invalid user X``, ``session opened for user X``, ``for/by/of user X``, ``authenticating user X``,
``user X from <addr>``, ``user=X``/``ruser=X``/``logname=X``/``USER=X``/``acct="X"``,
``sudo: X : TTY=...``, Common Log Format ``host ident X [date]``, ``Account Name: X``,
Hadoop/Spark ACL lists ``acls to: X,Y`` / ``permissions: Set(X, Y)`` and
home directories ``/home/X/``, ``/Users/X/``, ``/user/X/`` (HDFS).

Deliberately not matched: empty fields (``ruser= rhost=``), ``uid=0``, phrases where the
word after ``user`` is not a name (``check pass; user unknown``, ``user authentication``,
``the user clicked``), and ``user X`` without a log-phrase cue around it.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_NAME = r"[\w$][\w.@$-]{0,63}(?<![.@-])"
_END = r"(?![\w.@$-]*\w)"
_NOT_NAMES_TEXT = """unknown authentication request name id from for by the a an is not none null
to data parameter session account agent and or with on in at of logged login password list shared"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


class UsernamePhraseDetector(Detector):
    ENTITY = entities.USERNAME
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "ssh_auth",
            rf"\b(?:Failed|Accepted|Postponed) [\w/-]+ for (?:invalid user )?\K{_NAME}(?= from )",
            0.8,
        ),
        Pattern("session_for_user", rf"\bsession (?:opened|closed) for user \K{_NAME}", 0.8),
        Pattern("pam_by_uid", rf"\bby \K{_NAME}(?=\(uid=\d+\))", 0.7),
        Pattern(
            "cue_user",
            rf"\b(?i:invalid|illegal|for|by|of|new|authenticated|authenticating|deleted|added|"
            rf"removed|locked|unlocked|changed password for) user \K{_NAME}{_END}",
            0.6,
        ),
        Pattern(
            "user_from",
            rf"\b[Uu]ser \K{_NAME}(?= from \S| logged (?:in|out|on|off)| authenticated)",
            0.6,
        ),
        Pattern(
            "keyed",
            rf"(?<![\w.-])(?i:r?user|luser|logname|user_?name|uname|acct)=[\"']?\K{_NAME}{_END}",
            0.7,
        ),
        Pattern("sudo", rf"\bsudo(?:\[\d+\])?:\s+\K{_NAME}(?=\s+:\s)", 0.7),
        # the same sudo line once a syslog reader has split off the "sudo:" tag
        Pattern("sudo_body", rf"^\s*\K{_NAME}(?=\s+:\s+(?:TTY|PWD|USER|COMMAND)=)", 0.7),
        Pattern("clf_authuser", rf"^\S+ \S+ \K{_NAME}(?= \[\d{{1,2}}/\w{{3}}/\d{{4}}:)", 0.6),
        Pattern(
            "acl_list",  # Hadoop/Spark: 'acls to: yarn,curi', 'permissions: Set(yarn, curi)'
            # bounded look-behind: linear time on long lines
            r"(?<=\b(?:acls to: |permissions: Set\()(?:[\w$.-]{1,64}, ?){0,30})"
            r"[\w$][\w$.-]{0,63}(?=[,)\s]|$)",
            0.6,
        ),
        Pattern("account_name", rf"\b(?:Account|User) Name:[ \t]+\K{_NAME}{_END}", 0.6),
        Pattern("home_dir", rf"(?<![\w.])/(?:home|Users|user)/\K{_NAME}(?=/|\s|$|[\"'])", 0.5),
        # Windows profile and share paths: C:\Users\<user>\..., \\server\share\<user>
        Pattern("windows_profile", rf"(?i:\b[a-z]:\\(?:users|documents and settings)\\)\K{_NAME}"
                rf"(?=\\|\s|$|[\"'])", 0.6),
        Pattern("unc_share_user", rf"(?<![\w\\])\\\\[\w.-]+\\(?i:home|homes|users|profiles?|"
                rf"shares?|share)\\\K{_NAME}(?=\\|\s|$|[\"'])", 0.6),
        # YARN / Hadoop per-user directories: .../usercache/<user>/appcache/...
        Pattern("yarn_usercache", rf"/usercache/\K{_NAME}(?=/)", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["user", "username", "login", "account", "logname"]
    PREFILTER = (
        r"(?i)user|for |logname|acct|sudo|account|/home/|\[\d{1,2}/\w{3}/|acls to|permissions"
        r"| : TTY=|/usercache/|\\\\"
    )

    def invalidate_result(self, pattern_text: str) -> bool:
        # 'user=0' is a numeric id; names of digits only ('123456') need three or more
        if pattern_text.isdigit() and len(pattern_text) < 3:
            return True
        return pattern_text.lower() in _NOT_NAMES
