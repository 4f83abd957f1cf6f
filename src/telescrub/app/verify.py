"""``telescrub verify OUT``: prove, after the fact, what an output directory holds.

Six checks, each independent of the pipeline that wrote the output (it re-reads the files):

``residual``
    Every string cell of every Parquet file (all tables, ``_quarantine`` included, list
    elements too) is re-scanned with the same detectors the run uses (Presidio + telescrub's
    recognizers, :class:`~telescrub.classifiers.text.TextScrubber`). Hash tokens (``h1:...``)
    and placeholders (``<EUII:EMAIL_ADDRESS>``) are not identifiers and are skipped, also inside
    text. Each distinct value is analysed once per column; counts are per cell occurrence.
    A detection is **kept by policy** (expected, listed separately) when the column's field
    metadata says the policy kept that entity on purpose: ``action=keep`` with the same
    ``entity`` (tenant GUIDs as OII, service server names), an IP in a ``truncate_ip`` column, a
    domain in an ``email_domain`` column. Every other detection is **residual**; the check fails
    when their total exceeds the policy's ``thresholds.verify_max_residual``.
``footer_metadata``
    Every file carries the ``telescrub.*`` footer keys (run id, policy version and hash, key id,
    retention days/category, expiry, table, event date), consistent with its directory, its
    manifest and ``event_date + retention_days = expires_on``; every column has field metadata.
``manifests``
    Every partition the manifests list (``telescrub.store.manifest.load_catalog``: the output's
    ``_manifest.json``; for a streaming output each window's) has every file it lists, with the
    listed rows and sha256 and a total that adds up; in a batch output each partition's
    ``_manifest.json`` copy equals its entry in the output's manifest; and no purge action was
    left half done (``_audit/pending/``). Verify trusts the manifests, not a listing: objects
    below the output that no manifest references (files of an interrupted or replaced run,
    temporary files) are not data; they are listed as *garbage* in ``verify.json`` with a
    warning, and removed by the next ``telescrub run`` or ``purge``.
``accounting``
    ``report.json`` is self-consistent: per input ``read = written + quarantined + dropped``,
    the totals add up, and the tables' ``rows_written`` add up to the written total. For a
    streaming output also against its rolling report ``_report/streaming.jsonl`` (lines
    de-duplicated on ``line_id``): each line holds ``read = written + quarantined + dropped``,
    the lines add up to the totals and, per table, to ``rows_written``.
``column_names``
    No column name of any Parquet file holds a personal identifier (an e-mail address, an IP,
    a GUID, a phone number...): object keys that are data are written as key/value pairs
    (``formats/flatten.py``), so an identifier in a column name means a key escaped that
    and was never scanned. Each path segment is scanned; masked examples only.
``rows_on_disk``
    The rows actually on disk per table (and in ``_quarantine``) equal the report's, minus rows
    of partitions that ``telescrub purge`` deleted (from ``_audit/purge.jsonl``; in a streaming
    output, deletions of windows written by any of its launches, as named by the rolling
    report).

A *partition* is what a manifest lists: ``<table>/event_date=D`` in a batch output,
``<table>/event_date=D/event_window=HHMM`` in a streaming one. The event date comes from the
``event_date=`` component of its path; other keys of the path (``event_window``) must match the
manifest's. ``OUT`` may be a local directory, ``s3://bucket/prefix`` or ``gs://bucket/prefix``. In a streaming window's manifest each file entry
names the launch (``run_id``) that wrote it; the footer is checked against that.

The result goes to ``<out>/_report/verify.json`` (counts and masked examples only — never a raw
value) and ``index.html`` is regenerated to show it. Exit status 0 = passed, 1 = failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from telescrub.core.errors import TelescrubError
from telescrub.core.masking import mask_example
from telescrub.core.policy import Policy, load_policy
from telescrub.core.report import QUARANTINE_TABLE
from telescrub.core.timeparse import add_days, fast_utc_mask, parse_timestamp
from telescrub.store import fs
from telescrub.store import parquet as po
from telescrub.store.audit import pending
from telescrub.store.layout import (
    HTML_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    NOT_TABLES,
    PARTITION_COLUMN,
    ROLLING_REPORT,
    ROOT_MANIFEST,
    SUBJECT_AUDIT,
    VERIFY_NAME,
    data_path,
    key_of,
    list_output,
    manifest_path,
    rel_keys,
    report_path,
    valid_partition_rel,
)
from telescrub.store.manifest import check_file, check_totals, load_catalog, manifest_bytes
from telescrub.store.parquet import field_meta, footer

log = logging.getLogger("telescrub")

ROLLING_COUNTS = ("read", "written", "quarantined", "dropped_by_policy")
#: footer keys that must be present and non-empty
FOOTER_REQUIRED = ("run_id", "policy_version", "policy_hash", "key_id", "retention_days",
                   "expires_on", "retention_category", "table", "format_version")
#: footer keys that must be present (may be empty: event_date of the null partition)
FOOTER_PRESENT = ("event_date", "demo_key")
FIELD_REQUIRED = ("category", "action", "retention_days")
MAX_EXAMPLES = 3
MAX_PROBLEMS = 200
#: whole cells and spans inside text that are outputs of the actions, not identifiers
SAFE_TOKEN = re.compile(r"h1:[0-9a-f]{8}:[0-9a-f]{32}|<[A-Z_]+(?::[A-Z0-9_]+)?>")
SAFE_TOKEN_WHOLE = f"^(?:{SAFE_TOKEN.pattern})$"
#: identifiers that must never be a column name (host names, names and user names are left
#: out: field names such as ``app.info`` or ``Grace`` would be taken for them)
COLUMN_NAME_ENTITIES = frozenset({
    "EMAIL_ADDRESS", "UPN", "SIP_URI", "IPV4", "IPV6", "PHONE_NUMBER", "CREDIT_CARD",
    "IBAN_CODE", "US_SSN", "UK_NINO", "CA_SIN", "FR_NIR", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE",
    "IN_AADHAAR", "DE_TAX_ID", "GUID", "MAC_ADDRESS", "WINDOWS_SID", "AWS_ACCESS_KEY",
    "USER_ID", "DOMAIN_USER", "HEX_ID", "MUID", "JWT", "SECRET"})
#: (action, detected entity) pairs that are what the policy asked for
EXPECTED_TRANSFORMED = {("truncate_ip", "IPV4"), ("truncate_ip", "IPV6"),
                        ("email_domain", "HOSTNAME")}


# ------------------------------------------------------------------------------- discovery


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


# ---------------------------------------------------------------------------- residual scan


@dataclass
class _FieldHits:
    table: str
    column: str
    action: str
    category: str
    entity: str
    entities: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, entity: str, n: int, example: str) -> None:
        self.entities[entity] += n
        if example not in self.examples and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def to_json(self, kept: bool) -> dict[str, Any]:
        d: dict[str, Any] = {"table": self.table, "field": self.column, "action": self.action,
                             "category": self.category,
                             "count": sum(self.entities.values()),
                             "entities": dict(sorted(self.entities.items())),
                             "examples": self.examples}
        if kept:
            d["entity"] = ", ".join(sorted(self.entities))
        return d


def _string_column(col: pa.ChunkedArray) -> pa.Array | None:
    """A column's string values as one array (list elements too, nulls dropped), or None
    for a column that holds no text."""
    arr = col.combine_chunks()
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        arr = arr.flatten()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return pc.drop_null(arr)


def _string_values(arr: pa.Array) -> Counter[str]:
    """Distinct string values with their number of cells."""
    counts: Counter[str] = Counter()
    if len(arr):
        vc = arr.value_counts()
        for value, n in zip(vc.field(0).to_pylist(), vc.field(1).to_pylist(), strict=True):
            if value is not None:
                counts[value] += int(n)
    return counts


def _resolve_overlaps(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop a detection lying inside a longer one (the domain inside an e-mail address)."""
    keep = []
    for i, (e, s, t) in enumerate(found):
        inside = any(j != i and s2 <= s and t <= t2 and (t2 - s2) > (t - s)
                     for j, (_e2, s2, t2) in enumerate(found))
        if not inside:
            keep.append((e, s, t))
    return sorted(set(keep), key=lambda x: (x[1], x[2], x[0]))


_SCAN_CACHE_MAX = 200_000


class ResidualScanner:
    """Detections per distinct value (cached across columns), minus action outputs."""

    def __init__(self, policy: Policy) -> None:
        from telescrub.classifiers.text import TextScrubber
        from telescrub.core.keys import HashKey

        # detection only: the key is never used, a dummy one keeps real keys out of verify
        self.scrubber = TextScrubber(policy, HashKey(b"x" * 32, "verify"))
        self._cache: dict[str, list[tuple[str, int, int]]] = {}

    def detections(self, value: str) -> list[tuple[str, int, int]]:
        hit = self._cache.get(value)
        if hit is not None:
            return hit
        if SAFE_TOKEN.fullmatch(value):
            found: list[tuple[str, int, int]] = []
        else:
            safe = [m.span() for m in SAFE_TOKEN.finditer(value)]
            found = [(r.entity_type, r.start, r.end) for r in self.scrubber.analyze(value)
                     if not any(r.start < b and a < r.end for a, b in safe)]
            found = _resolve_overlaps(found)
        if len(self._cache) >= _SCAN_CACHE_MAX:  # bounded: outputs of any size
            self._cache.clear()
        self._cache[value] = found
        return found


_SCANNERS: dict[tuple[str, float], ResidualScanner] = {}


def scanner_for(policy: Policy) -> ResidualScanner:
    """One scanner (engines and detection cache) per policy and process."""
    key = (policy.digest, policy.min_score)
    if key not in _SCANNERS:
        _SCANNERS[key] = ResidualScanner(policy)
    return _SCANNERS[key]


def is_expected(action: str, kept_entity: str, detected: str) -> bool:
    """True when the policy put this entity in this column on purpose: a kept column's own
    entity (and its family, as the run's keep-guard sees it: a GUID column may hold hex ids),
    or what truncate_ip / email_domain leave by design."""
    if action == "keep" and kept_entity:
        from telescrub.core.actions import KEEP_FAMILY  # the run's keep-guard families

        return detected in KEEP_FAMILY.get(kept_entity, frozenset({kept_entity}))
    return (action, detected) in EXPECTED_TRANSFORMED


# ---------------------------------------------------------------------------------- checks


@dataclass
class Check:
    ok: bool = True
    summary: str = ""
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("... further problems not listed")

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, "problems": self.problems}


def _read_report(out: str) -> dict[str, Any] | None:
    """The committed report: the one the output's manifest pins (a batch output), else
    ``_report/report.json`` (a streaming output rewrites it as it runs)."""
    pinned = _pinned_report(out)
    if pinned is not None:
        data = fs.read_json(fs.join(out, pinned))
        if data is not None:
            return data
    return fs.read_json(report_path(out))


def _pinned_report(out: str) -> str | None:
    root = fs.read_json(fs.join(out, ROOT_MANIFEST))
    rel = (root or {}).get("report")
    if isinstance(rel, str) and rel.startswith("_runs/") and ".." not in rel.split("/"):
        return rel
    return None


def is_streaming(report: dict[str, Any] | None) -> bool:
    """True for the report of a streaming output (``telescrub run --streaming``)."""
    if not report:
        return False
    run = report.get("run")
    return isinstance(report.get("streaming"), dict) or (
        isinstance(run, dict) and run.get("mode") == "streaming")


def read_rolling(out: str) -> list[dict[str, Any]] | None:
    """The lines of ``_report/streaming.jsonl``, de-duplicated on ``line_id`` (a deployed job
    appends at least once); None when the file is missing. A torn line is skipped."""
    lines: dict[str, dict[str, Any]] = {}
    try:
        raw = fs.read_bytes(fs.join(out, *ROLLING_REPORT.split("/")))
    except OSError:
        return None
    for n, text in enumerate(raw.decode("utf-8", "replace").splitlines()):
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.setdefault(str(line.get("line_id", f"#{n}")), line)
    return list(lines.values())


def read_audit(out: str, name: str | None = None) -> list[dict[str, Any]]:
    """The purge audit (default) or another log of ``<out>/_audit``."""
    from telescrub.store.audit import PURGE_AUDIT
    from telescrub.store.audit import read_audit as _read

    return _read(out, name or PURGE_AUDIT)


def _check_rolling(c: Check, report: dict[str, Any], rolling: list[dict[str, Any]] | None) -> str:
    """A streaming report's totals and tables against its rolling report (one line per table,
    window and pane, each holding ``read = written + quarantined + dropped`` on its own)."""
    if rolling is None:
        c.fail(f"{ROLLING_REPORT}: missing (a streaming output's rolling report)")
        return ""
    sums: Counter[str] = Counter()
    by_table: Counter[str] = Counter()
    for line in rolling:
        try:
            counts = {k: int(line.get(k, 0)) for k in ROLLING_COUNTS}
        except (TypeError, ValueError):
            c.fail(f"{ROLLING_REPORT}: line {line.get('line_id')}: counts are not numbers")
            continue
        sums.update(counts)
        by_table[str(line.get("table"))] += counts["written"]
        if counts["read"] != counts["written"] + counts["quarantined"] + \
                counts["dropped_by_policy"]:
            c.fail(f"{ROLLING_REPORT}: line {line.get('line_id')} ({line.get('table')}, "
                   f"{line.get('event_date')} {line.get('event_window')}): read "
                   f"{counts['read']} != written + quarantined + dropped")
    totals = report.get("totals", {})
    for k in ROLLING_COUNTS:
        if totals.get(k) != sums[k]:
            c.fail(f"totals.{k} {totals.get(k)} != {sums[k]} in {ROLLING_REPORT}")
    tables = report.get("tables", {})
    for t in sorted(set(tables) | {t for t, n in by_table.items() if n}):
        want = int(tables.get(t, {}).get("rows_written", 0))
        if want != by_table[t]:
            c.fail(f"table {t}: rows_written {want} != {by_table[t]} written in "
                   f"{ROLLING_REPORT}")
    return f"; {len(rolling)} rolling-report lines agree" if c.ok else ""


def check_accounting(report: dict[str, Any] | None,
                     rolling: list[dict[str, Any]] | None = None) -> Check:
    """``report.json``'s accounting; for a streaming report also against its rolling report
    (``rolling``: :func:`read_rolling`)."""
    c = Check()
    if report is None:
        c.fail("_report/report.json is missing or unreadable")
        c.summary = "no report"
        return c
    inputs = report.get("inputs", [])
    sums: Counter[str] = Counter()
    for i in inputs:
        src = i.get("source", "?")
        try:
            read, w = int(i["read"]), int(i["written"])
            q, d = int(i["quarantined"]), int(i["dropped_by_policy"])
        except (KeyError, TypeError, ValueError):
            c.fail(f"input {src}: counts missing")
            continue
        sums.update({"read": read, "written": w, "quarantined": q, "dropped_by_policy": d})
        if read != w + q + d:
            c.fail(f"input {src}: read {read} != written {w} + quarantined {q} + dropped {d}")
        if "records" in i and read != int(i.get("records", 0)) + int(i.get("bad", 0)):
            c.fail(f"input {src}: read {read} != records {i.get('records')} + bad {i.get('bad')}")
    totals = report.get("totals", {})
    for k in ("read", "written", "quarantined", "dropped_by_policy"):
        if totals.get(k) != sums[k]:
            c.fail(f"totals.{k} {totals.get(k)} != sum over inputs {sums[k]}")
    table_rows = sum(int(t.get("rows_written", 0)) for t in report.get("tables", {}).values())
    if table_rows != sums["written"]:
        c.fail(f"tables' rows_written add up to {table_rows}, inputs' written to "
               f"{sums['written']}")
    if report.get("accounting_ok") is not True:
        c.fail("report.json says accounting_ok is false")
    extra = _check_rolling(c, report, rolling) if is_streaming(report) else ""
    c.summary = (f"{len(inputs)} inputs: {sums['read']} read = {sums['written']} written + "
                 f"{sums['quarantined']} quarantined + {sums['dropped_by_policy']} dropped"
                 + extra)
    return c


def _expected_rows(report: dict[str, Any], audit: list[dict[str, Any]],
                   rolling: list[dict[str, Any]] | None = None,
                   subject_audit: list[dict[str, Any]] | None = None) -> dict[str, int]:
    expected = {t: int(info.get("rows_written", 0))
                for t, info in report.get("tables", {}).items()}
    expected[QUARANTINE_TABLE] = int(
        report.get("totals", {}).get("quarantined", 0))
    run_ids = {report.get("run", {}).get("run_id")}
    if rolling is not None:
        # a streaming output accumulates launches (each with its run id) in one report; a
        # window's manifest names the last launch that wrote it, as do its rolling lines
        run_ids.update(line.get("run_id") for line in rolling)
    for rec in audit:
        if (rec.get("action") == "delete_partition" and not rec.get("dry_run")
                and rec.get("run_id") in run_ids and rec.get("table") in expected):
            expected[rec["table"]] -= int(rec.get("rows", 0))
    # rows removed by `telescrub subject erase` (one record per file) from this report's
    # output: files of one of its runs, or erased while this report described the output
    report_run = report.get("run", {}).get("run_id")
    for rec in subject_audit or []:
        if (rec.get("action") == "erase_rows" and not rec.get("dry_run")
                and rec.get("table") in expected
                and (rec.get("run_id") in run_ids or rec.get("report_run_id") == report_run)):
            expected[rec["table"]] -= int(rec.get("rows_removed", 0))
    return expected


@dataclass
class _Scan:
    files: int = 0
    partitions: int = 0
    cells: int = 0
    values: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    residual: dict[tuple[str, str, str], _FieldHits] = field(default_factory=dict)
    kept: dict[tuple[str, str, str], _FieldHits] = field(default_factory=dict)
    past_expiry: list[tuple[str, str]] = field(default_factory=list)


def _check_footer(c: Check, rel: str, schema: pa.Schema, table: str, event_date: str | None,
                  manifest: dict[str, Any] | None) -> dict[str, str]:
    meta = footer(schema)
    missing = [k for k in FOOTER_REQUIRED if not meta.get(k)]
    missing += [k for k in FOOTER_PRESENT if k not in meta]
    if missing:
        c.fail(f"{rel}: footer lacks {', '.join(po.META_PREFIX + k for k in missing)}")
        return meta
    if meta["table"] != table:
        c.fail(f"{rel}: footer table {meta['table']!r} != directory {table!r}")
    if meta["event_date"] != (event_date or ""):
        c.fail(f"{rel}: footer event_date {meta['event_date']!r} != directory")
    try:
        days = int(meta["retention_days"])
        dt.date.fromisoformat(meta["expires_on"])
    except ValueError:
        c.fail(f"{rel}: footer retention_days/expires_on are not a number/date")
        days = -1
    if event_date and days >= 0:
        want = add_days(dt.date.fromisoformat(event_date), days).isoformat()
        if meta["expires_on"] != want:
            c.fail(f"{rel}: footer expires_on {meta['expires_on']} != event_date + "
                   f"{days} days ({want})")
    if manifest:
        # a streaming window's manifest is merged by every launch that writes the window: the
        # manifest's run_id / policy_hash are the last writer's, each file entry names its own
        entry = next((e for e in manifest.get("files", []) if isinstance(e, dict)
                      and e.get("path") == rel.rsplit("/", 1)[-1]), {})
        own_run = entry.get("run_id")
        for k in ("run_id", "key_id", "policy_hash"):
            expect = manifest.get(k)
            if k == "run_id" and own_run is not None:
                expect = own_run
            elif k == "policy_hash" and own_run not in (None, manifest.get("run_id")):
                continue  # written by an earlier launch, possibly under an earlier policy
            if expect is not None and expect != meta.get(k):
                c.fail(f"{rel}: footer {k} differs from the partition manifest")
    for f in schema:
        fm = field_meta(f)
        lacking = [k for k in FIELD_REQUIRED if k not in fm]
        if lacking:
            c.fail(f"{rel}: column {f.name!r} lacks field metadata {', '.join(lacking)}")
    return meta


def column_name_hits(scanner: ResidualScanner, name: str) -> list[str]:
    """The identifiers (entity names) found in the path segments of a column name."""
    from telescrub.formats.flatten import split_path

    try:
        segments = [seg for seg, _ in split_path(name)]
    except ValueError:
        segments = [name]
    return sorted({ent for seg in segments for ent, _, _ in scanner.detections(seg)
                   if ent in COLUMN_NAME_ENTITIES})


def _check_names(c: Check, scanner: ResidualScanner, table: str, schema: pa.Schema,
                 seen: set[tuple[str, str]]) -> None:
    for name in schema.names:
        if (table, name) in seen:
            continue
        seen.add((table, name))
        hits = column_name_hits(scanner, name)
        if hits:
            c.fail(f"{table}: a column name holds {', '.join(hits)} ({mask_example(name)})")


def _scan_file(scan: _Scan, scanner: ResidualScanner, table: str, raw: bytes,
               schema: pa.Schema) -> None:
    data = pq.read_table(pa.BufferReader(raw))
    scan.rows[table] += data.num_rows
    for i, f in enumerate(data.schema):
        fm = field_meta(schema.field(f.name)) if f.name in schema.names else {}
        action, entity = fm.get("action", ""), fm.get("entity", "")
        timestamps = action == "keep" and fm.get("evidence", "").startswith("role:timestamp")
        exact = entity if action == "keep" else ""
        col = _string_column(data.column(i))
        if col is None:
            continue
        # values known to hold nothing to find, by Arrow kernels: hash tokens and
        # placeholders, and (the keep guard's rule) a kept column's exact own identifiers
        # and well-formed time stamps in a time stamp column; counted, not scanned
        skip = pc.fill_null(pc.match_substring_regex(col, SAFE_TOKEN_WHOLE), False)
        if exact:
            mask = scanner.scrubber.exact_mask(exact, col)
            if mask is not None:
                skip = pc.or_(skip, mask)
        if timestamps:
            skip = pc.or_(skip, fast_utc_mask(col)[0])
        skipped = pc.filter(col, skip)
        scan.values += int(pc.count_distinct(skipped).as_py())
        scan.cells += len(skipped)
        for value, n in _string_values(pc.filter(col, pc.invert(skip))).items():
            scan.values += 1
            scan.cells += n
            if (exact and scanner.scrubber.is_exactly(exact, value)) or (
                    timestamps and parse_timestamp(value) is not None):
                continue
            for ent, s, t in scanner.detections(value):
                kept = is_expected(action, entity, ent)
                bucket = scan.kept if kept else scan.residual
                key = (table, f.name, action)
                hits = bucket.get(key)
                if hits is None:
                    hits = bucket[key] = _FieldHits(table, f.name, action,
                                                    fm.get("category", ""), entity)
                hits.add(ent, n, mask_example(value[s:t]))


def verify_output(out: str, policy: Policy | None = None,
                  today: dt.date | None = None) -> dict[str, Any]:
    """Run every check on ``out``; returns the verify.json content (nothing is written)."""
    out = fs.normpath(out)
    policy = policy or load_policy()
    today = today or dt.datetime.now(dt.timezone.utc).date()
    report = _read_report(out)
    rolling = read_rolling(out) if is_streaming(report) else None
    audit = read_audit(out)
    scanner = scanner_for(policy)
    scan = _Scan()
    meta_c, man_c, names_c = Check(), Check(), Check()
    names_seen: set[tuple[str, str]] = set()

    listing = list_output(out)
    cat = load_catalog(out, listing)
    tables = sorted({rel.split("/", 1)[0] for rel in cat.partitions})
    for prel in sorted(cat.partitions):
        manifest: dict[str, Any] = cat.partitions[prel]
        table = prel.split("/", 1)[0]
        scan.partitions += 1
        if not cat.per_partition:
            try:
                copy: bytes | None = fs.read_bytes(manifest_path(out, prel))
            except FileNotFoundError:
                copy = None
            if copy != manifest_bytes(manifest):
                man_c.fail(f"{prel}: {MANIFEST_NAME} {'is missing' if copy is None else 'differs'}"
                           " from its entry in the output's manifest (a commit was interrupted "
                           "or the file was edited; the next telescrub run or purge rewrites it)")
        for k, v in rel_keys(prel).items():
            if k == PARTITION_COLUMN or k not in manifest:
                continue
            if str(manifest[k]) != v:
                man_c.fail(f"{prel}: manifest {k} {manifest[k]!r} != directory {v!r}")
        if str(manifest.get("expires_on", "9999")) <= today.isoformat():
            scan.past_expiry.append((prel, str(manifest.get("expires_on"))))
        event_date = key_of(prel).event_date
        for problem in check_totals(manifest):
            man_c.fail(f"{prel}: {problem}")
        for entry in manifest.get("files", []):
            name = str(entry.get("path"))
            rel = f"{prel}/{name}"
            try:
                path = data_path(out, prel, name)
            except ValueError as exc:
                man_c.fail(f"{prel}: {exc}")
                continue
            scan.files += 1
            try:
                raw: bytes | None = fs.read_bytes(path)
            except FileNotFoundError:
                raw = None
            for problem in check_file(name, entry, raw):
                man_c.fail(f"{prel}: {problem}")
            if raw is None:
                continue
            try:
                schema = pq.read_schema(pa.BufferReader(raw))
            except Exception:  # unreadable file: report it, never its bytes
                meta_c.fail(f"{rel}: not a readable Parquet file")
                continue
            _check_footer(meta_c, rel, schema, table, event_date, manifest)
            _check_names(names_c, scanner, table, schema, names_seen)
            try:
                _scan_file(scan, scanner, table, raw, schema)
            except (OSError, pa.ArrowException):
                meta_c.fail(f"{rel}: data pages not readable")
    for prel in cat.unreadable:
        man_c.fail(f"{prel}: unreadable {MANIFEST_NAME}")
    pinned = _pinned_report(out)
    if pinned is not None:
        try:
            committed: bytes | None = fs.read_bytes(fs.join(out, pinned))
        except FileNotFoundError:
            committed = None
        want = (cat.root or {}).get("report_sha256")
        if committed is None or (want and hashlib.sha256(committed).hexdigest() != want):
            man_c.fail(f"{pinned}: the committed report is "
                       f"{'missing' if committed is None else 'changed (sha256 mismatch)'}")
        try:
            same = committed == fs.read_bytes(report_path(out))
        except FileNotFoundError:
            same = False
        if not same:
            man_c.fail("_report/report.json differs from the report the output's manifest "
                       "commits (an interrupted commit; the next telescrub run or purge "
                       "rewrites it)")
    for _path, intent in pending(out):
        where = (intent or {}).get("partition", "?")
        what, cmd = (("subject erasure", "telescrub subject recover")
                     if (intent or {}).get("audit") == SUBJECT_AUDIT
                     else ("purge", "telescrub purge"))
        man_c.fail(f"{where}: an interrupted {what} left its record in _audit/pending: run "
                   f"`{cmd}` to finish it")
    garbage = _garbage(out, listing, cat.referenced())
    if cat.per_partition:
        # a streaming window holding files but no manifest: its files are not data (a reader
        # does not see them), which is worth naming as a missing manifest
        orphans: dict[str, int] = {}
        for rel in garbage:
            head, _, name = rel.rpartition("/")
            if name.endswith(".parquet") and valid_partition_rel(head) and \
                    head not in cat.partitions:
                orphans[head] = orphans.get(head, 0) + 1
        for head, n in sorted(orphans.items()):
            man_c.fail(f"{head}: missing manifest {MANIFEST_NAME} ({n} file(s) there are "
                       "listed by no manifest: not data)")
    meta_c.summary = f"{scan.files} files"
    names_c.summary = f"{len(names_seen)} column names"
    man_c.summary = f"{scan.partitions} partitions"

    residual_total = sum(sum(h.entities.values()) for h in scan.residual.values())
    res_c = Check(summary=f"{residual_total} residual detection(s), {policy.verify_max_residual} "
                          f"allowed; {scan.values} distinct values in {scan.cells} cells scanned")
    if residual_total > policy.verify_max_residual:
        res_c.ok = False
        for h in sorted(scan.residual.values(), key=lambda h: (h.table, h.column)):
            res_c.problems.append(
                f"{h.table}.{h.column} ({h.action}): "
                + ", ".join(f"{e} {n}" for e, n in sorted(h.entities.items())))

    acc_c = check_accounting(report, rolling)
    rows_c = Check()
    if report is None:
        rows_c.fail("_report/report.json is missing or unreadable")
    else:
        expected = _expected_rows(report, audit, rolling, read_audit(out, SUBJECT_AUDIT))
        # --mode append: the report describes the latest run only; earlier runs' rows are
        # on disk too (their manifests are checked above), so that run's rows must be there
        appended = report.get("run", {}).get("mode") == "append"
        for t in sorted(set(expected) | set(scan.rows)):
            if t not in expected:
                if not appended:
                    rows_c.fail(f"table {t}: {scan.rows[t]} rows on disk, not in report.json")
            elif scan.rows.get(t, 0) < expected[t] or (
                    not appended and scan.rows.get(t, 0) != expected[t]):
                rows_c.fail(f"table {t}: {scan.rows.get(t, 0)} rows on disk, report.json "
                            f"(minus purged) says {'at least ' if appended else ''}"
                            f"{expected[t]}")
        rows_c.summary = (f"{sum(scan.rows.values())} rows in {len(scan.rows)} tables "
                          "(quarantine included)"
                          + ("; append mode: at least the latest run's" if appended else ""))

    warnings: list[str] = []
    run = (report or {}).get("run", {})
    if report is not None and run.get("policy_hash") not in (None, policy.digest):
        warnings.append(f"verified against policy {policy.version} (hash {policy.digest}); the "
                        f"run used hash {run.get('policy_hash')}")
    if run.get("demo_key"):
        warnings.append("the output was hashed with the public demo key: hash tokens are not "
                        "secret")
    if garbage:
        warnings.append(f"{len(garbage)} object(s) below the output are listed by no manifest "
                        "(files of an interrupted or replaced run): not data, readers that "
                        "trust the manifests ignore them; the next telescrub run or purge "
                        "removes them (see 'garbage' in verify.json)")
    if scan.past_expiry:
        oldest = min(d for _, d in scan.past_expiry)
        warnings.append(f"{len(scan.past_expiry)} partition(s) are past their expiry date "
                        f"(earliest {oldest}): run `telescrub purge`")

    checks = {"residual": res_c, "footer_metadata": meta_c, "manifests": man_c,
              "accounting": acc_c, "rows_on_disk": rows_c, "column_names": names_c}
    return {
        "format_version": 1,
        "verified_at": _now(),
        "output": out,
        "report_run_id": run.get("run_id"),
        "policy": {"version": policy.version, "hash": policy.digest,
                   "file": fs.basename(policy.path),
                   "matches_run": run.get("policy_hash") == policy.digest},
        "ok": all(c.ok for c in checks.values()),
        "checks": {k: c.to_json() for k, c in checks.items()},
        "residual": {
            "total": residual_total, "max_allowed": policy.verify_max_residual,
            "values_scanned": scan.values, "cells_scanned": scan.cells,
            "by_field": [h.to_json(False) for h in
                         sorted(scan.residual.values(), key=lambda h: (h.table, h.column))],
        },
        "kept_by_policy": [h.to_json(True) for h in
                           sorted(scan.kept.values(), key=lambda h: (h.table, h.column))],
        "tables": {t: {"rows": scan.rows.get(t, 0)} for t in tables},
        "files": scan.files, "partitions": scan.partitions,
        "output_manifest": None if cat.root is None else {
            "version": cat.root.get("version"), "run_id": cat.root.get("run_id"),
            "committed_at": cat.root.get("committed_at"),
            "streaming": bool(cat.root.get("streaming"))},
        "garbage": garbage[:MAX_PROBLEMS],
        "garbage_count": len(garbage),
        "warnings": warnings,
    }


def _garbage(out: str, listing: Any, referenced: set[str]) -> list[str]:
    """Objects below table directories or in ``_runs/`` that no manifest references."""
    refs = {fs.relpath(p, out) for p in referenced}
    found = []
    for rel in sorted(listing.entries):
        top = rel.split("/", 1)[0]
        if rel in refs or rel in (ROOT_MANIFEST, LOCK_NAME) or "/" not in rel:
            continue
        if top in NOT_TABLES and top != "_runs":
            continue
        if top == "_runs" and (rel.endswith("/report.json") or rel == "_runs/applied.json"):
            continue
        found.append(rel)
    return found



def write_verify(out: str, result: dict[str, Any]) -> str:
    """Write ``_report/verify.json`` (whole) and regenerate ``index.html``."""
    from telescrub.store.report_html import write_html

    path = report_path(out, VERIFY_NAME)
    fs.write(path, json.dumps(result, indent=2, sort_keys=False) + "\n")
    report = _read_report(out)
    if report is not None:
        write_html(report, report_path(out, HTML_NAME))
    return path


def output_exists(out: str) -> bool:
    """A local directory, or a URL prefix holding the output's manifest or report."""
    if not fs.is_url(out):
        import os

        return os.path.isdir(out)
    return fs.exists(fs.join(out, ROOT_MANIFEST)) or fs.exists(report_path(out))


def run_verify(out: str, policy_path: str | None = None) -> dict[str, Any]:
    """The Python API behind ``telescrub verify``: check, write verify.json, update the HTML."""
    if not output_exists(out):
        raise TelescrubError(f"output directory {out} does not exist")
    result = verify_output(out, load_policy(policy_path))
    write_verify(out, result)
    return result


def verdict(result: dict[str, Any]) -> str:
    """A short human summary of a verify result (no raw values: masked examples only)."""
    lines = [f"verify {result['output']}: {'PASSED' if result['ok'] else 'FAILED'}"]
    res = result["residual"]
    for name, check in result["checks"].items():
        lines.append(f"  {name:<16} {'OK    ' if check['ok'] else 'FAILED'} {check['summary']}")
        if name == "residual":
            for f in res["by_field"]:
                ents = ", ".join(f"{e} {n}" for e, n in f["entities"].items())
                lines.append(f"      {f['table']}.{f['field']} ({f['action']}): {ents}; e.g. "
                             + ", ".join(f["examples"]))
            continue
        for p in check["problems"][:10]:
            lines.append(f"      {p}")
        if len(check["problems"]) > 10:
            lines.append(f"      ... {len(check['problems']) - 10} more in verify.json")
    kept = result["kept_by_policy"]
    if kept:
        lines.append("  kept by policy (expected, not counted): "
                     + "; ".join(f"{k['table']}.{k['field']} {k['entity']} {k['count']}"
                                 for k in kept[:6])
                     + (f"; ... {len(kept) - 6} more" if len(kept) > 6 else ""))
    for w in result["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def _cmd_verify(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.app.settings import location
    from telescrub.store.lock import OutputLock

    out = location(args.output, "OUT")
    if not output_exists(out):
        raise TelescrubError(f"output directory {args.output} does not exist")
    with OutputLock(out, "verify"):
        result = run_verify(out, args.policy)
    print(verdict(result))
    print(f"written {report_path(out, VERIFY_NAME)}; report {report_path(out, HTML_NAME)}")
    return 0 if result["ok"] else 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "verify", help="re-scan an output for residual identifiers and check its integrity",
        description="Re-read every Parquet file of OUT: residual identifiers per field, footer "
        "metadata, manifests, the report's accounting and the rows on disk. Writes "
        "OUT/_report/verify.json and updates index.html; exit 1 if a check fails.")
    p.add_argument("output", metavar="OUT", help="a telescrub output: a directory, "
                   "s3://bucket/prefix or gs://bucket/prefix")
    p.add_argument("--policy", help="policy YAML (default: the bundled schemas/policy.yaml); "
                   "gives verify_max_residual")
    p.set_defaults(func=_cmd_verify)
