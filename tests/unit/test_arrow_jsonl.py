"""The columnar JSONL reader gives exactly the Python reader's records, or declines.

Whenever ``arrow_block`` returns a table, its rows (paths, values, types, line numbers) must
equal what ``read_jsonl_lines`` + ``flatten`` produce for the same bytes; when it cannot
promise that, it returns None and the Python reader reads the block.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.formats.arrow_jsonl import arrow_block, blocks, row_fields
from telescrub.formats.readers import ReadLimits, read_jsonl_lines

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CAP = 1 << 20


def _python(raw: bytes, first_line: int = 1) -> list[tuple[int, dict]]:
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    items = [(first_line + i, line.rstrip(b"\r")) for i, line in enumerate(lines)]
    out = []
    for r in read_jsonl_lines(iter(items), "t", "s", ReadLimits()):
        assert hasattr(r, "fields"), r  # the Arrow path declines blocks with bad lines
        out.append((r.line, r.fields))
    return out


def _typed(rows: list[tuple[int, dict]]) -> list[tuple[int, list]]:
    """Rows with every value's type made visible (True and 1 must not compare equal)."""
    def t(v):
        if isinstance(v, list):
            return [t(x) for x in v]
        return (type(v).__name__, v)
    return [(line, sorted((k, t(v)) for k, v in fields.items())) for line, fields in rows]


def _same(raw: bytes, first_line: int = 1) -> bool:
    res = arrow_block(raw, first_line, CAP)
    if res is None:
        return False
    got = list(row_fields(res[0]))
    assert _typed(got) == _typed(_python(raw, first_line))
    return True


_KEY = st.one_of(
    st.text(alphabet="abcdefghijXYZ_-é 0123456789", min_size=1, max_size=6),
    # keys that make an object a map (formats/flatten.py is_map): the fast path must decline
    st.sampled_from(["perUser", "countsByUser", "userMap", "S-1-5-21-1004", "+14155550100",
                     "0f8fad5b-d9cb-469f-a165-70867728950e", "alice@contoso"]))
_SCALAR = st.one_of(st.integers(-(2**63), 2**63 - 1), st.booleans(),
                    st.text(max_size=8), st.just("2026-11-20"), st.just("2026-11-20T10:00:00"))


def _objects(depth: int) -> st.SearchStrategy:
    if depth == 0:
        return st.dictionaries(_KEY, _SCALAR, max_size=4)
    inner = _objects(depth - 1)
    return st.dictionaries(_KEY, st.one_of(
        _SCALAR, inner, st.lists(inner, max_size=3), st.lists(_SCALAR, max_size=3)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(_objects(2), min_size=1, max_size=6), st.integers(1, 50),
       st.lists(st.booleans(), max_size=6))
def test_generated_blocks_read_the_same_or_decline(objs, first_line, blanks):
    lines = []
    for i, o in enumerate(objs):
        if i < len(blanks) and blanks[i]:
            lines.append("")
        lines.append(json.dumps(o, ensure_ascii=False))
    _same(("\n".join(lines) + "\n").encode(), first_line)


@pytest.mark.parametrize("text", [
    '{"a": null}', '{"a": 1.5}', '{"a": NaN}', '{"a": "\\ud800"}', '{"a.b": 1}', '{"": 1}',
    '{"a": [[1]]}', '[1, 2]', '{"a": 1, "a": 2}', '{"a": 123456789012345678901234}',
    '{"a": "\xff"}', 'not json'])
def test_blocks_the_fast_path_cannot_promise_are_declined(text):
    raw = text.encode("utf-8", "surrogateescape") if "\xff" not in text else \
        b'{"a": "\xff"}'
    assert arrow_block(raw + b"\n", 1, CAP) is None


@pytest.mark.parametrize("obj", [
    {"perUser": {"alice": 3, "bob": 1}},                       # the object's name says so
    {"stats": {"S-1-5-21-1004": 3}},                            # a key that is an identifier
    {"stats": {"2026": 1}},                                     # a key starting with a digit
    {"events": [{"0f8fad5b-d9cb-469f-a165-70867728950e": "x"}]},  # an array element
    {"a": {"b": {"userMap": {"k": 1}}}},                        # deep down
    {"big": {f"k{i}": i for i in range(300)}},                  # over MAP_MAX_KEYS keys
    {"S-1-5-21-1004": 1, "a": 2},                               # a record key that is data
])
def test_objects_the_flattener_makes_pairs_of_are_declined(obj):
    """The Python flattener writes a map's keys as values (``x[].map_key``); the columnar
    reader would make them column names: it declines, and the Python reader reads them."""
    raw = (json.dumps(obj) + "\n" + json.dumps({"a": 1}) + "\n").encode()
    assert arrow_block(raw, 1, CAP) is None
    fields = _python(raw)[0][1]
    assert any(p.endswith("[].map_key") for p in fields), fields


def test_a_map_parent_name_on_an_array_or_a_scalar_is_no_map():
    """Only an object under a keyed name is a map (as in the flattener): arrays of objects
    under it and scalars named so are read by the fast path, the same as Python."""
    assert _same(b'{"perUser": [{"n": 1}], "userMap": "x", "byIp": 3}\n')


def test_a_unit_with_map_keyed_objects_reads_the_same(tmp_path):
    p = tmp_path / "m.jsonl"
    lines = [json.dumps({"i": i, "u": {"n": f"user{i}"}}) for i in range(80)]
    lines[25] = json.dumps({"i": 25, "perUser": {"alice": 3, "S-1-5-21-9": 1}})
    lines[60] = json.dumps({"i": 60, "u": {"n": "x", "counts": {"+14155550100": 2}}})
    p.write_text("\n".join(lines) + "\n")
    assert _compare_unit(p) > 0  # the blocks without a map still go columnar


def test_type_changes_between_records_are_declined():
    assert arrow_block(b'{"a": 1}\n{"a": "x"}\n', 1, CAP) is None
    assert arrow_block(b'{"a": true}\n{"a": 1}\n', 1, CAP) is None


def test_a_line_over_the_cap_is_left_to_the_python_reader():
    assert arrow_block(b'{"a": "' + b"x" * 100 + b'"}\n', 1, 50) is None


def test_dates_stay_text_and_blank_lines_keep_numbering():
    assert _same(b'{"d": "2026-11-20", "t": "2026-11-20T10:00:00"}\n\n\n{"d": "x"}\n', 7)


def test_blocks_cut_at_line_ends_and_number_their_lines():
    raw = b"".join(b'{"i": %d}\n' % i for i in range(100))
    parts = list(blocks(raw, 5, 64))
    assert b"".join(p for p, _ in parts) == raw
    assert [n for _, n in parts][:2] == [5, 5 + parts[0][0].count(b"\n")]
    assert all(p.endswith(b"\n") for p, _ in parts)


def _jsonl_files() -> list[str]:
    files = sorted(glob.glob(str(ROOT / "sample_data" / "*.jsonl")))
    files += sorted(glob.glob(str(SHARED / "corpora" / "**" / "*.jsonl"), recursive=True))
    return files


@pytest.mark.parametrize("path", _jsonl_files(), ids=lambda p: Path(p).name)
def test_shipped_and_shared_files_read_the_same_block_by_block(path):
    raw = Path(path).read_bytes()
    read = 0
    for block, first in blocks(raw, 1, 8192):
        read += _same(block, first)
    assert read >= 0  # declining is allowed; a table must match (checked in _same)


# ------------------------------------------------------------- whole units, both readers

from telescrub.core.records import BadRecord, Record  # noqa: E402
from telescrub.formats import units  # noqa: E402


def _records_of(items) -> list:
    out = []
    for it in items:
        if isinstance(it, units.ArrowBlock):
            out += [("rec", line, f) for line, f in row_fields(it.data)]
        elif isinstance(it, Record):
            out.append(("rec", it.line, it.fields))
        else:
            assert isinstance(it, BadRecord)
            out.append(("bad", it.line, (it.reason, it.detail, it.text)))
    return [(k, n, _typed([(0, v)])[0][1] if k == "rec" else v) for k, n, v in out]


def _compare_unit(path: Path, tmp_block: int = 300, **kw) -> int:
    from telescrub.formats.readers import ReadLimits as RL
    lim = RL(**kw)
    f = units.InputFile(str(path), "t", "jsonl")
    old = units.ARROW_BLOCK_BYTES
    units.ARROW_BLOCK_BYTES = tmp_block
    try:
        fast = list(units.read_unit_blocks(f, lim))
    finally:
        units.ARROW_BLOCK_BYTES = old
    assert _records_of(fast) == _records_of(units.read_unit(f, lim))
    return sum(isinstance(x, units.ArrowBlock) for x in fast)


def test_a_unit_with_bad_lines_blank_lines_and_a_bom_reads_the_same(tmp_path):
    p = tmp_path / "u.jsonl"
    good = [json.dumps({"i": i, "u": {"n": f"user{i}"}, "tags": ["a"] * (i % 3)})
            for i in range(60)]
    good[10] = "{broken"
    good[20] = ""
    good[30] = '{"x": null}'
    good[40] = '{"long": "' + "y" * 500 + '"}'
    p.write_bytes(b"\xef\xbb\xbf" + ("\n".join(good) + "\r\n").encode())
    assert _compare_unit(p, max_line_bytes=400) > 0


def test_byte_ranges_read_the_same(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text("".join(json.dumps({"i": i, "s": "x" * (i % 7)}) + "\n" for i in range(500)))
    for u in units.split_inputs([units.InputFile(str(p), "t", "jsonl")], 1500):
        lim = ReadLimits()
        assert _records_of(units.read_unit_blocks(u, lim)) == _records_of(
            units.read_unit(u, lim))


def test_a_line_over_the_cap_longer_than_a_block_is_streamed(tmp_path):
    p = tmp_path / "l.jsonl"
    p.write_text('{"a": 1}\n{"b": "' + "z" * 5000 + '"}\n{"a": 2}\n')
    _compare_unit(p, tmp_block=64, max_line_bytes=1000)


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "sample_data" / "*.jsonl"))),
                         ids=lambda p: Path(p).name)
def test_sample_units_read_the_same(path):
    _compare_unit(Path(path), tmp_block=4096)


def test_lines_that_are_not_utf8_read_the_same_and_are_counted_the_same(tmp_path):
    """A block with a line that is not UTF-8 goes to the Python reader, which decodes it
    (U+FFFD, or the fallback encoding) and counts it: both readers give the same records
    and the same repairs."""
    from telescrub.formats.readers import ReadLimits as RL
    from telescrub.formats.readers import ReadStats

    p = tmp_path / "latin1.jsonl"
    lines = [json.dumps({"i": i, "name": f"user{i}"}).encode() for i in range(80)]
    lines[30] = '{"i": 30, "name": "Jos\u00e9"}'.encode("latin-1")
    lines[70] = b'{"i": 70, "name": "\xff\xfe"}'
    p.write_bytes(b"\n".join(lines) + b"\n")
    for enc in (None, "cp1252"):
        lim = RL(fallback_encoding=enc)
        f = units.InputFile(str(p), "t", "jsonl")
        fast_stats, slow_stats = ReadStats(), ReadStats()
        old = units.ARROW_BLOCK_BYTES
        units.ARROW_BLOCK_BYTES = 300
        try:
            fast = list(units.read_unit_blocks(f, lim, stats=fast_stats))
        finally:
            units.ARROW_BLOCK_BYTES = old
        assert any(isinstance(x, units.ArrowBlock) for x in fast)
        assert _records_of(fast) == _records_of(units.read_unit(f, lim, slow_stats))
        assert fast_stats == slow_stats == ReadStats(decoded_with_fallback=2)


def test_a_binary_file_is_one_unreadable_record_on_both_paths(tmp_path):
    import random

    p = tmp_path / "blob.jsonl"
    p.write_bytes(random.Random(7).randbytes(64 * 1024))
    f = units.InputFile(str(p), "t", "jsonl")
    fast = _records_of(units.read_unit_blocks(f, ReadLimits()))
    assert fast == _records_of(units.read_unit(f, ReadLimits()))
    assert [(k, n, v[0]) for k, n, v in fast] == [("bad", 0, "unreadable")]
