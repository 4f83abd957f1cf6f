"""GuidDetector: 8-4-4-4-12 hex GUIDs, bare or braced."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.guid import GuidDetector

DET = GuidDetector()
G = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def spans(text: str) -> list[tuple[int, int]]:
    return sorted((r.start, r.end) for r in DET.find(text))


@pytest.mark.parametrize(
    "text, expected",
    [
        (G, [(0, 36)]),
        (G.upper(), [(0, 36)]),
        ("{" + G.upper() + "}", [(0, 38)]),
        ("[req-addc1839-2ed5-4778-b57e-5854eb7b8b09 - - -]", [(5, 41)]),  # after a word prefix
        ("[instance: " + G + "] Terminating", [(11, 47)]),
        ("id=" + G + "," + G, [(3, 39), (40, 76)]),
        ("key '{" + G + "}GLOBALROOT/Device'", [(5, 43)]),
    ],
)
def test_finds(text: str, expected: list[tuple[int, int]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "00000000-0000-0000-0000-000000000000",  # nil UUID
        "3f2504e0-4f89-11d3-9a0c-0305e82c330",  # one digit short
        "3f2504e0-4f89-11d3-9a0c-0305e82c33011",  # one too many
        "x3f2504e0-4f89-11d3-9a0c-0305e82c3301",  # glued to a word
        "abc-" + G,  # inside a longer dashed hex chain
        G + "-1a",
        "3f2504e04f8911d39a0c0305e82c3301",  # no dashes: hex_id's job
        "3g2504e0-4f89-11d3-9a0c-0305e82c3301",  # not hex
    ],
)
def test_ignores(text: str) -> None:
    assert spans(text) == []


def test_braced_scores_higher_than_bare() -> None:
    (braced,) = DET.find("{" + G + "}")
    (bare,) = DET.find(G)
    assert braced.score > bare.score >= 0.5


@pytest.mark.parametrize(
    "value, matches",
    [(G, True), ("{" + G + "}", True), (" " + G.upper() + " ", True), ("req-" + G, False)],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
