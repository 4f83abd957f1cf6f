"""Detectors that declare an exact form (``EXACT``): every value of that form is accepted
as a whole value with at least the declared score — the columnar keep guard and the
verification skip such values without calling the detector, so the declaration must hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.classifiers.detectors import build_detectors

EXACT = [d for d in build_detectors() if d.EXACT]


def test_some_detectors_declare_an_exact_form():
    assert {d.ENTITY for d in EXACT} >= {"GUID", "IPV4"}


@pytest.mark.parametrize("det", EXACT, ids=lambda d: type(d).__name__)
def test_every_value_of_the_exact_form_is_accepted(det):
    pattern = det.EXACT.removeprefix("^").removesuffix("$")

    @settings(max_examples=300, deadline=None)
    @given(st.from_regex(rf"\A(?:{pattern})\Z"))
    def check(value: str) -> None:
        if value in det.EXACT_EXCLUDE:
            assert det.match_value(value) < det.EXACT_SCORE
        else:
            assert det.match_value(value) >= det.EXACT_SCORE, value

    check()


@pytest.mark.parametrize("det", EXACT, ids=lambda d: type(d).__name__)
def test_excluded_values_are_not_accepted(det):
    for value in det.EXACT_EXCLUDE:
        assert det.match_value(value) < det.EXACT_SCORE
