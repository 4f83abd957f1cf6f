"""ComputerNameDetector: single-label Windows/NetBIOS computer names."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.computer_name import ComputerNameDetector

DET = ComputerNameDetector()


@pytest.mark.parametrize("text, expected", [
    ("User's machine NORTHWIND-LT-7050 shows the same error", ["NORTHWIND-LT-7050"]),
    ("sign-in from DESKTOP-1DUTFWV failed", ["DESKTOP-1DUTFWV"]),
    ("LAPTOP-NY59ABV6", ["LAPTOP-NY59ABV6"]),
    ("ComputerName=WS12-FIN reported", ["WS12-FIN"]),
    ("Workstation Name: PC0042", ["PC0042"]),
    ("on host SRV-DB-01 the job", ["SRV-DB-01"]),
    ("WIN-3K2J9QX1 joined the domain", ["WIN-3K2J9QX1"]),
    ("allocation failed for Anna on CONTOSO-LT-2683 (x)", ["CONTOSO-LT-2683"]),
    ('"platform_name":"LT-NLD-RDK"', ["LT-NLD-RDK"]),  # device type, country, initials
    ("synced from NB-BER-7731", ["NB-BER-7731"]),
])
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "ERROR HTTP-GET failed",
    "the machine is slow",
    "status AADSTS50076 returned",  # an error code without a cue
    "host web01.contoso.com",  # a DNS name is the hostname detector's
    "device HEALTH",  # no digit
    "DESKTOP-AB",  # too short to be a generated name
    "WS-FED-X and PC-ON",  # protocol names and short words: the groups need 2+ characters
    "",
])
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("value, matches", [("DESKTOP-1DUTFWV", True), ("NORTHWIND-LT-7050", True), ("SRV-DB-01", False)])
def test_match_value(value: str, matches: bool) -> None:
    # a bare generic name is only a computer name in context; column roles decide that case
    assert (DET.match_value(value) > 0) is matches
