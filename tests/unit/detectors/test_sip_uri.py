"""SipUriDetector: sip:/sips: URIs."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.sip_uri import SipUriDetector

DET = SipUriDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "From: <sip:alice@atlanta.example.com>;tag=1928",
            [("sip:alice@atlanta.example.com", 0.9)],
        ),
        (
            "sips:+15551234567@gw.example.net;user=phone.",
            [("sips:+15551234567@gw.example.net;user=phone", 0.9)],
        ),
        ("INVITE sip:bob@192.0.2.4:5060 SIP/2.0", [("sip:bob@192.0.2.4:5060", 0.9)]),
        ("SIP:Carol@Chicago.example.com", [("SIP:Carol@Chicago.example.com", 0.9)]),
        ("Route: <sip:proxy.example.com;lr>", [("sip:proxy.example.com;lr", 0.4)]),
        ("to sip:[2001:db8::10]:5070 now", [("sip:[2001:db8::10]:5070", 0.4)]),
    ],
)
def test_finds(scored, text: str, expected: list[tuple[str, float]]) -> None:
    assert scored(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "take a sip: of water",
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP pc33.example.com",
        "gossip:foo@bar.com",
        "sip:",
        "mysip:alice@example.com",
    ],
)
def test_ignores(scored, text: str) -> None:
    assert scored(text) == []


@pytest.mark.parametrize(
    "value, score",
    [
        ("sip:alice@example.com", 0.9),
        ("<sip:alice@example.com>", 0.0),
        ("sip:registrar.example.com", 0.4),
        ("alice@example.com", 0.0),
    ],
)
def test_match_value(value: str, score: float) -> None:
    assert DET.match_value(value) == score
