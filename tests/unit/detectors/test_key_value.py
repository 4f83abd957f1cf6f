"""KeyValueDetector: values labelled by a field name inside text (key=value, JSON in text,
Windows EventData XML, "Account Name:<tab>value"), decided by the policy's field-name rules."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.key_value import KeyValueDetector
from telescrub.core.policy import load_policy

DET = KeyValueDetector(load_policy())


def found(text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end])
            for r in sorted(DET.find(text), key=lambda r: r.start)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ('<Data Name="TargetUserName">k4</Data><Data Name="TargetDomainName">CORP</Data>',
         [("USERNAME", "k4")]),  # the NetBIOS domain is OII: kept
        ('<Data Name="WorkstationName">WS-FIN-104</Data>', [("HOSTNAME", "WS-FIN-104")]),
        ("Account Name:\t\tjdoe\n\tAccount Domain:\t\tCORP\n\tLogon ID:\t\t0x3E7",
         [("USERNAME", "jdoe"), ("SESSION_ID", "0x3E7")]),
        ('user=jdoe createdBy="ahmed.doe" status=ok',
         [("USERNAME", "jdoe"), ("USERNAME", "ahmed.doe")]),
        ('payload {"assignee": "mvarga", "count": 3}', [("USERNAME", "mvarga")]),
        (r'{\"initiatedBy\":\"svc_deploy\"}', [("USERNAME", "svc_deploy")]),
        ('"actor_id": 5311235,', [("USER_ID", "5311235")]),
        ("<Owner>lpereira</Owner>", [("USERNAME", "lpereira")]),
        ("accessKeyId=key-0042 done", [("SECRET", "key-0042")]),
        ("User: jdoe", [("USERNAME", "jdoe")]),
    ],
)
def test_finds(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "error: disk full and status=ok",  # roles that are not identities
        "https://x.example/z at 10:00:00",  # no space after the colon
        "CBS    Session: 30546173_4261722401 initialized by client",  # a one-word generic key
        "acquire lock=233570404, ws=null, uid=10037, pid=222",
        "token=Token{a64f992 ActivityRecord{de9231d}",  # an object's text
        "Bot: What's the name on the account? User: Maja S Hermansen",  # a chat speaker
        "user=- user=null user=N/A SubjectUserName=%%1833",  # placeholders
        "user=h1:8dbe2624:0123456789abcdef0123456789abcdef",  # already scrubbed
        "user=x",  # one character
        '{"displayName": "Group.DisplayName", "name": "Finance Team"}',  # names of what?
    ],
)
def test_ignores(text: str) -> None:
    assert found(text) == []


def test_keys_are_decided_once() -> None:
    assert DET.entity_for("TargetUserName") == "USERNAME"
    assert DET.entity_for("TargetDomainName") is None
    assert DET.entity_for("eventName") is None
