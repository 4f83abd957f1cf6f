"""UrlHostDetector: the host of a URL on any top-level domain (new gTLDs, IDN, punycode)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.url_host import UrlHostDetector

DET = UrlHostDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("see https://foo.app/x and http://bar.dev/y", ["foo.app", "bar.dev"]),
        ("https://my.company.technology:8443/login?x=1", ["my.company.technology"]),
        ("link: https://bücher.example.berlin/abc", ["bücher.example.berlin"]),
        ("wss://xn--80ak6aa92e.xn--p1ai/ws", ["xn--80ak6aa92e.xn--p1ai"]),
        ("ftp://user:pw@files.contoso.cloud/pub", ["files.contoso.cloud"]),
        ('"url": "https://portal.contoso.com"', ["portal.contoso.com"]),
        ("HTTPS://UPPER.EXAMPLE.SHOP/", ["UPPER.EXAMPLE.SHOP"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "shop.example.app without a scheme",  # the hostname detector's rules apply
        "http://intranet/home",  # a single label
        "http://10.1.2.3:8080/x and http://[2001:db8::1]/",  # IP literals
        "http://localhost:8080/",
        "http://host.123/",
        "file:///etc/passwd",
        "Safari.app crashed",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []
