"""The output's lock: one run (or purge, verify) at a time per output, and one manifest
merge at a time.

Both are ``flock`` locks on files inside the output directory, released by the OS when the
process dies (even on ``kill -9``):

* :class:`OutputLock` (``<out>/.telescrub.lock``, non-blocking): held for a whole batch run,
  a purge or a streaming launch; a second one fails at once with a clear message.
* :func:`merge_lock` (``<out>/_streaming/manifest.lock``, blocking): held for the few
  milliseconds of a manifest merge or a rolling-report append, so the workers of one run
  never lose each other's files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from types import TracebackType

from telescrub.core.errors import OutputError
from telescrub.store.layout import STREAMING_DIR

LOCK_NAME = ".telescrub.lock"
MERGE_LOCK_NAME = "manifest.lock"


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


@contextlib.contextmanager
def merge_lock(out_dir: str) -> Iterator[None]:
    """Exclusive, blocking ``flock`` on ``<out>/_streaming/manifest.lock`` (threads and
    processes of one machine or of a shared file system that honours ``flock``)."""
    path = os.path.join(out_dir, STREAMING_DIR, MERGE_LOCK_NAME)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
