"""The output directory: one run at a time (a lock), and what each ``--mode`` does to it."""

from __future__ import annotations

import fcntl
import os
import shutil
from types import TracebackType

from telescrub.errors import OutputError

LOCK_NAME = ".telescrub.lock"
_MARKERS = ("_report", "_quarantine", "_audit")


class OutputLock:
    """An exclusive ``flock`` on ``<out>/.telescrub.lock``; released by the OS if we die."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            os.makedirs(self.out, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output directory {self.out}: {exc.strerror}") \
                from None
        path = os.path.join(self.out, LOCK_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"output directory {self.out} is in use by another telescrub run "
                              "(lock held); wait for it to finish or choose another --output") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _entries(out: str) -> list[str]:
    return [e for e in os.listdir(out) if e != LOCK_NAME]


def looks_like_output(out: str) -> bool:
    entries = _entries(out)
    if any(e in _MARKERS for e in entries):
        return True
    for e in entries:
        d = os.path.join(out, e)
        if os.path.isdir(d) and any(p.startswith("event_date=") for p in os.listdir(d)):
            return True
    return False


def prepare_output(out: str, mode: str) -> None:
    """overwrite: replace a previous telescrub output (never an unrelated directory);
    append: keep what is there; error-if-exists: refuse a non-empty directory."""
    entries = _entries(out)
    if not entries or mode == "append":
        return
    if mode == "error-if-exists":
        raise OutputError(f"output directory {out} is not empty (--mode error-if-exists)")
    if not looks_like_output(out):
        raise OutputError(f"output directory {out} is not empty and does not look like a "
                          "telescrub output; refusing to overwrite it")
    for e in entries:
        p = os.path.join(out, e)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.remove(p)
