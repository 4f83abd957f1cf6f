"""``telescrub``: a thin command line over the Python API (telescrub.runner).

Errors a user can fix print as one line (``telescrub: error: ...``) with exit status 2;
a run whose accounting identity breaks exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from typing import Any

from telescrub.errors import TelescrubError

log = logging.getLogger("telescrub")


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose >= 0 else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("telescrub: %(message)s"))
    root = logging.getLogger("telescrub")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger().setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    for noisy in ("apache_beam", "presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(noisy).setLevel(logging.ERROR if verbose < 2 else logging.INFO)


def _summary(report: dict[str, Any]) -> str:
    run, t = report["run"], report["totals"]
    lines = [
        f"run {run['run_id']} done: {t['read']} records read, {t['written']} written, "
        f"{t['quarantined']} quarantined, {t['dropped_by_policy']} dropped by policy",
        f"{'table':<28} {'records':>8} {'written':>8} {'partitions':>10}",
    ]
    for table, info in report["tables"].items():
        lines.append(f"{table:<28} {info['records']:>8} {info['rows_written']:>8} "
                     f"{info['partitions']:>10}")
    q: dict[str, int] = {}
    for item in report["quarantine"]:
        q[item["table"]] = q.get(item["table"], 0) + item["records"]
    if q:
        lines.append("quarantined: " + ", ".join(f"{k} {v}" for k, v in sorted(q.items())))
    if report["drift"]:
        lines.append(f"schema drift: {len(report['drift'])} field(s) no rule knows were "
                     "scanned as free text (see report)")
    lines.append(f"output: {run['output']}")
    lines.append(f"report: {os.path.join(run['output'], '_report', 'index.html')}")
    if run.get("demo_key"):
        lines.append("WARNING: the public demo key was used; hash tokens are NOT secret.")
    if not report["accounting_ok"]:
        lines.append("ERROR: accounting identity broken (read != written + quarantined + "
                     "dropped) for: " + ", ".join(i["source"] for i in report["inputs"]
                                                  if not i["accounted"]))
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.runner import RunConfig, run_batch

    cfg = RunConfig(inputs=args.inputs, output=args.output, policy_path=args.policy,
                    schema_dir=args.schema_dir, fmt=args.format, table=args.table,
                    key_file=args.key_file, demo_key=args.demo_key, mode=args.mode,
                    default_year=args.default_year, shards=args.shards, beam_args=beam_args)
    report = run_batch(cfg)
    print(_summary(report))
    return 0 if report["accounting_ok"] else 1


def _cmd_report(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.report.html import write_html

    path = os.path.join(args.output, "_report", "report.json")
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
    except OSError as exc:
        raise TelescrubError(f"cannot read {path}: {exc.strerror}") from None
    html_path = os.path.join(args.output, "_report", "index.html")
    write_html(report, html_path)
    print(html_path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="telescrub", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbose")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="scrub input files into Parquet partitions",
                       description="Scrub inputs into <output>/<table>/event_date=.../*.parquet. "
                       "Unknown --options pass through to Beam (e.g. --runner, "
                       "--direct_num_workers, --direct_running_mode, Dataflow/Flink options).")
    r.add_argument("inputs", nargs="+", help="files, directories or globs (gzip transparently)")
    r.add_argument("--output", "-o", required=True, help="output directory")
    r.add_argument("--policy", help="policy YAML (default: the bundled schemas/policy.yaml)")
    r.add_argument("--schema-dir", help="directory of reviewed source schemas (<table>.yaml)")
    r.add_argument("--format", default="auto", choices=["auto", "jsonl", "csv", "text"])
    r.add_argument("--table", help="table name for all inputs (default: from each file name)")
    r.add_argument("--key-file", help="hash key file (default: $TELESCRUB_HASH_KEY)")
    r.add_argument("--demo-key", action="store_true",
                   help="use the public demo key when no key is set (flagged in every output)")
    r.add_argument("--mode", default="overwrite",
                   choices=["overwrite", "append", "error-if-exists"],
                   help="what to do with an existing output (default: overwrite a previous "
                   "telescrub output; never an unrelated directory)")
    r.add_argument("--default-year", type=int,
                   help="year for log timestamps that carry none (syslog); default: this year")
    r.add_argument("--shards", type=int, default=4, help="files per partition (parallel writes)")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", help="regenerate <output>/_report/index.html from report.json")
    rep.add_argument("output")
    rep.set_defaults(func=_cmd_report)

    # further commands live in their own modules: each has register(subparsers), which adds
    # its parser and sets func(args, beam_args) -> exit status
    import importlib

    for name in EXTRA_COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        mod.register(sub)
    return p


EXTRA_COMMANDS = ("telescrub.verify", "telescrub.purge", "telescrub.profile")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    _setup_logging(args.verbose)
    if rest and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args, rest))
    except TelescrubError as exc:
        print(f"telescrub: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("telescrub: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or a runner failure: never echo data-bearing messages
        if args.verbose > 1:
            raise
        stage = re.search(r"\[while running '([^']+)'\]", str(exc))
        where = f" in step {stage.group(1)}" if stage else ""
        print(f"telescrub: error: pipeline failed{where}: {type(exc).__name__} "
              "(details withheld because they may quote data; rerun with -vv to see them)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
