"""MacDetector: EUI-48 in colon, dash and Cisco dot notation."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.mac import MacDetector

DET = MacDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("eth0 hwaddr 00:11:43:e3:ba:c3 up", ["00:11:43:e3:ba:c3"]),
        ("mac=00:11:43:E3:BA:C3,", ["00:11:43:E3:BA:C3"]),
        ("BSSID 84-41-67-32-db-e1 ", ["84-41-67-32-db-e1"]),
        ("Cisco 001a.2b3c.4d5e.", ["001a.2b3c.4d5e"]),
        ("a 5c:50:15:4c:18:13 b 5c:50:15:4c:18:1c", ["5c:50:15:4c:18:13", "5c:50:15:4c:18:1c"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "00:11:22:33:44:55:66",  # seven groups
        "00:11-22:33:44:55",  # mixed separators
        "ff:ff:ff:ff:ff:ff",  # broadcast
        "00-00-00-00-00-00",
        "12:30:45 and 12:30:45.123",
        "1234.5678.9012",  # dotted decimals, no hex letter
        "0:1:2:3:4:5",
        "001a2b3c4d5e",  # no separators
        "x00:11:43:e3:ba:c3",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, matches",
    [("00:1A:2B:3C:4D:5E", True), ("001a.2b3c.4d5e", True), ("00:1A:2B:3C:4D", False)],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
