"""Known-identifier propagation: what is propagated, and whole-token replacement."""

from __future__ import annotations

import pytest

from telescrub.classifiers.known import KnownValues, propagatable


@pytest.mark.parametrize("entity,value,expected", [
    ("PERSON", "Tendai Moyo", [("PERSON", "Tendai Moyo"), ("PERSON", "Tendai"),
                               ("PERSON", "Moyo")]),
    ("PERSON", "Mark Will", [("PERSON", "Mark Will")]),  # parts are English words: whole only
    ("HOSTNAME", "LabSZ", [("HOSTNAME", "LabSZ")]),
    ("USERNAME", "root", []),  # a common word: never propagated
    ("USERNAME", "42", []),
    ("HOSTNAME", "h1:abcd1234:00", []),  # already a token
    ("PERSON", "A B C D E", []),  # too many tokens for a name
])
def test_propagatable(entity, value, expected):
    assert list(propagatable(entity, value)) == expected


def test_replace_whole_tokens_longest_first():
    kv = KnownValues([("PERSON", "Tendai Moyo"), ("PERSON", "Moyo"), ("HOSTNAME", "LabSZ")])
    text, ents = kv.replace("failed for Tendai Moyo on labsz; Moyo called; Moyoland stays",
                            lambda e, v: f"<{e}:{v}>")
    assert text == ("failed for <PERSON:Tendai Moyo> on <HOSTNAME:LabSZ>; <PERSON:Moyo> called; "
                    "Moyoland stays")
    assert ents == ["PERSON", "HOSTNAME", "PERSON"]


def test_names_are_case_sensitive_hosts_are_not():
    kv = KnownValues([("PERSON", "Grace Hopper"), ("HOSTNAME", "Build-CI-7")])
    assert kv.find("grace hopper") == []
    assert [x[3] for x in kv.find("on build-ci-7.")] == ["Build-CI-7"]


def test_empty():
    assert KnownValues([]).replace("anything", lambda e, v: "x") == ("anything", [])


def test_aho_corasick_prefilter_changes_nothing():
    """The Aho-Corasick pass only skips texts where no known value can be: the same spans
    with it and without it (as on a platform without ahocorasick_rs)."""
    items = [("PERSON", "Tendai Moyo"), ("PERSON", "Moyo"), ("HOSTNAME", "Build-CI-7"),
             ("USERNAME", "wei.silva"), ("PERSON", "Ødegård"), ("HOSTNAME", "KELVIN-1")]
    texts = ["failed for Tendai Moyo on BUILD-ci-7", "nothing known here", "moyo lower",
             "wei.silva@example.com", "Ødegård and ødegård", "\u212aELVIN-1 kelvin-1 x",
             "Moyoland", "", "build-ci-7.contoso.com"]
    fast, slow = KnownValues(items), KnownValues(items)
    slow._firsts = False  # the path without the automaton
    for t in texts:
        assert fast.find(t) == slow.find(t), t
