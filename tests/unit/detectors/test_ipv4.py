"""Ipv4Detector: dotted quads with valid octets, never versions or longer dotted numbers."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.ipv4 import Ipv4Detector

DET = Ipv4Detector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Failed password for root from 183.62.140.253 port 34100 ssh2", ["183.62.140.253"]),
        # port and /prefix stay out of the span
        ("is added to invalidSet of 10.251.214.32:50010", ["10.251.214.32"]),
        ("docker0 172.17.0.1/16", ["172.17.0.1"]),
        ("src: /10.251.37.240:35757 dest: /10.251.37.240:50010", ["10.251.37.240"] * 2),
        ("[client 222.166.160.184] Directory index forbidden", ["222.166.160.184"]),
        ("rhost=218.22.3.51  user=root", ["218.22.3.51"]),
        ("reverse mapping for host [187.141.143.180] failed", ["187.141.143.180"]),
        ("ends with 8.8.8.8.", ["8.8.8.8"]),
        ("255.255.255.254 and 1.0.0.1", ["255.255.255.254", "1.0.0.1"]),
        ("127.0.0.1", ["127.0.0.1"]),
        # an IP in a path or URL is still an IP (only browser versions are not)
        ("GET /v1/ip/8.8.8.8 and http://10.1.2.3/x", ["8.8.8.8", "10.1.2.3"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4.5",  # longer dotted number
        "6.1.7601.17514",  # Windows build
        "Package_for_KB3149090~31bf3856ad364e35~amd64~~6.1.1.1",  # version after '~'
        "release 1.2.3.4-SNAPSHOT",
        "v1.2.3.4",
        "version 1.2.3.4",
        "ver=10.0.0.1",
        "256.1.1.1 and 1.2.3.999",
        "blk_1.2.3.4 x1.2.3.4",
        "2005.07.15 2005-07-15-23.49.42.308319",  # dates and BGL timestamps
        "1.2.3",
        "0.0.0.0/0.0.0.0:2181",  # unspecified: nobody's address
        # browser versions in user agents
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0",
        "Version/17.0.0.1 Mobile/15E148 CriOS/122.0.6261.89",
        "255.255.255.255",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "value, score",
    [
        ("10.0.0.1", 0.6),
        (" 192.168.1.20 ", 0.6),
        ("10.0.0.1:8080", 0.0),
        ("10.0.0.1, 10.0.0.2", 0.0),
    ],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
