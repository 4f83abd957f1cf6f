"""Unit tests for telescrub.store.parquet (pure functions, no Beam)."""

from __future__ import annotations

import hashlib
import json
import os

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.core.records import ScrubbedRecord
from telescrub.store import layout
from telescrub.store import parquet as po
from telescrub.store.fs import sha256_file
from telescrub.store.layout import NULL_PARTITION, PartitionKey
from telescrub.store.manifest import merge_manifest, read_manifest, verify_manifest
from telescrub.store.parquet import (
    CoercionError,
    ColumnSpec,
    RunInfo,
    TableLayout,
    arrow_schema,
    coerce,
    partition_retention,
    write_partition_file,
)

RUN = RunInfo(
    run_id="run-1",
    policy_version="2026.1",
    policy_hash="ph123",
    key_id="k1",
    demo_key=True,
    created_at="2026-03-10T12:00:00Z",
)

FIELD_META_KEYS = {
    b"category",
    b"source_category",
    b"action",
    b"evidence",
    b"confidence",
    b"entity",
    b"retention_days",
}
FOOTER_KEYS = {
    "telescrub." + k
    for k in (
        "run_id",
        "policy_version",
        "policy_hash",
        "key_id",
        "demo_key",
        "retention_days",
        "expires_on",
        "retention_category",
        "table",
        "event_date",
        "format_version",
    )
}


def col(name, arrow_type="string", category="eupi", days=28, action="hash", **kw) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        arrow_type=arrow_type,
        category=category,
        source_category=kw.get("source_category", category),
        action=action,
        evidence=kw.get("evidence", "schema:test"),
        confidence=kw.get("confidence", 0.9),
        entity=kw.get("entity"),
        retention_days=days,
    )


LAYOUT = TableLayout(
    table="events",
    columns=(
        col("user.id", category="eupi", days=28, source_category="euii", entity="USER_ID"),
        col("email", category="euii", days=1, action="keep"),
        col("count", "int64", category="telemetry", days=28, action="keep"),
        col("score", "double", category="telemetry", days=28, action="keep"),
        col("flag", "bool", category="telemetry", days=28, action="keep"),
        col("devices[].id", "list<string>", category="eupi", days=28),
        col("msg", category="customer_content", days=30, action="scrub_text"),
    ),
)


def rec(line, event_date="2026-03-01", source="in/a.jsonl", table="events", **fields):
    base = {"user.id": f"h{line}", "count": line, "score": line / 2, "flag": line % 2 == 0}
    base.update(fields)
    return ScrubbedRecord(table, source, line, event_date, base)


# ---------------------------------------------------------------- schema


def test_arrow_schema_fields_metadata_and_system_columns():
    schema = arrow_schema(LAYOUT)
    assert schema.names == [c.name for c in LAYOUT.columns] + ["_source_file", "_source_line"]
    assert "event_date" not in schema.names
    assert schema.field("count").type == pa.int64()
    assert schema.field("devices[].id").type == pa.list_(pa.string())
    for f in schema:
        assert set(f.metadata) == FIELD_META_KEYS, f.name
    meta = schema.field("user.id").metadata
    assert meta[b"category"] == b"eupi"
    assert meta[b"source_category"] == b"euii"
    assert meta[b"entity"] == b"USER_ID"
    assert meta[b"retention_days"] == b"28"
    assert float(meta[b"confidence"]) == 0.9
    assert schema.field("_source_line").type == pa.int64()
    assert schema.field("_source_file").metadata[b"category"] == b"system"


@pytest.mark.parametrize("name", ["event_date", "_source_file", "_source_line"])
def test_arrow_schema_rejects_reserved_names(name):
    with pytest.raises(ValueError, match="reserved"):
        arrow_schema(TableLayout("t", (col(name),)))


def test_arrow_schema_rejects_duplicates_and_unknown_types():
    with pytest.raises(ValueError, match="duplicate"):
        arrow_schema(TableLayout("t", (col("a"), col("a"))))
    with pytest.raises(ValueError, match="unknown arrow_type"):
        arrow_schema(TableLayout("t", (col("a", "timestamp"),)))


# ---------------------------------------------------------------- coerce


@pytest.mark.parametrize(
    ("value", "arrow_type", "expected"),
    [
        (None, "string", None),
        ("x", "string", "x"),
        (5, "string", "5"),
        (1.5, "string", "1.5"),
        (True, "string", "true"),
        ([1, "a"], "string", '[1, "a"]'),
        ({"b": 1, "a": 2}, "string", '{"a": 2, "b": 1}'),
        (7, "int64", 7),
        (3.0, "int64", 3),
        ("42", "int64", 42),
        (2, "double", 2.0),
        ("1.25", "double", 1.25),
        ("TRUE", "bool", True),
        (0, "bool", False),
        ("a", "list<string>", ["a"]),
        ([1, None, "b"], "list<string>", ["1", None, "b"]),
        ((1, 2), "list<int64>", [1, 2]),
        (3, "list<double>", [3.0]),
        (None, "list<bool>", None),
    ],
)
def test_coerce(value, arrow_type, expected):
    got = coerce(value, arrow_type)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "arrow_type"),
    [
        ("secret@example.com", "int64"),
        ("007", "int64"),
        (1.5, "int64"),
        (True, "int64"),
        (2**63, "int64"),
        ("abc", "double"),
        (2**60 + 1, "double"),
        ("yes", "bool"),
        (["x"], "int64"),
        (["ok", "bad"], "list<int64>"),
    ],
)
def test_coerce_refuses_lossy_numeric(value, arrow_type):
    with pytest.raises(CoercionError) as err:
        coerce(value, arrow_type)
    assert "secret" not in str(err.value)


def test_coerce_unknown_type():
    with pytest.raises(ValueError, match="unknown arrow_type"):
        coerce(1, "decimal")


# ---------------------------------------------------------------- retention


def test_partition_retention_shortest_held():
    assert partition_retention(LAYOUT, [rec(1)]) == (28, "eupi")  # eupi < telemetry on tie
    assert partition_retention(LAYOUT, [rec(1), rec(2, email="x")]) == (1, "euii")
    only_msg = TableLayout("t", (col("a", days=10), col("msg", days=30, category="cc")))
    r = ScrubbedRecord("t", "s", 1, None, {"a": None, "msg": "m"})
    assert partition_retention(only_msg, [r]) == (30, "cc")


def test_partition_retention_nothing_held_takes_layout_minimum():
    r = ScrubbedRecord("events", "s", 1, None, {})
    assert partition_retention(LAYOUT, [r]) == (1, "euii")
    with pytest.raises(ValueError, match="no columns"):
        partition_retention(TableLayout("t", ()), [r])


def test_expires_on():
    assert po.expires_on("2026-03-01", 28, RUN) == "2026-03-29"
    assert po.expires_on(None, 1, RUN) == "2026-03-11"  # run created_at date + 1
    late = RunInfo("r", "v", "h", "k", False, "2026-03-10T23:30:00-02:00")  # = 11th UTC
    assert po.expires_on(None, 0, late) == "2026-03-11"


# ---------------------------------------------------------------- files


def _files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_write_partition_file_roundtrip_and_metadata(tmp_path):
    out = str(tmp_path / "out")
    rows = [
        rec(3, email="e@x"),
        rec(1, **{"devices[].id": ["d1", "d2"], "msg": "hello"}),
        rec(2, source="in/0.jsonl", **{"devices[].id": "single", "count": "9"}),
    ]
    res = write_partition_file(out, LAYOUT, RUN, "2026-03-01", rows, "s00-0")
    assert res.path.startswith("events/event_date=2026-03-01/part-s00-0-")
    assert res.path.endswith(".parquet")
    assert len(os.path.basename(res.path)) == len("part-s00-0-") + 12 + len(".parquet")
    assert res.rows == 3
    assert res.sources == {"in/0.jsonl": 1, "in/a.jsonl": 2}
    assert (res.retention_days, res.retention_category) == (1, "euii")
    assert res.expires_on == "2026-03-02"
    assert (res.table, res.event_date) == ("events", "2026-03-01")
    path = os.path.join(out, res.path)
    assert sha256_file(path) == res.sha256

    table = pq.read_table(path)
    assert table.column("_source_file").to_pylist() == ["in/0.jsonl", "in/a.jsonl", "in/a.jsonl"]
    assert table.column("_source_line").to_pylist() == [2, 1, 3]
    assert table.column("devices[].id").to_pylist() == [["single"], ["d1", "d2"], None]
    assert table.column("count").to_pylist() == [9, 1, 3]
    for f in table.schema:
        assert set(f.metadata) == FIELD_META_KEYS, f.name

    meta = {k.decode(): v.decode() for k, v in pq.read_metadata(path).metadata.items()}
    assert set(meta) >= FOOTER_KEYS
    assert meta["telescrub.run_id"] == "run-1"
    assert meta["telescrub.demo_key"] == "true"
    assert meta["telescrub.retention_days"] == "1"
    assert meta["telescrub.expires_on"] == "2026-03-02"
    assert meta["telescrub.retention_category"] == "euii"
    assert meta["telescrub.event_date"] == "2026-03-01"
    assert meta["telescrub.format_version"] == "1"
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).column(0).compression == "ZSTD"
    assert _files(out) == [res.path]  # no temp files left behind


def test_file_name_is_content_addressed_and_idempotent(tmp_path):
    out = str(tmp_path)
    rows = [rec(i) for i in range(1, 6)]
    a = write_partition_file(out, LAYOUT, RUN, "2026-03-01", rows, "s01-0")
    other_run = RunInfo("run-2", "2026.1", "ph123", "k1", True, "2026-03-11T00:00:00Z")
    b = write_partition_file(out, LAYOUT, other_run, "2026-03-01", rows[::-1], "s01-0")
    assert a.path == b.path  # same rows in any order, other run -> same file name
    assert _files(out) == [a.path]  # overwritten, not duplicated
    assert pq.read_table(os.path.join(out, a.path)).num_rows == 5
    c = write_partition_file(out, LAYOUT, RUN, "2026-03-01", rows[:4], "s01-0")
    assert c.path != a.path


def test_null_partition_reads_as_null_in_pyarrow_and_duckdb(tmp_path):
    out = str(tmp_path)
    write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(1)], "s00-0")
    res = write_partition_file(out, LAYOUT, RUN, None, [rec(2, event_date=None)], "s00-0")
    assert res.path.startswith(f"events/event_date={NULL_PARTITION}/")
    assert res.expires_on == "2026-04-07"  # created_at 2026-03-10 + 28

    t = ds.dataset(os.path.join(out, "events"), partitioning="hive").to_table()
    got = dict(
        zip(t.column("_source_line").to_pylist(), t.column("event_date").to_pylist(), strict=True)
    )
    assert got == {1: "2026-03-01", 2: None}

    rows = duckdb.sql(
        f"select _source_line, event_date from read_parquet('{out}/events/*/*.parquet', "
        "hive_partitioning=true) order by 1"
    ).fetchall()
    assert [(line, d if d is None else d.isoformat()) for line, d in rows] == [
        (1, "2026-03-01"),
        (2, None),
    ]


def test_only_null_partition_needs_explicit_partitioning(tmp_path):
    out = str(tmp_path)
    write_partition_file(out, LAYOUT, RUN, None, [rec(2, event_date=None)], "s00-0")
    with pytest.raises(pa.ArrowInvalid):
        ds.dataset(os.path.join(out, "events"), partitioning="hive")
    t = ds.dataset(os.path.join(out, "events"), partitioning=layout.hive_partitioning()).to_table()
    assert t.column("event_date").to_pylist() == [None]
    assert duckdb.sql(
        f"select event_date from read_parquet('{out}/events/*/*.parquet', hive_partitioning=true)"
    ).fetchall() == [(None,)]


@pytest.mark.parametrize(
    ("table", "event_date", "shard"),
    [
        ("../x", "2026-03-01", "s0"),
        ("/abs", "2026-03-01", "s0"),
        ("a/b", "2026-03-01", "s0"),
        ("x\n", "2026-03-01", "s0"),
        ("Events", "2026-03-01", "s0"),
        ("", "2026-03-01", "s0"),
        ("t", "2026-13-45", "s0"),
        ("t", "2026-02-30", "s0"),
        ("t", "../x", "s0"),
        ("t", "/abs", "s0"),
        ("t", "2026-03-01\n", "s0"),
        ("t", "２０２６-03-01", "s0"),
        ("t", "2026-03-01", "../x"),
        ("t", "2026-03-01", "a/b"),
        ("t", "2026-03-01", "x\n"),
    ],
)
def test_hostile_path_components_rejected_before_writing(tmp_path, table, event_date, shard):
    out = tmp_path / "out"
    out.mkdir()
    tl = TableLayout(table, (col("a"),))
    row = ScrubbedRecord(table, "s", 1, event_date, {"a": "v"})
    bad = ("invalid shard" if shard != "s0" else "invalid table name" if table != "t"
           else "invalid event_date")
    with pytest.raises(ValueError, match=bad):
        write_partition_file(str(out), tl, RUN, event_date, [row], shard)
    with pytest.raises(ValueError, match=bad):
        layout.partition_dir(str(out), table, event_date) if shard == "s0" else layout.validate_shard(shard)
    assert _files(tmp_path) == []


def test_symlink_escape_rejected(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    os.symlink(outside, out / "events")
    with pytest.raises(ValueError, match="outside"):
        write_partition_file(str(out), LAYOUT, RUN, "2026-03-01", [rec(1)], "s0")
    assert list(outside.iterdir()) == []


def test_rows_must_match_layout(tmp_path):
    out = str(tmp_path)
    with pytest.raises(ValueError, match="without a column"):
        write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(1, surprise="x")], "s0")
    with pytest.raises(ValueError, match="belongs to"):
        write_partition_file(out, LAYOUT, RUN, "2026-03-02", [rec(1)], "s0")
    with pytest.raises(CoercionError, match="'count'") as err:
        write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(1, count="a@b.c")], "s0")
    assert "a@b.c" not in str(err.value)
    assert _files(out) == []


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(table, where, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(po.pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        write_partition_file(str(tmp_path), LAYOUT, RUN, "2026-03-01", [rec(1)], "s0")
    assert _files(tmp_path) == []
    monkeypatch.undo()

    from telescrub.store import fs

    def dies(self, path, data, if_generation, durable):  # the store fails mid-upload
        raise OSError("connection reset")

    monkeypatch.setattr(type(fs._BACKENDS["file"]), "write", dies)
    with pytest.raises(OSError, match="connection reset"):
        write_partition_file(str(tmp_path), LAYOUT, RUN, "2026-03-01", [rec(1)], "s0")
    assert _files(tmp_path) == []


# ---------------------------------------------------------------- manifests


def _partition(tmp_path):
    out = str(tmp_path)
    files = [
        write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(1), rec(2)], "s01-0"),
        write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(3, email="x")], "s00-0"),
    ]
    manifest = merge_manifest(out, "events", PartitionKey("2026-03-01"), files, RUN)
    return out, os.path.join(out, "events", "event_date=2026-03-01"), files, manifest


def test_write_and_read_manifest(tmp_path):
    _out, pdir, files, manifest = _partition(tmp_path)
    assert read_manifest(pdir) == json.loads(json.dumps(manifest))
    assert [f["path"] for f in manifest["files"]] == sorted(os.path.basename(f.path) for f in files)
    assert manifest["rows"] == 3
    assert (manifest["retention_days"], manifest["retention_category"]) == (1, "euii")
    assert manifest["expires_on"] == "2026-03-02"
    for key in ("table", "event_date", "run_id", "policy_version", "policy_hash", "key_id"):
        assert key in manifest
    assert verify_manifest(pdir) == []
    assert sorted(os.listdir(pdir))[0] == "_manifest.json"
    assert not [n for n in os.listdir(pdir) if ".tmp-" in n]


def test_manifest_null_partition(tmp_path):
    out = str(tmp_path)
    f = write_partition_file(out, LAYOUT, RUN, None, [rec(1, event_date=None)], "s0")
    m = merge_manifest(out, "events", PartitionKey(None), [f], RUN)
    assert m["event_date"] is None
    assert verify_manifest(os.path.join(out, "events", f"event_date={NULL_PARTITION}")) == []


def test_manifest_rejects_foreign_files(tmp_path):
    out = str(tmp_path)
    f = write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(1)], "s0")
    with pytest.raises(ValueError, match="not in partition"):
        merge_manifest(out, "events", PartitionKey("2026-03-02"), [f], RUN)


def test_verify_manifest_reports_problems(tmp_path):
    _out, pdir, files, _ = _partition(tmp_path)
    first, second = sorted(os.path.basename(f.path) for f in files)
    # extra parquet file, leftover temp file
    with open(os.path.join(pdir, "part-zz-000000000000.parquet"), "wb") as fh:
        fh.write(b"x")
    with open(os.path.join(pdir, ".part-x.parquet.tmp-abc"), "wb") as fh:
        fh.write(b"x")
    # tamper: wrong rows for one entry, wrong sha for the other, then delete the second file
    manifest = read_manifest(pdir)
    manifest["files"][0]["rows"] += 1
    with open(os.path.join(pdir, "_manifest.json"), "w") as fh:
        json.dump(manifest, fh)
    problems = verify_manifest(pdir)
    assert any("row count mismatch" in p and first in p for p in problems)
    assert any("extra file" in p and "part-zz" in p for p in problems)
    assert any("leftover temporary" in p for p in problems)
    assert any("total rows mismatch" in p for p in problems)
    with open(os.path.join(pdir, second), "ab") as fh:
        fh.write(b"\0")
    assert any("sha256 mismatch" in p and second in p for p in verify_manifest(pdir))
    os.remove(os.path.join(pdir, second))
    assert any("missing file" in p and second in p for p in verify_manifest(pdir))
    os.remove(os.path.join(pdir, "_manifest.json"))
    assert verify_manifest(pdir) == ["missing manifest _manifest.json"]


def test_merge_manifest_adds_files_and_keeps_the_earliest_expiry(tmp_path):
    """One merge for every writer: a second file is added to the partition's manifest, the
    first stays listed, a file named again (same rows) is listed once, and the partition
    expires when its first file does."""
    out, pdir, files, first = _partition(tmp_path)
    late = write_partition_file(out, LAYOUT, RUN, "2026-03-01", [rec(9)], "s02-0")
    m = merge_manifest(out, "events", PartitionKey("2026-03-01"), [late], RUN)
    assert sorted(e["path"] for e in m["files"]) == sorted(
        [e["path"] for e in first["files"]] + [os.path.basename(late.path)])
    assert m["rows"] == first["rows"] + 1
    again = merge_manifest(out, "events", PartitionKey("2026-03-01"), [late], RUN)
    assert len(again["files"]) == len(m["files"]) and again["rows"] == m["rows"]
    assert again["expires_on"] == min(e["expires_on"] for e in again["files"])
    assert verify_manifest(pdir) == []


# ------------------------------------------------------- content names (vectorised hash)

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.one_of(st.none(), _TEXT), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    st.one_of(st.none(), st.floats(allow_nan=True)), st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.lists(st.one_of(st.none(), _TEXT), max_size=3)),
    st.integers(1, 5)), min_size=1, max_size=12))
def test_content_name_is_the_hash_of_the_canonical_rows(rows):
    """The file name hashes ``json.dumps([source, line, values])`` of the sorted rows; the
    column-wise build must give byte for byte what the per-row definition gives."""
    lay = TableLayout("events", (col("s"), col("i", "int64"), col("f", "double"),
                                 col("b", "bool"), col("l", "list<string>")))
    recs = [ScrubbedRecord("events", f"src{n % 3}", line, "2026-03-01",
                           {"s": s, "i": i, "f": f, "b": b, "l": lst})
            for n, (s, i, f, b, lst, line) in enumerate(rows)]
    data = po.rows_to_table(lay, "2026-03-01", recs)
    canon = po.canonical_rows(data, [c.name for c in lay.columns])
    want = ["\n" + po._canonical([r.source, r.line, [r.fields[c.name] for c in lay.columns]])
            for r in recs]
    assert canon.to_pylist() == want
    ordered = sorted(zip(recs, want, strict=True), key=lambda rw: (rw[0].source, rw[0].line,
                                                                   rw[1]))
    # the name also covers each column's field metadata and the footer, but not the run id
    # (a re-run with the same content and metadata arrives at the same name)
    footer = {"telescrub.retention_days": "28", "telescrub.run_id": "run-x"}
    digest = hashlib.sha256(po._canonical({
        "format": po.FORMAT_VERSION, "table": "events", "event_date": "2026-03-01",
        "columns": [[c.name, c.arrow_type] for c in lay.columns],
        "fields": [{k.decode(): v.decode() for k, v in po._field_metadata(c).items()}
                   for c in lay.columns],
        "footer": {"telescrub.retention_days": "28"}}).encode())
    for _, w in ordered:
        digest.update(w.encode())
    order = [want.index(w) for _, w in ordered]
    assert po._content_name(lay, "2026-03-01", canon.take(pa.array(order)), footer) == \
        digest.hexdigest()[:12]
