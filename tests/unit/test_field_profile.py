"""Column profiles: the columnar ``add_arrow`` keeps exactly what adding values one by one
keeps (counts, types, characters, the bottom-k sample), so a column's decision does not
depend on which reader read it."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.classifiers.profile import FieldProfile

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
#: strings that may look like a JSON document (``json_like``: opens with { or [, closes with
#: } or ]), including the one-character edge cases
_BRACKETED = st.builds(lambda a, b, c: a + b + c, st.sampled_from(["{", "[", "", "x"]), _TEXT,
                       st.sampled_from(["}", "]", "", "y"]))


def _state(p: FieldProfile) -> tuple:
    return (p.count, p.records, p.is_list, sorted(p.types), p.total_chars, p.with_space,
            p.json_like, sorted(p.sample.items()))


def _compare(values: list, arrow_type: pa.DataType, k: int) -> None:
    one, col = FieldProfile("f", k), FieldProfile("f", k)
    for v in values:
        if v is not None:
            one.add(v)
    col.add_arrow(pa.array(values, type=arrow_type))
    assert _state(col) == _state(one)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXT), max_size=30), st.integers(1, 8))
def test_strings(values, k):
    _compare(values, pa.string(), k)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), _BRACKETED), max_size=30), st.integers(1, 8))
def test_json_like_strings(values, k):
    _compare(values, pa.string(), k)


def test_json_like_edge_cases():
    values = ["{}", "[]", "{", "}", "[x}", '{"a": 1}', "{x", "x}", "", "é{}", "{é]", None]
    _compare(values, pa.string(), 4)
    one = FieldProfile("f", 4)
    for v in values:
        if v is not None:
            one.add(v)
    assert one.json_like == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=30),
       st.integers(1, 8))
def test_integers(values, k):
    _compare(values, pa.int64(), k)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans()), max_size=20), st.integers(1, 4))
def test_booleans(values, k):
    _compare(values, pa.bool_(), k)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), _TEXT), min_size=1,
                                              max_size=4)), max_size=12), st.integers(1, 6))
def test_lists(values, k):
    _compare(values, pa.list_(pa.string()), k)


def test_long_values_are_sampled_truncated_like_one_by_one():
    long = "é" * 3000 + " x"
    _compare([long, "short one", long], pa.string(), 4)
