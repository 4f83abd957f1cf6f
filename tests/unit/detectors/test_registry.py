"""The detector registry: every class listed once, filtering by entity, one test file each."""

from __future__ import annotations

from pathlib import Path

import pytest

from telescrub.classifiers.detectors import ALL_DETECTORS, DETECTORS_BY_ENTITY, build_detectors
from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

HERE = Path(__file__).resolve().parent
#: entities emitted by more than one detector on purpose (JWT/bearer and key=value secrets)
SHARED_ENTITIES = {entities.SECRET, entities.HOSTNAME, entities.USER_ID, entities.USERNAME}


def test_every_detector_is_listed_once_with_a_known_entity() -> None:
    assert len(set(ALL_DETECTORS)) == len(ALL_DETECTORS)
    assert len({cls.__name__ for cls in ALL_DETECTORS}) == len(ALL_DETECTORS)
    for cls in ALL_DETECTORS:
        assert issubclass(cls, Detector)
        assert cls.ENTITY in entities.ALL, cls
        assert cls.PATTERNS, cls


def test_entities_are_unique_except_the_shared_ones() -> None:
    for entity, classes in DETECTORS_BY_ENTITY.items():
        assert len(classes) == 1 or entity in SHARED_ENTITIES, (entity, classes)
    assert [c for cs in DETECTORS_BY_ENTITY.values() for c in cs] == sorted(
        ALL_DETECTORS, key=lambda c: list(DETECTORS_BY_ENTITY).index(c.ENTITY)
    )


def test_build_detectors_all() -> None:
    built = build_detectors()
    assert [type(d) for d in built] == list(ALL_DETECTORS)
    assert len({d.name for d in built}) == len(built)


def test_build_detectors_filters_by_entity() -> None:
    built = build_detectors([entities.IPV4, entities.SECRET, entities.PERSON])
    assert sorted(type(d).__name__ for d in built) == [
        "Ipv4Detector",
        "JwtDetector",
        "PasswordKvDetector",
        "PersonNameDetector",
        "SecretLabelDetector",
    ]
    assert build_detectors([]) == []


def test_build_detectors_rejects_unknown_entities() -> None:
    with pytest.raises(KeyError, match="IPV5"):
        build_detectors(["IPV5"])


def test_prefilter_compiles_and_admits_what_find_finds() -> None:
    for det in build_detectors():
        assert det.might_contain("") is False or det.PREFILTER is None
        assert det.find("") == []


def test_every_detector_has_its_own_test_file() -> None:
    present = {p.name for p in HERE.glob("test_*.py")}
    missing = [
        cls.__name__
        for cls in ALL_DETECTORS
        if f"test_{cls.__module__.rsplit('.', 1)[-1]}.py" not in present
    ]
    assert missing == []
