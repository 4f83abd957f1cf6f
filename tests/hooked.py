"""``telescrub`` with test hooks: ``python tests/hooked.py [HOOK OPTIONS] -- <telescrub args>``.

Registers hooks on telescrub's documented hook points (:mod:`telescrub.core.hooks`) in this
process, then runs ``telescrub.app.cli.main`` with the remaining arguments. Production code
never reads any of this from the environment: the hooks exist only in a process started
through this wrapper. ``POINT[@N]`` acts at the N-th call of POINT (default the first).

--crash-at POINT[@N]    ``os._exit(1)`` right there: no cleanup, no ``finally`` (an abrupt
                        death, as ``kill -9``, but with a known exit status)
--stop-at POINT[@N]     write the point's name to ``--signal FILE`` and stop (SIGSTOP) this
                        process: the test sees the file and kills it exactly there
--signal FILE           the file ``--stop-at`` writes
--drop-row TABLE        at ``parquet.rows`` of TABLE, remove one row before it is written,
                        once: a record lost between reading and writing
--fail-at POINT[@N]     raise ``RuntimeError(--message)`` there (a pipeline failure whose
                        message quotes data)
--message TEXT          the message of ``--fail-at``
--tamper-after-commit   at ``commit.done``, append bytes to one data file of the output (a
                        file changed between the run and its post-write verification)
--no-exchange           purge: force the rename fallback (``purge.USE_EXCHANGE = False``)
--block-network         refuse non-loopback connections and name lookups; exit 97 if the run
                        attempted one (even if a library swallowed the error)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

NETWORK_ATTEMPTED = 97


def _at(spec: str) -> tuple[str, int]:
    name, _, nth = spec.partition("@")
    return name, int(nth) if nth else 1


def _counting(spec: str, action: Any) -> tuple[str, Any]:
    name, nth = _at(spec)
    seen = {"n": 0}

    def hook(point: str, **info: Any) -> None:
        seen["n"] += 1
        if seen["n"] == nth:
            action(point, **info)

    return name, hook


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: hooked.py [HOOK OPTIONS] -- <telescrub args>")
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="hooked.py")
    p.add_argument("--crash-at")
    p.add_argument("--stop-at")
    p.add_argument("--signal")
    p.add_argument("--drop-row")
    p.add_argument("--fail-at")
    p.add_argument("--message", default="injected failure")
    p.add_argument("--tamper-after-commit", action="store_true")
    p.add_argument("--no-exchange", action="store_true")
    p.add_argument("--block-network", action="store_true")
    opts = p.parse_args(argv[:split])
    cli_args = argv[split + 1:]

    guard = None
    if opts.block_network:
        from netguard import NetGuard

        guard = NetGuard().install()

    from telescrub.core import hooks

    if opts.crash_at:
        def crash(point: str, **info: Any) -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)

        hooks.register(*_counting(opts.crash_at, crash))
    if opts.stop_at:
        if not opts.signal:
            raise SystemExit("--stop-at needs --signal FILE")

        def stop(point: str, **info: Any) -> None:
            tmp = opts.signal + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(point)
            os.replace(tmp, opts.signal)
            os.kill(os.getpid(), signal.SIGSTOP)

        hooks.register(*_counting(opts.stop_at, stop))
    if opts.fail_at:
        def fail(point: str, **info: Any) -> None:
            raise RuntimeError(opts.message)

        hooks.register(*_counting(opts.fail_at, fail))
    if opts.drop_row:
        dropped = {"done": False}

        def drop(point: str, table: str = "", rows: Any = None, **info: Any) -> None:
            if table == opts.drop_row and not dropped["done"] and rows and len(rows) > 1:
                del rows[0]
                dropped["done"] = True

        hooks.register("parquet.rows", drop)
    if opts.tamper_after_commit:
        def tamper(point: str, out: str = "", **info: Any) -> None:
            files = sorted(f for f in Path(out).glob("[!_.]*/event_date=*/*.parquet"))
            with open(files[0], "ab") as fh:
                fh.write(b"changed after the run")

        hooks.register("commit.done", tamper)
    if opts.no_exchange:
        from telescrub.app import purge

        purge.USE_EXCHANGE = False

    from telescrub.app.cli import main as cli_main

    rc = cli_main(cli_args)
    if guard is not None and guard.attempts:
        print("hooked.py: network access attempted (blocked): " + ", ".join(guard.attempts),
              file=sys.stderr)
        return NETWORK_ATTEMPTED
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
