"""Unit tests for ``telescrub.app.subject``: the identifiers and their normalised forms, which
columns are searched how (from field metadata), list columns, erasure and tombstones on a
small output written with the store's own writer, the in-process step hook and recovery,
verify's row accounting, the report section and the shared audit helper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telescrub.app import subject as sj
from telescrub.app.subject import (
    TOMBSTONE,
    Role,
    Subject,
    column_roles,
    email_identifier,
    erase,
    find,
    ip_identifier,
    leftovers,
    recover,
    role_mask,
    user_identifier,
    value_identifier,
)
from telescrub.core import entities as ent
from telescrub.core.actions import normalise
from telescrub.core.errors import PolicyError, TelescrubError
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for, load_keys
from telescrub.core.records import ScrubbedRecord
from telescrub.store import parquet as po
from telescrub.store.audit import PURGE_AUDIT, SUBJECT_AUDIT, Audit, read_audit
from telescrub.store.layout import PartitionKey
from telescrub.store.manifest import merge_manifest, verify_manifest
from telescrub.store.report_html import render

K1 = HashKey(b"a" * 32, key_id_for(b"a" * 32))
K2 = HashKey(b"b" * 32, key_id_for(b"b" * 32))
EMAIL = "Jane.Doe@Contoso.com"


def _subject(*idents, keys=(K1,)) -> Subject:
    return Subject(list(idents), list(keys))


# ------------------------------------------------------------------------------ identifiers


def test_email_is_searched_under_every_normalisation_the_actions_use():
    s = _subject(email_identifier(EMAIL), keys=(K1, K2))
    for key in (K1, K2):
        for entity, raw in ((ent.EMAIL, EMAIL), (ent.UPN, EMAIL), (ent.SIP_URI, f"sip:{EMAIL}"),
                            (ent.SIP_URI, f"SIPS:{EMAIL}".lower()),
                            (ent.EMAIL, "Jane.Doe%40Contoso.com"), (ent.USERNAME, EMAIL),
                            (None, EMAIL)):
            assert key.token(normalise(entity, raw)) in s.tokens, (entity, raw)
    assert key.token("jane.doe@contoso.com") in s.tokens
    assert {ent.EMAIL, ent.UPN, ent.SIP_URI, ent.USERNAME} <= s.entities
    assert EMAIL not in repr(s) and EMAIL not in repr(s.identifiers) and "jane" not in str(
        s.describe()).lower()


def test_user_ip_and_value_identifiers():
    u = user_identifier(r"CONTOSO\jdoe")
    assert {ent.USERNAME, ent.PERSON, ent.DOMAIN_USER} == u.entities
    s = _subject(u)
    assert K1.token(r"contoso\jdoe") in s.tokens and K1.token("jdoe") in s.tokens
    names = _subject(user_identifier("jane doe"))
    for spelling in ("jane doe", "Jane Doe", "JANE DOE"):
        assert K1.token(spelling) in names.tokens
    v6 = _subject(ip_identifier("2001:DB8::1"))
    for form in ("2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"):
        assert K1.token(form) in v6.tokens
    assert ent.IPV6 in v6.entities and ent.IPV4 not in v6.entities
    v = value_identifier("phone_number=+1 555 0100")
    assert v.kind == ent.PHONE and K1.token("+1 555 0100") in _subject(v).tokens


@pytest.mark.parametrize(("make", "arg", "msg"), [
    (value_identifier, "EMAIL=secret@x.com", "unknown entity type 'EMAIL'"),
    (value_identifier, "secret", "expected TYPE=VALUE"),
    (email_identifier, "secret", "not an e-mail address"),
    (ip_identifier, "secret", "not an IPv4 or IPv6"),
    (user_identifier, "  ", "empty user name"),
])
def test_bad_identifiers_fail_without_echoing_the_value(make, arg, msg):
    with pytest.raises(TelescrubError) as exc:
        make(arg)
    assert msg in str(exc.value) and "secret@" not in str(exc.value)
    if "unknown entity" in msg:
        assert "EMAIL_ADDRESS" in str(exc.value)  # the valid names are listed


def test_load_keys_returns_every_key_of_a_rotation_primary_first(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"old={'a' * 32}\n*new={'b' * 32}\n")
    keys = load_keys(str(path), demo=True, environ={})
    assert [k.key_id for k in keys] == [K2.key_id, K1.key_id, key_id_for(DEMO_KEY)]
    with pytest.raises(TelescrubError):
        load_keys(None, environ={})


# --------------------------------------------------------------------------------- columns


def _schema(**cols: tuple[str, str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t, metadata={"action": a, "entity": e, "category": "eupi"})
                      for n, (a, e, t) in cols.items()])


def test_which_columns_are_searched_and_how():
    s = _subject(email_identifier(EMAIL))
    schema = _schema(
        email=("hash", ent.EMAIL, pa.string()), upn=("hash", ent.UPN, pa.string()),
        acct=("hash", "", pa.string()), device=("hash", ent.GUID, pa.string()),
        ids=("hash", ent.EMAIL, pa.list_(pa.string())), note=("scrub_text", "", pa.string()),
        kept=("keep", ent.EMAIL, pa.string()), tenant=("keep", ent.GUID, pa.string()),
        card=("mask", ent.CREDIT_CARD, pa.string()), secret=("redact", "", pa.string()),
        n=("keep", "", pa.int64()), net=("truncate_ip", ent.IPV4, pa.string()))
    schema = schema.append(pa.field("_source_file", pa.string(), metadata={"category": "system"}))
    got = {(r.column, r.how) for r in column_roles(schema, s)}
    assert got == {("email", "token"), ("upn", "token"), ("acct", "token"), ("ids", "token"),
                   ("note", "text"), ("kept", "text"), ("kept", "clear"), ("tenant", "text"),
                   ("net", "text")}
    every = {(r.column, r.how) for r in column_roles(schema, s, every_column=True)}
    assert every == got | {("device", "token")}
    assert column_roles(_schema(d=("hash", ent.GUID, pa.string()),
                                n=("keep", "", pa.int64())), s) == []  # file skipped


def test_list_columns_are_matched_element_wise_and_tombstoned():
    s = _subject(email_identifier(EMAIL))
    tok = K1.token("jane.doe@contoso.com")
    arr = pa.array([["x", tok], None, [], ["y"], [tok]]).slice(1)
    role = Role("ids", "token", True, "string", ent.EMAIL)
    assert role_mask(role, s, arr).tolist() == [False, False, False, True]
    masks = [(role, role_mask(role, s, arr))]
    new, n = sj._tombstone_column(pa.chunked_array([arr]), masks, s)
    assert n == 1 and new.to_pylist() == [None, [], ["y"], [TOMBSTONE]]
    clear = Role("kept", "clear", False, "string", ent.EMAIL, True, ("jane.doe@contoso.com",))
    vals = pa.array([" JANE.DOE@contoso.com ", "jane.doe@contoso.com.evil", None])
    assert role_mask(clear, s, vals).tolist() == [True, False, False]


# --------------------------------------------------------------------- a small real output

RUN = po.RunInfo("run-1", "v1", "ph", K1.key_id, False, "2026-11-25T00:00:00Z")
LAYOUT = po.TableLayout("crm", (
    po.ColumnSpec("email", "string", "eupi", "euii", "hash", "role:email", 1.0, ent.EMAIL, 28),
    po.ColumnSpec("notes", "string", "customer_content", "customer_content", "scrub_text",
                  "role:free_text_user", 1.0, None, 30),
    po.ColumnSpec("n", "int64", "system_metadata", "system_metadata", "keep", "role:counter",
                  1.0, None, 28),
))


def _output(tmp_path: Path, window: str | None = None) -> tuple[Path, str]:
    """crm: 2026-11-20 (3 rows, 1 hers, 1 mentioning her; in a streaming ``window`` if
    given), 2026-11-21 (1 row, hers)."""
    out = tmp_path / "out"
    tok, other = K1.token("jane.doe@contoso.com"), K1.token("omar@fabrikam.com")
    rows = {"2026-11-20": [(tok, "hello", 1), (other, f"cc {tok} please", 2), (other, "x", 3)],
            "2026-11-21": [(tok, "bye", 4)]}
    for date, rs in rows.items():
        recs = [ScrubbedRecord("crm", "in.jsonl", n, date, {"email": e, "notes": t, "n": n})
                for e, t, n in rs]
        win = window if date == "2026-11-20" else None
        f = po.write_partition_file(str(out), LAYOUT, RUN, date, recs, "s0", win)
        merge_manifest(str(out), "crm", PartitionKey(date, win), [f], RUN)
    (out / "_report").mkdir()
    (out / "_report" / "report.json").write_text(json.dumps({"run": {
        "run_id": RUN.run_id, "key_id": K1.key_id, "other_key_ids": [K2.key_id]}}))
    return out, tok


def _lines(out: Path) -> dict[str, list[int]]:
    return {p.parent.name: sorted(pq.read_table(p, partitioning=None).column("n").to_pylist())
            for p in sorted((out / "crm").glob("*/*.parquet"))}


def test_find_and_erase_on_a_small_output(tmp_path):
    out, _ = _output(tmp_path)
    s = _subject(email_identifier(EMAIL))
    res = find(str(out), s)
    assert res.rows == 3 and res.key_ids_missing == [K2.key_id]
    er = erase(str(out), s, "REQ-1")
    assert er.rows_removed == 3 and er.remaining == 0
    assert er.partitions_deleted == ["crm/event_date=2026-11-21"]
    assert _lines(out) == {"event_date=2026-11-20": [3]}
    assert verify_manifest(str(out / "crm" / "event_date=2026-11-20")) == []
    audit = read_audit(str(out), SUBJECT_AUDIT)
    assert [r["action"] for r in audit] == ["erase_rows", "erase_rows", "request"]
    assert read_audit(str(out)) == []  # the purge log is untouched


def test_tombstone_mode_keeps_rows(tmp_path):
    out, tok = _output(tmp_path)
    s = _subject(email_identifier(EMAIL))
    er = erase(str(out), s, "REQ-2", mode="tombstone")
    assert er.rows_removed == 0 and er.cells_tombstoned == 3 and er.remaining == 0
    assert _lines(out) == {"event_date=2026-11-20": [1, 2, 3], "event_date=2026-11-21": [4]}
    t = pq.read_table(next((out / "crm" / "event_date=2026-11-20").glob("*.parquet")))
    assert t.column("notes").to_pylist()[1] == f"cc {TOMBSTONE} please"
    assert tok not in json.dumps(t.to_pylist())


def test_request_id_rules(tmp_path):
    out, _ = _output(tmp_path)
    s = _subject(email_identifier(EMAIL))
    for bad in ("", "-x", "a b", "x" * 129, "jane.doe@x", "REQ-Jane.Doe"):
        with pytest.raises(TelescrubError):
            erase(str(out), s, bad)
    assert _lines(out)["event_date=2026-11-21"] == [4]  # nothing was erased


@pytest.mark.parametrize("step", [s for s in sj.STEPS if s != "recovered"])
def test_step_hook_crash_then_recover(tmp_path, step):
    out, _ = _output(tmp_path)
    s = _subject(email_identifier(EMAIL))

    class Crash(Exception):
        pass

    def hook(name: str) -> None:
        if name == step:
            raise Crash(name)

    sj.set_step_hook(hook)
    try:
        with pytest.raises(Crash):
            erase(str(out), s, "REQ-3")
    finally:
        sj.set_step_hook(None)
    # an erasure in flight is pending from its records (erase-intent) until it is done
    assert leftovers(str(out)) or step in ("erase-file", "erase-done")
    notes = recover(str(out))
    # (erase-file: only unlisted files were written; in an output without the output's
    # manifest, as here, they are collected once older than the streaming grace period)
    assert notes or step in ("erase-file", "erase-done")
    assert leftovers(str(out)) == []
    erase(str(out), s, "REQ-3")
    assert _lines(out) == {"event_date=2026-11-20": [3]}
    files = [r for r in read_audit(str(out), SUBJECT_AUDIT) if r["action"] == "erase_rows"]
    assert sorted(r["file"] for r in files) == sorted({r["file"] for r in files})  # once each


# ------------------------------------------------------------------ verify, report, audit


def test_verify_subtracts_erased_rows_of_this_output_only():
    from telescrub.app.verify import _expected_rows

    report = {"run": {"run_id": "r2"}, "tables": {"crm": {"rows_written": 10}},
              "totals": {"quarantined": 0}}
    subject_audit = [
        {"action": "erase_rows", "table": "crm", "rows_removed": 2, "run_id": "r2"},
        {"action": "erase_rows", "table": "crm", "rows_removed": 1, "run_id": "r0",
         "report_run_id": "r2"},
        {"action": "erase_rows", "table": "crm", "rows_removed": 5, "run_id": "r1",
         "report_run_id": "r1"},  # an earlier output overwritten since
        {"action": "erase_rows", "table": "crm", "rows_removed": 7, "run_id": "r2",
         "dry_run": True},
        {"action": "tombstone", "table": "crm", "rows_removed": 0, "run_id": "r2"},
    ]
    assert _expected_rows(report, [], None, subject_audit)["crm"] == 7


def test_report_shows_requests_and_no_identifier():
    rec = {"action": "erase_rows", "request_id": "DSR-9", "at": "2026-11-26T10:00:00Z",
           "path": "crm/event_date=2026-11-20", "file": "part-a.parquet",
           "file_after": "part-b.parquet", "rows_before": 3, "rows_removed": 1,
           "cells_tombstoned": 0, "sha256_before": "ab" * 32, "sha256_after": "cd" * 32,
           "subject_ref": K1.token("jane.doe@contoso.com"), "dry_run": False,
           "mode": "remove_rows", "report_run_id": "r1"}
    req = {"action": "request", "request_id": "DSR-9", "at": "2026-11-26T10:00:01Z",
           "dry_run": False, "remaining": 0, "mode": "remove_rows",
           "subject_ref": rec["subject_ref"]}
    html = render({"run": {"run_id": "r1"}, "tables": {}, "partitions": []},
                  subject_audit=[rec, req])
    assert "id='subject-audit'" in html and "DSR-9" in html and "part-b.parquet" in html
    assert rec["subject_ref"] not in html
    assert "id='subject-audit'" not in render({"run": {}, "tables": {}, "partitions": []})


def test_the_audit_helper_is_shared_and_backward_compatible(tmp_path):
    from telescrub.app import purge

    assert purge.Audit is Audit
    a, b = Audit(str(tmp_path)), Audit(str(tmp_path), SUBJECT_AUDIT)
    a.append({"action_id": "1", "x": 1})
    b.append({"action_id": "1", "y": 2})
    b.append({"action_id": "1", "y": 3})  # an id already logged: not logged again
    assert (tmp_path / "_audit" / PURGE_AUDIT).exists()
    assert read_audit(str(tmp_path)) == [{"action_id": "1", "x": 1}]
    assert read_audit(str(tmp_path), SUBJECT_AUDIT) == [{"action_id": "1", "y": 2}]
    # a torn last line is skipped and not glued to the next record
    with open(tmp_path / "_audit" / SUBJECT_AUDIT, "a") as fh:
        fh.write('{"action_id": "2"')
    Audit(str(tmp_path), SUBJECT_AUDIT).append({"action_id": "3"})
    assert [r["action_id"] for r in read_audit(str(tmp_path), SUBJECT_AUDIT)] == ["1", "3"]


def test_policy_subject_requests_erase_is_validated(tmp_path):
    from telescrub.core.policy import default_policy_path, load_policy

    assert load_policy().subject_erase == "remove_rows"
    base = Path(default_policy_path()).read_text()
    rules = Path(default_policy_path()).with_name("rules.yaml").read_text()
    (tmp_path / "rules.yaml").write_text(rules)
    good = tmp_path / "p.yaml"
    good.write_text(base + "\nsubject_requests: {erase: tombstone}\n")
    assert load_policy(str(good)).subject_erase == "tombstone"
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + "\nsubject_requests: {erase: shred}\n")
    with pytest.raises(PolicyError, match="subject_requests.erase"):
        load_policy(str(bad))


def test_masks_are_numpy_booleans():
    s = _subject(email_identifier(EMAIL))
    m = role_mask(Role("c", "text", False, "string"), s,
                  pa.chunked_array([["a", None], [f"x {K1.token('jane.doe@contoso.com')}"]]))
    assert isinstance(m, np.ndarray) and m.tolist() == [False, False, True]


def test_a_streaming_window_partition_is_erased_and_recovered(tmp_path):
    """event_date=D/event_window=HHMM: the nested layout of a streaming output."""
    out, _ = _output(tmp_path, window="0805")
    window = out / "crm" / "event_date=2026-11-20" / "event_window=0805"
    assert json.loads((window / "_manifest.json").read_text())["event_window"] == "0805"
    s = _subject(email_identifier(EMAIL))
    assert find(str(out), s).to_json()["tables"]["crm"]["partitions"][
        "event_date=2026-11-20/event_window=0805"]["rows"] == 2

    def hook(name: str) -> None:
        if name == "erase-switched":
            raise RuntimeError(name)

    sj.set_step_hook(hook)
    try:
        with pytest.raises(RuntimeError):
            erase(str(out), s, "REQ-W")
    finally:
        sj.set_step_hook(None)
    assert any("event_window" in p for p in leftovers(str(out)))
    erase(str(out), s, "REQ-W")
    assert leftovers(str(out)) == [] and verify_manifest(str(window)) == []
    rows = pq.read_table(next(window.glob("*.parquet")), partitioning=None)
    assert rows.column("n").to_pylist() == [3]
    recs = [r for r in read_audit(str(out), SUBJECT_AUDIT) if r["action"] == "erase_rows"]
    assert {r["partition"] for r in recs} == {"event_date=2026-11-20/event_window=0805",
                                              "event_date=2026-11-21"}
    assert next(r for r in recs if "0805" in r["partition"])["event_window"] == "0805"
    assert not (out / "crm" / "event_date=2026-11-21").exists()
