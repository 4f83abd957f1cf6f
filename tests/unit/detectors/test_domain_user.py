"""DomainUserDetector: DOMAIN\\user logon names; never paths, registry keys or escapes."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.domain_user import DomainUserDetector

DET = DomainUserDetector()


def found(text: str) -> list[str]:
    return [text[r.start : r.end] for r in sorted(DET.find(text), key=lambda r: r.start)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"logon CONTOSO\alice ok", [r"CONTOSO\alice"]),
        (r'{"u": "CORP\\bob.smith"}', [r"CORP\\bob.smith"]),  # JSON-escaped backslash
        (r"fareast\jdoe", [r"fareast\jdoe"]),
        (r"CORP\nancy", [r"CORP\nancy"]),  # uppercase domain: not an escape
        (r"corp.example.com\svc-app$ x", [r"corp.example.com\svc-app$"]),
        (r"WORKGROUP\PC01$", [r"WORKGROUP\PC01$"]),
        (r"by REDMOND\j-doe, then", [r"REDMOND\j-doe"]),
    ],
)
def test_finds(text: str, expected: list[str]) -> None:
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
    ],
)
def test_ignores(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("value, score", [(r"CONTOSO\alice", 0.6), (r"C:\Users\alice", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
