"""JSON lines read by pyarrow's JSON reader: the columnar fast path of the JSONL reader.

``arrow_block(raw, first_line, schema_hint)`` parses a block of whole lines into one Arrow
table whose columns are the flattened field paths the Python reader
(``telescrub.formats.readers`` + ``flatten``) would produce, with the same values, plus a
``_line`` column (the physical line of each record). It returns None whenever it cannot
promise exactly the Python reader's records, and the caller reads that block with the
Python reader instead; ``tests/unit/test_arrow_jsonl.py`` holds the two to the same
records on generated and shipped data. A block goes to the Python reader when:

* it holds the literal ``null`` anywhere (a field that is present but null is a field of
  that record in Python; Arrow cannot tell it from a missing one), or ``NaN``/``Infinity``,
  or a ``\\u`` escape of a UTF-16 surrogate (the Python reader replaces lone ones);
* pyarrow refuses it: invalid JSON or UTF-8, a line that is not an object, a field whose
  type changes between records, a key given twice;
* a number does not parse as int64 on every line (Arrow's double column could not tell the
  Python reader's ints from floats), or a value is a nested array (Python concatenates
  inner arrays into one list);
* an object key needs escaping in a path (``.``, ``[``, ``\\`` or empty);
* an object is one the flattener turns into key/value pairs (a map:
  :func:`telescrub.formats.flatten.is_map` on the member names of a struct column, the
  union over the block's records, so never fewer than any one record's), or a record has a
  key that is data (:func:`~telescrub.formats.flatten.dynamic_key`: it would go to
  ``dynamic_keys``);
* a line is longer than the reader's cap (the Python reader quarantines it).

Values: strings stay strings (a field pyarrow would read as a date or timestamp is read
again as a string), integers int64, booleans bool. Arrays become list columns whose path
ends in ``[]``, as in ``flatten``: ``{"d": [{"id": 1}, {"os": "x"}]}`` gives ``d[].id`` =
``[1, None]`` and ``d[].os`` = ``[None, "x"]``; a record whose array gives a path nothing
(an empty array, or no element with that member) does not hold the path (null), and a
column no record holds is not returned.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from telescrub.formats.flatten import dynamic_key, is_map

LINE_COLUMN = "_line"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_BAD_KEY = re.compile(r"[.\[\\]")
_TEMPORAL = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_time)


class Unsupported(Exception):
    """The block is not one the fast path reads exactly like the Python reader."""


def _as_strings(t: pa.DataType) -> pa.DataType:
    """``t`` with every date/time type replaced by string (to read such fields as text)."""
    if any(f(t) for f in _TEMPORAL):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _as_strings(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_as_strings(t.value_type))
    return t


def _has_temporal(t: pa.DataType) -> bool:
    return _as_strings(t) != t


def _read(raw: bytes, schema: pa.Schema | None) -> pa.Table:
    opts = pj.ParseOptions(newlines_in_values=False, explicit_schema=schema,
                           unexpected_field_behavior="infer")
    return pj.read_json(io.BytesIO(raw), read_options=pj.ReadOptions(use_threads=True,
                                                                      block_size=1 << 22),
                        parse_options=opts)


def _leaves(name: str, arr: pa.Array, out: list[tuple[str, pa.Array]],
            offsets: pa.Array | None, key: str | None) -> None:
    """Flatten one column: structs into ``.``-joined members, lists into ``[]`` paths
    (``offsets``: the list offsets to rebuild each record's list of leaf values; ``key``: the
    object key whose value the column is, None for the elements of an array)."""
    t = arr.type
    if pa.types.is_struct(t):
        if t.num_fields and is_map(key, [f.name for f in t]):
            raise Unsupported("an object whose keys are data (the flattener makes it pairs)")
        for i, f in enumerate(t):
            if not f.name or _BAD_KEY.search(f.name):
                raise Unsupported("a key that needs escaping")
            child = arr.field(i)
            if arr.null_count:  # a missing parent object: its members are missing too
                child = pc.if_else(pc.is_valid(arr), child, pa.nulls(len(child), child.type))
            _leaves(f"{name}.{f.name}" if name else f.name, child, out, offsets, f.name)
        return
    if pa.types.is_list(t):
        if offsets is not None or pa.types.is_list(t.value_type):
            raise Unsupported("an array inside an array")
        # an absent array is an empty one here (it gives no path either way)
        filled = pc.if_else(pc.is_valid(arr), arr, pa.scalar([], type=t)) \
            if arr.null_count else arr
        _leaves(f"{name}[]", filled.flatten(), out, filled.offsets, None)
        return
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        raise Unsupported("a non-integer number")
    if not (pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_boolean(t)
            or pa.types.is_null(t)):
        raise Unsupported(f"a value of type {t}")
    if offsets is None:
        out.append((name, arr))
        return
    # one list per record; the record holds the path when one of its array's elements has
    # the member (no explicit nulls here: a null is an element without it)
    lists = pa.ListArray.from_arrays(offsets, arr)
    valid = np.concatenate([[0], np.cumsum(
        pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=np.int64)])
    off = offsets.to_numpy()
    held = pa.array(valid[off[1:]] - valid[off[:-1]] > 0)
    out.append((name, pc.if_else(held, lists, pa.nulls(len(lists), lists.type))))


def flatten_table(table: pa.Table) -> list[tuple[str, pa.Array]]:
    """The flattened ``(path, column)`` pairs of a parsed block, columns no record holds
    left out. Raises :class:`Unsupported`."""
    out: list[tuple[str, pa.Array]] = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if not f.name or _BAD_KEY.search(f.name):
            raise Unsupported("a key that needs escaping")
        if dynamic_key(f.name):
            raise Unsupported("a record key that is data (the flattener moves it)")
        _leaves(f.name, col.combine_chunks(), out, None, f.name)
    return [(p, a) for p, a in out if a.null_count < len(a) and not pa.types.is_null(a.type)]


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"{}[]")


def _bracket_depth(raw: bytes) -> int:
    """The deepest bracket nesting in ``raw`` (brackets inside strings counted too: an
    over-estimate in practice, which only sends a block to the Python reader)."""
    b = np.frombuffer(raw.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if not len(b):
        return 0
    delta = ((b == 0x7B) | (b == 0x5B)).astype(np.int32) - ((b == 0x7D) | (b == 0x5D))
    return int(np.cumsum(delta).max(initial=0))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False  # pyarrow would not check; the Python reader decides what to do
    return True


def _depth(t: pa.DataType) -> int:
    """Nesting levels of a type (iterative: a hostile 10,000-deep object must not recurse)."""
    deepest, todo = 0, [(t, 0)]
    while todo:
        cur, d = todo.pop()
        deepest = max(deepest, d)
        if pa.types.is_struct(cur):
            todo.extend((f.type, d + 1) for f in cur)
        elif pa.types.is_list(cur):
            todo.append((cur.value_type, d + 1))
    return deepest


def _within(data: pa.Table, table: pa.Table, max_depth: int, max_fields: int,
            max_values: int) -> bool:
    """The flattener's caps (depth, fields and list entries per record) hold for every
    record of the block (checked on the block as a whole: never more than per record)."""
    if data.num_columns > max_fields:
        return False
    lists = [pc.fill_null(pc.list_value_length(c), 0) for c in data.columns
             if pa.types.is_list(c.type)]
    if not lists:
        return True
    total = lists[0]
    for n in lists[1:]:
        total = pc.add(total, n)
    return int(pc.max(total).as_py() or 0) <= max_values


def arrow_block(raw: bytes, first_line: int, max_line_bytes: int,
                schema_hint: pa.Schema | None = None, max_depth: int = 256,
                max_fields: int = 10_000, max_values: int = 1_000_000,
                ) -> tuple[pa.Table, pa.Schema] | None:
    """(flattened table with a ``_line`` column, the schema to read the next block with),
    or None when the Python reader must read this block (see the module docstring)."""
    if not raw or b"null" in raw or b"NaN" in raw or b"Infinity" in raw or (
            b"\\u" in raw and _SURROGATE_ESCAPE.search(raw)) or not _utf8(raw):
        return None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    numbers: list[int] = []
    for i, line in enumerate(lines):
        if len(line) > max_line_bytes:
            return None
        if line.strip():
            numbers.append(first_line + i)
    if not numbers or _bracket_depth(raw) > min(max_depth, 64):
        return None  # pyarrow's inference is slow on very deep objects; Python caps them
    try:
        table = _read(raw, schema_hint)
        if max((_depth(f.type) for f in table.schema), default=0) + 1 > max_depth \
                or max((_depth(f.type) for f in table.schema), default=0) > 64:
            return None  # the Python reader quarantines what is too deep
        if _has_temporal(pa.struct(list(table.schema))):
            hint = pa.schema([pa.field(f.name, _as_strings(f.type)) for f in table.schema])
            table = _read(raw, hint)
        else:
            hint = table.schema
        if table.num_rows != len(numbers):
            return None
        cols = flatten_table(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, Unsupported):
        return None
    names = [p for p, _ in cols]
    if len(set(names)) != len(names) or LINE_COLUMN in names:
        return None
    data = pa.table({**dict(cols), LINE_COLUMN: pa.array(numbers, pa.int64())})
    if not _within(data, table, max_depth, max_fields, max_values):
        return None
    return data, hint


def blocks(raw: bytes, first_line: int, target: int) -> Iterator[tuple[bytes, int]]:
    """``raw`` (whole lines) cut into blocks of about ``target`` bytes of whole lines, each
    with the number of its first line."""
    pos, line = 0, first_line
    while pos < len(raw):
        end = raw.find(b"\n", min(pos + target, len(raw)) - 1)
        end = len(raw) if end < 0 else end + 1
        chunk = raw[pos:end]
        yield chunk, line
        line += chunk.count(b"\n")
        pos = end


def row_fields(data: pa.Table) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, fields) per row of a flattened block, as the Python reader's records hold them
    (only the paths a record holds)."""
    names = [n for n in data.column_names if n != LINE_COLUMN]
    cols = [data.column(n).to_pylist() for n in names]
    for i, line in enumerate(data.column(LINE_COLUMN).to_pylist()):
        yield line, {n: c[i] for n, c in zip(names, cols, strict=True) if c[i] is not None}
