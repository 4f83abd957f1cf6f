"""DomainUserDetector: DOMAIN\\user logon names, reported as the user (the NetBIOS domain is
OII and stays); never paths, registry keys or escapes."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.domain_user import DomainUserDetector

DET = DomainUserDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"logon CONTOSO\alice ok", ["alice"]),
        (r'{"u": "CORP\\bob.smith"}', ["bob.smith"]),  # JSON-escaped backslash
        (r"fareast\jdoe", ["jdoe"]),
        (r"CORP\nancy", ["nancy"]),  # uppercase domain: not an escape
        (r"corp.example.com\svc-app$ x", ["svc-app$"]),
        (r"WORKGROUP\PC01$", ["PC01$"]),
        (r"by REDMOND\j-doe, then", ["j-doe"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        r"C:\Windows\System32\drivers",
        r"\\server\share\dir",
        r"dir\file.dll and logs\cbs.log",
        r"HKLM\Software",
        r"NT AUTHORITY\SYSTEM and BUILTIN\Users",
        r"Global\MyMutex",
        r"line\nnext and tab\tvalue",  # escapes in lowercase text
        r"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy2\Windows",
        "alice@corp.example.com",  # a UPN, not a down-level name
        r"C:\Users\alice",
        r"CONTOSO\h1:8dbe2624:0123456789abcdef0123456789abcdef",  # already scrubbed
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("value, score", [(r"CONTOSO\alice", 0.6), (r"C:\Users\alice", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
