"""EmailDetector: plain and URL-encoded e-mail addresses."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.email import EmailDetector

DET = EmailDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail bob.smith@example.co.uk now", ["bob.smith@example.co.uk"]),
        ("From: <ErikBaader@teleworm.us>", ["ErikBaader@teleworm.us"]),
        ("a+tag@sub.example.museum, b_c@x-y.io", ["a+tag@sub.example.museum", "b_c@x-y.io"]),
        ("Account xpc_ben@163.com@https://caldav.163.com/", ["xpc_ben@163.com"]),
        ("users/xpc_ben%40163.com/ timed out", ["xpc_ben%40163.com"]),
        # URL userinfo holding an encoded address stays one match
        (
            "https://13957525385%40163.com@p28-contacts.icloud.com/874161398/",
            ["13957525385%40163.com@p28-contacts.icloud.com"],
        ),
        ("end of sentence alice@example.org.", ["alice@example.org"]),
        ("UPPER@EXAMPLE.COM", ["UPPER@EXAMPLE.COM"]),
        # new top-level domains and internationalised addresses
        ("bob@shop.technology or a@b.photography", ["bob@shop.technology", "a@b.photography"]),
        ("mail jörg@exämple.de now", ["jörg@exämple.de"]),
        ("写信给 用户@例子.中国 吧", ["用户@例子.中国"]),
        ("ivan@пример.рф, x@xn--e1afmkfd.xn--p1ai", ["ivan@пример.рф", "x@xn--e1afmkfd.xn--p1ai"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "local@tbird-admin1 /apps/x86_64/system/ganglia",  # no dot in the domain
        "LeaseRenewer:msrabi@msra-sa-41:9000",
        "QuorumCnxManager$RecvWorker@765] - Interrupting",  # Java object hash
        "android.os.BinderProxy@2bd79ce",
        "user@localhost",
        "x@[10.0.0.1]",
        "@example.com",
        "alice@example.c",  # one-letter TLD
        "foo@bar.123",
        "ünïcode@localhost",  # still no dot
        "a@b.c1",  # a top-level domain is letters only
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_span_and_score() -> None:
    (r,) = DET.find("contact: alice@example.org")
    assert (r.start, r.end, r.entity_type, r.score) == (9, 26, "EMAIL_ADDRESS", 0.8)


@pytest.mark.parametrize(
    "value, matches",
    [
        ("alice@example.org", True),
        ("  alice@example.org ", True),
        ("alice%40example.org", True),
        ("alice@example.org and bob@example.org", False),
        ("mailto:alice@example.org", False),
        ("", False),
    ],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
