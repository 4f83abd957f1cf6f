"""One multi-pattern scan over many texts: which detectors (and which of their patterns) can
match a text at all, before any Python regex runs.

Free text used to cost one prefilter ``search`` per detector and one ``finditer`` per pattern
of every detector whose loose prefilter passed (a digit pair passes the phone prefilter; most
log lines hold one). Here every detector's declarations are turned into *superset*
expressions — each of a pure pattern detector's ``PATTERNS``; the ``PREFILTER`` and the
``SCAN_REQUIRES`` of a detector with its own ``analyze`` — and compiled once per process into
Hyperscan databases (block mode, one match per expression). One scan of a text names the
expressions that match anywhere in it; only those detectors, and only those of their
patterns, then run in Python with the detectors' own code (validation, checksums, context,
scores). So the results are those of running every detector on the text
(``tests/unit/test_scan.py`` checks it on the shipped and shared corpora), and detectors added
to the registry later are scanned without any edit here.

**Superset translation** (:func:`superset`). Each regex is rewritten so that it matches
wherever the original could match (it may match more; never less), on the text's UTF-8
bytes (``surrogatepass``):

* zero-width assertions (``\\b``, ``\\K``, look-arounds; ``^``/``$`` under MULTILINE) are
  dropped, except at the ends of a top-level alternative: there a positive look-behind
  (look-ahead) becomes part of the match, and one negative look-behind (look-ahead) of a
  single character consumes one character outside that class (or matches at the text's
  start / end); without MULTILINE ``^`` and ``$`` are kept (they mean the same to Hyperscan);
* a back-reference becomes a copy of its group; possessive and lazy quantifiers become
  plain ones; a bounded repeat over :data:`MAX_BOUNDED` becomes unbounded;
* classes keep their exact ASCII members; a class that could match a non-ASCII character
  (``\\w``, ``\\d``, ``\\s``, ``\\p{..}``, negated classes, ``.``, case-insensitive
  ``i``/``k``/``s``, whose Unicode partners are ``İ``/``K``/``ſ``, any non-ASCII literal under
  ``(?i)``) also matches every non-ASCII byte, one or more of them, and its repeat keeps its
  minimum only;
* an expression longer than Hyperscan takes is cut at its top-level alternatives.

An expression that cannot be translated or compiled, or that matches the empty string, marks
its detector or pattern as always a candidate: never a missed detection, only less saving.

**Engines.** Hyperscan won the comparison in docs/bench.md (one pass over a text for all
expressions, linear time); its compiled databases are cached per user (see below). Without it
(no wheel for the platform) the scan is skipped and every detector runs as before: the same
results, only slower. ``google-re2`` (an ``RE2::Set``) and ``pyarrow.compute`` (one RE2 pass per
expression over a whole column) run the same expressions in ``tools/bench_scan.py``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import regex

log = logging.getLogger("telescrub")

#: a bounded repeat with a larger maximum becomes unbounded (smaller engine, still a superset)
MAX_BOUNDED = 32
#: the bytes of non-ASCII characters in UTF-8 (surrogates encoded with ``surrogatepass`` too)
NONASCII = rb"\x80-\xff"
#: ASCII letters whose case-insensitive match includes a non-ASCII character (regex module)
_FOLD_OUT = frozenset("iskISK")


class Untranslatable(ValueError):
    """The pattern uses syntax the translator does not handle (then: always a candidate)."""


def _hex(c: int) -> bytes:
    """One byte in a regex: letters and digits as themselves (shorter patterns: Hyperscan
    limits their length), anything else escaped."""
    if 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122:
        return bytes((c,))
    return b"\\x%02x" % c


def _class_bytes(members: Sequence[bool], nonascii: bool) -> tuple[bytes, bool]:
    """A byte-level class for ASCII ``members`` (+ the bytes of any non-ASCII character), and
    whether it is such a *multi-byte* class: one character may be several of its bytes."""
    ranges: list[bytes] = []
    c = 0
    while c < 128:
        if not members[c]:
            c += 1
            continue
        d = c
        while d + 1 < 128 and members[d + 1]:
            d += 1
        ranges.append(_hex(c) if c == d else _hex(c) + b"-" + _hex(d))
        c = d + 1
    if not ranges:
        nonascii = True  # (an empty class: taken as any non-ASCII character)
    return b"[" + b"".join(ranges) + (NONASCII if nonascii else b"") + b"]", nonascii


_ASCII_CACHE: dict[tuple[str, bool], tuple[bool, ...]] = {}


def _ascii_members(escape: str, ignorecase: bool) -> tuple[bool, ...]:
    """The ASCII characters an escape (``\\w``, ``\\p{Lu}``...) matches, by asking ``regex``."""
    key = (escape, ignorecase)
    hit = _ASCII_CACHE.get(key)
    if hit is None:
        try:
            rx = regex.compile(f"[{escape}]", regex.IGNORECASE if ignorecase else 0)
        except regex.error as e:
            raise Untranslatable(f"escape {escape!r}") from e
        hit = _ASCII_CACHE[key] = tuple(rx.fullmatch(chr(c)) is not None for c in range(128))
    return hit


#: one character: a class, an escape or a literal (the body of a one-character look-around)
_ONE_CHAR = regex.compile(r"\[\^?\]?(?:\\.|[^\]\\])*\]|\\[wWdDsS]|\\[^\w]|[^\\\[\](){}|*+?.^$]")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "e": "\x1b"}


@dataclass
class _Item:
    text: bytes
    #: plain | zero (a dropped assertion) | ahead, behind (positive look-arounds: their
    #: pattern) | nahead, nbehind (negative look-arounds of one character: the bytes of the
    #: complement class)
    kind: str = "plain"
    multi: bool = False  # a class that may need several bytes for one character


def _plain(translated: tuple[bytes, bool]) -> _Item:
    return _Item(translated[0], multi=translated[1])


def _repeat(lo: int, hi: int | None) -> bytes:
    if hi is None:
        return b"*" if lo == 0 else b"+" if lo == 1 else b"{%d,}" % lo
    if (lo, hi) == (0, 1):
        return b"?"
    return b"{%d}" % lo if lo == hi else b"{%d,%d}" % (lo, hi)


class _Translator:
    def __init__(self, pattern: str, ignorecase: bool, multiline: bool = True) -> None:
        self.p = pattern
        self.i = 0
        self.ic = ignorecase
        #: without MULTILINE, ^ and $ are kept (they mean the same to Hyperscan)
        self.anchors = not multiline and "(?m" not in pattern
        self.groups: dict[int, bytes] = {}
        self.names: dict[str, int] = {}
        self.ngroups = 0
        if "(?x" in pattern or "(?(" in pattern:
            raise Untranslatable("verbose mode or conditional")
        # a global inline flag anywhere applies to the whole pattern (regex V0)
        for m in regex.finditer(r"\(\?([a-zA-Z]+)\)", pattern):
            if "i" in m.group(1):
                self.ic = True

    # ------------------------------------------------------------------ structure
    def translate(self) -> list[bytes]:
        """The translated top-level alternatives."""
        alts = self._branches(top=True)
        if self.i != len(self.p):
            raise Untranslatable(f"unbalanced ')' at {self.i}")
        return alts

    def _alternatives(self, top: bool = False) -> bytes:
        return b"|".join(self._branches(top))

    def _branches(self, top: bool = False) -> list[bytes]:
        branches = [self._sequence()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self._sequence())
        return [self._join(b, top) for b in branches]

    def _join(self, items: list[_Item], top: bool) -> bytes:
        if not top:
            return b"".join(it.text if it.kind == "plain" else b"" for it in items)
        # inline positive look-behinds at the start and look-aheads at the end; else, one
        # negative look-behind (look-ahead) of one character there consumes that character
        lead = 0
        while lead < len(items) and items[lead].kind != "plain":
            lead += 1
        trail = len(items)
        while trail > lead and items[trail - 1].kind != "plain":
            trail -= 1
        behind = any(it.kind == "behind" for it in items[:lead])
        ahead = any(it.kind == "ahead" for it in items[trail:])
        nbehind = next((k for k in range(lead) if items[k].kind == "nbehind"), -1)
        nahead = next((k for k in range(len(items) - 1, trail - 1, -1)
                       if items[k].kind == "nahead"), -1)
        parts: list[bytes] = []
        for k, it in enumerate(items):
            if it.kind == "plain":
                parts.append(it.text)
            elif (it.kind == "behind" and k < lead) or (it.kind == "ahead" and k >= trail):
                parts.append(b"(?:" + it.text + b")")
            elif k == nbehind and not behind:
                parts.append(b"(?:^|" + it.text + b")")
            elif k == nahead and not ahead:
                parts.append(b"(?:" + it.text + b"|$)")
        return b"".join(parts)

    def _sequence(self) -> list[_Item]:
        items: list[_Item] = []
        p = self.p
        while self.i < len(p) and p[self.i] not in "|)":
            item = self._atom()
            if item is None:
                continue
            q = self._quantifier()
            if item.kind != "plain":
                if q is None:
                    items.append(item)
                else:  # a repeated assertion is still only an assertion (maybe none at all)
                    items.append(_Item(b"", "zero"))
                continue
            if item.multi:
                # one character may be several bytes: the count of bytes has the same lower
                # bound and no upper one
                lo = 1 if q is None else q[0]
                item = _Item(item.text + _repeat(lo, None))
            elif q is not None:
                item = _Item(b"(?:" + item.text + b")" + _repeat(*q))
            items.append(item)
        return items

    def _quantifier(self) -> tuple[int, int | None] | None:
        p = self.p
        if self.i >= len(p):
            return None
        c = p[self.i]
        if c in "*+?":
            self.i += 1
            q: tuple[int, int | None] = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{":
            m = regex.compile(r"\{(\d*)(?:(,)(\d*))?\}").match(p, self.i)
            if m is None or (not m.group(1) and not m.group(3) and m.group(2)) or (
                    not m.group(1) and not m.group(2)):
                return None  # a literal '{'
            self.i = m.end()
            lo = int(m.group(1) or 0)
            hi = None if m.group(2) and not m.group(3) else int(m.group(3) or m.group(1))
            if hi is not None and hi > MAX_BOUNDED:
                hi = None
            q = (min(lo, MAX_BOUNDED), hi)
        else:
            return None
        if self.i < len(p) and p[self.i] in "?+":  # lazy / possessive: same matches or fewer
            self.i += 1
        return q

    def _atom(self) -> _Item | None:
        p = self.p
        c = p[self.i]
        if c == "(":
            return self._group()
        if c == "[":
            return _plain(self._class())
        if c == "\\":
            return self._escape()
        self.i += 1
        if c in "^$":
            # without MULTILINE they mean what they mean to Hyperscan: kept; with it, dropped
            return _Item(c.encode()) if self.anchors else _Item(b"", "zero")
        if c == ".":
            return _plain(_class_bytes([True] * 128, True))
        return _plain(self._literal(c))

    def _group(self) -> _Item | None:
        p = self.p
        self.i += 1
        kind = "plain"
        capture = False
        name = None
        saved_ic = self.ic
        if p.startswith("?", self.i):
            m = regex.compile(r"\?(?:P?<(?P<name>\w+)>|(?P<look><=|<!|=|!)|(?P<flags>[a-zA-Z-]*)(?P<end>[:)])|(?P<atomic>>)|(?P<comment>#[^)]*\)))").match(p, self.i)
            if m is None:
                raise Untranslatable(f"group syntax at {self.i}")
            self.i = m.end()
            if m.group("comment"):
                return None
            if m.group("name"):
                capture, name = True, m.group("name")
            elif m.group("look"):
                kind = {"<=": "behind", "=": "ahead"}.get(m.group("look"), "zero")
            elif m.group("end") == ")":  # (?i) — handled globally in __init__
                return None
            elif m.group("flags") is not None and m.group("end") == ":":
                on, _, off = m.group("flags").partition("-")
                if "x" in on:
                    raise Untranslatable("verbose group")
                if "i" in on:
                    self.ic = True
                # '(?-i:...)' keeps the outer case-insensitivity: a superset either way
        else:
            capture = True
        if capture:
            self.ngroups += 1
            number = self.ngroups
            if name:
                self.names[name] = number
        inner_start = self.i
        inner = self._alternatives()
        if self.i >= len(p) or p[self.i] != ")":
            raise Untranslatable("missing ')'")
        self.i += 1
        if capture:
            self.groups[number] = inner
        if kind == "zero":
            raw = p[inner_start:self.i - 1]
            negated = self._one_char_complement(raw) if m.group("look") else None
            self.ic = saved_ic
            if negated is not None:
                return _Item(negated, "nbehind" if m.group("look") == "<!" else "nahead")
            return _Item(b"", "zero")
        self.ic = saved_ic
        return _Item(b"(?:" + inner + b")", kind)

    def _one_char_complement(self, raw: str) -> bytes | None:
        """The bytes a negative look-around of one character (``[\\w.-]``, ``\\d``, ``x``)
        lets through, as a one-byte class (the last byte of a non-ASCII character always
        passes), or None for anything longer."""
        if not _ONE_CHAR.fullmatch(raw):
            return None
        if raw.startswith("["):
            cls = raw
        elif raw.startswith("\\") or raw.isalnum():
            cls = f"[{raw}]"
        else:
            cls = f"[\\{raw}]"
        try:
            sub = _Translator(cls, self.ic)
            members, _ = sub._class_members()
        except (Untranslatable, IndexError):
            return None
        if sub.i != len(cls):
            return None
        return _class_bytes([not x for x in members], True)[0]

    def _backref(self, number: int) -> _Item:
        if number not in self.groups:
            raise Untranslatable(f"back-reference to an open or unknown group {number}")
        return _Item(b"(?:" + self.groups[number] + b")")

    def _escape(self) -> _Item | None:
        p = self.p
        if self.i + 1 >= len(p):
            raise Untranslatable("trailing backslash")
        c = p[self.i + 1]
        self.i += 2
        if c in "bBAZzGK":
            return _Item(b"", "zero")
        if c in "dwsDWS":
            return _plain(self._escape_class("\\" + c))
        if c in "pP":
            esc = self._property(c)
            return _plain(self._escape_class(esc))
        if c.isdigit() and c != "0":
            digits = c
            while self.i < len(p) and p[self.i].isdigit() and len(digits) < 2:
                digits += p[self.i]
                self.i += 1
            return self._backref(int(digits))
        return _plain(self._literal(self._escaped_char(c)))

    def _property(self, c: str) -> str:
        p = self.p
        if p.startswith("{", self.i):
            end = p.find("}", self.i)
            if end < 0:
                raise Untranslatable("bad property")
            esc = f"\\{c}{p[self.i:end + 1]}"
            self.i = end + 1
        else:
            esc = f"\\{c}{p[self.i]}"
            self.i += 1
        return esc

    def _escaped_char(self, c: str) -> str:
        """The character of a one-character escape (``\\n``, ``\\x41``, ``\\.``)."""
        p = self.p
        if c in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[c]
        if c == "0":
            digits = ""
            while self.i < len(p) and p[self.i] in "01234567" and len(digits) < 2:
                digits += p[self.i]
                self.i += 1
            return chr(int(digits or "0", 8))
        width = {"x": 2, "u": 4, "U": 8}.get(c)
        if width:
            if c == "x" and p.startswith("{", self.i):
                end = p.index("}", self.i)
                value, self.i = p[self.i + 1:end], end + 1
            else:
                value, self.i = p[self.i:self.i + width], self.i + width
            try:
                return chr(int(value, 16))
            except ValueError as e:
                raise Untranslatable("bad hex escape") from e
        if c == "N":
            raise Untranslatable("named character")
        if c.isalnum():
            raise Untranslatable(f"unknown escape \\{c}")
        return c

    def _escape_class(self, esc: str) -> tuple[bytes, bool]:
        members = _ascii_members(esc, self.ic)
        return _class_bytes(members, True)

    def _literal(self, ch: str) -> tuple[bytes, bool]:
        o = ord(ch)
        if o >= 128:
            if self.ic:
                return _class_bytes([False] * 128, True)
            return b"(?:" + b"".join(_hex(b) for b in ch.encode("utf-8", "surrogatepass")) + b")", False
        if self.ic and ch.isalpha():
            members = [False] * 128
            members[ord(ch.lower())] = members[ord(ch.upper())] = True
            return _class_bytes(members, ch in _FOLD_OUT)
        return _hex(o), False

    def _class(self) -> tuple[bytes, bool]:
        return _class_bytes(*self._class_members())

    def _class_members(self) -> tuple[list[bool], bool]:
        """The ASCII members of the class at ``self.i`` and whether it may match a non-ASCII
        character."""
        p = self.p
        self.i += 1
        negate = p.startswith("^", self.i)
        if negate:
            self.i += 1
        members = [False] * 128
        nonascii = False
        first = True
        while True:
            if self.i >= len(p):
                raise Untranslatable("unterminated class")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" and p.startswith("[:", self.i):
                raise Untranslatable("POSIX class")
            if c == "\\":
                e = p[self.i + 1]
                self.i += 2
                if e in "dwsDWS" or e in "pP":
                    esc = "\\" + e if e not in "pP" else self._property(e)
                    for k, m in enumerate(_ascii_members(esc, self.ic)):
                        members[k] = members[k] or m
                    nonascii = True
                    continue
                if e in "bB":
                    lo_ch = "\b" if e == "b" else None
                    if lo_ch is None:
                        raise Untranslatable("\\B in class")
                else:
                    lo_ch = self._escaped_char(e)
            else:
                lo_ch = c
                self.i += 1
            hi_ch = lo_ch
            if (self.i + 1 < len(p) and p[self.i] == "-" and p[self.i + 1] != "]"):
                self.i += 1
                d = p[self.i]
                if d == "\\":
                    e = p[self.i + 1]
                    self.i += 2
                    if e in "dwsDWSpP":
                        raise Untranslatable("class escape as a range end")
                    hi_ch = self._escaped_char(e)
                else:
                    hi_ch = d
                    self.i += 1
            lo, hi = ord(lo_ch), ord(hi_ch)
            if hi >= 128:
                nonascii = True
            for k in range(lo, min(hi, 127) + 1):
                members[k] = True
                ch = chr(k)
                if self.ic and ch.isalpha():
                    members[ord(ch.lower())] = members[ord(ch.upper())] = True
                    if ch in _FOLD_OUT:
                        nonascii = True
        if negate:
            members = [not m for m in members]
            nonascii = True
        return members, nonascii


def superset(pattern: str, ignorecase: bool = False, multiline: bool = True) -> bytes:
    """A byte-level regex (for UTF-8 text) matching wherever ``pattern`` can match.

    Raises :class:`Untranslatable` for syntax outside what the detectors use."""
    return b"|".join(_Translator(pattern, ignorecase, multiline).translate())


#: Hyperscan refuses longer expressions: a longer superset is cut into several (at its
#: top-level alternatives), any of which matching counts as the whole matching
MAX_EXPRESSION_BYTES = 8000


def superset_parts(pattern: str, ignorecase: bool = False, multiline: bool = True,
                   ) -> list[bytes]:
    """:func:`superset` as one or more expressions of at most ~``MAX_EXPRESSION_BYTES``."""
    parts: list[bytes] = []
    for branch in _Translator(pattern, ignorecase, multiline).translate():
        if parts and len(parts[-1]) + len(branch) + 1 <= MAX_EXPRESSION_BYTES:
            parts[-1] += b"|" + branch
        else:
            parts.append(branch)
    return parts


# ----------------------------------------------------------------------------- the scanner


@dataclass(frozen=True)
class Expression:
    """One scanned expression: detector index, pattern index (-1: the prefilter), regex."""

    detector: int
    pattern: int
    source: bytes | None  # None: not translatable (always a candidate)


def pattern_gated(det: Any) -> bool:
    """True when the detector's results come only from its ``PATTERNS`` (so a pattern that
    cannot match contributes nothing): the default ``analyze``, or a detector that says so
    (``CANDIDATES_FROM_PATTERNS``)."""
    from presidio_analyzer import PatternRecognizer

    declared = getattr(det, "CANDIDATES_FROM_PATTERNS", None)
    if declared is not None:
        return bool(declared)
    return type(det).analyze is PatternRecognizer.analyze


def expressions(detectors: Sequence[Any]) -> list[Expression]:
    """The superset expressions the scan runs: each of a pattern-gated detector's patterns
    (its prefilter is then checked in Python, only for a candidate); for any other detector
    its prefilter and its ``SCAN_REQUIRES`` (``pattern`` -1, -2, ...: all must match)."""
    out: list[Expression] = []
    for di, d in enumerate(detectors):
        ic = bool(d.global_regex_flags & regex.IGNORECASE)
        ml = bool(d.global_regex_flags & regex.MULTILINE)
        if pattern_gated(d):
            for pi, pat in enumerate(d.patterns):
                out.extend(Expression(di, pi, src) for src in _translate(pat.regex, ic, ml))
            continue
        # prefilters are compiled with re and no flags, as are the scan-only conditions
        needs = ([d.PREFILTER] if d.PREFILTER else []) + list(getattr(d, "SCAN_REQUIRES", ()))
        for k, rx in enumerate(needs):
            out.extend(Expression(di, -1 - k, src) for src in _translate(rx, False, False))
    return out


def _translate(pattern: str, ignorecase: bool, multiline: bool) -> list[bytes | None]:
    try:
        return list(superset_parts(pattern, ignorecase, multiline))
    except (Untranslatable, IndexError, ValueError):
        return [None]


#: what a scan says about one detector: None = it cannot match the text; () = run it whole;
#: (i, ...) = run only these of its patterns
Plan = tuple[int, ...] | None
#: expressions are compiled into this many databases: one database of ~100 expressions takes
#: Hyperscan 2-4 s to compile, four of ~25 about 1 s (a scan is then four calls per text)
GROUPS = 2


class Scanner:
    """Candidate detectors and patterns of texts, from one Hyperscan pass per text."""

    def __init__(self, detectors: Sequence[Any]) -> None:
        self.detectors = list(detectors)
        self.exprs = expressions(self.detectors)
        self.engine = "none"
        self._lock = threading.Lock()
        self._dbs: list[tuple[Any, Any]] = []  # (database, scratch)
        n = len(self.detectors)
        self._gated = [pattern_gated(d) for d in self.detectors]
        #: pattern-gated detectors with their own analyze run whole when any pattern can match
        from presidio_analyzer import PatternRecognizer

        self._whole = [type(d).analyze is not PatternRecognizer.analyze for d in self.detectors]
        #: per detector that is not pattern-gated: how many necessary expressions it has
        self._needs = [len({e.pattern for e in self.exprs if e.detector == di and e.pattern < 0})
                       for di in range(n)]
        #: detectors no expression speaks for (no prefilter, nothing translatable): always run
        spoken = {e.detector for e in self.exprs}
        self._always: set[int] = {k for k, e in enumerate(self.exprs) if e.source is None}
        self._unscanned = [di for di in range(n) if di not in spoken]
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - the dependency is pinned
            log.debug("hyperscan is not installed: every detector runs on every text")
            self.available = False
            return
        ids = [k for k in range(len(self.exprs)) if k not in self._always]
        for g in range(GROUPS):
            group = ids[g::GROUPS]
            if group:
                self._compile(hyperscan, group)
        self.available = True
        self.engine = "hyperscan"

    def _compile(self, hs: Any, ids: list[int]) -> None:
        """One database for ``ids`` (from the compile cache when it has it); an expression
        Hyperscan rejects (or that matches the empty string) is left out and becomes always a
        candidate."""
        srcs = [self.exprs[k].source for k in ids]
        flags = hs.HS_FLAG_SINGLEMATCH
        cached = _cache_load(hs, ids, srcs)
        if cached is not None:
            db, always = cached
            self._always.update(always)
            if db is not None:
                self._dbs.append((db, hs.Scratch(db)))
            return
        before = set(self._always)
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        try:
            db.compile(expressions=srcs, ids=ids, elements=len(ids), flags=flags)
        except hs.HyperscanError:
            good = []
            for k in ids:
                one = hs.Database(mode=hs.HS_MODE_BLOCK)
                try:
                    one.compile(expressions=[self.exprs[k].source], ids=[k], elements=1,
                                flags=flags)
                except hs.HyperscanError:
                    self._always.add(k)
                else:
                    good.append(k)
            if not good:
                _cache_save(hs, ids, srcs, None, self._always - before)
                return
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(expressions=[self.exprs[k].source for k in good], ids=good,
                       elements=len(good), flags=flags)
        _cache_save(hs, ids, srcs, db, self._always - before)
        self._dbs.append((db, hs.Scratch(db)))

    def hits(self, text: str) -> set[int]:
        """Indices (into ``exprs``) of the expressions that may match in ``text``."""
        found: set[int] = set(self._always)
        add = found.add

        def on_match(eid: int, _s: int, _e: int, _f: int, _c: Any) -> None:
            add(eid)

        data = text.encode("utf-8", "surrogatepass")
        with self._lock:
            for db, scratch in self._dbs:
                db.scan(data, match_event_handler=on_match, scratch=scratch)
        return found

    def plans(self, text: str) -> list[Plan]:
        """Per detector: None (it cannot match ``text``), () (run it whole) or the indices of
        the only patterns that can match."""
        n = len(self.detectors)
        if not self.available:
            return [() for _ in range(n)]
        out: list[Plan] = [None] * n
        pats: dict[int, list[int]] = {}
        met: dict[int, set[int]] = {}
        for k in self.hits(text):
            e = self.exprs[k]
            if e.pattern < 0:
                met.setdefault(e.detector, set()).add(e.pattern)
            else:
                pats.setdefault(e.detector, []).append(e.pattern)
        for di, slots in met.items():
            if len(slots) == self._needs[di]:
                out[di] = ()
        for di, found in pats.items():
            out[di] = () if self._whole[di] else tuple(sorted(set(found)))
        for di in self._unscanned:
            out[di] = ()
        return out

    def plans_many(self, texts: Sequence[str]) -> list[list[Plan]]:
        """``plans`` of many texts (a column's distinct values)."""
        return [self.plans(t) for t in texts]


# --------------------------------------------------------------------------- compile cache
#
# Compiling the databases takes Hyperscan 1-3 CPU-seconds, in every worker process. Their
# serialized form is kept in a per-user cache directory (``$TELESCRUB_SCAN_CACHE``, else
# ``$XDG_CACHE_HOME/telescrub`` or ``~/.cache/telescrub``; ``TELESCRUB_SCAN_CACHE=off``: no
# cache), named by a digest of everything the database depends on (the expressions and their
# ids, the flags, the Hyperscan version, the machine). A file whose content digest does not
# match, or that Hyperscan refuses, is ignored and rewritten. It holds regexes, never data.


def _cache_dir() -> str | None:
    where = os.environ.get("TELESCRUB_SCAN_CACHE", "")
    if where.lower() in ("off", "0", "no", "false"):
        return None
    if not where:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        where = os.path.join(base, "telescrub")
    return where


def _cache_path(hs: Any, ids: list[int], srcs: list[Any]) -> str | None:
    where = _cache_dir()
    if where is None:
        return None
    h = hashlib.sha256()
    for part in (hs.__version__, platform.machine(), platform.system(), "block/singlematch/1",
                 repr(ids)):
        h.update(part.encode() + b"\0")
    for src in srcs:
        h.update(src + b"\0")
    return os.path.join(where, f"scan-{h.hexdigest()[:40]}.hsdb")


def _cache_load(hs: Any, ids: list[int], srcs: list[Any]) -> tuple[Any, set[int]] | None:
    """(database or None, expressions left out) from the cache, or None."""
    path = _cache_path(hs, ids, srcs)
    if path is None or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
        digest, header, body = blob[:32], blob[32:36], blob[36:]
        if hashlib.sha256(blob[32:]).digest() != digest:
            return None
        n = int.from_bytes(header, "big")
        always = {int.from_bytes(body[4 * i:4 * i + 4], "big") for i in range(n)}
        body = body[4 * n:]
        db = hs._hs_ext.loadb(body, hs.HS_MODE_BLOCK) if body else None
    except Exception:  # noqa: BLE001 - any problem: compile instead
        log.debug("scan cache %s unusable: compiling", path)
        return None
    return db, always


def _cache_save(hs: Any, ids: list[int], srcs: list[Any], db: Any, always: set[int]) -> None:
    path = _cache_path(hs, ids, srcs)
    if path is None:
        return
    try:
        body = b"".join(k.to_bytes(4, "big") for k in sorted(always))
        body = len(always).to_bytes(4, "big") + body
        if db is not None:
            body += hs._hs_ext.dumpb(db)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".scan-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(hashlib.sha256(body).digest() + body)
        os.replace(tmp, path)
    except OSError:
        log.debug("scan cache not written (%s)", path)


_SCANNERS: dict[tuple[str, ...], Scanner] = {}
_SCANNERS_LOCK = threading.Lock()


def scanner_for(detectors: Sequence[Any]) -> Scanner:
    """One scanner per process for a list of detector classes (built on first use): plans
    refer to detectors by their position, and detector classes keep their patterns."""
    key = tuple(f"{type(d).__module__}.{type(d).__qualname__}" for d in detectors)
    with _SCANNERS_LOCK:
        sc = _SCANNERS.get(key)
        if sc is None:
            sc = _SCANNERS[key] = Scanner(detectors)
        return sc
