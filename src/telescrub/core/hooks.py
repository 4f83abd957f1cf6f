"""Named points in a run where tests act: crash there, stop there, inject a fault.

Production code calls :func:`point` at a few places; nothing happens unless a hook was
registered *in the same process* by a test (never from the environment, a file or an option).
Tests register hooks through a wrapper that imports telescrub, calls :func:`register`, then
runs ``telescrub.app.cli.main`` (``tests/hooked.py``), or in-process with :func:`register` and
the returned ``unregister``.

The points, by name (keep them few: the commit protocol for object stores calls the same):

``commit.staging``
    a run begins: the lock is held, the output recovered and checked; the pipeline has not
    started (``store.commit.begin_run``; info ``path``: the run's area ``_runs/<run id>``).
``manifest.written``
    a partition manifest was staged in the run's area (``store.manifest.stage_manifest``;
    info ``table``, ``event_date``). Runs in a Beam worker: in-process runners only.
``parquet.rows``
    a Parquet file is about to be written (``store.parquet``; info ``table``, ``event_date``,
    ``rows``: the list of rows, which a hook may shorten to simulate a lost record).
``commit.marker``
    the output's ``_manifest.json`` is written: the commit point (``store.commit``).
``commit.install``
    one partition's ``_manifest.json`` copy was written after the commit (info ``entry``).
``commit.done``
    the copies are written and the garbage collected: the commit is complete (info ``out``).
``purge.<step>``
    after each step of ``telescrub purge``'s crash-safe protocol
    (``telescrub.app.purge.CRASH_STEPS``).

A hook is called as ``hook(name, **info)``; whatever it raises propagates (a test that wants a
pipeline failure raises; one that wants ``kill -9`` calls ``os.kill``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[..., None]

#: every point production code calls (``purge.*`` stands for the purge steps)
POINTS = ("commit.staging", "manifest.written", "parquet.rows", "commit.marker",
          "commit.install", "commit.done", "purge.*")

_hooks: dict[str, list[Hook]] = {}


def _known(name: str) -> bool:
    return name in POINTS or (name.startswith("purge.") and len(name) > len("purge."))


def register(name: str, hook: Hook) -> Callable[[], None]:
    """Call ``hook(name, **info)`` at every :func:`point` ``name``; returns the unregister
    function. Raises ValueError for a name no production code calls (a typo would otherwise
    make a crash test pass without ever crashing)."""
    if not _known(name):
        raise ValueError(f"unknown hook point {name!r} (expected one of {', '.join(POINTS)})")
    _hooks.setdefault(name, []).append(hook)

    def unregister() -> None:
        hooks = _hooks.get(name, [])
        if hook in hooks:
            hooks.remove(hook)

    return unregister


def clear() -> None:
    """Remove every registered hook."""
    _hooks.clear()


def point(name: str, **info: Any) -> None:
    """A named point: calls the hooks registered for ``name`` (none in production)."""
    if not _hooks:
        return
    for hook in list(_hooks.get(name, ())):
        hook(name, **info)
