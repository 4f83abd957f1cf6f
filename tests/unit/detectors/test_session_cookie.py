"""SessionCookieDetector: session/tracking ids as values of well-known names."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.session_cookie import SessionCookieDetector

DET = SessionCookieDetector()


@pytest.mark.parametrize("text, expected", [
    ('"MUID=3F25; SessID=KQZ6ysaHLG4WVwKV4NjCA5UZ; CC=GB"', ["KQZ6ysaHLG4WVwKV4NjCA5UZ"]),
    ("Cookie: JSESSIONID=0A1B2C3D4E5F6A7B8C9D; path=/", ["0A1B2C3D4E5F6A7B8C9D"]),
    ("PHPSESSID=abcdef0123456789", ["abcdef0123456789"]),
    ('{"sessionId": "s-88a7f6e5d4c3"}', ["s-88a7f6e5d4c3"]),
    ("GET /x?session_id=Zx81kq02PLm3 HTTP/1.1", ["Zx81kq02PLm3"]),
    ("ASP.NET_SessionId=wq3kfj2lsd0f9a8s7d6f", ["wq3kfj2lsd0f9a8s7d6f"]),
])
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "session opened for user root",
    "SessID=short",  # < 8 characters
    "SessID=h1:0123abcd:00112233445566778899aabbccddeeff",  # already a hash token
    "mysid=abcdefgh12345",  # name must stand alone
    "",
])
def test_ignores(found, text: str) -> None:
    assert found(text) == []
