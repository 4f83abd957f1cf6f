"""Shared helpers of the detector tests: what a module's detector (its ``DET``) finds.

    def test_finds(found, text, expected):       # [matched text, ...] by position
    def test_scores(scored, text, expected):     # [(matched text, score), ...]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def _results(det: Any, text: str) -> list[Any]:
    return sorted(det.find(text), key=lambda r: r.start)


@pytest.fixture
def found(request: pytest.FixtureRequest) -> Callable[[str], list[str]]:
    """The texts the module's ``DET`` finds in a text, in order of position."""
    det = request.module.DET
    return lambda text: [text[r.start:r.end] for r in _results(det, text)]


@pytest.fixture
def scored(request: pytest.FixtureRequest) -> Callable[[str], list[tuple[str, float]]]:
    """(text, score) of what the module's ``DET`` finds in a text, in order of position."""
    det = request.module.DET
    return lambda text: [(text[r.start:r.end], r.score) for r in _results(det, text)]
