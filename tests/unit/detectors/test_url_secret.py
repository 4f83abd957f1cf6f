"""UrlSecretDetector: tokens, keys, e-mails, session ids in URLs (span = value)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.url_secret import UrlSecretDetector

DET = UrlSecretDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "GET /reset?token=abc123&email=bob%40example.com HTTP/1.1",
            ["abc123", "bob%40example.com"],
        ),
        ("https://x/y;jsessionid=ABCDEF123?x=1", ["ABCDEF123"]),
        ("/cb?code=4/P7q7W91&state=xyz", ["4/P7q7W91"]),
        ("?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/2020", ["deadbeef", "AKIA/2020"]),
        ("/api?api_key=k_123#frag", ["k_123"]),
        ("/login?user=alice&session_id=s1d2", ["alice", "s1d2"]),
        ("https://user:p4ss@host.com/path", ["p4ss"]),
        ("mysql://root:secret@db:3306/x", ["secret"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "?page=2&q=x&sort=asc",
        "?tokenizer=bert&username_hint=x",
        "?user=a",  # one character
        "?token=&email=",  # empty
        "token=abc123 outside a URL",
        "ftp://anonymous@x.com/",
        "http://host:8080/path",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_entity_and_score() -> None:
    (r,) = DET.find("?token=abc123")
    assert (r.entity_type, r.score, r.start, r.end) == ("URL_SECRET", 0.8, 7, 13)
