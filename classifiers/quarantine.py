"""Scrubbing a record that could not be parsed, before it is kept in the quarantine table.

The raw text is never kept: the detectors scrub it as free text, then (fail closed, since
the record's structure is unknown) every remaining JSON string value, or every CSV cell, is
replaced by its hash token, keeping keys and punctuation for debugging.
"""

from __future__ import annotations

import re

from telescrub.core.actions import TextEngine
from telescrub.core.keys import HashKey
from telescrub.core.records import BadRecord, ScrubbedRecord
from telescrub.core.report import QUARANTINE_TABLE

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KEY_AFTER = re.compile(r"\s*:")
_CELL = re.compile(r"[^,;\t|]+")
_SAFE_CELL = re.compile(r"\s*(-?\d{1,2}(\.\d+)?|true|false|null|none|nan)?\s*", re.I)


def strict_scrub(text: str, key: HashKey) -> str:
    """Hash every string literal (JSON-ish text) or every cell (delimited text) that is not a
    key, a small number or an already scrubbed value."""
    def tok(m: re.Match[str]) -> str:
        v = m.group(1)
        if _KEY_AFTER.match(text, m.end()) or _SAFE_CELL.fullmatch(v) \
                or v.startswith(("h1:", "<")):
            return m.group(0)  # a key, a small number or an already scrubbed value
        return f'"{key.token(v)}"'

    if '"' in text and ("{" in text or ":" in text):
        # string literals paired left to right; a trailing unterminated one is hashed too
        out = _QUOTED.sub(tok, text)
        tail = re.search(r'"([^"]*)$', out) if out.count('"') % 2 else None
        if tail and tail.group(1) and not tail.group(1).startswith(("h1:", "<")):
            out = out[: tail.start(1)] + key.token(tail.group(1))
        return out

    def cell(m: re.Match[str]) -> str:
        c = m.group(0)
        if _SAFE_CELL.fullmatch(c) or c.strip().startswith(("h1:", "<")):
            return c
        return key.token(c.strip())

    return _CELL.sub(cell, text)


def quarantine_row(bad: BadRecord, scrubber: TextEngine, key: HashKey) -> ScrubbedRecord:
    """The quarantine table's row for a bad record: table, reason, detail, scrubbed text."""
    scrubbed, _ = scrubber.scrub(bad.text)
    return ScrubbedRecord(QUARANTINE_TABLE, bad.source, bad.line, None, {
        "table": bad.table, "reason": bad.reason, "detail": bad.detail,
        "text_scrubbed": strict_scrub(scrubbed, key)})
