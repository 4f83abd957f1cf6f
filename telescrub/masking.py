"""Masked examples for reports and errors: enough shape to recognise, never the value."""

from __future__ import annotations

import re

_RUN = re.compile(r"[^\W_]+", re.UNICODE)
MAX_EXAMPLE = 48


def mask_example(value: object, limit: int = MAX_EXAMPLE) -> str:
    """Keep separators and the first character of each letter/digit run: ``j***@c******.com``.

    Hash tokens (``h1:...``) and placeholders (``<EUII:...>``) are already safe and kept.
    """
    s = value if isinstance(value, str) else repr(value)
    if s.startswith("h1:") or (s.startswith("<") and s.endswith(">")):
        return s[:limit] + ("…" if len(s) > limit else "")
    s = s[:limit]
    masked = _RUN.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 1), s)
    return masked + ("…" if len(value if isinstance(value, str) else s) > limit else "")
