"""Small file-system helpers shared by the writers, the output commit and purge."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from typing import Any


def sha256_file(path: str) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON under a hidden temporary name (``.<name>.tmp-<uuid>``, which readers and
    the cleanup passes know), fsync it, rename it into place and fsync the directory."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name.lstrip('.')}.tmp-{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)
