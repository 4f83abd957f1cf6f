from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.formats import flatten as flatten_mod
from telescrub.formats.flatten import (
    FlattenLimitError,
    escape_key,
    flatten,
    json_loads,
    normalize_scalar,
    split_path,
)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, {}),
        ({"a": 1}, {"a": 1}),
        ({"user": {"address": {"city": "X"}}}, {"user.address.city": "X"}),
        ({"tags": ["a", "b"]}, {"tags[]": ["a", "b"]}),
        (
            {"devices": [{"id": 1}, {"os": "x"}]},
            {"devices[].id": [1, None], "devices[].os": [None, "x"]},
        ),
        (
            {"devices": [{"id": 1, "net": {"ip": "a"}}, {"id": 2}]},
            {"devices[].id": [1, 2], "devices[].net.ip": ["a", None]},
        ),
        ({"a": [1, {"b": 2}]}, {"a[]": [1, None], "a[].b": [None, 2]}),
        ({"m": [[1, 2], [3]]}, {"m[]": [1, 2, 3]}),
        ({"m": [[1, 2], []]}, {"m[]": [1, 2, None]}),
        ({"m": [[[1]], [[2, 3]]]}, {"m[]": [1, 2, 3]}),
        ({"a": [{}, {"b": 1}]}, {"a[].b": [None, 1]}),
        ({"a": [{"b": [1, 2]}, {"b": [3]}]}, {"a[].b[]": [1, 2, 3]}),
        (
            {"a": [{"b": [{"x": 1}, {"y": 2}]}, {"b": [{"x": 3}]}]},
            {"a[].b[].x": [1, None, 3], "a[].b[].y": [None, 2, None]},
        ),
        ({"a": [None, None]}, {"a[]": [None, None]}),
        # empty containers produce nothing
        ({"e": {}, "f": [], "g": {"h": {}}}, {}),
        ({"e": [[], {}]}, {}),
        # escaping
        ({"a.b": 1, "a": {"b": 2}}, {"a\\.b": 1, "a.b": 2}),
        ({"a[]": 1, "a": [1]}, {"a\\[]": 1, "a[]": [1]}),
        ({"x\\y": 1}, {"x\\\\y": 1}),
        ({"": 1, "o": {"": 2}}, {"\\e": 1, "o.\\e": 2}),
        ({"a]": 1}, {"a]": 1}),
        # values
        ({"n": 2**63 - 1, "m": -(2**63)}, {"n": 2**63 - 1, "m": -(2**63)}),
        ({"n": 2**63, "m": -(2**63) - 1}, {"n": str(2**63), "m": str(-(2**63) - 1)}),
        (
            {"a": float("nan"), "b": float("inf"), "c": float("-inf"), "d": 1.5},
            {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 1.5},
        ),
        ({"t": True, "f": False, "z": None, "s": ""}, {"t": True, "f": False, "z": None, "s": ""}),
        ({"s": "\ud800x"}, {"s": "\ufffdx"}),  # lone surrogate
        ({"b": b"\xffab"}, {"b": "\ufffdab"}),
        ({"t": (1, 2)}, {"t[]": [1, 2]}),
    ],
)
def test_flatten_cases(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert flatten(obj) == expected


def test_flatten_array_alignment() -> None:
    out = flatten({"d": [{"id": i, **({"x": i} if i % 3 == 0 else {})} for i in range(10)]})
    assert out["d[].id"] == list(range(10))
    assert out["d[].x"] == [i if i % 3 == 0 else None for i in range(10)]


def test_flatten_depth_10000_objects() -> None:
    d: dict[str, Any] = {"leaf": 1}
    for _ in range(10_000):
        d = {"k": d}
    out = flatten(d)
    (path,) = out
    assert path == "k." * 10_000 + "leaf"
    assert out[path] == 1


def test_flatten_depth_10000_arrays() -> None:
    v: Any = [1, {"a": 2}]
    for _ in range(10_000):
        v = [v]
    assert flatten({"z": v}) == {"z[]": [1, None], "z[].a": [None, 2]}


def test_flatten_deep_mixed() -> None:
    d: Any = "x"
    for i in range(5_000):
        d = {"k": [d]} if i % 2 else {"k": d}
    out = flatten(d)
    assert list(out.values()) == [["x"]]


def test_flatten_max_depth() -> None:
    d: dict[str, Any] = {"a": 1}
    for _ in range(10):
        d = {"k": d}
    assert flatten(d, max_depth=11) == {"k." * 10 + "a": 1}
    with pytest.raises(FlattenLimitError) as e:
        flatten(d, max_depth=10)
    assert e.value.reason == "too_deep"


def test_flatten_padding_blowup_is_capped() -> None:
    hostile = {"a": [{f"k{i}": 1} for i in range(2_000)]}  # 2,000 × 2,000 padded cells
    with pytest.raises(FlattenLimitError) as e:
        flatten(hostile, max_values=100_000)
    assert e.value.reason == "too_many_fields"
    assert len(flatten({"a": [{f"k{i}": 1} for i in range(50)]}, max_values=100_000)) == 50


def test_flatten_max_fields() -> None:
    obj = {f"k{i}": i for i in range(20)}
    assert len(flatten(obj, max_fields=20)) == 20
    with pytest.raises(FlattenLimitError) as e:
        flatten(obj, max_fields=19)
    assert e.value.reason == "too_many_fields"


def test_flatten_rejects_non_object() -> None:
    with pytest.raises(TypeError):
        flatten([1, 2])  # type: ignore[arg-type]


def test_huge_python_int_beyond_str_digit_limit() -> None:
    v = 10**5000 + 7
    out = flatten({"n": v, "m": -v})
    assert out["n"] == "1" + "0" * 4999 + "7"
    assert out["m"] == "-" + out["n"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 123456789012345678901234567890}', {"a": "123456789012345678901234567890"}),
        ('{"a": -9223372036854775808}', {"a": -9223372036854775808}),
        ('{"a": 9223372036854775808}', {"a": "9223372036854775808"}),
        ('{"a": 1e400, "b": -1e400}', {"a": "1e400", "b": "-1e400"}),
        (
            '{"a": NaN, "b": Infinity, "c": -Infinity}',
            {"a": "NaN", "b": "Infinity", "c": "-Infinity"},
        ),
        ('{"a": 1, "a": 2}', {"a": 2}),  # duplicate keys: last wins
        ('{"a": "1' + "0" * 10_000 + '"}', {"a": "1" + "0" * 10_000}),
    ],
)
def test_json_loads_numbers(text: str, expected: dict[str, Any]) -> None:
    assert flatten(json_loads(text)) == expected


def test_json_loads_10000_digit_int() -> None:
    digits = "9" * 10_000
    assert flatten(json_loads('{"a": ' + digits + "}")) == {"a": digits}


def test_split_path_examples() -> None:
    assert split_path("a\\.b.c[].\\e.d\\\\\\[x") == [
        ("a.b", False),
        ("c", True),
        ("", False),
        ("d\\[x", False),
    ]
    for bad, why in [("", "empty segment"), ("a.", "path ends with '.'"),
                     (".a", "empty segment"), ("a..b", "empty segment"),
                     ("a[", "unescaped '\\['"), ("a[]x", "'\\[\\]' must end a segment"),
                     ("a\\", "dangling escape"), ("a\\q", "unknown escape"),
                     ("x\\e", "misplaced \\\\e"), ("\\ex", "misplaced \\\\e")]:
        with pytest.raises(ValueError, match=why):
            split_path(bad)


# --------------------------------------------------------------------------- properties

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
_keys = st.text(alphabet=st.sampled_from("ab.[]\\ é"), max_size=4) | st.text(max_size=4)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=30,
)
_objects = st.dictionaries(_keys, _json, max_size=5)


def _leaves(v: Any) -> list[Any]:
    out: list[Any] = []
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        else:
            out.append(x)
    return out


def _dict_keys(v: Any) -> set[tuple[str, str]]:
    """Every object key, as the value a map's key/value pairs would hold."""
    out: set[tuple[str, str]] = set()
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            out.update(_key(normalize_scalar(k)) for k in x)
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


def _key(v: Any) -> tuple[str, str]:
    return (type(v).__name__, repr(v))


def _output_values(out: dict[str, Any]) -> list[Any]:
    vals: list[Any] = []
    for v in out.values():
        vals.extend(v if isinstance(v, list) else [v])
    return vals


@settings(max_examples=150, deadline=None)
@given(_objects)
def test_flatten_never_loses_a_scalar(obj: dict[str, Any]) -> None:
    out = flatten(obj)
    for path in out:  # every path parses back and starts at a top-level key (or holds the
        # record's identifier-shaped keys: flatten.DYNAMIC_KEYS)
        assert split_path(path)[0][0] in obj or split_path(path)[0][0] == flatten_mod.DYNAMIC_KEYS
    want = Counter(_key(normalize_scalar(v)) for v in _leaves(obj))
    got = Counter(_key(v) for v in _output_values(out))
    missing = want - got
    assert not missing, missing
    # only None padding is ever added, and the keys of maps (written as key/value pairs)
    extra = got - want
    assert set(extra) <= {_key(None)} | _dict_keys(obj)
    for v in _output_values(out):
        assert v is None or isinstance(v, (str, int, float, bool))
        if isinstance(v, float):
            assert math.isfinite(v)
        if isinstance(v, int) and not isinstance(v, bool):
            assert -(2**63) <= v < 2**63


@settings(max_examples=200, deadline=None)
@given(st.lists(_keys, min_size=1, max_size=6), st.lists(st.booleans(), min_size=6, max_size=6))
def test_escape_round_trips(keys: list[str], arrays: list[bool]) -> None:
    path = ".".join(escape_key(k) + ("[]" if a else "") for k, a in zip(keys, arrays, strict=False))
    assert split_path(path) == list(zip(keys, arrays, strict=False))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abcd"), _scalars, max_size=3), max_size=8))
def test_one_level_array_alignment(elements: list[dict[str, Any]]) -> None:
    out = flatten({"arr": elements})
    for path, vals in out.items():
        key = split_path(path)[1][0]
        assert vals == [normalize_scalar(e[key]) if key in e else None for e in elements]


@settings(max_examples=100, deadline=None)
@given(_objects)
def test_flatten_of_json_text_matches(obj: dict[str, Any]) -> None:
    # whatever json.dumps writes (NaN/Infinity included), json_loads + flatten agree with
    # flattening the object itself
    assert flatten(json_loads(json.dumps(obj))) == flatten(obj)


@settings(max_examples=150, deadline=None)
@given(_objects, st.sampled_from([None, 2, 3]), st.sampled_from([None, 5, 40]))
def test_fast_and_stack_walkers_agree(
    obj: dict[str, Any], max_depth: int | None, max_values: int | None
) -> None:
    def run(fn: Any) -> Any:
        try:
            return fn(obj, max_depth=max_depth, max_values=max_values)
        except FlattenLimitError as e:
            return e.reason

    assert run(flatten) == run(flatten_mod._flatten_stack)


def test_fast_path_falls_back_when_deep() -> None:
    limit = flatten_mod.FAST_PATH_MAX_DEPTH
    for depth in range(limit - 4, limit + 3):
        d: Any = {"x": [1, {"y": 2}]}  # levels depth+1 .. depth+3
        for _ in range(depth):
            d = {"k": d}
        expected = {"k." * depth + "x[]": [1, None], "k." * depth + "x[].y": [None, 2]}
        assert flatten(d) == flatten_mod._flatten_stack(d) == expected
        for cap in (limit - 1, limit, limit + 1):
            if depth + 3 <= cap:
                assert flatten(d, max_depth=cap) == expected
            else:
                with pytest.raises(FlattenLimitError):
                    flatten(d, max_depth=cap)


# --------------------------------------------------------------------------- maps


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # keys that are identifiers: key/value pairs, never column names
        ({"perUser": {"alice@contoso.com": 3, "10.0.0.7": 1}},
         {"perUser[].map_key": ["alice@contoso.com", "10.0.0.7"], "perUser[].map_value": [3, 1]}),
        ({"sessions": {"4f1a2b3c-1111-2222-3333-444455556666": {"n": 1, "ip": "x"}}},
         {"sessions[].map_key": ["4f1a2b3c-1111-2222-3333-444455556666"],
          "sessions[].map_value.n": [1], "sessions[].map_value.ip": ["x"]}),
        ({"a": [{"alice@x.com": 1}, {"bob@x.com": 2}]},
         {"a[].map_key": ["alice@x.com", "bob@x.com"], "a[].map_value": [1, 2]}),
        ({"ports": {"443": "open"}}, {"ports[].map_key": ["443"], "ports[].map_value": ["open"]}),
        ({"members": {r"CONTOSO\jdoe": "owner"}},
         {"members[].map_key": [r"CONTOSO\jdoe"], "members[].map_value": ["owner"]}),
        # the parent's name says it is keyed by something
        ({"countsByUser": {"alice": 3}},
         {"countsByUser[].map_key": ["alice"], "countsByUser[].map_value": [3]}),
        ({"per_host": {"web01": {"ok": True}}},
         {"per_host[].map_key": ["web01"], "per_host[].map_value.ok": [True]}),
        # the record's own identifier-shaped keys
        ({"10.0.0.1": 5, "x": 1},
         {"x": 1, "dynamic_keys[].map_key": ["10.0.0.1"], "dynamic_keys[].map_value": [5]}),
        # field names stay fields
        ({"user": {"name": "x"}, "Tags": {"Environment": "prod"}},
         {"user.name": "x", "Tags.Environment": "prod"}),
        ({"headers": {"X-Forwarded-For": "1.2.3.4", "aws:SourceIp": "x"}},
         {"headers.X-Forwarded-For": "1.2.3.4", "headers.aws:SourceIp": "x"}),
        ({"person": {"bytes": 1}, "Bytes": 2}, {"person.bytes": 1, "Bytes": 2}),
    ],
)
def test_maps_are_key_value_pairs(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert flatten(obj) == expected
    assert flatten_mod._flatten_stack(obj) == expected


def test_a_huge_object_is_a_map_whatever_its_keys() -> None:
    obj = {"stats": {f"k{i}": i for i in range(flatten_mod.MAP_MAX_KEYS + 1)}}
    out = flatten(obj)
    assert set(out) == {"stats[].map_key", "stats[].map_value"}
    assert len(out["stats[].map_key"]) == flatten_mod.MAP_MAX_KEYS + 1


@pytest.mark.parametrize(
    ("key", "dynamic"),
    [("alice@contoso.com", True), ("10.0.0.7", True), ("2001:db8::1", True), ("443", True),
     ("2024-03-01", True), ("S-1-5-21-1004336348-1177238915-682003330-512", True),
     ("4f1a2b3c-1111-2222-3333-444455556666", True), ("00u5ia07pgZLGRBAq697", True),
     ("arn:aws:iam::123456789012:user/x", True), ("+1 425 555 0100", True),
     ("userName", False), ("X-Forwarded-For", False), ("k8s.io/app", False), ("x\\y", False),
     ("Account Name", False), ("ns:attr", False)],
)
def test_dynamic_keys(key: str, dynamic: bool) -> None:
    assert flatten_mod.dynamic_key(key) is dynamic
