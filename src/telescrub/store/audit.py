"""Append-only audit logs of an output directory: ``<out>/_audit/<name>.jsonl``.

One JSON object per line, appended with ``O_APPEND`` and fsynced before the caller goes on
(the caller appends *before* it removes old data, so a crash never loses a record of data
already gone). Records carry an ``action_id``; appending an id that is already in the log is a
no-op, so a recovery that replays a journal logs each action exactly once. A torn last line
(a crash mid-write) is skipped on read and never glued to the next record.

``purge.jsonl`` is the retention log (``telescrub purge``), ``subject.jsonl`` the log of
data-subject erasures (``telescrub subject erase``). File access is kept to the functions
below so that it can move to the store's filesystem interface with the rest.
"""

from __future__ import annotations

import json
import os
from typing import Any

from telescrub.store.fs import read_jsonl
from telescrub.store.layout import AUDIT_DIR, PURGE_AUDIT, SUBJECT_AUDIT

__all__ = ["AUDIT_DIR", "PURGE_AUDIT", "SUBJECT_AUDIT", "Audit", "audit_path", "read_audit"]


def audit_path(out: str, name: str = PURGE_AUDIT) -> str:
    return os.path.join(out, AUDIT_DIR, name)


def read_audit(out: str, name: str = PURGE_AUDIT) -> list[dict[str, Any]]:
    """The records of ``<out>/_audit/<name>`` (missing log: none; a torn line is skipped)."""
    return read_jsonl(audit_path(out, name))


class Audit:
    """``<out>/_audit/<name>`` (default ``purge.jsonl``): one JSON object per line, appended
    and fsynced; an ``action_id`` already logged is not logged again."""

    def __init__(self, out: str, name: str = PURGE_AUDIT) -> None:
        self.out = out
        self.name = name
        self.path = audit_path(out, name)
        self.ids: set[str] = {str(r.get("action_id")) for r in self.records()}

    def records(self) -> list[dict[str, Any]]:
        return read_audit(self.out, self.name)

    def append(self, rec: dict[str, Any]) -> None:
        if str(rec.get("action_id")) in self.ids:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        line = json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:  # a torn last line (crash mid-write) must not swallow this record
                with open(self.path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        line = "\n" + line
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.ids.add(str(rec.get("action_id")))
