"""``subject find`` over one million rows: a columnar scan (only the columns that can hold the
subject, one filter expression per file group, files that cannot hold the subject skipped from
their footer), measured against a plain read of the same columns.

The data is generated with pyarrow in the layout telescrub writes (field metadata, footers,
Hive partitions), not through the pipeline: 1,000,000 rows of ``events`` in 20 files, with a
hashed e-mail column, a hashed GUID column, a free-text column holding tokens, a kept column;
plus a ``metrics`` table whose columns cannot hold an e-mail (it must be skipped).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from telescrub.app.subject import Subject, email_identifier, find
from telescrub.core.keys import HashKey, key_id_for
from telescrub.store import parquet as po

KEY = HashKey(b"k" * 32, key_id_for(b"k" * 32))
ROWS, FILES, USERS = 1_000_000, 20, 20_000
SUBJECT = "jane.doe@contoso.com"


def _field(name: str, typ: pa.DataType, action: str, entity: str = "") -> pa.Field:
    return pa.field(name, typ, metadata={"category": "eupi", "action": action,
                                         "entity": entity, "retention_days": "28"})


def _footer(table: str, date: str) -> dict[str, str]:
    return {f"{po.META_PREFIX}{k}": v for k, v in {
        "run_id": "r1", "key_id": KEY.key_id, "table": table, "event_date": date,
        "retention_days": "28", "expires_on": "2099-01-01"}.items()}


def _generate(out: Path) -> tuple[int, int]:
    """Write the dataset; returns (rows holding the subject in the e-mail column, in text)."""
    rng = np.random.default_rng(7)
    users = pa.array([KEY.token(f"user{i}@fabrikam.com") for i in range(USERS)])
    devices = pa.array([KEY.token(f"{i:08x}-0000-4000-8000-000000000000") for i in range(2000)])
    jane = KEY.token(SUBJECT)
    schema = pa.schema([
        _field("user.email", pa.string(), "hash", "EMAIL_ADDRESS"),
        _field("device.id", pa.string(), "hash", "GUID"),
        _field("message", pa.string(), "scrub_text"),
        _field("app.name", pa.string(), "keep"),
        _field("durationMs", pa.int64(), "keep"),
        pa.field(po.SOURCE_FILE_COLUMN, pa.string(), metadata={"category": "system"}),
        pa.field(po.SOURCE_LINE_COLUMN, pa.int64(), metadata={"category": "system"}),
    ])
    per = ROWS // FILES
    in_column = in_text = 0
    for f in range(FILES):
        date = f"2026-11-{10 + f // 2:02d}"
        u = rng.integers(0, USERS, per)
        other = rng.integers(0, USERS, per)
        email = users.take(pa.array(u))
        mention = users.take(pa.array(other))
        if f % 4 == 0:  # the subject: 25 rows of her own, 10 mentions in others' text
            email = pc.if_else(pa.array(np.arange(per) % 2000 == 1), jane, email)
            mention = pc.if_else(pa.array(np.arange(per) % 5000 == 7), jane, mention)
            in_column += 25
            in_text += 10
        message = pc.binary_join_element_wise(
            "shared doc ", pa.array((u % 977).astype(str)), " with ", mention, " from the app",
            "")
        table = pa.Table.from_arrays([
            email, devices.take(pa.array(rng.integers(0, 2000, per))), message,
            pa.array(np.where(u % 2 == 0, "Teams", "Outlook")), pa.array(u, pa.int64()),
            pa.array([f"in{f}.jsonl"] * per), pa.array(np.arange(per), pa.int64()),
        ], schema=schema.with_metadata(_footer("events", date)))
        pdir = out / "events" / f"event_date={date}"
        pdir.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, pdir / f"part-f{f}-0-{f:012x}.parquet", compression="zstd")
    mschema = pa.schema([_field("device.id", pa.string(), "hash", "GUID"),
                         _field("cpu", pa.float64(), "keep")])
    for f in range(4):
        date = f"2026-11-{10 + f:02d}"
        n = 50_000
        t = pa.Table.from_arrays([devices.take(pa.array(rng.integers(0, 2000, n))),
                                  pa.array(rng.random(n))],
                                 schema=mschema.with_metadata(_footer("metrics", date)))
        pdir = out / "metrics" / f"event_date={date}"
        pdir.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, pdir / f"part-m{f}-0-{f:012x}.parquet", compression="zstd")
    _manifests(out)
    return in_column, in_text


def _manifests(out: Path) -> None:
    """Each partition's _manifest.json (what readers and find trust: no manifest, no data)."""
    import hashlib

    from telescrub.store import fs
    from telescrub.store.layout import PartitionKey
    from telescrub.store.manifest import build_manifest

    for pdir in sorted(out.glob("*/event_date=*")):
        entries = {}
        for f in sorted(pdir.glob("*.parquet")):
            entries[f.name] = {"path": f.name, "rows": pq.read_metadata(f).num_rows,
                               "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                               "retention_days": 28, "retention_category": "eupi",
                               "expires_on": "2099-01-01", "run_id": "r1"}
        m = build_manifest(pdir.parent.name, PartitionKey(pdir.name.split("=", 1)[1]),
                           entries, {"run_id": "r1", "key_id": KEY.key_id})
        fs.write_json(str(pdir / "_manifest.json"), m)


def test_find_over_a_million_rows_is_a_columnar_scan(tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter()
    in_column, in_text = _generate(out)
    generated = time.perf_counter() - t0
    subject = Subject([email_identifier(SUBJECT)], [KEY])

    # the plain scan: read every string column of every events file once, nothing else
    files = sorted(str(p) for p in (out / "events").rglob("*.parquet"))
    t0 = time.perf_counter()
    plain = ds.dataset(files, format="parquet").to_table(
        columns=["user.email", "device.id", "message", "app.name"])
    plain_s = time.perf_counter() - t0
    assert plain.num_rows == ROWS

    t0 = time.perf_counter()
    res = find(str(out), subject)
    find_s = time.perf_counter() - t0

    j = res.to_json()
    assert j["rows_scanned"] == ROWS
    assert j["files_scanned"] == FILES and j["files_skipped"] == 4  # metrics: no e-mail column
    assert _by_column(j) == {("user.email", "token"): in_column, ("message", "text"): in_text}
    assert j["rows"] == in_column + in_text  # the planted rows never overlap
    # generous: the scan may cost a few plain reads (regex over the text), never more
    assert find_s < 6 * plain_s + 3.0, (find_s, plain_s)
    print(f"\n1M-row find: {find_s:.2f} s (plain read of the same string columns "
          f"{plain_s:.2f} s; data generated in {generated:.1f} s; {j['rows']} rows found in "
          f"{j['files']} files; {os.cpu_count()} CPUs)")


def _by_column(j: dict) -> dict[tuple[str, str], int]:
    got: dict[tuple[str, str], int] = {}
    for t in j["tables"].values():
        for p in t["partitions"].values():
            for col, hows in p["columns"].items():
                for how, n in hows.items():
                    got[(col, how)] = got.get((col, how), 0) + n
    return got
