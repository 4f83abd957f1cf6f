"""Structure held inside a value: a JSON object or array stored in a string.

Audit exports often keep nested data as text: Sentinel CSV exports (``RequestParameters``,
1Password's ``actor_details``, ``session``, ``client``), Sentinel ``*_s`` columns
(``payload_authorizationInfo_s``), Entra ``modifiedProperties[].newValue``, Duo admin-log
``description``. Scanned as plain text, only what a value detector recognises is scrubbed:
``{"uuid": "O2FW...", "name": "Hector Salamanca"}`` keeps its user id and name.

:func:`scrub_json` parses such a string and scrubs it as the structure it is: every leaf is
decided by the field-name rules on its full path (the column's path, then the JSON keys:
``actor_details.uuid`` is a user id, ``session.ip`` a client IP, ``session.login_time`` a time
stamp) and acted on by the caller (``act``: the same actions as for a column), then the
document is written back as JSON. In an object that is a name/value pair (``{"Name":
"Identity", "Value": "jdoe"}``, classifiers/labelled.py) the value is decided by its label. A leaf no rule knows is scanned as free text (fail closed);
a key that is itself an identifier (an e-mail address, an IP) is scanned like a value.

Only documents that parse completely are handled this way; anything else stays text for the
caller. Numbers and booleans are kept unless their key names an identifier (a numeric user id
is hashed like a string one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from telescrub.classifiers.decide import decide_field
from telescrub.classifiers.labelled import LABEL_KEYS, VALUE_KEYS, LabelledValues
from telescrub.classifiers.roles import normalise_segment
from telescrub.core.actions import DROP, looks_like_json
from telescrub.core.decisions import FieldDecision
from telescrub.core.policy import Policy

#: documents larger than this stay text (bounded work per value)
MAX_CHARS = 1_000_000
#: JSON nested deeper than this stays text (no recursion trouble)
MAX_DEPTH = 64
#: the actions that change a value (keep and scrub_text leave what no detector finds)
_IDENTITY_ACTIONS = frozenset({"hash", "redact", "mask", "truncate_ip", "email_domain", "drop"})

#: act(decision, value) -> new value, or DROP_LEAF to remove the member
Act = Callable[[FieldDecision, Any], Any]
#: scan(text) -> scrubbed text: free-text scrubbing of a key or a leaf nothing decides
Scan = Callable[[str], str]
#: the actor's DROP (telescrub.core.actions): what ``act`` returns for a dropped member
DROP_LEAF = DROP


class _NotJson(Exception):
    pass


def _no_constants(_text: str) -> Any:
    raise _NotJson()  # NaN / Infinity would not round-trip: leave the value as text


def parse(text: str) -> Any | None:
    """The JSON object or array in ``text``, or None (not JSON, a scalar, too big or deep)."""
    if len(text) > MAX_CHARS or not looks_like_json(text):
        return None
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError, _NotJson):
        return None
    return obj if isinstance(obj, (dict, list)) else None


def _escape(key: str) -> str:
    # the path syntax of formats/flatten.py (escape_key), so rules see the same paths
    if not key:
        return "\\e"
    return key.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[")


class EmbeddedJson:
    """Scrubs JSON documents held in string values of one policy's fields.

    ``decision(table, path)`` is cached: a rules-only decision (no sample) per leaf path.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._decisions: dict[tuple[str, str], FieldDecision] = {}
        self.labelled = LabelledValues(policy)

    def decision(self, table: str, path: str) -> FieldDecision:
        k = (table, path)
        d = self._decisions.get(k)
        if d is None:
            if len(self._decisions) > 50_000:
                self._decisions.clear()
            d = self._decisions[k] = decide_field(self.policy, [], table, path, None)
        return d

    def scrub(self, table: str, path: str, text: str, act: Act, scan: Scan) -> str | None:
        """The scrubbed document as JSON text, or None when ``text`` is not a JSON document."""
        obj = parse(text)
        if obj is None:
            return None
        out = self._walk(table, path, obj, act, scan, 0)
        pretty = "\n" in text.strip()
        spaced = '": ' in text or '", "' in text
        return json.dumps(out, ensure_ascii=False, indent=2 if pretty else None,
                          separators=(", ", ": ") if spaced or pretty else (",", ":"))

    def _walk(self, table: str, path: str, node: Any, act: Act, scan: Scan, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return scan(json.dumps(node, ensure_ascii=False))
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            label = next((node[k] for k in LABEL_KEYS if isinstance(node.get(k), str)), None)
            for k, v in node.items():
                key = k if isinstance(k, str) else str(k)
                child = f"{path}.{_escape(key)}" if path else _escape(key)
                by_label = (self.labelled.decision(table, child, label)
                            if label is not None and isinstance(v, (str, int, float))
                            and not isinstance(v, bool) and normalise_segment(key) in VALUE_KEYS
                            else None)
                new = (act(by_label, v) if by_label is not None
                       else self._walk(table, child, v, act, scan, depth + 1))
                if new is DROP_LEAF:
                    continue
                # a key is data too: an identifier used as a key is scrubbed like a value
                out[scan(key) if key else key] = new
            return out
        if isinstance(node, list):
            items = [self._walk(table, f"{path}[]", v, act, scan, depth + 1) for v in node]
            return [v for v in items if v is not DROP_LEAF]
        if node is None or isinstance(node, bool):
            return node
        d = self.decision(table, path)
        if isinstance(node, (int, float)):
            if isinstance(node, float) and not math.isfinite(node):
                return node
            if d.action in _IDENTITY_ACTIONS and not d.timestamp:
                return act(d, node)
            return node
        if isinstance(node, str):
            inner = parse(node)
            if inner is not None:  # JSON in a string in JSON (Entra modifiedProperties)
                return json.dumps(self._walk(table, path, inner, act, scan, depth + 1),
                                  ensure_ascii=False)
            return act(d, node)
        return node
