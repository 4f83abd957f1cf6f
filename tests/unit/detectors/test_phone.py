"""PhoneDetector: written phone shapes; never timestamps, dates, IPs or bare counters."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.phone import PhoneDetector

DET = PhoneDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        # international
        ("call +447700677662 today", ["+447700677662"]),
        # after a reachability verb
        ("They're not answering at 374 780 163", ["374 780 163"]),
        ("stop receiving messages to 699 956 915", ["699 956 915"]),
        ("any message on my registered 668 5702. Could", ["668 5702"]),
        ("+41 (0)38 549 02 90", ["+41 (0)38 549 02 90"]),
        ("desk: +1-604-696-5272x565 ok", ["+1-604-696-5272x565"]),
        ("+46 (0)8 928 571 38", ["+46 (0)8 928 571 38"]),
        ("+447700 208 815", ["+447700 208 815"]),
        # North American
        ("(579)888-3058", ["(579)888-3058"]),
        ("(602) 272-9781", ["(602) 272-9781"]),
        ("201-948-1927 and 930.167.3943", ["201-948-1927", "930.167.3943"]),
        ("001-253-366-9781", ["001-253-366-9781"]),
        ("259.735.7502x459", ["259.735.7502x459"]),
        # parenthesised area code, pairs, trunk zero
        ("(08) 8747 6301 and (37) 788-063", ["(08) 8747 6301", "(37) 788-063"]),
        ("not answering at 28-64-66-98", ["28-64-66-98"]),
        ("call me on 01.84.17.61.18?", ["01.84.17.61.18"]),
        ("registered 024 971 50 30. Could", ["024 971 50 30"]),
        (
            "0487 98 11 92 / 07700 063 966 / 0961-7596216",
            ["0487 98 11 92", "07700 063 966", "0961-7596216"],
        ),
        # after or before a phone word
        ("Mobile: 723 813 266", ["723 813 266"]),
        ("Phone:\n358 0594\n", ["358 0594"]),
        ("Can someone call me on 450 0840? I have", ["450 0840"]),
        ("tel 5403926876", ["5403926876"]),
        ("085 175 7641-Office\\,3660170548-Fax", ["085 175 7641", "3660170548"]),
        # large countries, no country prefix: Chinese mobiles, Indian ones after 91 without +
        ("or 13812345678 ok", ["13812345678"]),
        ("or 138 1234 5678 ok", ["138 1234 5678"]),
        ("或 159-0000-1234", ["159-0000-1234"]),
        ("or 91-9876543210 ok", ["91-9876543210"]),
        ("or 0091 98765 43210 ok", ["0091 98765 43210"]),
        ("or (11) 91234-5678 ok", ["(11) 91234-5678"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "081109 203615 148 INFO dfs.DataNode$PacketResponder",  # HDFS timestamp
        "sent 12 messages to 3 users",  # counters after a reachability verb: too few digits
        "registered 2015-10-18 18:01:47",  # a timestamp after a cue
        "2015-10-18 18:01:47,978 INFO [main]",
        "03-17 16:15:08.066  1702  2644 D PowerManagerService",
        "[Sun Dec 04 20:32:37 2005] [notice]",
        "2005-07-15-23.49.42.308319 R02-M0-NA-C:J16-U11",
        "is added to invalidSet of 10.251.214.32:50010",
        "01.84.17.61",  # dotted quad: an IP, not a phone
        "Fan speeds ( 3552 3534 3391 **** 3515 3479 )",
        "REPORT : 7048 5032 150968 240",
        "Found child 1998 in scoreboard slot 9",
        "blk_-1608999687919862906 and 12957525385",  # bare digit runs (no CN mobile prefix)
        "1445144423722 and 1381234567",  # 13 (epoch ms) or 10 digits: no CN mobile
        "count=13812345678",  # a keyed counter
        "91-5876543210",  # no Indian mobile after 91
        "123-45-6789",  # SSN shape
        "2015-10-18 and 18.10.2015",  # dates
        "+0.270003 and time +0800",
        "MAC 84-41-67-32-db-e1",
        "call 3 times",
        "000-000-0000",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_scores_rank_the_shapes() -> None:
    def score(text: str) -> float:
        (r,) = DET.find(text)
        return r.score

    assert score("+447700677662") == score("Mobile: 723 813 266") == 0.7
    assert score("201-948-1927") == 0.6
    assert score("28-64-66-98") == score("024 971 50 30") == 0.5


@pytest.mark.parametrize(
    "value, matches",
    [
        ("+1 604 696 5272", True),
        ("(579) 888-3058", True),
        ("0487 98 11 92", True),
        ("5403926876", False),  # a bare run: needs a phone word or a column role
        ("2015-10-18", False),
    ],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
