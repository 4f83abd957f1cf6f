"""Audit logs and the record of an action in flight (a purge, a subject erasure).

``<out>/_audit/<name>``: ``purge.jsonl`` (retention, ``telescrub purge``) and ``subject.jsonl``
(data-subject erasures, ``telescrub subject erase``). One JSON object per line (appended
locally, fsynced; replaced whole with a compare-and-swap in a bucket), each with a unique
``action_id``; an action is logged once; a torn last line is skipped on read.

``<out>/_audit/pending/<action id>.json``: written (create-only) before an action changes
anything visible, removed when it is complete (it names the log its record belongs to). It holds the audit record, the partition, the
files the action adds and the manifest it publishes (None: the partition is deleted). After a
crash the next command that takes the output's lock — any ``telescrub run``, ``purge`` or
``verify`` — finishes it (:func:`complete_pending`): if the manifests show the action happened,
its audit line is appended (if missing) before anything it made unreferenced is removed; if
not, the record is dropped and what it added is unreferenced garbage. So a deletion is in the
audit log before the deleted objects are removed, whenever the process dies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from telescrub.store import fs
from telescrub.store.layout import (
    AUDIT_DIR,
    PURGE_AUDIT,
    SUBJECT_AUDIT,
    data_path,
    pending_dir,
    valid_partition_rel,
)

__all__ = ["AUDIT_DIR", "PURGE_AUDIT", "SUBJECT_AUDIT", "Audit", "audit_path", "read_audit",
           "complete_pending", "write_intent", "intent_path", "pending"]


def audit_path(out: str, name: str = PURGE_AUDIT) -> str:
    if name not in (PURGE_AUDIT, SUBJECT_AUDIT):
        raise ValueError(f"unknown audit log {name!r}")
    return fs.join(out, AUDIT_DIR, name)


def read_audit(out: str, name: str = PURGE_AUDIT) -> list[dict[str, Any]]:
    """The records of ``<out>/_audit/<name>`` (missing log: none; a torn line is skipped)."""
    return fs.read_jsonl(audit_path(out, name))


class Audit:
    """``<out>/_audit/<name>`` (default ``purge.jsonl``)."""

    def __init__(self, out: str, name: str = PURGE_AUDIT) -> None:
        self.out, self.name = out, name
        self.path = audit_path(out, name)
        self.ids: set[str] = {str(r.get("action_id")) for r in self.records()}

    def records(self) -> list[dict[str, Any]]:
        return fs.read_jsonl(self.path)

    def append(self, rec: Mapping[str, Any]) -> None:
        if str(rec.get("action_id")) in self.ids:
            return
        fs.append_lines(self.path, [dict(rec)])
        self.ids.add(str(rec.get("action_id")))


def intent_path(out: str, action_id: str) -> str:
    if not action_id or not all(c in "0123456789abcdef" for c in action_id):
        raise ValueError(f"invalid action id {action_id!r}")
    return fs.join(pending_dir(out), f"{action_id}.json")


def write_intent(out: str, intent: Mapping[str, Any]) -> None:
    fs.write(intent_path(out, str(intent["record"]["action_id"])),
             json.dumps(intent, indent=2, sort_keys=True, default=str) + "\n", fs.CREATE)


def pending(out: str) -> list[tuple[str, dict[str, Any] | None]]:
    """``(path, intent or None when unreadable)`` of every action in flight."""
    out_list = []
    for e in fs.list_tree(pending_dir(out)):
        if e.path.endswith(".json"):
            out_list.append((e.path, fs.read_json(e.path)))
    return out_list


def happened(intent: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether the manifests show the action: a deletion when the partition has no manifest
    any more, a rewrite when its manifest carries the action's id (under ``last_purge``, or the
    key the intent names: ``last_subject_erasure``)."""
    if intent.get("manifest") is None:
        return current is None
    marker = str(intent.get("marker", "last_purge"))
    return current is not None and \
        (current.get(marker) or {}).get("action_id") == intent["record"]["action_id"]


def complete_pending(out: str, current: Callable[[str], Mapping[str, Any] | None],
                     audit: Audit | None = None) -> list[str]:
    """Finish or drop every action in flight (see the module doc); ``current(rel)`` is a
    partition's manifest now (None: no such partition); ``audit``: the purge log to use (a
    subject erasure's records go to its own log). Returns notes for the log."""
    notes = []
    for path, intent in pending(out):
        if intent is None or not isinstance(intent.get("record"), dict):
            fs.delete(path)
            notes.append("removed an unreadable purge record")
            continue
        rec = intent["record"]
        rel = str(intent.get("partition"))
        log_name = str(intent.get("audit", PURGE_AUDIT))
        log = audit if audit is not None and audit.name == log_name else Audit(out, log_name)
        now = current(rel)
        listed = {str(e.get("path")) for e in (now or {}).get("files", [])}
        records = intent.get("records") or [rec]  # an erasure logs one record per file
        erasure = log_name == SUBJECT_AUDIT
        if happened(intent, now):
            for r in records:
                log.append({**r, "recovered": True})  # first the audit lines ...
            gone = [str(e.get("path")) for e in rec.get("files_before", [])]
            if erasure:
                note = (f"finished erasing partition {rel}" if intent.get("manifest") is None
                        else f"finished the erasure rewrite of {rel}")
            else:
                note = f"finished the interrupted purge of {rel} ({rec.get('action')})"
        else:
            gone = [str(e.get("path")) for e in (intent.get("manifest") or {}).get("files", [])]
            note = (f"rolled back an unfinished {'erasure' if erasure else 'purge'} of {rel} "
                    "(nothing had changed)")
        for name in gone:  # ... then the objects no manifest lists any more
            if name not in listed and valid_partition_rel(rel):
                with contextlib.suppress(ValueError):
                    fs.delete(data_path(out, rel, name))
        log.append(recover_record(note, rel, str(rec.get("action_id"))))
        notes.append(note)
        fs.delete(path)
    return notes


def recover_record(what: str, path: str, action_id: str | None) -> dict[str, Any]:
    """The audit line of a recovery (finishing or dropping an interrupted action)."""
    import datetime as dt
    import uuid

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return {"audit_version": 1, "action_id": uuid.uuid4().hex, "action": "recover",
            "at": now.replace("+00:00", "Z"), "dry_run": False, "tool": "telescrub",
            "path": path, "why": what, "of_action_id": action_id, "rows": None}
