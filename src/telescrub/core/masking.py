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


_SAFE_TOKEN = re.compile(r"h1:[0-9a-f]{8}:[0-9a-f]{32}|<[A-Z_]+(?::[A-Z0-9_]+)?>")


def mask_keep_tokens(value: object, limit: int = 160) -> str:
    """Mask like :func:`mask_example` (first character of each letter/digit run), but keep
    hash tokens and placeholders whole, so a scrubbed text still shows what was replaced:
    ``C******* h1:8dbe2624:… c***** f*** <EUII:PHONE_NUMBER>``. Idempotent."""
    text = "" if value is None else str(value)
    out, pos = [], 0

    def run(r: re.Match[str]) -> str:
        return r.group(0)[0] + "*" * (len(r.group(0)) - 1)

    for m in _SAFE_TOKEN.finditer(text):
        out.append(_RUN.sub(run, text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_RUN.sub(run, text[pos:]))
    masked = "".join(out)
    return masked if len(masked) <= limit else masked[:limit] + "…"
