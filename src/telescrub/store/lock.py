"""The output's lock: one writer at a time per output (a batch run, a purge, a verification,
a local streaming driver), on a local disk and in a bucket alike.

The lock is an object, ``<out>/.telescrub.lock``, created with a create-only write (so of two
processes trying at once exactly one succeeds) and holding its owner and an expiry::

    {"owner": {"host": ..., "pid": ..., "started": <process start>, "purpose": "run"},
     "token": "<uuid>", "acquired_at": ..., "expires_at": ..., "renewed_at": ...}

* While held, a heartbeat thread renews ``expires_at`` every ``ttl / 3`` seconds with a
  generation-checked write; if that write fails (someone took the lock over after it
  expired: the holder was frozen for longer than ``ttl``), the lock is marked lost and
  :meth:`OutputLock.check` — called by the commit right before it publishes — refuses to go on.
  (The commit's own generation-checked write of the output's manifest would refuse too.)
* A second process finds the object and is refused at once with the owner and the expiry in
  the message, unless the lock is *stale*: expired, or held by a process of this host that no
  longer runs (``kill -9`` leaves the object behind; the next run on the same host need not
  wait). A stale lock is taken over with a generation-checked write, so two processes cannot
  both take it.
* Released by deleting the object (generation-checked: never someone else's).

A process of another host that died holding the lock blocks the output until the expiry
(``TELESCRUB_LOCK_TTL``, default 120 s).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
import uuid
from types import TracebackType
from typing import Any

from telescrub.core.errors import OutputError
from telescrub.store import fs
from telescrub.store.layout import LOCK_NAME, lock_path

log = logging.getLogger("telescrub")

__all__ = ["LOCK_NAME", "LockLost", "OutputLock", "lock_ttl", "release_job_lock"]
DEFAULT_TTL = 120.0


class LockLost(OutputError):
    """The lock was taken over while this process held it (it was frozen past the expiry)."""


def lock_ttl() -> float:
    try:
        return max(3.0, float(os.environ.get("TELESCRUB_LOCK_TTL", DEFAULT_TTL)))
    except ValueError:
        return DEFAULT_TTL


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (tells a reused pid apart), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _start_time(pid)
    return started is None or now is None or now == started


def is_stale(doc: dict[str, Any] | None, now: dt.datetime | None = None) -> bool:
    """An unreadable lock, an expired one, or one whose owner on this host no longer runs."""
    if not doc:
        return True
    now = now or _now()
    try:
        expires = dt.datetime.fromisoformat(str(doc["expires_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return True
    if expires <= now:
        return True
    owner = doc.get("owner") or {}
    if owner.get("host") == socket.gethostname() and owner.get("pid") is not None:
        try:
            return not _alive(int(str(owner.get("pid"))), owner.get("started"))
        except (TypeError, ValueError):
            return True
    return False


class OutputLock:
    """``with OutputLock(out):`` — hold the output's lock (see the module doc)."""

    def __init__(self, out: str, purpose: str = "run", ttl: float | None = None) -> None:
        self.out = out
        self.purpose = purpose
        self.ttl = ttl if ttl is not None else lock_ttl()
        self.path = lock_path(out)
        self.token = uuid.uuid4().hex
        self.generation: str | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    # ------------------------------------------------------------------ the object
    def _doc(self, acquired: str | None = None) -> bytes:
        now = _now()
        pid = os.getpid()
        return (json.dumps({
            "owner": {"host": socket.gethostname(), "pid": pid, "started": _start_time(pid),
                      "purpose": self.purpose},
            "token": self.token, "acquired_at": acquired or _iso(now), "renewed_at": _iso(now),
            "expires_at": _iso(now + dt.timedelta(seconds=self.ttl)),
        }, indent=2, sort_keys=True) + "\n").encode()

    def __enter__(self) -> OutputLock:
        if not fs.is_url(self.out):
            try:
                os.makedirs(self.out, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create output directory {self.out}: "
                                  f"{exc.strerror}") from None
        for _ in range(3):
            try:
                self.generation = fs.write(self.path, self._doc(), fs.CREATE)
                break
            except fs.PreconditionFailed:
                pass
            doc, gen = fs.read_json_gen(self.path)
            if gen is None:
                continue  # released in between: try again
            if not is_stale(doc):
                owner = (doc or {}).get("owner") or {}
                raise OutputError(
                    f"output directory {self.out} is in use by another telescrub run (lock "
                    f"held): {owner.get('purpose', '?')}, pid {owner.get('pid')} on "
                    f"{owner.get('host')}, until {(doc or {}).get('expires_at')} (renewed while "
                    "it runs); wait for it to finish or choose another --output")
            try:
                self.generation = fs.write(self.path, self._doc(), gen)
                owner = (doc or {}).get("owner") or {}
                log.warning("output %s: took over a stale lock (%s pid %s on %s, expiry %s)",
                            self.out, owner.get("purpose"), owner.get("pid"),
                            owner.get("host"), (doc or {}).get("expires_at"))
                break
            except fs.PreconditionFailed:
                continue  # someone else took it over first: look again
        else:
            raise OutputError(f"output directory {self.out} is in use by another telescrub "
                              "run (the lock keeps changing hands)")
        self._acquired = _iso(_now())
        self._thread = threading.Thread(target=self._heartbeat, name="telescrub-lock",
                                        daemon=True)
        self._thread.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            with self._mutex:
                if self._stop.is_set() or self.lost:
                    return
                try:
                    self.generation = fs.write(self.path, self._doc(self._acquired),
                                               self.generation)
                except fs.PreconditionFailed:
                    self.lost = True
                    log.error("output %s: the lock was taken over by another process",
                              self.out)
                    return
                except Exception as exc:  # noqa: BLE001 - a transient store error: retry
                    log.warning("output %s: could not renew the lock (%s)", self.out,
                                type(exc).__name__)

    def hand_over(self, ttl: float) -> str:
        """Give the lock to a detached job (``telescrub run --detach``): stop renewing it, set
        its expiry to ``ttl`` seconds from now and keep it when leaving the ``with`` block; the
        job's commit step releases it (:func:`release_job_lock`). Returns the token."""
        self.ttl = ttl
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._mutex:
            doc = json.loads(self._doc(self._acquired))
            doc["owner"]["purpose"] = f"{self.purpose} (detached job; released by its commit)"
            doc["owner"]["pid"] = None  # the job, not this process, holds it now
            self.generation = fs.write(self.path, json.dumps(doc, indent=2, sort_keys=True)
                                       + "\n", self.generation)
            self.generation = None  # never released on exit
        return self.token

    def check(self) -> None:
        """Refuse to go on when the lock is no longer ours (call before publishing)."""
        with self._mutex:
            entry = fs.stat(self.path)
            if self.lost or entry is None or entry.generation != self.generation:
                self.lost = True
                raise LockLost(f"output {self.out}: this run lost the lock (another process "
                               "took it over after it expired); nothing was published")

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._mutex:
            if self.generation is not None and not self.lost:
                with contextlib.suppress(fs.PreconditionFailed):
                    fs.delete(self.path, self.generation)
            self.generation = None


def release_job_lock(out: str, token: str | None) -> None:
    """Delete the lock object if it still carries ``token`` (a detached job's commit)."""
    if token is None:
        return
    doc, gen = fs.read_json_gen(lock_path(out))
    if doc is not None and doc.get("token") == token and gen is not None:
        with contextlib.suppress(fs.PreconditionFailed):
            fs.delete(lock_path(out), gen)
