"""JwtDetector: JWTs and Authorization bearer/basic tokens (entity SECRET)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.jwt import JwtDetector

DET = JwtDetector()
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
    "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
UNSIGNED = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"token={JWT} ok", [JWT]),
        (f"Authorization: Bearer {JWT}", [JWT]),
        (f"id_token {UNSIGNED} end", [UNSIGNED]),
        ("Authorization: Bearer abcdef0123456789xyz.", ["abcdef0123456789xyz"]),
        ("authorization: bearer ya29.a0AfH6SMBx-7kz_9Q==", ["ya29.a0AfH6SMBx-7kz_9Q=="]),
        ('"Authorization": "Basic dXNlcjpwYXNzd29yZDEyMw=="', ["dXNlcjpwYXNzd29yZDEyMw=="]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the bearer of bad news",
        "bearer authenticationmethods",  # long word, no digit
        "Bearer abc.def",  # too short
        "Bearer 0000000000000000000000",  # placeholder
        "eyJhbGciOiJIUzI1NiJ9",  # header only
        "Basic auth is disabled",
        "basic dXNlcjpwYXNzd29yZDEyMw==",  # no Authorization header
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_entity_is_secret() -> None:
    (r,) = DET.find(JWT)
    assert (r.entity_type, r.score) == ("SECRET", 0.95)


@pytest.mark.parametrize("value, score", [(JWT, 0.95), ("Bearer " + JWT, 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
