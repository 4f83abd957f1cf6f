"""WindowsSidDetector: account SIDs (S-1-5-21-..., S-1-12-1-...), not well-known ones."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.windows_sid import WindowsSidDetector

DET = WindowsSidDetector()
SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"Security ID: {SID}", [SID]),
        (f"HKU\\{SID}\\Software", [SID]),
        (f"sid={SID},", [SID]),
        (
            "S-1-5-21-3623811015-3361044348-30300820 (domain)",
            ["S-1-5-21-3623811015-3361044348-30300820"],
        ),
        (
            "AAD S-1-12-1-1234567890-1234567890-1234567890-123456789",
            ["S-1-12-1-1234567890-1234567890-1234567890-123456789"],
        ),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "S-1-5-18",  # LocalSystem
        "S-1-5-32-544",  # BUILTIN\\Administrators
        "S-1-1-0",  # Everyone
        "S-1-5-21-1-2",  # too few sub-authorities
        f"X{SID}",
        f"{SID}-1-2",  # longer dashed run
        "S-1-5-21-12345678901-2-3-4",  # 11-digit sub-authority
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("value, score", [(SID, 0.85), (SID.lower(), 0.85), ("S-1-5-18", 0.0)])
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
