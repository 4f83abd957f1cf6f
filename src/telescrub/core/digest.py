"""SHA-256 of a file or of a byte range of it (inputs are checksummed for the report and to
detect a file changing during a run; outputs for their manifests)."""

from __future__ import annotations

import hashlib
from typing import BinaryIO


def sha256_stream(fh: BinaryIO, start: int = 0, length: int = -1) -> tuple[str, int]:
    """(sha256, bytes hashed) of an open binary stream from ``start``: to its end, or
    ``length`` bytes; 1 MiB reads."""
    h = hashlib.sha256()
    n = 0
    fh.seek(start)
    while length < 0 or n < length:
        chunk = fh.read(1 << 20 if length < 0 else min(1 << 20, length - n))
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def sha256_range(path: str, start: int = 0, length: int = -1) -> tuple[str, int]:
    """(sha256, bytes hashed) of a local file, or of ``length`` bytes from ``start``."""
    with open(path, "rb") as fh:
        return sha256_stream(fh, start, length)
