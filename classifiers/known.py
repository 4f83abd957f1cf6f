"""Known identifiers: a value classified as an identifier in one field is scrubbed wherever
it appears verbatim in the same run.

Structured columns tell us, with high confidence, which strings are people's names, user names
and computer names (``contact.displayName``, ``firstName``, a syslog ``host`` field). Free text
of the same run often repeats them (a chat roster's names in chat messages, a host name in a
``Component`` column) where no pattern could recognise them. In batch mode ``Scrub`` collects
those values (``known_values``) and hands them to every worker, which replaces whole-token
occurrences in scrubbed text and guarded columns with the same hash token the column got —
so the text stays joinable with the column.

Safety against over-redaction: only names, user names and host names are propagated, parts of
names only when they are at least 3 characters, capitalised and not English words, and every
value must be at least 3 characters and not a common word or a number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from telescrub.core import entities
from telescrub.core.decisions import Decisions, FieldDecision
from telescrub.core.records import Record

#: field role -> entity propagated from it (the column's own entity wins when it has one)
PROPAGATED_ROLES = {"person_name": entities.PERSON, "username": entities.USERNAME,
                    "host": entities.HOSTNAME}
PROPAGATED_ENTITIES = frozenset({entities.PERSON, entities.USERNAME, entities.HOSTNAME,
                                 entities.COMPUTER_NAME})
MAX_TOKENS = 4
_TOKEN = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
_NUMBERISH = re.compile(r"[\d\W_]+")
_CASE_FOLDED = frozenset({entities.HOSTNAME, entities.USERNAME, entities.COMPUTER_NAME})


def _is_word(token: str) -> bool:
    from telescrub.classifiers.detectors.person_name import (
        ABSENT,
        PLAIN,
        STOP,
        english_words,
        gazetteers,
    )

    low = token.casefold()
    if low in STOP or low in english_words():
        return True
    first, last = gazetteers()
    return max(first.get(low, ABSENT), last.get(low, ABSENT)) > PLAIN


def propagatable(entity: str, value: str) -> Iterator[tuple[str, str]]:
    """(entity, value) pairs worth propagating from one column value."""
    v = value.strip()
    if len(v) < 3 or _NUMBERISH.fullmatch(v) or v.startswith(("h1:", "<")):
        return
    tokens = _TOKEN.findall(v)
    if not tokens or len(tokens) > MAX_TOKENS:
        return
    if len(tokens) == 1 and _is_word(tokens[0]):
        return
    yield entity, v
    if entity == entities.PERSON and len(tokens) > 1:
        for t in tokens:
            if len(t) >= 3 and t[0].isupper() and not _is_word(t):
                yield entity, t


class KnownValues:
    """Whole-token lookup of known identifier strings in a text, longest match first."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.exact: dict[tuple[str, ...], tuple[str, str]] = {}
        self.folded: dict[tuple[str, ...], tuple[str, str]] = {}
        self.max_n = 0
        self._firsts: Any = None  # the first tokens' automaton, built on first use
        for entity, value in items:
            toks = tuple(_TOKEN.findall(value))
            if not toks or len(toks) > MAX_TOKENS:
                continue
            self.max_n = max(self.max_n, len(toks))
            if entity in _CASE_FOLDED:
                self.folded.setdefault(tuple(t.casefold() for t in toks), (entity, value))
            else:
                self.exact.setdefault(toks, (entity, value))

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def _may_hold(self, text: str) -> bool:
        """False when no known value can be in ``text``: none of their first tokens occurs in
        it, case-folded (one Aho-Corasick pass in Rust instead of tokenising every text; a
        value's tokens occur in the text, and case-folding is per character). Without
        ``ahocorasick_rs`` every text is tokenised, as before."""
        if self._firsts is None:
            firsts = sorted({k[0].casefold() for k in (*self.exact, *self.folded)})
            try:
                import ahocorasick_rs
            except ImportError:  # pragma: no cover - the dependency is pinned
                self._firsts = False
            else:
                self._firsts = ahocorasick_rs.AhoCorasick(firsts) if firsts else False
        if self._firsts is False:
            return True
        return bool(self._firsts.find_matches_as_indexes(text.casefold()))

    def find(self, text: str) -> list[tuple[int, int, str, str]]:
        """[(start, end, entity, canonical value)] of known values in ``text``."""
        if not self.max_n or not text or not self._may_hold(text):
            return []
        toks = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
        out: list[tuple[int, int, str, str]] = []
        i = 0
        while i < len(toks):
            hit = None
            for n in range(min(self.max_n, len(toks) - i), 0, -1):
                window = toks[i:i + n]
                # tokens of one value must be separated by spaces / punctuation only
                key = tuple(t[2] for t in window)
                found = self.exact.get(key) or self.folded.get(tuple(k.casefold() for k in key))
                if found is not None:
                    hit = (window[0][0], window[-1][1], found[0], found[1])
                    i += n
                    break
            if hit is None:
                i += 1
            else:
                out.append(hit)
        return out

    def replace(self, text: str, token_for: Any) -> tuple[str, list[str]]:
        """Replace each known value by ``token_for(entity, value)``; (new text, entities)."""
        spans = self.find(text)
        if not spans:
            return text, []
        parts, pos, ents = [], 0, []
        for start, end, entity, value in spans:
            parts.append(text[pos:start])
            parts.append(token_for(entity, value))
            pos = end
            ents.append(entity)
        parts.append(text[pos:])
        return "".join(parts), ents


def propagated_entity(d: FieldDecision | None) -> str | None:
    """The entity a column's values are propagated as (its own entity, or its role's), or
    None for a column whose values are not propagated (kept, dropped, not a name/user/host)."""
    if d is None or d.action in ("keep", "drop"):
        return None
    return d.entity if d.entity in PROPAGATED_ENTITIES else PROPAGATED_ROLES.get(d.role or "")


def known_items(rec: Record, decide: Callable[[str], FieldDecision | None],
                ) -> Iterator[tuple[tuple[str, str], str]]:
    """(entity, identifier) pairs of this record's name / user / host columns, each with the
    column value it came from; ``decide`` gives a path's decision (None: not decided)."""
    for path, value in rec.fields.items():
        entity = propagated_entity(decide(path))
        if entity is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                for item in propagatable(entity, v):
                    yield item, v


def known_values(rec: Record, decisions: Decisions) -> Iterator[tuple[str, str]]:
    """The identifier strings of one record's name / user / host columns: what the run (or,
    where there is no whole run to wait for, the record itself) propagates into free text."""
    if decisions.table(rec.table) is None:
        return
    yield from (item for item, _ in known_items(
        rec, lambda path: decisions.field(rec.table, path)))


def needs_known(fields: Iterable[FieldDecision]) -> bool:
    """Does a table with these decisions have a column whose values are propagated?"""
    return any(propagated_entity(d) is not None for d in fields)


def known_values_of_block(table: str, data: Any, decisions: Decisions,
                          ) -> Iterator[tuple[str, str]]:
    """``known_values`` of every record of a columnar block at once: the distinct strings of
    its name / user / host columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if decisions.table(table) is None:
        return
    for path in data.column_names:
        entity = propagated_entity(decisions.field(table, path))
        if entity is None:
            continue
        col = data.column(path).combine_chunks()
        if pa.types.is_list(col.type):
            col = col.flatten()
        if not pa.types.is_string(col.type):
            continue
        for v in pc.unique(pc.drop_null(col)).to_pylist():
            yield from propagatable(entity, v)
