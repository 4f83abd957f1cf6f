"""``telescrub subject find|export|erase|recover OUT``: data-subject requests (GDPR art. 15/17,
CCPA) on a telescrub output.

What is searched
----------------
A reviewer names one person by one or more identifiers (``--email``, ``--user``, ``--ip``,
``--value TYPE=VALUE``; several flags describe the same person). Each identifier is expanded
into the *entity types* it may have been stored as, and the raw spellings each type hashes:

* ``--email a@b.c``: EMAIL_ADDRESS and UPN (``a@b.c``), SIP_URI (``sip:a@b.c``,
  ``sips:a@b.c``), the URL-encoded form in text (``a%40b.c``) and USERNAME (an account named
  by its UPN);
* ``--user NAME``: USERNAME (as given and lower case) and PERSON (as given, lower, title and
  upper case: names hash case-sensitively); ``DOMAIN\\NAME`` also as DOMAIN_USER and the bare
  ``NAME``; a name holding ``@`` also as an e-mail address;
* ``--ip ADDR``: IPV4 (as given and canonical) or IPV6 (as given, compressed, exploded);
* ``--value TYPE=VALUE``: exactly that entity type (any name of ``telescrub.core.entities``).

Each spelling is normalised as the ``hash`` action normalises it
(:func:`telescrub.core.actions.normalise`: trimmed, lower-cased for the case-insensitive
entities), and also taken trimmed as given (what a hashed column *without* an entity, or a
quoted value in a quarantined line, hashes). Every form is hashed under every key the reviewer
supplies (``--key-file`` with all keys of a rotation, ``$TELESCRUB_HASH_KEY``, ``--demo-key``);
key ids on record in the output (file footers, the report's ``key_id`` and ``other_key_ids``)
for which no key was supplied are named: tokens under them cannot be computed.

Then every Parquet file of every table (``_quarantine`` included) is classified from its
footer alone (Arrow field metadata ``action``/``entity``): a file with no column that can hold
the subject is skipped without reading a data page. The columns searched:

``token``  a hashed column (``action=hash``) whose entity is one of the subject's types (or
           their family: EMAIL_ADDRESS/UPN, GUID/HEX_ID), or has no entity: ``is_in`` the tokens
           (list columns element-wise). ``--every-column`` adds hashed columns of other types.
``text``   every other string column that can carry a token inside its text: ``scrub_text``
           columns, kept columns (the keep guard tokenises identifiers it finds there), the
           fallbacks of ``truncate_ip``/``email_domain``: one multi-pattern regex of all the
           tokens (RE2, one pass).
``clear``  a kept column (``action=keep``) whose entity is one of the subject's types: the
           clear value, normalised the same way (``is_in``).

The scan is columnar: one ``pyarrow.dataset`` scanner per group of files with the same searched
columns, projecting only those columns and filtering with one expression (``is_in`` on token
and clear columns, ``match_substring_regex`` on text columns, on the joined elements of list
columns) so that only matching rows are materialised; the matches are then attributed exactly
per column. Nothing printed, returned as JSON, audited or reported ever holds the subject's
value or anyone else's: counts per table, partition and column, key ids, and (audit only) one
token of the subject.

Erasure: the protocol
---------------------
``erase`` rewrites each partition holding matches (``remove_rows``, default: without the
matching rows; ``tombstone``, the policy's ``subject_requests.erase`` or ``--tombstone``: the
matching cells replaced by :data:`TOMBSTONE`, rows kept). Files without a match are carried
over unchanged (hard links); a file left without rows is dropped; a partition left without rows
is deleted. Footers keep every ``telescrub.*`` key (retention too: an erasure never lengthens a
partition's life) and gain ``telescrub.subject_erasures`` (request ids); the manifest gets the
new files, rows and checksums and ``last_subject_erasure``. It is purge's transaction, the same
on a local disk, in S3 and in GCS (``telescrub.store.commit``, ``telescrub.store.audit``): no
listed file is ever modified and nothing is renamed. Steps, each followed by the named step
hook (below):

1. write each rewritten file once, under a new content-derived name beside the old ones (not
   listed yet, so invisible to readers) — ``erase-file`` after each;
2. record each partition's action in ``_audit/pending/<action id>.json`` (its audit records,
   the manifest it will publish, or none: the partition is deleted) — ``erase-intent``;
3. switch: one generation-checked write of the output's manifest (a batch output: every
   erased partition at once), or of each window's own manifest (a streaming output) —
   ``erase-switched``;
4. append the audit records — ``erase-audited``;
5. remove the files no manifest lists any more, and the pending records — ``erase-removed``,
   ``erase-done``.

Recovery (:func:`recover`: at the start of every ``erase`` that is not a dry run, ``telescrub
subject recover``, and every other command that takes the output's lock — ``run``, ``purge``,
``verify``) finishes each interrupted action: if the manifests show its switch, its audit
records are appended (once: matched by ``action_id``) before its old files are removed; if
not, the files it had written are removed (the partition was never changed) and the re-run
erases the rows. Each recovery logs a ``recover`` line.

Audit: ``<out>/_audit/subject.jsonl`` (:class:`telescrub.store.audit.Audit`): one
``erase_rows`` or ``tombstone`` record per file (request id, time, table, partition, file
before/after with sha256 and rows, rows removed, cells tombstoned, columns, manifest sha256s,
the run/key/policy of the data, ``subject_ref``: the subject's token under the primary
supplied key — never a clear value), one ``request`` summary per erase (also for a dry run or
when nothing was found: the remaining count after erasing, from a second search).

Step hook: :func:`set_step_hook` installs a callable that is called with each step name
(:data:`STEPS`); crash tests use it to kill the process at a step. Production code never reads
an environment variable for it.

Every output may be a local directory, ``s3://bucket/prefix`` or ``gs://bucket/prefix``
(``telescrub.store.fs``); so may the export directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import json
import logging
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from telescrub.core import entities as ent
from telescrub.core.actions import CASE_INSENSITIVE, normalise
from telescrub.core.errors import TelescrubError
from telescrub.core.keys import HashKey, load_keys
from telescrub.store import fs
from telescrub.store import parquet as po
from telescrub.store.audit import Audit, audit_path, pending, write_intent
from telescrub.store.commit import (
    apply_copies,
    collect_garbage,
    prune_empty_dirs,
    recover_output,
    switch_partitions,
)
from telescrub.store.layout import (
    NULL_PARTITION,
    PARTITION_COLUMN,
    ROOT_MANIFEST,
    SUBJECT_AUDIT,
    data_path,
    rel_keys,
    report_path,
)
from telescrub.store.manifest import build_manifest, check_file, load_catalog, manifest_sha256

log = logging.getLogger("telescrub")

AUDIT_VERSION = 1
TOMBSTONE = "<ERASED:SUBJECT>"
ERASE_MODES = ("remove_rows", "tombstone")
STEPS = ("erase-file", "erase-intent", "erase-switched", "erase-audited", "erase-removed",
         "erase-done", "recovered")
#: entities whose normalised forms (and so tokens) coincide: a column of one may hold the other
FAMILY: dict[str, frozenset[str]] = {
    ent.EMAIL: frozenset({ent.UPN}), ent.UPN: frozenset({ent.EMAIL}),
    ent.GUID: frozenset({ent.HEX_ID}), ent.HEX_ID: frozenset({ent.GUID}),
}
#: actions whose output can never hold a token or the subject's value
_NOTHING_TO_FIND = frozenset({"redact", "mask", "drop"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_PART_NAME = re.compile(r"part-(.+)-[0-9a-f]{12}\.parquet")
_LIST_SEP = "\x1f"
_ARROW = {"string": pa.string(), "large_string": pa.large_string()}

STEP_HOOK: Callable[[str], None] | None = None


def set_step_hook(hook: Callable[[str], None] | None) -> None:
    """Install (or remove, with None) the callable run after every named step (:data:`STEPS`)."""
    global STEP_HOOK
    STEP_HOOK = hook


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


# ------------------------------------------------------------------------------ file access
# Every read and write of the output goes through the store (``telescrub.store.fs``): local
# paths, ``s3://`` and ``gs://`` alike.


def _read_footer(path: str) -> tuple[pa.Schema, int]:
    """A Parquet file's Arrow schema (with field and footer metadata) and row count, from its
    footer only (ranged reads of an object)."""
    with fs.open_input(path) as fh:
        pf = pq.ParquetFile(fh)
        return pf.schema_arrow, int(pf.metadata.num_rows)


def _read_table(path: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(fs.read_bytes(path)), partitioning=None)


def _output_exists(out: str) -> bool:
    if not fs.is_url(out):
        return os.path.isdir(out)
    return fs.exists(fs.join(out, ROOT_MANIFEST)) or fs.exists(report_path(out))


# ------------------------------------------------------------------------------ identifiers


@dataclass(frozen=True)
class Identifier:
    """One identifier of the subject: its kind (``email``, ``user``, ``ip`` or an entity type)
    and the (entity, raw spelling) pairs it may have been stored as. Never printed."""

    kind: str
    candidates: tuple[tuple[str, str], ...] = field(repr=False)

    def __repr__(self) -> str:  # never show the value
        return f"Identifier(kind={self.kind!r}, forms={len(self.candidates)})"

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(e for e, _ in self.candidates)


def email_identifier(value: str) -> Identifier:
    v = value.strip()
    local, at, domain = v.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in v):
        raise TelescrubError("--email: not an e-mail address (expected local@domain)")
    return Identifier("email", (
        (ent.EMAIL, v), (ent.UPN, v), (ent.EMAIL, f"{local}%40{domain}"),
        (ent.SIP_URI, "sip:" + v), (ent.SIP_URI, "sips:" + v), (ent.USERNAME, v)))


def user_identifier(value: str) -> Identifier:
    v = value.strip()
    if not v:
        raise TelescrubError("--user: empty user name")
    # user and person names hash case-sensitively: the spellings other systems commonly use
    cands: list[tuple[str, str]] = [(ent.USERNAME, v), (ent.USERNAME, v.lower())]
    cands += [(ent.PERSON, x) for x in (v, v.lower(), v.title(), v.upper())]
    if "\\" in v:
        domain, _, name = v.partition("\\")
        if not domain or not name:
            raise TelescrubError("--user: expected NAME or DOMAIN\\NAME")
        cands += [(ent.DOMAIN_USER, v), (ent.USERNAME, name)]
    if "@" in v:
        cands += list(email_identifier(v).candidates)
    return Identifier("user", tuple(dict.fromkeys(cands)))


def ip_identifier(value: str) -> Identifier:
    v = value.strip()
    try:
        ip = ipaddress.ip_address(v.strip("[]"))
    except ValueError:
        raise TelescrubError("--ip: not an IPv4 or IPv6 address") from None
    if ip.version == 4:
        return Identifier("ip", tuple(dict.fromkeys([(ent.IPV4, v), (ent.IPV4, str(ip))])))
    return Identifier("ip", tuple(dict.fromkeys(
        [(ent.IPV6, v), (ent.IPV6, str(ip)), (ent.IPV6, ip.exploded)])))


def value_identifier(spec: str) -> Identifier:
    etype, eq, value = spec.partition("=")
    etype = etype.strip().upper()
    if not eq or not etype:
        raise TelescrubError("--value: expected TYPE=VALUE, e.g. --value PHONE_NUMBER=...")
    if etype not in ent.ALL:
        raise TelescrubError(f"--value: unknown entity type {etype!r} (expected one of: "
                             f"{', '.join(sorted(ent.ALL))})")
    if not value.strip():
        raise TelescrubError(f"--value {etype}=: empty value")
    return Identifier(etype, ((etype, value.strip()),))


class Subject:
    """The subject's identifiers, their normalised forms and their tokens under the supplied
    keys. Holds clear values: never print, log or serialise it (only :meth:`describe`)."""

    def __init__(self, identifiers: Sequence[Identifier], keys: Sequence[HashKey]) -> None:
        if not identifiers:
            raise TelescrubError("name the subject: --email, --user, --ip or --value TYPE=VALUE")
        if not keys:
            raise TelescrubError("no key supplied: tokens cannot be computed")
        self.identifiers = list(identifiers)
        self.keys = list(keys)
        cands = [c for i in identifiers for c in i.candidates]
        own = {e for e, _ in cands}
        self.entities = frozenset(own | {f for e in own for f in FAMILY.get(e, ())})
        forms: dict[str, None] = {}
        for e, raw in cands:
            forms[normalise(e, raw)] = None
            forms[normalise(None, raw)] = None  # a hashed column without an entity
        self.forms = tuple(forms)
        self.tokens = tuple(sorted({k.token(f) for k in self.keys for f in self.forms}))
        self.token_pattern = "|".join(re.escape(t) for t in self.tokens)
        self._clear: dict[str, tuple[str, ...]] = {}
        for e in self.entities:
            related = {e, *FAMILY.get(e, ())}
            self._clear[e] = tuple(sorted({normalise(e, raw) for ce, raw in cands
                                           if ce in related}))
        pieces = {raw for _, raw in cands}
        for raw in list(pieces):  # the parts that name the person: local part, account name
            name = re.sub(r"^sips?:", "", raw).split("@")[0].split("%40")[0].rpartition("\\")[2]
            if len(name) >= 3:
                pieces.add(name)
        self._raw = tuple(sorted(pieces, key=len))

    def __repr__(self) -> str:
        return f"Subject({', '.join(i.kind for i in self.identifiers)})"

    def clear_forms(self, entity: str) -> tuple[str, ...]:
        return self._clear.get(entity, ())

    @property
    def ref(self) -> str:
        """The token of the first identifier's first form under the first (primary) key: what
        the audit keeps so that a reviewer holding the key can tie a record to a request."""
        e, raw = self.identifiers[0].candidates[0]
        return self.keys[0].token(normalise(e, raw))

    def mentions(self, text: str) -> bool:
        """True when ``text`` contains one of the subject's raw values or the part of one that
        names the person (an e-mail's local part, an account name; case-insensitive): a request
        id must not carry the identifier into the audit."""
        low = text.lower()
        return any(len(r) >= 3 and r.lower() in low for r in self._raw)

    def describe(self) -> list[dict[str, Any]]:
        """The identifiers without their values: kind, entity types searched, forms."""
        return [{"kind": i.kind, "entities": sorted(i.entities),
                 "forms": len({normalise(e, r) for e, r in i.candidates})}
                for i in self.identifiers]


# --------------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Role:
    """How one column of a file is searched: ``token``, ``text`` or ``clear``."""

    column: str
    how: str
    is_list: bool
    value_type: str  # "string" | "large_string"
    entity: str = ""
    case_insensitive: bool = False
    forms: tuple[str, ...] = ()  # clear: the normalised values


def _field_meta(f: pa.Field) -> dict[str, str]:
    return {k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in (f.metadata or {}).items()}


def _string_kind(t: pa.DataType) -> tuple[str, bool] | None:
    """("string" | "large_string", is_list) for a string column or a list of strings."""
    is_list = pa.types.is_list(t) or pa.types.is_large_list(t)
    if is_list:
        t = t.value_type
    if pa.types.is_string(t):
        return "string", is_list
    if pa.types.is_large_string(t):
        return "large_string", is_list
    return None


def column_roles(schema: pa.Schema, subject: Subject, every_column: bool = False) -> list[Role]:
    """The columns of a file (by its footer) that can hold the subject, and how to search each.
    Empty: the file cannot hold the subject and is skipped."""
    roles: list[Role] = []
    for f in schema:
        if f.name in po.SYSTEM_COLUMNS:
            continue
        kind = _string_kind(f.type)
        if kind is None:
            continue
        vtype, is_list = kind
        meta = _field_meta(f)
        action, entity = meta.get("action", ""), meta.get("entity", "")
        if meta.get("category") == po.SYSTEM_CATEGORY or action in _NOTHING_TO_FIND:
            continue
        if action == "hash":
            if every_column or not entity or entity in subject.entities:
                roles.append(Role(f.name, "token", is_list, vtype, entity))
            continue
        # scrub_text, keep (the guard tokenises what it finds), truncate_ip / email_domain
        # (their fallback is scrub_text), drift, anything unknown: tokens inside the text
        roles.append(Role(f.name, "text", is_list, vtype, entity))
        if action == "keep" and entity in subject.entities and subject.clear_forms(entity):
            roles.append(Role(f.name, "clear", is_list, vtype, entity,
                              entity in CASE_INSENSITIVE, subject.clear_forms(entity)))
    return roles


def _clear_values(arr: pa.Array, ci: bool) -> pa.Array:
    v = pc.utf8_trim_whitespace(arr)
    return pc.utf8_lower(v) if ci else v


def _expression(role: Role, subject: Subject) -> ds.Expression:
    """A filter that is true on every row where ``role`` matches (a superset for list
    columns of clear values: :func:`role_mask` decides exactly)."""
    col = pc.field(role.column)
    if role.is_list:
        joined = pc.binary_join(col, _LIST_SEP)
        if role.how == "clear":
            pattern = "|".join(re.escape(f) for f in role.forms)
            return pc.match_substring_regex(joined, pattern, ignore_case=role.case_insensitive)
        return pc.match_substring_regex(joined, subject.token_pattern)
    if role.how == "token":
        return col.isin(pa.array(subject.tokens, type=_ARROW[role.value_type]))
    if role.how == "text":
        return pc.match_substring_regex(col, subject.token_pattern)
    norm = pc.utf8_trim_whitespace(col)
    if role.case_insensitive:
        norm = pc.utf8_lower(norm)
    return pc.is_in(norm, value_set=pa.array(role.forms, type=_ARROW[role.value_type]))


def _to_bool(arr: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _element_mask(role: Role, subject: Subject, arr: pa.Array) -> np.ndarray:
    if role.how == "token":
        return _to_bool(pc.is_in(arr, value_set=pa.array(subject.tokens, type=arr.type)))
    if role.how == "text":
        return _to_bool(pc.match_substring_regex(arr, subject.token_pattern))
    return _to_bool(pc.is_in(_clear_values(arr, role.case_insensitive),
                             value_set=pa.array(role.forms, type=arr.type)))


def _one_array(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def role_mask(role: Role, subject: Subject, col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Exactly the rows of ``col`` where ``role`` finds the subject."""
    arr = _one_array(col)
    if not role.is_list:
        return _element_mask(role, subject, arr)
    out = np.zeros(len(arr), dtype=bool)
    flat = pc.list_flatten(arr)
    if len(flat):
        hit = _element_mask(role, subject, flat)
        parents = np.asarray(pc.list_parent_indices(arr).to_numpy(zero_copy_only=False))
        out[parents[hit]] = True
    return out


# ------------------------------------------------------------------------------------ find


@dataclass
class FileHits:
    table: str
    pdir: str
    path: str
    rows_in_file: int
    rows: int = 0
    columns: Counter[tuple[str, str]] = field(default_factory=Counter)  # (column, how) -> rows


@dataclass
class FindResult:
    out: str
    subject: Subject
    files: list[FileHits] = field(default_factory=list)
    files_scanned: int = 0
    files_skipped: int = 0
    rows_scanned: int = 0
    tables: list[str] = field(default_factory=list)
    key_ids_on_record: Counter[str] = field(default_factory=Counter)  # id -> files
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    every_column: bool = False

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def found(self) -> bool:
        return self.rows > 0

    @property
    def key_ids_searched(self) -> list[str]:
        return [k.key_id for k in self.subject.keys]

    @property
    def key_ids_missing(self) -> list[str]:
        have = set(self.key_ids_searched)
        return sorted(k for k in self.key_ids_on_record if k not in have)

    def to_json(self) -> dict[str, Any]:
        """Counts per table, partition and column; no value, no token."""
        tables: dict[str, Any] = {}
        for f in sorted(self.files, key=lambda f: (f.table, f.pdir, f.path)):
            t = tables.setdefault(f.table, {"rows": 0, "partitions": {}})
            prel = _rel(self.out, f.pdir, f.table)
            p = t["partitions"].setdefault(prel, {"rows": 0, "files": 0, "columns": {}})
            t["rows"] += f.rows
            p["rows"] += f.rows
            p["files"] += 1
            for (col, how), n in sorted(f.columns.items()):
                c = p["columns"].setdefault(col, {})
                c[how] = c.get(how, 0) + n
        return {
            "found": self.found, "rows": self.rows,
            "tables": tables,
            "partitions": sum(len(t["partitions"]) for t in tables.values()),
            "files": len(self.files),
            "identifiers": self.subject.describe(),
            "forms": len(self.subject.forms), "tokens": len(self.subject.tokens),
            "key_ids_searched": self.key_ids_searched,
            "key_ids_on_record": dict(sorted(self.key_ids_on_record.items())),
            "key_ids_missing": self.key_ids_missing,
            "every_column": self.every_column,
            "files_scanned": self.files_scanned, "files_skipped": self.files_skipped,
            "rows_scanned": self.rows_scanned, "tables_searched": self.tables,
            "unreadable": self.unreadable,
            "seconds": round(self.seconds, 3),
        }


def _rel(out: str, pdir: str, table: str) -> str:
    """A partition's path below its table (``event_date=D[/event_window=HHMM]``)."""
    return fs.relpath(pdir, fs.join(out, table))


def _report_key_ids(out: str) -> list[str]:
    report = fs.read_json(report_path(out)) or {}
    run = report.get("run")
    if not isinstance(run, dict):
        return []
    ids = [run.get("key_id"), *(run.get("other_key_ids") or [])]
    return [str(i) for i in ids if i]


def _discover(out: str) -> list[tuple[str, str, str]]:
    """(table, partition dir, file) for every Parquet file the output's manifests list (never
    a listing of data files: ``telescrub.store.manifest.load_catalog``)."""
    cat = load_catalog(out)
    found: list[tuple[str, str, str]] = []
    for rel in sorted(cat.partitions):
        pdir = fs.join(out, *rel.split("/"))
        found.extend((rel.split("/", 1)[0], pdir, path) for path in cat.files(rel))
    return found


def find(out: str, subject: Subject, every_column: bool = False) -> FindResult:
    """Every row of ``out`` holding one of the subject's tokens or clear values (the Python
    API behind ``telescrub subject find``; the caller holds the output lock)."""
    start = time.monotonic()
    out = fs.normpath(out)
    if not _output_exists(out):
        raise TelescrubError(f"output directory {out} does not exist")
    result = FindResult(out, subject, every_column=every_column)
    for kid in _report_key_ids(out):
        result.key_ids_on_record[kid] += 0
    groups: dict[tuple[Role, ...], list[tuple[str, str, str]]] = {}
    tables: set[str] = set()
    for table, pdir, path in _discover(out):
        tables.add(table)
        try:
            schema, rows = _read_footer(path)
        except Exception:  # noqa: BLE001 - an unreadable file is reported, never its bytes
            result.unreadable.append(fs.relpath(path, out))
            continue
        raw_kid = (schema.metadata or {}).get((po.META_PREFIX + "key_id").encode())
        if raw_kid:
            result.key_ids_on_record[raw_kid.decode(errors="replace")] += 1
        roles = tuple(column_roles(schema, subject, every_column))
        if not roles:
            result.files_skipped += 1
            continue
        result.files_scanned += 1
        result.rows_scanned += rows
        groups.setdefault(roles, []).append((table, pdir, path))
    result.tables = sorted(tables)
    by_path: dict[str, FileHits] = {}
    for roles, files in groups.items():
        for path, hits in _scan_group(roles, files, subject).items():
            by_path[path] = hits
    result.files = [by_path[p] for p in sorted(by_path)]
    result.seconds = time.monotonic() - start
    return result


def _scan_group(roles: tuple[Role, ...], files: list[tuple[str, str, str]],
                subject: Subject) -> dict[str, FileHits]:
    """One filtered dataset scan over files that share their searched columns."""
    names = list(dict.fromkeys(r.column for r in roles))
    first_schema = _read_footer(files[0][2])[0]
    schema = pa.schema([first_schema.field(n).remove_metadata() for n in names])
    expr: ds.Expression | None = None
    for r in roles:
        e = _expression(r, subject)
        expr = e if expr is None else (expr | e)
    info = {path: (table, pdir) for table, pdir, path in files}
    if fs.is_url(files[0][2]):
        # objects: each file read through the store with the same projection and filter
        parts = []
        for _, _, path in files:
            with fs.open_input(path) as src:
                t = pq.read_table(src, columns=names, filters=expr, schema=schema)
            parts.append(t.append_column("__filename", pa.array([path] * t.num_rows,
                                                                 pa.string())))
        matched = pa.concat_tables(parts)
    else:
        dataset = ds.dataset([p for _, _, p in files], schema=schema, format="parquet")
        matched = dataset.to_table(columns=[*names, "__filename"], filter=expr)
    out: dict[str, FileHits] = {}
    if matched.num_rows == 0:
        return out
    fnames = matched.column("__filename")
    for fname in pc.unique(fnames).to_pylist():
        part = matched.filter(pc.equal(fnames, fname))
        path = fname if fs.is_url(fname) else os.path.abspath(fname)
        table, pdir = info.get(path, info.get(fname, ("", fs.dirname(path))))
        hits = _attribute(roles, subject, part)
        if hits[0]:
            fh = FileHits(table, pdir, path, _read_footer(path)[1], hits[0], hits[1])
            out[path] = fh
    return out


def _attribute(roles: Sequence[Role], subject: Subject, data: pa.Table,
               ) -> tuple[int, Counter[tuple[str, str]]]:
    """(rows matched, rows per (column, how)) of a table holding the searched columns."""
    any_row = np.zeros(data.num_rows, dtype=bool)
    per: Counter[tuple[str, str]] = Counter()
    for r in roles:
        if r.column not in data.column_names:
            continue
        m = role_mask(r, subject, data.column(r.column))
        n = int(m.sum())
        if n:
            per[(r.column, r.how)] += n
            any_row |= m
    return int(any_row.sum()), per


def file_mask(table: pa.Table, subject: Subject, every_column: bool = False,
              ) -> tuple[np.ndarray, list[tuple[Role, np.ndarray]]]:
    """Rows of a whole file's table that hold the subject, and the mask of each role."""
    roles = column_roles(table.schema, subject, every_column)
    rows = np.zeros(table.num_rows, dtype=bool)
    masks = []
    for r in roles:
        m = role_mask(r, subject, table.column(r.column))
        masks.append((r, m))
        rows |= m
    return rows, masks


# ---------------------------------------------------------------------------------- export


def export(out: str, subject: Subject, to: str, every_column: bool = False,
           request_id: str | None = None) -> dict[str, Any]:
    """Write the subject's rows, as stored, to ``to`` (a directory, ``s3://`` or ``gs://``):
    ``<table>.jsonl`` and ``<table>.parquet`` per table (plus ``event_date``,
    ``event_window`` and ``_file``) and ``summary.json`` (what was found where; no value).
    Returns the summary."""
    out = fs.normpath(out)
    to = fs.normpath(to)
    sep = "/" if fs.is_url(out) else os.sep
    if to == out or to.startswith(out.rstrip(sep) + sep):
        raise TelescrubError("--to: the export directory must be outside the output directory")
    if fs.is_url(to):
        if fs.list_tree(to):
            raise TelescrubError(f"--to {to}: exists and is not empty")
    elif os.path.lexists(to) and (not os.path.isdir(to) or os.listdir(to)):
        raise TelescrubError(f"--to {to}: exists and is not an empty directory")
    result = find(out, subject, every_column)
    if not fs.is_url(to):
        os.makedirs(to, exist_ok=True)
    by_table: dict[str, list[pa.Table]] = {}
    for fh in result.files:
        data = _read_table(fh.path)
        rows, _ = file_mask(data, subject, every_column)
        sel = data.filter(pa.array(rows))
        keys = rel_keys(fs.relpath(fh.pdir, out))
        n = sel.num_rows
        event_date = keys.get(PARTITION_COLUMN)
        sel = sel.append_column("event_date", pa.array(
            [None if event_date in (None, NULL_PARTITION) else event_date] * n, pa.string()))
        if "event_window" in keys:
            sel = sel.append_column("event_window", pa.array([keys["event_window"]] * n,
                                                             pa.string()))
        sel = sel.append_column("_file", pa.array([fs.relpath(fh.path, out)] * n,
                                                  pa.string()))
        by_table.setdefault(fh.table, []).append(sel)
    written = []
    for table, parts in sorted(by_table.items()):
        for i, merged in enumerate(_merge(parts)):
            stem = table if i == 0 else f"{table}-{i}"
            pdata = po.table_bytes(merged.replace_schema_metadata(None))
            jdata = "".join(json.dumps(r, ensure_ascii=False, default=str, sort_keys=True)
                            + "\n" for r in merged.to_pylist()).encode()
            fs.write(fs.join(to, stem + ".parquet"), pdata)
            fs.write(fs.join(to, stem + ".jsonl"), jdata)
            written.append({"table": table, "rows": merged.num_rows,
                            "parquet": stem + ".parquet", "jsonl": stem + ".jsonl",
                            "parquet_sha256": hashlib.sha256(pdata).hexdigest(),
                            "jsonl_sha256": hashlib.sha256(jdata).hexdigest()})
    summary = {"format_version": 1, "exported_at": _now(), "output": out,
               "request_id": request_id, **result.to_json(), "exported": written,
               "note": "rows as stored in the output: hash tokens, placeholders and the "
                       "columns the policy keeps (which may hold the subject's clear values)"}
    fs.write_json(fs.join(to, "summary.json"), summary)
    return summary


def _merge(parts: list[pa.Table]) -> list[pa.Table]:
    """One table per set of compatible schemas (files of a table may differ after a column
    purge; a missing column reads as null)."""
    try:
        return [pa.concat_tables(parts, promote_options="permissive")]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        groups: dict[str, list[pa.Table]] = {}
        for p in parts:
            groups.setdefault(str(p.schema.remove_metadata()), []).append(p)
        return [pa.concat_tables(g) for g in groups.values()]


# ----------------------------------------------------------------------------------- erase


@dataclass
class EraseResult:
    request_id: str
    mode: str
    dry_run: bool
    found: FindResult
    records: list[dict[str, Any]] = field(default_factory=list)
    partitions_rewritten: list[str] = field(default_factory=list)
    partitions_deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    pending_recovery: list[str] = field(default_factory=list)
    remaining: int | None = None

    @property
    def rows_removed(self) -> int:
        return sum(int(r.get("rows_removed", 0)) for r in self.records)

    @property
    def cells_tombstoned(self) -> int:
        return sum(int(r.get("cells_tombstoned", 0)) for r in self.records)

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.remaining


def _new_name(old: str, request_id: str) -> str:
    m = _PART_NAME.fullmatch(old)
    shard = m.group(1) if m else "erased"
    digest = hashlib.sha256(f"{old}\0subject\0{request_id}".encode()).hexdigest()
    return f"part-{shard}-{digest[:12]}.parquet"


def _tombstone_column(col: pa.ChunkedArray, masks: list[tuple[Role, np.ndarray]],
                      subject: Subject) -> tuple[pa.Array, int]:
    """The column with the subject's tokens and clear values replaced by the tombstone, and
    the number of cells changed."""
    arr = _one_array(col)
    changed = np.zeros(len(arr), dtype=bool)
    for _r, m in masks:
        changed |= m
    if not changed.any():
        return arr, 0
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        off = arr.offsets
        lo, hi = off[0].as_py(), off[-1].as_py()
        values = _tombstone_values(arr.values.slice(lo, hi - lo), masks, subject)
        offsets = pc.subtract(off, pa.scalar(lo, off.type))
        cls = pa.LargeListArray if pa.types.is_large_list(arr.type) else pa.ListArray
        new = cls.from_arrays(offsets, values, type=arr.type, mask=pc.is_null(arr))
        return new, int(changed.sum())
    return _tombstone_values(arr, masks, subject), int(changed.sum())


def _tombstone_values(arr: pa.Array, masks: list[tuple[Role, np.ndarray]],
                      subject: Subject) -> pa.Array:
    for r, _m in masks:  # clear values first: the whole cell goes
        if r.how in ("clear", "token"):
            hit = _element_mask(r, subject, arr)
            arr = pc.if_else(pa.array(hit), pa.scalar(TOMBSTONE, arr.type), arr)
    if any(r.how == "text" for r, _ in masks):
        arr = pc.replace_substring_regex(arr, subject.token_pattern, TOMBSTONE)
    return arr


def _rewrite_table(data: pa.Table, subject: Subject, mode: str, request_id: str, at: str,
                   every_column: bool) -> tuple[pa.Table, int, int, dict[str, int]]:
    """(new table, rows removed, cells tombstoned, rows matched per column)."""
    rows, masks = file_mask(data, subject, every_column)
    per_col: Counter[str] = Counter()
    for r, m in masks:
        if m.any():
            per_col[r.column] = max(per_col[r.column], int(m.sum()))
    meta = dict(data.schema.metadata or {})
    key = (po.META_PREFIX + "subject_erasures").encode()
    try:
        previous = json.loads(meta.get(key, b"[]").decode() or "[]")
    except ValueError:
        previous = []
    meta[key] = json.dumps([*previous, {"request_id": request_id, "at": at}]).encode()
    if mode == "remove_rows":
        new = data.filter(pa.array(~rows))
        removed, cells = int(rows.sum()), 0
    else:
        cols, cells = [], 0
        for i, name in enumerate(data.column_names):
            mine = [(r, m) for r, m in masks if r.column == name]
            if not mine:
                cols.append(data.column(i))
                continue
            col, n = _tombstone_column(data.column(i), mine, subject)
            cols.append(col)
            cells += n
        new = pa.Table.from_arrays(cols, schema=data.schema)
        removed = 0
    return new.replace_schema_metadata(meta), removed, cells, dict(per_col)


def _manifest_entry(old: dict[str, Any], name: str, rows: int, sha: str) -> dict[str, Any]:
    entry = {k: v for k, v in old.items() if k not in ("path", "rows", "sha256")}
    entry.update(path=name, rows=rows, sha256=sha)
    return entry


def _base_record(out: str, table: str, pdir: str, request_id: str, mode: str, dry_run: bool,
                 subject: Subject, report_run_id: str | None, manifest: dict[str, Any] | None,
                 ) -> dict[str, Any]:
    m = manifest or {}
    prel = _rel(out, pdir, table)
    return {
        "audit_version": AUDIT_VERSION, "request_id": request_id,
        "action": "erase_rows" if mode == "remove_rows" else "tombstone",
        "at": _now(), "dry_run": dry_run, "tool": "telescrub subject erase", "mode": mode,
        "table": table, "partition": prel, "path": f"{table}/{prel}",
        "event_date": m.get("event_date"),
        **({"event_window": m["event_window"]} if "event_window" in m else {}),
        "report_run_id": report_run_id, "subject_ref": subject.ref,
    }


def _plan_partition(out: str, table: str, pdir: str, manifest: dict[str, Any],
                    hits: list[FileHits], subject: Subject, request_id: str, mode: str,
                    dry_run: bool, every_column: bool, report_run_id: str | None,
                    ) -> tuple[list[dict[str, Any]], dict[str, pa.Table], bool, list[str]]:
    """Audit records (one per affected file), the new tables by old file name, whether the
    partition is left without rows (it is then deleted), and problems (a listed file that is
    missing or not as listed: the partition is not erased)."""
    msha = manifest_sha256(manifest)
    base = _base_record(out, table, pdir, request_id, mode, dry_run, subject, report_run_id,
                        manifest)
    records, tables, problems = [], {}, []
    at = base["at"]
    affected = {fs.basename(h.path) for h in hits}
    remaining = 0
    for entry in manifest.get("files", []):
        name = str(entry.get("path"))
        path = fs.join(pdir, name)
        if name not in affected:
            if fs.stat(path) is None:
                problems.append(f"missing file {name}")
            remaining += int(entry.get("rows", 0))
            continue
        raw = fs.read_bytes(path)
        problems += check_file(name, entry, raw)
        data = pq.read_table(pa.BufferReader(raw), partitioning=None)
        new, removed, cells, per_col = _rewrite_table(data, subject, mode, request_id, at,
                                                      every_column)
        remaining += new.num_rows
        footer = {k.decode(): v.decode() for k, v in (data.schema.metadata or {}).items()
                  if k.startswith(po.META_PREFIX.encode())}
        records.append({
            **base, "action_id": uuid.uuid4().hex, "file": name,
            "file_after": None if new.num_rows == 0 else _new_name(name, request_id),
            "rows_before": data.num_rows, "rows_removed": removed, "rows_after": new.num_rows,
            "cells_tombstoned": cells, "columns": dict(sorted(per_col.items())),
            "sha256_before": hashlib.sha256(raw).hexdigest(), "sha256_after": None,
            "manifest_sha256_before": msha, "manifest_sha256_after": None,
            "run_id": footer.get(po.META_PREFIX + "run_id"),
            "key_id": footer.get(po.META_PREFIX + "key_id"),
            "policy_hash": footer.get(po.META_PREFIX + "policy_hash"),
            "partition_deleted": False,
        })
        if new.num_rows:
            tables[name] = new
    empty = mode == "remove_rows" and remaining == 0
    if empty:
        for r in records:
            r["partition_deleted"] = True
    return records, tables, empty, problems


def _write_files(out: str, rel: str, manifest: dict[str, Any], records: list[dict[str, Any]],
                 tables: dict[str, pa.Table], request_id: str) -> dict[str, Any]:
    """Step 1: the rewritten files, each written once under its new name (not listed yet);
    returns the partition's new manifest."""
    by_file = {r["file"]: r for r in records}
    entries: dict[str, dict[str, Any]] = {}
    for old in manifest.get("files", []):
        name = str(old.get("path"))
        rec = by_file.get(name)
        if rec is None:  # untouched: listed as it is
            entries[name] = dict(old)
            continue
        new = tables.get(name)
        if new is None:  # every row of the file went
            continue
        footer = new.schema.metadata or {}
        writer = footer.get((po.META_PREFIX + "run_id").encode(), b"").decode()
        digest, _ = po.write_once(data_path(out, rel, rec["file_after"]), po.table_bytes(new),
                                  writer)
        rec["sha256_after"] = digest
        entries[rec["file_after"]] = _manifest_entry(old, rec["file_after"], new.num_rows,
                                                     digest)
        _step("erase-file")
    from telescrub.store.layout import key_of

    header = {k: manifest.get(k) for k in ("run_id", "policy_version", "policy_hash",
                                            "key_id")}
    extra = {k: v for k, v in manifest.items() if k not in (
        "files", "rows", "retention_days", "expires_on", "retention_category", "table",
        "event_date", "format_version", "panes", *header)}
    new_manifest = build_manifest(str(manifest.get("table") or rel.split("/", 1)[0]),
                                  key_of(rel), entries, header, partition=extra)
    for k in ("retention_days", "expires_on", "retention_category"):
        new_manifest[k] = manifest.get(k, new_manifest[k])  # never lengthened by an erasure
    if "panes" in manifest:
        new_manifest["panes"] = manifest["panes"]
    return new_manifest


def erase(out: str, subject: Subject, request_id: str, mode: str = "remove_rows",
          dry_run: bool = False, every_column: bool = False) -> EraseResult:
    """The Python API behind ``telescrub subject erase`` (the caller holds the output lock)."""
    out = fs.normpath(out)
    if not _REQUEST_ID.fullmatch(request_id or ""):
        raise TelescrubError("--request-id: 1-128 characters of letters, digits and ._:/- "
                             "(starting with a letter or digit)")
    if subject.mentions(request_id):
        raise TelescrubError("--request-id must not contain the subject's identifier: the "
                             "audit keeps the request id")
    if mode not in ERASE_MODES:
        raise TelescrubError(f"erase mode {mode!r}: expected one of {', '.join(ERASE_MODES)}")
    if not _output_exists(out):
        raise TelescrubError(f"output directory {out} does not exist")
    audit = Audit(out, SUBJECT_AUDIT)
    recovered = [] if dry_run else recover(out, audit)
    pending_work = leftovers(out) if dry_run else []
    found = find(out, subject, every_column)
    result = EraseResult(request_id, mode, dry_run, found, recovered=recovered,
                         pending_recovery=pending_work)
    report = fs.read_json(report_path(out)) or {}
    report_run_id = (report.get("run") or {}).get("run_id")
    cat = load_catalog(out)
    by_partition: dict[tuple[str, str], list[FileHits]] = {}
    for fh in found.files:
        by_partition.setdefault((fh.table, fh.pdir), []).append(fh)
    actions: list[tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]] = []
    at = _now()
    for (table, pdir), hits in sorted(by_partition.items()):
        rel = f"{table}/{_rel(out, pdir, table)}"
        manifest = cat.partitions.get(rel)
        if manifest is None:
            result.skipped.append(f"{rel}: not erased, no manifest lists it; run "
                                  "`telescrub verify`")
            continue
        records, tables, empty, problems = _plan_partition(
            out, table, pdir, manifest, hits, subject, request_id, mode, dry_run,
            every_column, report_run_id)
        if problems:
            result.skipped.append(f"{rel}: not erased, it does not match its manifest "
                                  f"({'; '.join(problems[:3])}); run `telescrub verify`")
            continue
        if dry_run:
            result.records.extend(records)
            continue
        part_id = uuid.uuid4().hex
        new_manifest = None if empty else _write_files(out, rel, manifest, records, tables,
                                                       request_id)
        if new_manifest is not None:
            new_manifest["last_subject_erasure"] = {
                "action_id": part_id, "request_id": request_id, "at": at,
                "rows_removed": sum(r["rows_removed"] for r in records),
                "cells_tombstoned": sum(r["cells_tombstoned"] for r in records)}
            msha = manifest_sha256(new_manifest)
            for r in records:
                r["manifest_sha256_after"] = msha
        part_rec = {"action_id": part_id, "request_id": request_id, "path": rel,
                    "action": "erase_partition" if empty else "rewrite_partition",
                    "files_before": [{"path": r["file"]} for r in records]}
        actions.append((rel, part_rec, records, new_manifest))
    if not dry_run and actions:
        _apply(out, cat, actions, audit, request_id, result)
    if not dry_run:
        result.remaining = find(out, subject, every_column).rows if found.found else 0
    audit.append({
        "audit_version": AUDIT_VERSION, "action_id": uuid.uuid4().hex, "action": "request",
        "request_id": request_id, "at": _now(), "dry_run": dry_run, "mode": mode,
        "tool": "telescrub subject erase", "identifiers": subject.describe(),
        "key_ids_searched": found.key_ids_searched, "key_ids_missing": found.key_ids_missing,
        "every_column": every_column, "rows_found": found.rows,
        "partitions_rewritten": len(result.partitions_rewritten),
        "partitions_deleted": len(result.partitions_deleted),
        "files": len(result.records), "rows_removed": result.rows_removed,
        "cells_tombstoned": result.cells_tombstoned, "remaining": result.remaining,
        "skipped": result.skipped, "recovered": result.recovered,
        "report_run_id": report_run_id, "subject_ref": subject.ref,
        "why": "no-op" if not found.found else "subject erasure",
    })
    if not dry_run and (result.records or result.recovered):
        _refresh_html(out)
    return result


def _apply(out: str, cat: Any, actions: list[tuple[str, dict[str, Any], list[dict[str, Any]],
                                                   dict[str, Any] | None]],
           audit: Audit, request_id: str, result: EraseResult) -> None:
    """Steps 2-5 of the protocol (module doc) for every partition at once."""
    for rel, part_rec, records, manifest in actions:
        write_intent(out, {"record": part_rec, "records": records, "partition": rel,
                           "manifest": manifest, "audit": SUBJECT_AUDIT,
                           "marker": "last_subject_erasure"})
        _step("erase-intent")
    switched = set(switch_partitions(
        out, cat, [(rel, m) for rel, _p, _r, m in actions],
        last_subject_erasure={"request_id": request_id, "at": _now()}))
    _step("erase-switched")
    from telescrub.store.audit import intent_path

    done = []
    for rel, part_rec, records, manifest in actions:
        if rel not in switched:  # a window that got a new pane meanwhile: not erased now
            fs.delete(intent_path(out, part_rec["action_id"]))
            result.skipped.append(f"{rel}: its manifest changed while erasing (a new pane): "
                                  "not erased this time, run erase again")
            continue
        for r in records:
            audit.append(r)
        done.append((rel, part_rec, records, manifest))
    _step("erase-audited")
    if not cat.per_partition:
        root = fs.read_json(fs.join(out, ROOT_MANIFEST))
        if root is not None:
            apply_copies(out, root)
    for rel, _part_rec, records, manifest in done:
        listed = {str(e.get("path")) for e in (manifest or {}).get("files", [])}
        for r in records:
            if r["file"] not in listed:
                fs.delete(data_path(out, rel, r["file"]))
        if manifest is None and not cat.per_partition:
            fs.delete(fs.join(out, *rel.split("/"), "_manifest.json"))
    _step("erase-removed")
    for rel, part_rec, records, manifest in done:
        fs.delete(intent_path(out, part_rec["action_id"]))
        (result.partitions_deleted if manifest is None else result.partitions_rewritten
         ).append(rel)
        result.records.extend(records)
    _step("erase-done")
    collect_garbage(out, load_catalog(out))
    prune_empty_dirs(out)


def _refresh_html(out: str) -> None:
    from telescrub.store.report_html import write_html

    report = fs.read_json(report_path(out))
    if report is not None:
        write_html(report, report_path(out, "index.html"))


# -------------------------------------------------------------------------------- recovery


def leftovers(out: str) -> list[str]:
    """Erasures in flight (their partitions); empty when there is none."""
    return [str((intent or {}).get("partition", path)) for path, intent in pending(out)
            if (intent or {}).get("audit") == SUBJECT_AUDIT]


def recover(out: str, audit: Audit | None = None) -> list[str]:
    """Finish or roll back interrupted erasures — and whatever else an interrupted command
    left (``telescrub.store.commit.recover_output``: purges in flight, the copies of the last
    commit, garbage). Returns notes."""
    out = fs.normpath(out)
    notes = recover_output(out)
    if notes:
        _step("recovered")
        _refresh_html(out)
    return notes


# ------------------------------------------------------------------------------------- CLI


_HOW = {"token": "token (hashed column)", "text": "token in text",
        "clear": "clear value (kept column)"}


def _keys_lines(r: FindResult) -> list[str]:
    lines = [f"  keys searched: {', '.join(r.key_ids_searched)}"]
    missing = r.key_ids_missing
    if missing:
        lines.append("  no key supplied for key id(s) on record: " + ", ".join(
            f"{k} ({r.key_ids_on_record[k]} file(s))" for k in missing)
            + "; tokens under them cannot be searched")
    return lines


def find_summary(r: FindResult) -> str:
    """What ``find`` prints: counts per table, partition and column; never a value."""
    j = r.to_json()
    idents = "; ".join(f"{i['kind']} as {', '.join(i['entities'])}" for i in j["identifiers"])
    head = (f"subject find {r.out}: FOUND {j['rows']} row(s) in {len(j['tables'])} table(s), "
            f"{j['partitions']} partition(s), {j['files']} file(s)" if r.found
            else f"subject find {r.out}: NOT FOUND")
    lines = [head, f"  searched: {idents} ({j['forms']} forms, {j['tokens']} tokens"
                   f"{'; every hashed column' if r.every_column else ''})", *_keys_lines(r)]
    for table, t in j["tables"].items():
        lines.append(f"  {table}: {t['rows']} row(s)")
        for prel, p in t["partitions"].items():
            lines.append(f"    {prel}: {p['rows']} row(s) in {p['files']} file(s)")
            for col, hows in p["columns"].items():
                for how, n in hows.items():
                    lines.append(f"      {col:<32} {n:>8}  {_HOW.get(how, how)}")
    lines.append(f"  scanned {j['files_scanned']} file(s), {j['rows_scanned']:,} rows, in "
                 f"{j['seconds']:.2f} s; skipped {j['files_skipped']} file(s) with no column "
                 "that can hold these identifiers")
    for u in r.unreadable:
        lines.append(f"  UNREADABLE {u}: not searched; run `telescrub verify`")
    lines.append("  note: only values the detectors recognised were tokenised; a value they "
                 "missed is not found by its token")
    return "\n".join(lines)


def erase_summary(res: EraseResult) -> str:
    r = res.found
    would = "would " if res.dry_run else ""
    head = f"subject erase {r.out} request {res.request_id} ({res.mode}"
    head += ", dry run)" if res.dry_run else ")"
    if not r.found:
        lines = [f"{head}: nothing to erase (not found)"]
    else:
        what = (f"{would}remove {res.rows_removed} row(s)" if res.mode == "remove_rows"
                else f"{would}tombstone {res.cells_tombstoned} cell(s)")
        lines = [f"{head}: {what} in {len(res.records)} file(s)"]
    lines += _keys_lines(r)
    for rec in res.records:
        act = "dropped" if rec["file_after"] is None else "rewrote"
        if res.dry_run:
            act = "would " + ("drop" if rec["file_after"] is None else "rewrite")
        lines.append(f"  {act} {rec['path']}/{rec['file']}: {rec['rows_removed']} row(s) "
                     f"removed, {rec['cells_tombstoned']} cell(s) tombstoned"
                     + (" (partition deleted)" if rec["partition_deleted"] else ""))
    for n in res.recovered:
        lines.append(f"  recovered: {n}")
    for n in res.pending_recovery:
        lines.append(f"  interrupted erasure to recover (not in a dry run): {n}")
    for s in res.skipped:
        lines.append(f"  SKIPPED {s}")
    if res.remaining is not None:
        lines.append(f"  after erasing, find reports {res.remaining} row(s)")
    lines.append(f"audit: {audit_path(r.out, SUBJECT_AUDIT)}")
    return "\n".join(lines)


def subject_from_args(args: argparse.Namespace) -> Subject:
    idents: list[Identifier] = []
    idents += [email_identifier(v) for v in args.email or []]
    idents += [user_identifier(v) for v in args.user or []]
    idents += [ip_identifier(v) for v in args.ip or []]
    idents += [value_identifier(v) for v in args.value or []]
    keys = load_keys(args.key_file, args.demo_key)
    return Subject(idents, keys)


def _check_out(path: str) -> str:
    from telescrub.app.settings import location

    out = location(path, "OUT")
    if not _output_exists(out):
        raise TelescrubError(f"output directory {path} does not exist")
    return out


def _cmd_find(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.store.lock import OutputLock

    out = _check_out(args.output)
    subject = subject_from_args(args)
    with OutputLock(out):
        result = find(out, subject, args.every_column)
    print(json.dumps(result.to_json(), indent=2) if args.json else find_summary(result))
    return 0 if result.found else 1


def _cmd_export(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.store.lock import OutputLock

    out = _check_out(args.output)
    subject = subject_from_args(args)
    if args.request_id and subject.mentions(args.request_id):
        raise TelescrubError("--request-id must not contain the subject's identifier")
    with OutputLock(out):
        summary = export(out, subject, args.to, args.every_column, args.request_id)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"subject export {out}: {summary['rows']} row(s) from {summary['files']} "
              f"file(s) written to {fs.normpath(args.to)}")
        for e in summary["exported"]:
            print(f"  {e['table']}: {e['rows']} row(s) -> {e['parquet']}, {e['jsonl']}")
        print(f"  summary: {fs.join(fs.normpath(args.to), 'summary.json')}")
        if summary["key_ids_missing"]:
            print("  no key supplied for key id(s) on record: "
                  + ", ".join(summary["key_ids_missing"])
                  + "; tokens under them cannot be searched")
    return 0 if summary["found"] else 1


def _erase_mode(args: argparse.Namespace) -> str:
    if args.tombstone:
        return "tombstone"
    if args.remove_rows:
        return "remove_rows"
    from telescrub.core.policy import load_policy

    return load_policy(args.policy).subject_erase


def _cmd_erase(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.store.lock import OutputLock

    out = _check_out(args.output)
    subject = subject_from_args(args)
    mode = _erase_mode(args)
    with OutputLock(out):
        result = erase(out, subject, args.request_id, mode, args.dry_run, args.every_column)
    print(erase_summary(result))
    return 0 if result.ok else 1


def _cmd_recover(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.store.lock import OutputLock

    out = _check_out(args.output)
    with OutputLock(out):
        notes = recover(out)
    print(f"subject recover {out}: " + ("nothing to recover" if not notes else
                                        f"{len(notes)} action(s)"))
    for n in notes:
        print(f"  {n}")
    return 0


def _identity_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the subject (repeat or combine flags for several identifiers "
                             "of one person)")
    g.add_argument("--email", action="append", metavar="ADDRESS",
                   help="an e-mail address (searched as EMAIL_ADDRESS, UPN, SIP_URI, USERNAME)")
    g.add_argument("--user", action="append", metavar="NAME",
                   help="a user name, DOMAIN\\NAME or a person's name (USERNAME, DOMAIN_USER, "
                   "PERSON)")
    g.add_argument("--ip", action="append", metavar="ADDRESS", help="an IPv4 or IPv6 address")
    g.add_argument("--value", action="append", metavar="TYPE=VALUE",
                   help="any entity type, e.g. PHONE_NUMBER=+1 555 0100, GUID=...")
    k = p.add_argument_group("keys")
    k.add_argument("--key-file", help="key file with every key of the rotation (one per line, "
                   "name=key allowed; default: $TELESCRUB_HASH_KEY)")
    k.add_argument("--demo-key", action="store_true", help="also compute tokens under the "
                   "public demo key")
    p.add_argument("--every-column", action="store_true",
                   help="also search hashed columns of other entity types (slower)")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "subject", help="data-subject requests: find, export or erase one person's records",
        description="Find, export or erase one person's records across every table, "
        "partition and run of OUT (GDPR art. 15/17, CCPA): the person's hash tokens under "
        "every supplied key, tokens inside scrubbed text and clear values in kept columns. "
        "Never prints a value. Erasures are audited in OUT/_audit/subject.jsonl.")
    ssub = p.add_subparsers(dest="subject_command", required=True)
    f = ssub.add_parser("find", help="count the subject's rows per table, partition and column "
                        "(exit 0 found, 1 not found)")
    f.add_argument("output", metavar="OUT", help="a telescrub output directory")
    _identity_args(f)
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.set_defaults(func=_cmd_find)
    e = ssub.add_parser("export", help="write the subject's rows (as stored) as JSON lines and "
                        "Parquet, with a summary (access request)")
    e.add_argument("output", metavar="OUT", help="a telescrub output directory")
    _identity_args(e)
    e.add_argument("--to", required=True, metavar="DIR",
                   help="new or empty directory outside OUT")
    e.add_argument("--request-id", help="recorded in the summary")
    e.add_argument("--json", action="store_true", help="print the summary as JSON")
    e.set_defaults(func=_cmd_export)
    x = ssub.add_parser("erase", help="rewrite every affected file without the subject's rows "
                        "(or with tombstones), audited, crash-safe")
    x.add_argument("output", metavar="OUT", help="a telescrub output directory")
    _identity_args(x)
    x.add_argument("--request-id", required=True, metavar="ID",
                   help="the request's reference, kept in the audit (must not hold the "
                   "identifier)")
    x.add_argument("--dry-run", action="store_true",
                   help="change nothing; list (and audit as dry_run) what would be erased")
    m = x.add_mutually_exclusive_group()
    m.add_argument("--tombstone", action="store_true",
                   help=f"keep the rows, replace the subject's cells by {TOMBSTONE}")
    m.add_argument("--remove-rows", action="store_true",
                   help="remove the rows (default, unless the policy's subject_requests.erase "
                   "says tombstone)")
    x.add_argument("--policy", help="policy YAML giving subject_requests.erase (default: the "
                   "bundled one)")
    x.set_defaults(func=_cmd_erase)
    r = ssub.add_parser("recover", help="finish or roll back an interrupted erasure")
    r.add_argument("output", metavar="OUT", help="a telescrub output directory")
    r.set_defaults(func=_cmd_recover)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m telescrub.app.subject`` (the same command without the other commands)."""
    from telescrub.app.cli import main_of

    return main_of("subject", register, argv)


if __name__ == "__main__":
    sys.exit(main())
