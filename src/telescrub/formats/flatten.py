r"""Flatten a nested JSON object into ``{field path: value}``.

Pure Python, no recursion (an explicit stack), so a 10,000-deep object flattens without
touching the interpreter's recursion limit.

Paths
-----
* Object members are joined with ``.``: ``{"user": {"address": {"city": "X"}}}`` →
  ``{"user.address.city": "X"}``.
* An array adds ``[]`` to its member's path and the value becomes a **list**:
  ``{"tags": ["a", "b"]}`` → ``{"tags[]": ["a", "b"]}``;
  ``{"devices": [{"id": 1}, {"os": "x"}]}`` →
  ``{"devices[].id": [1, None], "devices[].os": [None, "x"]}``.
  Every path under an array holds one entry per array element, ``None`` where the element
  does not have it (an element that is a scalar, an empty object/array, or an object
  without that member). A scalar element and object elements can coexist:
  ``{"a": [1, {"b": 2}]}`` → ``{"a[]": [1, None], "a[].b": [None, 2]}``.
* Nested arrays do **not** add another marker: ``{"m": [[1, 2], [3]]}`` →
  ``{"m[]": [1, 2, 3]}`` (the inner arrays are concatenated into the same list, in
  document order). The same padding rule applies at each array level, so an element that
  contributes several values (an inner array) contributes them all and an element that
  contributes nothing contributes one ``None``: ``{"m": [[1, 2], []]}`` →
  ``{"m[]": [1, 2, None]}``. Per-element alignment is therefore exact for one array
  level and best-effort below; no scalar is ever lost.
* Empty objects and arrays produce no path (at the top level or inside objects; inside
  an array they produce the ``None`` padding above). No *scalar* data is lost: an empty
  container carries none.

Maps: keys that are data
------------------------
An object whose keys are data rather than field names (``{"perUser": {"alice@contoso.com": 3,
"10.0.0.7": 1}}``) would otherwise put e-mail addresses and IPs into column names, unscanned,
and make one column per user. Such an object is flattened as a **list of key/value pairs**:
``{"perUser[].map_key": ["alice@contoso.com", "10.0.0.7"], "perUser[].map_value": [3, 1]}``
(nested values go below ``map_value``), so its keys are scrubbed like values. An object is a
map when (:func:`is_map`):

* any of its keys is identifier-shaped (:func:`dynamic_key`: an e-mail address, an IP
  address, a GUID, a SID, a long hex or digit run, a phone number, an ARN, ``DOMAIN\\user``,
  anything starting with a digit), or
* its own key says it is keyed by something (``perUser``, ``byIp``, ``countsByUser``,
  ``userMap``), or
* it has more than :data:`MAP_MAX_KEYS` keys.

Identifier-shaped keys of the record itself go to ``dynamic_keys[].map_key``. A map adds one
nesting level (the pair) to the ``max_depth`` count. Maps whose keys look like field names and
are few per record (``{"stats": {"alice": 3}}``) are not recognised per record: see the
README's known limits.

Key escaping
------------
So that a path is unambiguous, each object key is escaped before it is joined:
``\`` → ``\\``, ``.`` → ``\.``, ``[`` → ``\[``; the empty key ``""`` becomes ``\e``.
``]`` and every other character are kept. ``{"a.b": 1, "a": {"b": 2}}`` →
``{"a\.b": 1, "a.b": 2}``. :func:`split_path` reverses it.

Values
------
``str``, ``int``, ``float``, ``bool`` and ``None`` are kept, except:

* integers outside int64 become their decimal string (``"123456789012345678901234"``);
* non-finite floats become ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (the JSON module's
  spellings). The JSONL reader goes further and keeps a number literal that does not fit
  (``1e400``, a 30-digit integer) as its original text, see :func:`json_loads`;
* strings holding lone UTF-16 surrogates (possible through JSON ``"\ud800"`` escapes; they
  cannot be encoded to UTF-8 / Parquet) get them replaced by U+FFFD, in keys as well;
* anything else a Python caller passes (``bytes``, ``Decimal``, ...) becomes ``str`` (bytes
  decoded as UTF-8 with replacement); tuples count as arrays, mappings as objects.

Duplicate keys (``{"a": 1, "a": 2}``) are resolved by the JSON parser: the last wins.
This is a data-quality issue of the source, not flagged (nothing is added to the record).

Limits
------
:func:`flatten` takes optional caps (``None`` = unlimited) and raises
:class:`FlattenLimitError` (with ``.reason`` ``'too_deep'`` or ``'too_many_fields'``) when
one is exceeded. ``max_values`` bounds the total number of list entries *including the
``None`` padding*, which otherwise can grow as elements × distinct paths for hostile
arrays such as ``[{"k1": 1}, {"k2": 1}, ...]``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

__all__ = [
    "DYNAMIC_KEYS",
    "EMPTY_KEY",
    "MAP_KEY",
    "MAP_VALUE",
    "FlattenLimitError",
    "escape_key",
    "dynamic_key",
    "flatten",
    "is_map",
    "json_loads",
    "normalize_scalar",
    "split_path",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
EMPTY_KEY = "\\e"
ARRAY_MARK = "[]"
#: names of the members of a map's key/value pairs, and of the record's own dynamic keys
MAP_KEY = "map_key"
MAP_VALUE = "map_value"
DYNAMIC_KEYS = "dynamic_keys"
#: an object with more keys than this is a map whatever its keys look like
MAP_MAX_KEYS = 256


class FlattenLimitError(ValueError):
    """A flatten cap was exceeded; ``reason`` is a short machine-friendly word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- scalars


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean_str(s: str) -> str:
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)
    return s


def _int_to_str(v: int) -> str:
    try:
        return str(v)
    except ValueError:  # beyond sys.get_int_max_str_digits(): convert in chunks
        sign = "-" if v < 0 else ""
        v = abs(v)
        base = 10**1000
        parts: list[str] = []
        while v:
            v, rem = divmod(v, base)
            parts.append(f"{rem:01000d}")
        return sign + "".join(reversed(parts)).lstrip("0")


def normalize_scalar(v: Any) -> str | int | float | bool | None:
    """A leaf value as it appears in the flattened output (see the module doc)."""
    t = type(v)
    if t is str:
        return v if v.isascii() else _clean_str(v)
    if t is int:
        return v if INT64_MIN <= v <= INT64_MAX else _int_to_str(v)
    if t is float and math.isfinite(v):
        return v
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if INT64_MIN <= v <= INT64_MAX else _int_to_str(v)
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        if v != v:
            return "NaN"
        return "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, str):
        return _clean_str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "replace")
    try:
        return _clean_str(str(v))
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the pipeline
        return f"<unprintable {type(v).__name__}>"


# --------------------------------------------------------------------------- keys


_ESCAPE_CACHE: dict[str, str] = {}
_ESCAPE_CACHE_MAX = 50_000


def escape_key(key: Any) -> str:
    r"""One object key as a path segment: ``\`` ``.`` ``[`` escaped, ``""`` → ``\e``."""
    if type(key) is str:
        hit = _ESCAPE_CACHE.get(key)
        if hit is not None:
            return hit
        escaped = _escape_key(key)
        if len(_ESCAPE_CACHE) >= _ESCAPE_CACHE_MAX:
            _ESCAPE_CACHE.clear()
        _ESCAPE_CACHE[key] = escaped
        return escaped
    return _escape_key(key)


def _escape_key(key: Any) -> str:
    if not isinstance(key, str):
        key = str(key)
    key = _clean_str(key)
    if not key:
        return EMPTY_KEY
    if "\\" in key or "." in key or "[" in key:
        key = key.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[")
    return key


def split_path(path: str) -> list[tuple[str, bool]]:
    r"""Reverse of the path building: ``'a\.b.c[].d'`` → ``[('a.b', False), ('c', True),
    ('d', False)]`` (key, followed-by-``[]``). Raises ``ValueError`` for a malformed path."""
    out: list[tuple[str, bool]] = []
    buf: list[str] = []
    empty_marker = False
    i, n = 0, len(path)
    while True:
        is_array = False
        while i < n:
            c = path[i]
            if c == "\\":
                if i + 1 >= n:
                    raise ValueError("dangling escape in path")
                nxt = path[i + 1]
                if nxt == "e":
                    if buf or empty_marker:
                        raise ValueError("misplaced \\e in path")
                    empty_marker = True
                elif nxt in "\\.[":
                    if empty_marker:
                        raise ValueError("misplaced \\e in path")
                    buf.append(nxt)
                else:
                    raise ValueError("unknown escape in path")
                i += 2
                continue
            if c == ".":
                break
            if c == "[":
                if path[i : i + 2] != ARRAY_MARK:
                    raise ValueError("unescaped '[' in path")
                is_array = True
                i += 2
                if i < n and path[i] != ".":
                    raise ValueError("'[]' must end a segment")
                break
            if empty_marker:
                raise ValueError("misplaced \\e in path")
            buf.append(c)
            i += 1
        if not buf and not empty_marker:
            raise ValueError("empty segment in path")
        out.append(("".join(buf), is_array))
        buf, empty_marker = [], False
        if i >= n:
            return out
        i += 1  # the '.'
        if i >= n:
            raise ValueError("path ends with '.'")


# --------------------------------------------------------------------------- maps

_DYNAMIC = re.compile(
    r"\d"                                              # numbers, dates, IPv4, counters
    r"|[^@\s]+@[^@\s]+\.[^@\s]+"                    # e-mail addresses
    r"|\+\d[\d ()-]{5,}"                              # phone numbers
    r"|\{?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?"  # GUIDs
    r"|[0-9a-fA-F]{16,}"                                # hex ids and digests
    r"|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:/\d+)?"  # IPv6
    r"|S-1-\d[\d-]*"                                   # Windows SIDs
    r"|arn:.*|[A-Za-z][\w.-]{1,14}\\{1,2}[\w.$-]{2,64}"  # ARNs, DOMAIN\user
    r"|(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16,}|00u[A-Za-z0-9]{17}"  # cloud key and user ids
)
_MAP_PARENT = re.compile(
    r"(?:per|by)(?:[A-Z_-]|$).*|.*(?:Per|By|_per|_by)(?:[A-Z_-]).*|.*(?:Map|_map|Dict|_dict)")
_DYNAMIC_CACHE: dict[str, bool] = {}
_PARENT_CACHE: dict[str, bool] = {}


def dynamic_key(key: Any) -> bool:
    """Is this object key data (an identifier, a number) rather than a field name?"""
    if type(key) is not str:
        return True
    hit = _DYNAMIC_CACHE.get(key)
    if hit is None:
        hit = _DYNAMIC.match(key) is not None and (
            key[:1].isdigit() or _DYNAMIC.fullmatch(key) is not None)
        if len(_DYNAMIC_CACHE) >= _ESCAPE_CACHE_MAX:
            _DYNAMIC_CACHE.clear()
        _DYNAMIC_CACHE[key] = hit
    return hit


def _map_parent(key: Any) -> bool:
    if type(key) is not str:
        return False
    hit = _PARENT_CACHE.get(key)
    if hit is None:
        hit = _MAP_PARENT.fullmatch(key) is not None
        if len(_PARENT_CACHE) >= _ESCAPE_CACHE_MAX:
            _PARENT_CACHE.clear()
        _PARENT_CACHE[key] = hit
    return hit


def is_map(key: Any, obj: Collection[Any]) -> bool:
    """Is ``obj`` (the value of ``key``; None for an array element) a map whose keys are data?

    ``obj`` is the object, or its keys (the columnar reader, ``formats/arrow_jsonl.py``, asks
    with the member names of a struct column: it reads no block this would flatten as a map)."""
    if len(obj) > MAP_MAX_KEYS or (key is not None and _map_parent(key)):
        return True
    return any(dynamic_key(k) for k in obj)


def _pairs(obj: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return [{MAP_KEY: k if isinstance(k, str) else str(k), MAP_VALUE: v} for k, v in obj.items()]


def _split_dynamic(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its identifier-shaped top-level keys moved into ``dynamic_keys``."""
    out = {k: v for k, v in obj.items() if not dynamic_key(k)}
    dyn = {k: v for k, v in obj.items() if dynamic_key(k)}
    existing = out.pop(DYNAMIC_KEYS, None)
    pairs = _pairs(dyn)
    if existing is not None:
        pairs.insert(0, {MAP_KEY: DYNAMIC_KEYS, MAP_VALUE: existing})
    out[DYNAMIC_KEYS] = pairs
    return out


# --------------------------------------------------------------------------- flatten


class _Frame:
    """One open container on the explicit stack."""

    __slots__ = (
        "acc",
        "array",
        "depth",
        "in_array",
        "is_root",
        "items",
        "n",
        "owns",
        "path",
        "seg",
    )

    def __init__(
        self,
        *,
        items: Any,
        array: bool,
        seg: str,
        acc: dict[str, Any],
        in_array: bool,
        owns: bool,
        depth: int,
        is_root: bool = False,
    ) -> None:
        self.items = items  # dict-items iterator (object) or list iterator (array)
        self.array = array
        self.seg = seg  # what this frame adds to its parent's path
        self.path: str | None = "" if is_root else None  # cached full path
        self.acc = acc  # where leaves go (shared with the parent unless owns)
        self.in_array = in_array  # leaves are collected as lists
        self.owns = owns  # deliver acc to the parent array frame when done
        self.n = 0  # array frames: elements merged so far
        self.depth = depth
        self.is_root = is_root


def _full_path(stack: list[_Frame], i: int) -> str:
    frame = stack[i]
    if frame.path is not None:
        return frame.path
    j = i
    while stack[j].path is None:
        j -= 1
    # Only the asked frame caches: caching every level of a deep chain is O(depth²).
    base = stack[j].path or ""
    frame.path = base + "".join(f.seg for f in stack[j + 1 : i + 1])
    return frame.path


class _Budget:
    __slots__ = ("limit", "used")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def take(self, k: int) -> None:
        self.used += k
        if self.limit is not None and self.used > self.limit:
            raise FlattenLimitError(
                "too_many_fields",
                f"flattened record exceeds {self.limit} values (array padding included)",
            )


def _merge_element(frame: _Frame, contrib: dict[str, list[Any]], budget: _Budget) -> None:
    """Add one array element's values (path → list) to an array frame, padding with None."""
    acc = frame.acc
    n = frame.n
    for path, vals in contrib.items():
        lst = acc.get(path)
        if lst is None:
            if n:
                budget.take(n)
                lst = [None] * n
                lst.extend(vals)
                acc[path] = lst
            else:
                acc[path] = vals
        else:
            lst.extend(vals)
    if len(contrib) != len(acc):
        missing = len(acc) - len(contrib)
        budget.take(missing)
        for path, lst in acc.items():
            if path not in contrib:
                lst.append(None)
    frame.n = n + 1


_LEAF, _OBJ, _ARR = 0, 1, 2
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


def _kind(v: Any) -> int:
    t = type(v)
    if t in _LEAF_TYPES:
        return _LEAF
    if t is dict:
        return _OBJ
    if t is list:
        return _ARR
    if isinstance(v, Mapping):
        return _OBJ
    if isinstance(v, (list, tuple)):
        return _ARR
    return _LEAF


def _is_object(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_array(v: Any) -> bool:
    return isinstance(v, (list, tuple))


#: Objects nested deeper than this are flattened by the explicit-stack walker; shallower
#: ones by the (3-4x faster) recursive one. Both give identical results.
FAST_PATH_MAX_DEPTH = 64


class _TooDeepForFastPath(Exception):
    pass


class _Fast:
    """Recursive flattening for the common, shallow case (same rules as the stack walker)."""

    __slots__ = ("budget", "max_depth")

    def __init__(self, budget: _Budget, max_depth: int | None) -> None:
        self.budget = budget
        self.max_depth = max_depth

    def _descend(self, depth: int) -> None:
        if self.max_depth is not None and depth > self.max_depth:
            raise FlattenLimitError("too_deep", f"nesting deeper than {self.max_depth} levels")
        if depth > FAST_PATH_MAX_DEPTH:
            raise _TooDeepForFastPath()

    def obj(
        self,
        obj: Mapping[Any, Any],
        prefix: str | None,
        acc: dict[str, Any],
        depth: int,
        in_array: bool,
    ) -> None:
        for key, v in obj.items():
            path = escape_key(key) if prefix is None else prefix + "." + escape_key(key)
            kind = _kind(v)
            if kind == _OBJ and v and is_map(key, v):
                v, kind = _pairs(v), _ARR  # keys that are data: key/value pairs
            if kind == _OBJ:
                if v:
                    self._descend(depth + 1)
                    self.obj(v, path, acc, depth + 1, in_array)
            elif kind == _ARR:
                if v:
                    self._descend(depth + 1)
                    acc.update(self.arr(v, path + ARRAY_MARK, depth + 1))
            else:
                self.budget.take(1)
                acc[path] = [normalize_scalar(v)] if in_array else normalize_scalar(v)

    def arr(self, items: Any, path: str, depth: int) -> dict[str, list[Any]]:
        frame = _Frame(
            items=None, array=True, seg="", acc={}, in_array=True, owns=False, depth=depth
        )
        for v in items:
            kind = _kind(v)
            if kind == _OBJ and v and is_map(None, v):
                v, kind = _pairs(v), _ARR
            if kind == _OBJ:
                contrib: dict[str, list[Any]] = {}
                if v:
                    self._descend(depth + 1)
                    self.obj(v, path, contrib, depth + 1, True)
            elif kind == _ARR:
                contrib = {}
                if v:
                    self._descend(depth + 1)
                    contrib = self.arr(v, path, depth + 1)
            else:
                self.budget.take(1)
                contrib = {path: [normalize_scalar(v)]}
            _merge_element(frame, contrib, self.budget)
        return frame.acc


def flatten(
    obj: Mapping[str, Any],
    *,
    max_depth: int | None = None,
    max_fields: int | None = None,
    max_values: int | None = None,
) -> dict[str, Any]:
    """Flatten one JSON object (see the module doc for paths, escaping and values).

    Never raises for any JSON-like object unless a cap is given and exceeded
    (:class:`FlattenLimitError`); a non-mapping *obj* is a ``TypeError``.
    """
    if not _is_object(obj):
        raise TypeError(f"flatten() expects a JSON object, got {type(obj).__name__}")
    if max_depth is not None and max_depth < 1:
        raise FlattenLimitError("too_deep", f"nesting deeper than {max_depth} levels")
    if any(dynamic_key(k) for k in obj):
        obj = _split_dynamic(obj)
    out: dict[str, Any] = {}
    try:
        _Fast(_Budget(max_values), max_depth).obj(obj, None, out, 1, False)
    except _TooDeepForFastPath:
        return _flatten_stack(
            obj, max_depth=max_depth, max_fields=max_fields, max_values=max_values
        )
    if max_fields is not None and len(out) > max_fields:
        raise FlattenLimitError(
            "too_many_fields", f"record has {len(out)} fields, over the cap of {max_fields}"
        )
    return out


def _flatten_stack(
    obj: Mapping[str, Any],
    *,
    max_depth: int | None = None,
    max_fields: int | None = None,
    max_values: int | None = None,
) -> dict[str, Any]:
    """The explicit-stack walker: any depth, no recursion."""
    if any(dynamic_key(k) for k in obj):
        obj = _split_dynamic(obj)
    budget = _Budget(max_values)
    out: dict[str, Any] = {}
    stack: list[_Frame] = [
        _Frame(
            items=iter(obj.items()),
            array=False,
            seg="",
            acc=out,
            in_array=False,
            owns=False,
            depth=1,
            is_root=True,
        )
    ]

    while stack:
        top = len(stack) - 1
        frame = stack[top]
        if frame.array:
            try:
                v = next(frame.items)
            except StopIteration:
                stack.pop()
                parent = stack[-1]
                if parent.array:
                    _merge_element(parent, frame.acc, budget)
                else:
                    parent.acc.update(frame.acc)  # disjoint paths
                continue
            if _is_object(v) and v and is_map(None, v):
                v = _pairs(v)
            if _is_object(v) or _is_array(v):
                if not v:
                    _merge_element(frame, {}, budget)
                    continue
                depth = frame.depth + 1
                if max_depth is not None and depth > max_depth:
                    raise FlattenLimitError("too_deep", f"nesting deeper than {max_depth} levels")
                is_arr = _is_array(v)
                stack.append(
                    _Frame(
                        items=iter(v) if is_arr else iter(v.items()),
                        array=is_arr,
                        seg="",
                        acc={},
                        in_array=True,
                        owns=True,
                        depth=depth,
                    )
                )
                continue
            budget.take(1)
            _merge_element(frame, {_full_path(stack, top): [normalize_scalar(v)]}, budget)
            continue

        # object frame
        try:
            key, v = next(frame.items)
        except StopIteration:
            stack.pop()
            if frame.owns:
                _merge_element(stack[-1], frame.acc, budget)
            continue
        seg = escape_key(key) if frame.is_root else "." + escape_key(key)
        if _is_object(v) and v and is_map(key, v):
            v = _pairs(v)
        if _is_object(v) or _is_array(v):
            if not v:
                continue  # empty container at object level: no path
            depth = frame.depth + 1
            if max_depth is not None and depth > max_depth:
                raise FlattenLimitError("too_deep", f"nesting deeper than {max_depth} levels")
            if _is_array(v):
                stack.append(
                    _Frame(
                        items=iter(v),
                        array=True,
                        seg=seg + ARRAY_MARK,
                        acc={},
                        in_array=True,
                        owns=False,
                        depth=depth,
                    )
                )
            else:
                stack.append(
                    _Frame(
                        items=iter(v.items()),
                        array=False,
                        seg=seg,
                        acc=frame.acc,
                        in_array=frame.in_array,
                        owns=False,
                        depth=depth,
                    )
                )
            continue
        budget.take(1)
        path = _full_path(stack, top) + seg
        frame.acc[path] = [normalize_scalar(v)] if frame.in_array else normalize_scalar(v)

    if max_fields is not None and len(out) > max_fields:
        raise FlattenLimitError(
            "too_many_fields", f"record has {len(out)} fields, over the cap of {max_fields}"
        )
    return out


# --------------------------------------------------------------------------- JSON parsing


def _parse_int(text: str) -> int | str:
    if len(text) > 20:
        return text
    v = int(text)
    return v if INT64_MIN <= v <= INT64_MAX else text


def _parse_float(text: str) -> float | str:
    v = float(text)
    return v if math.isfinite(v) else text


def _parse_constant(text: str) -> str:
    return text  # 'NaN', 'Infinity', '-Infinity'


def json_loads(text: str) -> Any:
    """``json.loads`` with number handling that never loses a literal:

    integers beyond int64 and floats that overflow (``1e400``) stay as their source text,
    ``NaN``/``Infinity``/``-Infinity`` become those strings. This also avoids Python's
    4,300-digit int conversion limit and its quadratic cost. May raise ``ValueError``
    (``json.JSONDecodeError``) and ``RecursionError`` for very deep documents.
    """
    return json.loads(
        text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
    )
