"""Ipv6Detector: full, compressed and IPv4-mapped IPv6 addresses."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.ipv6 import Ipv6Detector

DET = Ipv6Detector()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "address 6e40:4041:c617:e898:c11:40d2:c669:2eb4 blocked",
            ["6e40:4041:c617:e898:c11:40d2:c669:2eb4"],
        ),
        ("FE80:0000:0000:0000:C6B3:01FF:FECD:467F", ["FE80:0000:0000:0000:C6B3:01FF:FECD:467F"]),
        ("2001:db8:85a3::8a2e:370:7334.", ["2001:db8:85a3::8a2e:370:7334"]),
        ("fe80::1%eth0 up", ["fe80::1%eth0"]),
        ("[2001:db8::1]:443", ["2001:db8::1"]),
        ("2001:db8::/32", ["2001:db8::"]),
        ("::ffff:192.168.1.1", ["::ffff:192.168.1.1"]),
        ("64:ff9b::192.0.2.33", ["64:ff9b::192.0.2.33"]),
        ("loopback ::1", ["::1"]),
        # prefix lengths: kept out of the span, but they make a bare 'xxxx::' a network
        ("route 2001:db8:abcd:12::0/64 via", ["2001:db8:abcd:12::0"]),
        ("net fe80::/10 and 2a02::/16,", ["fe80::/10", "2a02::/16"]),
        ("prefix=2a02:1810::/32,", ["2a02:1810::"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12:30:45",  # time
        "[21:27:07.761] FigAgglomerator",
        "20171224-0:28:0:83|Step_LSC",
        "00:11:43:e3:ba:c3",  # MAC address
        "AppleCamIn::systemWakeCall",  # C++ scope
        "std::map<int> Foo::bar",
        "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181",  # ambiguous ':port'
        "face:: x",  # a word followed by '::'
        "face::/x and fe80::/129",  # no prefix length, or an impossible one
        "::",
        "1:2:3:4:5:6:7:8:9",
        "2001:db8::g1",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, matches",
    [("2001:db8::1", True), ("fe80::1%en0", True), ("2001:db8::1/64", False), ("12:30:45", False)],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
