"""The actions (DESIGN §3) applied to structured values, one decided field at a time.

``Actor.apply(decision, value)`` returns the new value (or :data:`DROP`) and counts what it
found. Values repeat a lot in telemetry (the same user id, IP, host in thousands of records):
results are cached per (field, value), so each distinct value is detected and hashed once.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from telescrub.core.decisions import FieldDecision
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.core.timeparse import parse_timestamp

DROP = object()
#: entities whose hashed form ignores case (equal identifiers, equal tokens)
CASE_INSENSITIVE = frozenset({"EMAIL_ADDRESS", "UPN", "HOSTNAME", "GUID", "SIP_URI", "IPV6",
                              "MUID", "HEX_ID", "MAC_ADDRESS", "DOMAIN_USER", "WINDOWS_SID",
                              "COMPUTER_NAME"})
#: a computed action: (new value, entity counts found, whether the keep guard changed it)
_Hit = tuple[Any, tuple[tuple[str, int], ...], bool]


def _value_key(v: Any) -> tuple[type, Any]:
    """A dict key that keeps apart values Python calls equal (True/1/1.0, 0.0/-0.0)."""
    return (float, repr(v)) if type(v) is float else (type(v), v)


def looks_like_json(text: str) -> bool:
    """Cheap test before parsing: an object or array from the first to the last character
    (of the stripped text). The actor asks the text engine to scrub a value as a JSON
    document only when this holds (classifiers/embedded.py parses it)."""
    s = text.strip()
    return len(s) >= 2 and ((s[0] == "{" and s[-1] == "}") or (s[0] == "[" and s[-1] == "]"))


def normalise(entity: str | None, value: str) -> str:
    """Canonical form hashed for an entity, so equal identifiers get equal tokens."""
    v = value.strip()
    return v.lower() if entity in CASE_INSENSITIVE else v


#: act(leaf decision, value) -> new value, or DROP to remove the member: how the text engine
#: has the actor act on one member of a JSON document held in a string
ActLeaf = Callable[[FieldDecision, Any], Any]
#: scan(text) -> scrubbed text: free-text scrubbing of a member nothing decides, or of a key
ScanText = Callable[[str], str]


class TextEngine(Protocol):
    """What the actor needs of the in-text scrubber (``telescrub.classifiers.text``): the
    scrubbing of text, and what the field-name rules say of structure held inside values
    (JSON documents in strings, name/value pair arrays), which only the classifiers know."""

    def scrub(self, text: str, exclude: frozenset[str] = ...,
              ) -> tuple[str, tuple[tuple[str, int], ...]]: ...

    def is_exactly(self, entity: str, value: str) -> bool: ...

    def exact_mask(self, entity: str, arr: Any) -> Any | None: ...

    def scrub_json(self, table: str, path: str, text: str, act: ActLeaf, scan: ScanText,
                   ) -> str | None:
        """The JSON document held in ``text`` (under field ``path``) scrubbed member by
        member by the roles of its keys and written back as JSON; None when ``text`` is not
        one."""
        ...

    def label_paths(self, path: str) -> tuple[str, ...]:
        """The paths that may label the values of ``path`` (a name/value pair array's value
        member: ``Parameters[].Value`` -> ``Parameters[].Name``, ...), most specific first;
        () when ``path`` is no such member."""
        ...

    def label_decision(self, table: str, path: str, label: Any) -> FieldDecision | None:
        """The decision for a value of ``path`` labelled ``label`` when the label says what
        it is (``Identity`` -> hashed), else None (the column's own decision applies)."""
        ...


class KnownIndex(Protocol):
    """The run's known identifiers (``telescrub.classifiers.known.KnownValues``)."""

    def __len__(self) -> int: ...

    def replace(self, text: str, token_for: Any) -> tuple[str, list[str]]: ...


class Failed:
    """A value whose action raised (only the exception's type name is kept: never data)."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error
_CACHE_MAX = 200_000

#: entities that a keep-column's own entity makes expected (not re-scrubbed by the guard)
KEEP_FAMILY = {
    "GUID": frozenset({"GUID", "HEX_ID"}),
    "HOSTNAME": frozenset({"HOSTNAME"}),
    "IPV4": frozenset({"IPV4"}),
    "IPV6": frozenset({"IPV6"}),
}


def redact_placeholder(category: str, entity: str | None) -> str:
    return f"<{category.upper()}:{entity}>" if entity else f"<{category.upper()}>"


def mask(value: str, keep_last: int) -> str:
    """Replace letters and digits with '*' except the last ``keep_last`` of them."""
    alnum = sum(ch.isalnum() for ch in value)
    keep_from = alnum - keep_last
    out, seen = [], 0
    for ch in value:
        if ch.isalnum():
            out.append(ch if seen >= keep_from else "*")
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def truncate_ip(value: str) -> str | None:
    """IPv4 -> /24, IPv6 -> /64 (the seed's OII prefix); None when not an IP address."""
    v = value.strip()
    try:
        ip = ipaddress.ip_address(v.strip("[]"))
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class Actor:
    """Applies decided actions; built once per worker (it holds the Presidio engines)."""

    def __init__(self, policy: Policy, key: HashKey, scrubber: TextEngine) -> None:
        self.policy = policy
        self.key = key
        self.scrubber = scrubber
        #: identifiers seen in other fields of this run, scrubbed wherever they reappear
        self._known: KnownIndex | None = None
        self.known_generation = 0
        self.entity_counts: Counter[tuple[str, str, str]] = Counter()  # (table, path, entity)
        self.guard_hits: Counter[tuple[str, str]] = Counter()  # (table, path) -> values guarded
        self._cache: dict[tuple[Any, ...], _Hit] = {}

    @property
    def known(self) -> KnownIndex | None:
        return self._known

    @known.setter
    def known(self, value: KnownIndex | None) -> None:
        self._known = value
        self.known_generation += 1

    def apply(self, d: FieldDecision, value: Any, table: str = "", labels: Any = None) -> Any:
        """The new value; ``labels`` (a list as long as ``value``) names each element of a
        name/value pair array: an element whose label is an identity is acted on as one."""
        if d.action == "drop":
            return DROP
        if isinstance(value, list):
            if isinstance(labels, list) and len(labels) == len(value):
                label_decision = self.scrubber.label_decision
                return [self._one(label_decision(table, d.path, lab) or d, v, table)
                        for v, lab in zip(value, labels, strict=True)]
            return [self._one(d, v, table) for v in value]
        return self._one(d, value, table)

    def apply_column(self, d: FieldDecision, values: list[Any], table: str = "",
                     labels: list[Any] | None = None) -> list[Any]:
        """``apply`` over one column's values: each distinct value is looked up once and its
        counts multiplied by its occurrences. A value whose action raised is returned as a
        :class:`Failed` (the caller dead-letters its record); the others are unaffected."""
        if d.action == "drop":
            return [DROP] * len(values)
        memo: dict[tuple[type, Any], tuple[Any, _Hit | None]] = {}
        seen: Counter[tuple[type, Any]] = Counter()
        out: list[Any] = []
        append = out.append
        for i, v in enumerate(values):
            if isinstance(v, list):
                try:
                    append(self.apply(d, v, table, labels[i] if labels is not None else None))
                except Exception as exc:  # noqa: BLE001 - the record is dead-lettered
                    append(Failed(type(exc).__name__))
                continue
            k = _value_key(v)
            entry = memo.get(k)
            if entry is None:
                try:
                    hit = self._result(d, v, table)
                except Exception as exc:  # noqa: BLE001 - the record is dead-lettered
                    entry = (Failed(type(exc).__name__), None)
                else:
                    entry = (v if hit is None else hit[0], hit)
                memo[k] = entry
            seen[k] += 1
            append(entry[0])
        for k, n in seen.items():
            hit = memo[k][1]
            if hit is not None:
                self._count(d, table, hit, n)
        return out

    def apply_distinct(self, d: FieldDecision, values: list[Any], occurrences: list[int],
                       table: str = "") -> list[Any]:
        """``apply`` to the distinct scalar values of a column, each counted as many times as
        it occurs (``occurrences``): what ``apply_column`` gives over the whole column. A value
        whose action raised comes back as :class:`Failed`."""
        out: list[Any] = []
        for v, n in zip(values, occurrences, strict=True):
            try:
                hit = self._result(d, v, table)
            except Exception as exc:  # noqa: BLE001 - its records are dead-lettered
                out.append(Failed(type(exc).__name__))
                continue
            if hit is None:
                out.append(v)
            else:
                self._count(d, table, hit, n)
                out.append(hit[0])
        return out

    def _one(self, d: FieldDecision, value: Any, table: str) -> Any:
        hit = self._result(d, value, table)
        if hit is None:
            return value
        self._count(d, table, hit, 1)
        return hit[0]

    def _result(self, d: FieldDecision, value: Any, table: str) -> _Hit | None:
        """(new value, entity counts, guarded) for one scalar; None when it passes as is."""
        if value is None:
            return None
        if d.action == "keep" and not isinstance(value, str):
            return None
        # one Actor serves every table of a worker: the key holds the table and every part of
        # the decision the result depends on; results depend on the known values when text is
        # scanned (their generation); and on the value's type and spelling (True, 1 and 1.0,
        # or 0.0 and -0.0, are equal keys but different values)
        ck = (table, d.path, d.action, d.entity, d.keep_last, d.timestamp, d.category,
              _value_key(value), self.known_generation)
        hit = self._cache.get(ck)
        if hit is None:
            hit = self._compute(d, value, table)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[ck] = hit
        return hit

    def _count(self, d: FieldDecision, table: str, hit: _Hit, times: int) -> None:
        _, counts, guarded = hit
        for ent, n in counts:
            self.entity_counts[(table, d.path, ent)] += n * times
        if guarded:
            self.guard_hits[(table, d.path)] += times

    def _compute(self, d: FieldDecision, value: Any, table: str = "",
                 ) -> tuple[Any, tuple[tuple[str, int], ...], bool]:
        s = value if isinstance(value, str) else str(value)
        own = ((d.entity, 1),) if d.entity else ()
        if d.action == "hash":
            return self.key.token(normalise(d.entity, s)), own, False
        if d.action == "redact":
            return redact_placeholder(d.category, d.entity), own, False
        if d.action == "mask":
            return mask(s, d.keep_last), own, False
        if d.action == "truncate_ip":
            t = truncate_ip(s)
            if t is not None:
                return t, own, False
        if d.action == "email_domain" and s.count("@") == 1:
            local, _, domain = s.strip().partition("@")
            if local and "." in domain:
                return domain.lower(), own, False
        if d.action == "keep":
            if d.timestamp and parse_timestamp(s) is not None:
                return value, (), False  # a well-formed event time holds no identifier
            if d.entity and self.scrubber.is_exactly(d.entity, s):
                return value, (), False  # exactly the column's own kind of value (a GUID...)
            if looks_like_json(s):
                doc = self._embedded(d, s, table)
                if doc is not None:
                    return doc[0], doc[1], doc[0] != s
            # guard: a kept string column was classified from a sample; any value holding an
            # identifier the column is not expected to hold is scrubbed (fail closed).
            exclude = KEEP_FAMILY.get(d.entity or "", frozenset())
            text, counts = self._propagate(*self.scrubber.scrub(s, exclude))
            return text, counts, text != s
        # scrub_text, and the fallback for truncate_ip / email_domain on unexpected values
        if looks_like_json(s):
            doc = self._embedded(d, s, table)
            if doc is not None:
                return doc[0], doc[1], False
        text, counts = self._propagate(*self.scrubber.scrub(s))
        return text, counts, False

    def _embedded(self, d: FieldDecision, s: str, table: str,
                  ) -> tuple[str, tuple[tuple[str, int], ...]] | None:
        """A JSON document held in the value, scrubbed member by member by the roles of its
        keys (the text engine's ``scrub_json``: classifiers/embedded.py); None when ``s`` is
        not one."""
        found: Counter[str] = Counter()

        def act(leaf: FieldDecision, v: Any) -> Any:
            if leaf.action == "drop":
                return DROP
            new, counts, _ = self._compute(leaf, v, table)
            found.update(dict(counts))
            return new

        def scan(text: str) -> str:
            new, counts = self._propagate(*self.scrubber.scrub(text))
            found.update(dict(counts))
            return new

        out = self.scrubber.scrub_json(table, d.path, s, act, scan)
        return None if out is None else (out, tuple(sorted(found.items())))

    def _propagate(self, text: str, counts: tuple[tuple[str, int], ...],
                   ) -> tuple[str, tuple[tuple[str, int], ...]]:
        if self.known is None or not len(self.known):
            return text, counts
        new, ents = self.known.replace(text, self._known_token)
        if not ents:
            return text, counts
        total = Counter(dict(counts))
        total.update(ents)
        return new, tuple(sorted(total.items()))

    def _known_token(self, entity: str, value: str) -> str:
        if self.policy.text_action(entity) == "redact":
            return redact_placeholder(self.policy.text_entity_category(entity), entity)
        return self.key.token(normalise(entity, value))
